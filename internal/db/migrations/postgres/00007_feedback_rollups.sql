-- +goose Up
-- See migrations/sqlite/00007_feedback_rollups.sql for the reasoning; same model.
CREATE TABLE survey_rollups (
    survey_id     BIGINT NOT NULL REFERENCES surveys(id),
    question_key  TEXT NOT NULL,
    grain         SMALLINT NOT NULL,
    bucket        BIGINT NOT NULL,
    attribute_key TEXT NOT NULL DEFAULT '',
    touchpoint    TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL DEFAULT '',
    journey_stage TEXT NOT NULL DEFAULT '',
    value         INTEGER NOT NULL,
    value2        INTEGER NOT NULL DEFAULT -1,
    option_key    TEXT NOT NULL DEFAULT '',
    n             BIGINT NOT NULL,
    PRIMARY KEY (survey_id, question_key, grain, bucket, attribute_key, touchpoint, channel, journey_stage, value, value2, option_key)
);

CREATE TABLE survey_rollups_total (
    survey_id     BIGINT NOT NULL REFERENCES surveys(id),
    question_key  TEXT NOT NULL,
    grain         SMALLINT NOT NULL,
    bucket        BIGINT NOT NULL,
    attribute_key TEXT NOT NULL DEFAULT '',
    value         INTEGER NOT NULL,
    value2        INTEGER NOT NULL DEFAULT -1,
    option_key    TEXT NOT NULL DEFAULT '',
    n             BIGINT NOT NULL,
    PRIMARY KEY (survey_id, question_key, grain, bucket, attribute_key, value, value2, option_key)
);

CREATE TABLE survey_rollup_applied (
    response_id BIGINT PRIMARY KEY REFERENCES survey_responses(id),
    survey_id   BIGINT NOT NULL REFERENCES surveys(id),
    counted     INTEGER NOT NULL,
    applied_at  BIGINT NOT NULL
);
CREATE INDEX survey_rollup_applied_survey ON survey_rollup_applied(survey_id);

CREATE TABLE survey_response_attributes (
    response_id BIGINT NOT NULL REFERENCES survey_responses(id),
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (response_id, key)
);

CREATE INDEX survey_responses_done ON survey_responses(survey_id, completed_at, id) WHERE status = 'completed';
