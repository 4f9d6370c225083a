-- +goose Up
-- See migrations/sqlite/00021_feedback_driver_rollups.sql for the model.
CREATE TABLE survey_driver_rollups (
    survey_id        BIGINT NOT NULL REFERENCES surveys(id),
    exp_question     TEXT NOT NULL,
    outcome_question TEXT NOT NULL,
    bucket           BIGINT NOT NULL,
    attributes       TEXT NOT NULL,
    i                SMALLINT NOT NULL,
    j                SMALLINT NOT NULL,
    s                BIGINT NOT NULL,
    PRIMARY KEY (survey_id, exp_question, outcome_question, bucket, attributes, i, j)
);

-- Surveys whose rollups predate a rollup table (here: every survey with
-- counted responses when this migration ran, whose driver sums are
-- missing). Their dashboards read the answers until the results job
-- rebuilds the survey's rollups (Rebuild), which deletes the row.
CREATE TABLE survey_rollup_pending (
    survey_id  BIGINT PRIMARY KEY REFERENCES surveys(id),
    reason     TEXT NOT NULL
);
INSERT INTO survey_rollup_pending (survey_id, reason)
    SELECT DISTINCT survey_id, 'driver rollups (migration 00021)' FROM survey_rollup_applied;
