-- +goose Up
-- How far the survey triggers have read the events table: the trigger feed
-- job (feedback.TriggerFeed) reads events with id > last_event_id, hands
-- them to the triggers and moves the mark forward, so every event reaches
-- the triggers even across restarts and nodes.
CREATE TABLE feedback_event_marks (
    name          TEXT PRIMARY KEY,
    last_event_id INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Installation secrets of the respondent side, created on first use:
-- "form" signs the hidden fields of survey forms, "widget" verifies the
-- visitors a site identifies to the web widget (HMAC of the user id).
CREATE TABLE feedback_secrets (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
