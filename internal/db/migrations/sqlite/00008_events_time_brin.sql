-- +goose Up
-- Postgres replaces its events_time B-tree with BRIN here. SQLite has no
-- BRIN, keeps its B-tree, and takes this version only to keep both engines'
-- migration numbers aligned.
SELECT 1;
