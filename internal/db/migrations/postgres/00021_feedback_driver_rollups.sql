-- +goose Up
-- See migrations/sqlite/00021_feedback_driver_rollups.sql for the model.
CREATE TABLE survey_driver_rollups (
    survey_id        BIGINT NOT NULL REFERENCES surveys(id),
    exp_question     TEXT NOT NULL,
    outcome_question TEXT NOT NULL,
    grain            SMALLINT NOT NULL,
    bucket           BIGINT NOT NULL,
    touchpoint       TEXT NOT NULL,
    attributes       TEXT NOT NULL,
    i                SMALLINT NOT NULL,
    j                SMALLINT NOT NULL,
    s                BIGINT NOT NULL,
    PRIMARY KEY (survey_id, exp_question, outcome_question, grain, bucket, touchpoint, attributes, i, j)
);

-- The segment rollups (00019) gain the response's touchpoint, so a
-- segment breakdown filtered by touchpoint reads them too. Their rows
-- cannot be split after the fact: the table is recreated empty and the
-- surveys that had responses are rebuilt (survey_rollup_pending, below).
DROP TABLE survey_segment_rollups;
CREATE TABLE survey_segment_rollups (
    survey_id     BIGINT NOT NULL REFERENCES surveys(id),
    question_key  TEXT NOT NULL,
    dim           TEXT NOT NULL,
    grain         SMALLINT NOT NULL,
    bucket        BIGINT NOT NULL,
    dim_value     TEXT NOT NULL,
    touchpoint    TEXT NOT NULL,
    attribute_key TEXT NOT NULL DEFAULT '',
    value         INTEGER NOT NULL,
    value2        INTEGER NOT NULL DEFAULT -1,
    option_key    TEXT NOT NULL DEFAULT '',
    n             BIGINT NOT NULL,
    PRIMARY KEY (survey_id, question_key, dim, grain, bucket, dim_value, touchpoint, attribute_key, value, value2, option_key)
);

-- Surveys whose rollups predate a rollup table (here: every survey with
-- counted responses when this migration ran, whose driver sums and
-- segment rollups are missing). Their dashboards read the answers until the results job
-- rebuilds the survey's rollups (Rebuild), which deletes the row.
CREATE TABLE survey_rollup_pending (
    survey_id  BIGINT PRIMARY KEY REFERENCES surveys(id),
    reason     TEXT NOT NULL
);
INSERT INTO survey_rollup_pending (survey_id, reason)
    SELECT DISTINCT survey_id, 'driver and segment rollups (migration 00021)' FROM survey_rollup_applied;
