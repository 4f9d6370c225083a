-- +goose Up
-- See migrations/sqlite/00020_feedback_customer_dims.sql for the model.
ALTER TABLE survey_response_segments ADD COLUMN customer_attributes TEXT NOT NULL DEFAULT '{}';

CREATE TABLE survey_segment_dims (
    survey_id     BIGINT NOT NULL REFERENCES surveys(id),
    dim           TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('backfilling', 'ready', 'refused')),
    backfilled_to BIGINT NOT NULL DEFAULT 0,
    reason        TEXT NOT NULL DEFAULT '',
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (survey_id, dim)
);

-- The backfill walks a survey's counted responses in id order (SQLite's
-- index on survey_id already ends with the rowid).
CREATE INDEX survey_rollup_applied_survey_response ON survey_rollup_applied(survey_id, response_id);
DROP INDEX survey_rollup_applied_survey;
