-- +goose Up
-- Knowledge base (internal/kb; its doc.go explains the model). Categories
-- and articles are shared by both locales; each locale of an article has
-- its own numbered versions, of which at most one is a draft (the newest,
-- unpublished) and at most one is live (kb_live). Published versions are
-- never changed: they are the history.
CREATE TABLE kb_categories (
    id         INTEGER PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name_ja    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE kb_articles (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    category_id INTEGER REFERENCES kb_categories(id),
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX kb_articles_category ON kb_articles(category_id, position);

CREATE TABLE kb_versions (
    id           INTEGER PRIMARY KEY,
    article_id   INTEGER NOT NULL REFERENCES kb_articles(id),
    locale       TEXT NOT NULL,
    number       INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    author_id    INTEGER REFERENCES users(id),
    author       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    published_at INTEGER,
    UNIQUE (article_id, locale, number)
);

-- The live (published) version of each article's locale.
CREATE TABLE kb_live (
    article_id   INTEGER NOT NULL REFERENCES kb_articles(id),
    locale       TEXT NOT NULL,
    version_id   INTEGER NOT NULL UNIQUE REFERENCES kb_versions(id),
    published_at INTEGER NOT NULL,
    PRIMARY KEY (article_id, locale)
);
CREATE INDEX kb_live_locale ON kb_live(locale);

-- The search index over live versions only (rowid = kb_versions.id), the
-- terms of internal/textsearch; title and body apart so bm25 can weigh a
-- title match above a body match.
CREATE VIRTUAL TABLE kb_search USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 0');

-- Help-center sessions' events for the deflection report. session_hash is
-- the SHA-256 of an anonymous random cookie value: events of one visit can
-- be grouped, never tied back to a person.
CREATE TABLE kb_events (
    id           INTEGER PRIMARY KEY,
    session_hash TEXT NOT NULL,
    kind         TEXT NOT NULL,
    article_id   INTEGER REFERENCES kb_articles(id),
    locale       TEXT NOT NULL DEFAULT '',
    query        TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE INDEX kb_events_time ON kb_events(created_at);
CREATE INDEX kb_events_session ON kb_events(session_hash, created_at);
