-- +goose Up
-- Customer profiles. A profile merged into another keeps its rows; merged_into
-- points at the surviving (canonical) profile, always a root, so the 360 view
-- of customer C covers every profile with id = C or merged_into = C, and an
-- unmerge is exact: it only clears merged_into again.
CREATE TABLE customers (
    id               INTEGER PRIMARY KEY,
    merged_into      INTEGER REFERENCES customers(id),
    family_name      TEXT NOT NULL DEFAULT '',
    given_name       TEXT NOT NULL DEFAULT '',
    family_name_kana TEXT NOT NULL DEFAULT '',
    given_name_kana  TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    locale           TEXT NOT NULL DEFAULT '',
    time_zone        TEXT NOT NULL DEFAULT '',
    country          TEXT NOT NULL DEFAULT '',
    lifecycle_stage  TEXT NOT NULL DEFAULT 'lead',
    attributes       TEXT NOT NULL DEFAULT '{}',
    -- lower-cased names, kana, email and phone digits: what search matches
    search_text      TEXT NOT NULL DEFAULT '',
    -- the key of the name sort: the kana reading in hiragana (gojuon order)
    -- when known, else the folded name; compared byte-wise on both engines
    sort_name        TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_seen_at     INTEGER
);
CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into IS NOT NULL;
-- The list shows canonical profiles only; each sort has its keyset index.
CREATE INDEX customers_created ON customers(created_at, id) WHERE merged_into IS NULL;
CREATE INDEX customers_updated ON customers(updated_at, id) WHERE merged_into IS NULL;
CREATE INDEX customers_last_seen ON customers((COALESCE(last_seen_at, -1)), id) WHERE merged_into IS NULL;
CREATE INDEX customers_sort_name ON customers(sort_name, id) WHERE merged_into IS NULL;

-- Every key a customer is known by. (kind, value) is unique: one identity
-- belongs to exactly one profile; identities never move on merge.
CREATE TABLE identities (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX identities_customer ON identities(customer_id, kind);

-- The audit trail of merges, with what an unmerge needs to restore.
CREATE TABLE customer_merges (
    id            INTEGER PRIMARY KEY,
    winner_id     INTEGER NOT NULL REFERENCES customers(id),
    loser_id      INTEGER NOT NULL REFERENCES customers(id),
    -- JSON array of profile ids that moved under the winner (the loser and
    -- the profiles already merged into it)
    moved_ids     TEXT NOT NULL,
    -- JSON of the winner's profile fields before the merge filled blanks
    winner_before TEXT NOT NULL,
    reason        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    undone_at     INTEGER,
    undone_by     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX customer_merges_winner ON customer_merges(winner_id);
CREATE INDEX customer_merges_loser ON customer_merges(loser_id);
