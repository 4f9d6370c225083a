-- +goose Up
-- Leases for background work that must run on exactly one node at a time
-- (cleanup, rollups). A node holds a lease until expires_at and renews it.
CREATE TABLE job_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
