-- +goose Up
-- See migrations/sqlite/00009_feedback_feed.sql.
CREATE TABLE feedback_event_marks (
    name          TEXT PRIMARY KEY,
    last_event_id BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE feedback_secrets (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
