-- +goose Up
-- Sufficient statistics of the key-driver analysis (package
-- internal/feedback/results, drivers.go), so that the driver table of a
-- dashboard over a million responses reads a few thousand sums instead of
-- every answer.
--
-- The analysis regresses an outcome (an NPS, CSAT, CES or rating answer)
-- on the perceived − expected gap of each attribute of an expectation
-- question. Everything it computes (OLS coefficients and their intervals,
-- standardized coefficients, the Shapley shares of R²) is a function of the
-- sums Σ z_i·z_j over the responses, z = (1, gap_1 … gap_p, outcome): a
-- response adds z zᵀ, so the sums add up over days like counts do.
--
-- One row per survey, expectation question, outcome question, UTC day or
-- month (grain 1 = day, 2 = month, bucket its start in unix ms, as in
-- survey_rollups), touchpoint, attribute set and pair (i ≤ j) of
-- positions in z:
-- attributes is the comma-separated sorted keys of the attributes the
-- response gave a gap for (among the question's first 12), so position 1 is
-- the first of them and p + 1 the outcome; (0, 0) is the number of
-- responses. An analysis of the attributes A sums the sets that contain A
-- (picking their rows and columns) and counts the others as incomplete.
-- Gaps and outcomes are whole points, so the sums are exact integers.
--
-- Only completed responses without quality flags, with an answer to the
-- outcome, are counted (by the rollup hook, imports and Rebuild).
CREATE TABLE survey_driver_rollups (
    survey_id        INTEGER NOT NULL REFERENCES surveys(id),
    exp_question     TEXT NOT NULL,
    outcome_question TEXT NOT NULL,
    grain            INTEGER NOT NULL,
    bucket           INTEGER NOT NULL,
    touchpoint       TEXT NOT NULL,
    attributes       TEXT NOT NULL,
    i                INTEGER NOT NULL,
    j                INTEGER NOT NULL,
    s                INTEGER NOT NULL,
    PRIMARY KEY (survey_id, exp_question, outcome_question, grain, bucket, touchpoint, attributes, i, j)
) WITHOUT ROWID;

-- The segment rollups (00019) gain the response's touchpoint, so a
-- segment breakdown filtered by touchpoint reads them too. Their rows
-- cannot be split after the fact: the table is recreated empty and the
-- surveys that had responses are rebuilt (survey_rollup_pending, below).
DROP TABLE survey_segment_rollups;
CREATE TABLE survey_segment_rollups (
    survey_id     INTEGER NOT NULL REFERENCES surveys(id),
    question_key  TEXT NOT NULL,
    dim           TEXT NOT NULL,
    grain         INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    dim_value     TEXT NOT NULL,
    touchpoint    TEXT NOT NULL,
    attribute_key TEXT NOT NULL DEFAULT '',
    value         INTEGER NOT NULL,
    value2        INTEGER NOT NULL DEFAULT -1,
    option_key    TEXT NOT NULL DEFAULT '',
    n             INTEGER NOT NULL,
    PRIMARY KEY (survey_id, question_key, dim, grain, bucket, dim_value, touchpoint, attribute_key, value, value2, option_key)
) WITHOUT ROWID;

-- Surveys whose rollups predate a rollup table (here: every survey with
-- counted responses when this migration ran, whose driver sums and
-- segment rollups are missing). Their dashboards read the answers until the results job
-- rebuilds the survey's rollups (Rebuild), which deletes the row.
CREATE TABLE survey_rollup_pending (
    survey_id  INTEGER PRIMARY KEY REFERENCES surveys(id),
    reason     TEXT NOT NULL
);
INSERT INTO survey_rollup_pending (survey_id, reason)
    SELECT DISTINCT survey_id, 'driver and segment rollups (migration 00021)' FROM survey_rollup_applied;
