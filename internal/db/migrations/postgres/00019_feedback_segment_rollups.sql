-- +goose Up
-- See migrations/sqlite/00019_feedback_segment_rollups.sql for the reasoning; same model.
CREATE TABLE survey_segment_rollups (
    survey_id     BIGINT NOT NULL REFERENCES surveys(id),
    question_key  TEXT NOT NULL,
    dim           TEXT NOT NULL,
    grain         SMALLINT NOT NULL,
    bucket        BIGINT NOT NULL,
    dim_value     TEXT NOT NULL,
    attribute_key TEXT NOT NULL DEFAULT '',
    value         INTEGER NOT NULL,
    value2        INTEGER NOT NULL DEFAULT -1,
    option_key    TEXT NOT NULL DEFAULT '',
    n             BIGINT NOT NULL,
    PRIMARY KEY (survey_id, question_key, dim, grain, bucket, dim_value, attribute_key, value, value2, option_key)
);

CREATE TABLE survey_response_segments (
    response_id     BIGINT PRIMARY KEY REFERENCES survey_responses(id),
    lifecycle_stage TEXT NOT NULL,
    country         TEXT NOT NULL
);
