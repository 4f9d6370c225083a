-- +goose Up
-- Breakdowns by a customer attribute ("customer:<key>") from the segment
-- rollups (package internal/feedback/results, customer_dims.go).
--
-- A survey lists in its settings (breakdown_attributes, at most 10) the
-- customer attributes it keeps rolled up. For those keys the rollup hook
-- records the customer's value when the response completes (the same
-- at-completion rule as lifecycle stage and country, 00019) and counts the
-- response under dim 'customer:<key>' of survey_segment_rollups. Every
-- counted response has a value for the dim: '' for an anonymous response
-- or a customer without the attribute.
--
-- The customer's values of the listed keys at completion, as a JSON object
-- of strings (a key with '' when the customer had no such attribute). A
-- key missing from the object was not listed when the response completed:
-- its rollups use the customer's current value.
ALTER TABLE survey_response_segments ADD COLUMN customer_attributes TEXT NOT NULL DEFAULT '{}';

-- One row per listed key, created by the backfill job when a key is added
-- to a survey's settings and deleted (with its rollups) when it is
-- removed. state:
--   backfilling  the job is counting the responses completed before the key
--                was listed, in response id order, one transaction per
--                chunk; backfilled_to is the last response id it has passed.
--                The hook counts a newly completed response only if its id
--                is at most backfilled_to (the job counts the others when it
--                gets there), so no response is counted twice or missed.
--   ready        every counted response is in the rollups; breakdowns read
--                them. The hook counts every new response.
--   refused      too many distinct values to roll up (an e-mail address, an
--                id: reason says so); breakdowns by it read the answers.
CREATE TABLE survey_segment_dims (
    survey_id     INTEGER NOT NULL REFERENCES surveys(id),
    dim           TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('backfilling', 'ready', 'refused')),
    backfilled_to INTEGER NOT NULL DEFAULT 0,
    reason        TEXT NOT NULL DEFAULT '',
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (survey_id, dim)
) WITHOUT ROWID;
