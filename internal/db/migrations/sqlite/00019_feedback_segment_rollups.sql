-- +goose Up
-- Rollups of survey answers by customer segment and response attribute
-- (package internal/feedback/results), so that a breakdown of a year by
-- country or lifecycle stage reads a few thousand rows instead of every
-- answer joined to its customer.
--
-- Like survey_rollups (00007), one row counts the answers of one question
-- (and attribute) that share a UTC day or month (grain 1 = day, 2 = month,
-- bucket its start in unix ms) and a value, here per segment: dim is
-- 'lifecycle_stage', 'country' or 'response:<key>', dim_value the value the
-- response had. The segment is the customer's AT COMPLETION (as Qualtrics
-- treats embedded data): a customer who later moves from "new" to "loyal"
-- keeps their earlier answers under "new". Anonymous responses count under
-- dim_value '' for lifecycle_stage and country; a response without a
-- response attribute has no row for that key (the query derives its ""
-- group from survey_rollups_total).
--
-- Only completed responses without quality flags are counted.
CREATE TABLE survey_segment_rollups (
    survey_id     INTEGER NOT NULL REFERENCES surveys(id),
    question_key  TEXT NOT NULL,
    dim           TEXT NOT NULL,
    grain         INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    dim_value     TEXT NOT NULL,
    attribute_key TEXT NOT NULL DEFAULT '',
    value         INTEGER NOT NULL,
    value2        INTEGER NOT NULL DEFAULT -1,
    option_key    TEXT NOT NULL DEFAULT '',
    n             INTEGER NOT NULL,
    -- a breakdown is a range scan of one question, one dimension and a
    -- date range.
    PRIMARY KEY (survey_id, question_key, dim, grain, bucket, dim_value, attribute_key, value, value2, option_key)
) WITHOUT ROWID;

-- The customer's segment when the response completed, written by the
-- rollup hook, so that rebuilding the rollups later reproduces the segment
-- of the time rather than today's. Responses completed before this table
-- existed have no row; a rebuild uses the customer's current segment for
-- them.
CREATE TABLE survey_response_segments (
    response_id     INTEGER PRIMARY KEY REFERENCES survey_responses(id),
    lifecycle_stage TEXT NOT NULL,
    country         TEXT NOT NULL
);
