-- +goose Up
-- Distribution: triggers that invite after an event, contact rules that
-- keep customers from being tired, the per-customer contact state, and the
-- sliding window of the public form's rate limit.

-- When a matching event arrives, invite its customer after delay_ms.
CREATE TABLE survey_triggers (
    id          INTEGER PRIMARY KEY,
    survey_id   INTEGER NOT NULL REFERENCES surveys(id),
    event_name  TEXT NOT NULL,
    -- JSON array of feedback.PropertyCondition, all of which must hold
    conditions  TEXT NOT NULL DEFAULT '[]',
    delay_ms    INTEGER NOT NULL DEFAULT 0,
    channel     TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX survey_triggers_event ON survey_triggers(event_name, enabled);

-- Contact rules as JSON feedback.ContactRules: survey_id 0 is the global
-- rule set; a row for a survey replaces it for that survey.
CREATE TABLE feedback_contact_rules (
    survey_id   INTEGER PRIMARY KEY,
    rules       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- One row per contacted customer. The send decision upserts it first, so
-- two nodes deciding for the same customer serialize on this row and the
-- cooldown cannot be passed twice at once.
CREATE TABLE feedback_contacts (
    customer_id     INTEGER PRIMARY KEY REFERENCES customers(id),
    unsubscribed_at INTEGER,
    touched_at      INTEGER NOT NULL
);

-- Public form starts per (survey, hashed IP) in a sliding window; in the
-- database so the limit holds across nodes. Pruned by the abandonment job.
CREATE TABLE survey_rate_hits (
    id   INTEGER PRIMARY KEY,
    key  TEXT NOT NULL,
    at   INTEGER NOT NULL
);
CREATE INDEX survey_rate_hits_key_at ON survey_rate_hits(key, at);
CREATE INDEX survey_rate_hits_at ON survey_rate_hits(at);
