-- +goose Up
-- Rollups of survey answers for the results dashboards (package
-- internal/feedback/results). A dashboard over a million responses reads
-- a few thousand rollup rows instead of millions of answers.
--
-- One row counts the answers of one question (and attribute) that share a
-- UTC day or month (grain 1 = day, 2 = month; bucket is the start of it in
-- unix ms), touchpoint, channel, journey stage and value. A range of whole
-- months reads month rows, 30 times fewer than days; the days at either
-- end of a range, and weeks, read day rows. value is the rounded score (the
-- expectation for expectation questions, whose perception is value2) or 0
-- for choice questions, whose chosen option is option_key. value2 is -1
-- where there is no second value, so the primary key never holds a NULL.
--
-- Only completed responses without quality flags (honeypot, too_fast) are
-- counted; partial and abandoned responses never are.
CREATE TABLE survey_rollups (
    survey_id     INTEGER NOT NULL REFERENCES surveys(id),
    question_key  TEXT NOT NULL,
    grain         INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    attribute_key TEXT NOT NULL DEFAULT '',
    touchpoint    TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL DEFAULT '',
    journey_stage TEXT NOT NULL DEFAULT '',
    value         INTEGER NOT NULL,
    value2        INTEGER NOT NULL DEFAULT -1,
    option_key    TEXT NOT NULL DEFAULT '',
    n             INTEGER NOT NULL,
    -- survey, question, grain, bucket first: every dashboard query is a
    -- range scan of one question over a date range.
    PRIMARY KEY (survey_id, question_key, grain, bucket, attribute_key, touchpoint, channel, journey_stage, value, value2, option_key)
) WITHOUT ROWID;

-- The same counts without touchpoint, channel and journey stage: what a
-- dashboard reads when it does not filter or group by them (the common
-- case). Summing the detailed table instead would read every combination of
-- the three for each bucket and value: ~15 times the rows for 5 touchpoints
-- and 3 channels.
CREATE TABLE survey_rollups_total (
    survey_id     INTEGER NOT NULL REFERENCES surveys(id),
    question_key  TEXT NOT NULL,
    grain         INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    attribute_key TEXT NOT NULL DEFAULT '',
    value         INTEGER NOT NULL,
    value2        INTEGER NOT NULL DEFAULT -1,
    option_key    TEXT NOT NULL DEFAULT '',
    n             INTEGER NOT NULL,
    PRIMARY KEY (survey_id, question_key, grain, bucket, attribute_key, value, value2, option_key)
) WITHOUT ROWID;

-- The responses already counted. The rollup hook inserts the marker first
-- (ON CONFLICT DO NOTHING) and adds counts only when the insert happened, so
-- a retried or repeated completion can never count a response twice.
-- counted is 0 for a flagged response: it was seen and left out.
CREATE TABLE survey_rollup_applied (
    response_id INTEGER PRIMARY KEY REFERENCES survey_responses(id),
    survey_id   INTEGER NOT NULL REFERENCES surveys(id),
    counted     INTEGER NOT NULL,
    applied_at  INTEGER NOT NULL
);
CREATE INDEX survey_rollup_applied_survey ON survey_rollup_applied(survey_id);

-- Facts about a response that are not answers: what an import carried in
-- extra columns (product id, age, department …). Breakdowns can group by
-- them ("response:<key>") and exports list them.
CREATE TABLE survey_response_attributes (
    response_id INTEGER NOT NULL REFERENCES survey_responses(id),
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (response_id, key)
) WITHOUT ROWID;

-- Newest-first lists of completed responses (verbatims) walk this index
-- backwards with a keyset on (completed_at, id).
CREATE INDEX survey_responses_done ON survey_responses(survey_id, completed_at, id) WHERE status = 'completed';
