-- +goose Up
-- The customer portal's passwordless sign-in (internal/support,
-- portal_auth.go). Tokens and session ids are stored only as SHA-256 hex:
-- a copy of the database hands out no live link or session.

-- Magic links: single use (used_at), 15 minutes (expires_at).
CREATE TABLE support_portal_links (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    email       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX support_portal_links_expiry ON support_portal_links(expires_at);

-- Customer sessions: a table of their own, so no customer session can
-- ever be looked up as a staff session (sessions) or the reverse.
CREATE TABLE support_portal_sessions (
    id_hash      TEXT PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX support_portal_sessions_customer ON support_portal_sessions(customer_id);

-- Requests counted for rate limits (sign-in links, contact form) by key:
-- "link-email:<address>", "link-ip:<address or /64>", "contact-ip:…".
CREATE TABLE support_portal_requests (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX support_portal_requests_key ON support_portal_requests(key, at);
