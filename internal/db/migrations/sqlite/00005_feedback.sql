-- +goose Up
-- Surveys. A survey's questions live in versions: editing a live survey
-- writes a new version, and every response keeps the version it answered,
-- so earlier responses are never reinterpreted by later edits.
CREATE TABLE surveys (
    id              INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    touchpoint      TEXT NOT NULL DEFAULT '',
    journey_stage   TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'draft',
    current_version INTEGER NOT NULL DEFAULT 0,
    -- JSON: thank-you texts, delight threshold, minimum n, contact-rule overrides
    settings        TEXT NOT NULL DEFAULT '{}',
    -- JSON feedback.Definition being edited; Publish copies it into a new
    -- survey_versions row, so a live survey's edits never touch responses
    draft           TEXT NOT NULL DEFAULT '{"pages":[]}',
    created_by      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE survey_versions (
    id         INTEGER PRIMARY KEY,
    survey_id  INTEGER NOT NULL REFERENCES surveys(id),
    version    INTEGER NOT NULL,
    -- JSON feedback.Definition: pages, questions (JA/EN texts), logic
    definition TEXT NOT NULL,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (survey_id, version)
);

-- Invitations to answer: personal links (email, LINE, in-app) and the
-- record of every invitation that contact rules skipped, with why.
CREATE TABLE survey_invitations (
    id           INTEGER PRIMARY KEY,
    survey_id    INTEGER NOT NULL REFERENCES surveys(id),
    customer_id  INTEGER REFERENCES customers(id),
    channel      TEXT NOT NULL,
    -- SHA-256 of the personal link's token; NULL for skipped invitations
    token_hash   TEXT UNIQUE,
    -- the reminder carries a second token for the same invitation (only
    -- hashes are stored, so the first cannot be re-sent); UNIQUE
    -- (invitation_id) on responses still admits one response for both
    reminder_token_hash TEXT UNIQUE,
    status       TEXT NOT NULL,
    skip_reason  TEXT NOT NULL DEFAULT '',
    scheduled_at INTEGER NOT NULL,
    sent_at      INTEGER,
    reminded_at  INTEGER,
    responded_at INTEGER,
    expires_at   INTEGER,
    trigger_id   INTEGER,
    event_id     INTEGER,
    message_id   TEXT NOT NULL DEFAULT '',
    reminder_message_id TEXT NOT NULL DEFAULT '',
    -- when a sender claimed the row (status sending), send attempts so far
    -- and the last failure, for operators
    claimed_at   INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE INDEX survey_invitations_customer ON survey_invitations(customer_id, created_at);
CREATE INDEX survey_invitations_due ON survey_invitations(status, scheduled_at);
CREATE INDEX survey_invitations_survey ON survey_invitations(survey_id, status);
-- A trigger schedules one invitation per event, however often the ingest
-- hook is called for it (NULLs are distinct: manual invitations repeat).
CREATE UNIQUE INDEX survey_invitations_trigger_event ON survey_invitations(trigger_id, event_id);
-- Reminders look for sent, unanswered, unreminded invitations.
CREATE INDEX survey_invitations_remind ON survey_invitations(status, sent_at) WHERE reminded_at IS NULL AND responded_at IS NULL;

-- Responses. invitation_id is UNIQUE: a personal link is redeemed exactly
-- once, enforced by the database, not by a check-then-insert. client_key
-- makes page saves of anonymous responses idempotent.
CREATE TABLE survey_responses (
    id            INTEGER PRIMARY KEY,
    survey_id     INTEGER NOT NULL REFERENCES surveys(id),
    version_id    INTEGER NOT NULL REFERENCES survey_versions(id),
    customer_id   INTEGER REFERENCES customers(id),
    invitation_id INTEGER UNIQUE REFERENCES survey_invitations(id),
    client_key    TEXT,
    channel       TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'partial',
    locale        TEXT NOT NULL DEFAULT '',
    touchpoint    TEXT NOT NULL DEFAULT '',
    journey_stage TEXT NOT NULL DEFAULT '',
    last_page     INTEGER NOT NULL DEFAULT 0,
    started_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    completed_at  INTEGER,
    duration_ms   INTEGER,
    -- comma-separated quality flags: honeypot, too_fast
    flags         TEXT NOT NULL DEFAULT '',
    ip_hash       TEXT NOT NULL DEFAULT '',
    external_ref  TEXT,
    -- the headline scores, copied at completion so lists and the customer
    -- timeline need not parse the definition
    nps_score     INTEGER,
    csat_score    INTEGER,
    UNIQUE (survey_id, client_key),
    UNIQUE (survey_id, external_ref)
);
CREATE INDEX survey_responses_survey_completed ON survey_responses(survey_id, status, completed_at);
CREATE INDEX survey_responses_customer ON survey_responses(customer_id, started_at);
-- The abandonment job looks for partials by last touch.
CREATE INDEX survey_responses_partial ON survey_responses(status, updated_at);

-- One row per answered question (and attribute, for expectation vs.
-- perception). num: the score, or the expectation; num2: the perception.
-- text: free text, the chosen option key, or a JSON array of keys.
CREATE TABLE survey_answers (
    response_id   INTEGER NOT NULL REFERENCES survey_responses(id),
    question_key  TEXT NOT NULL,
    attribute_key TEXT NOT NULL DEFAULT '',
    num           REAL,
    num2          REAL,
    text          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (response_id, question_key, attribute_key)
);
