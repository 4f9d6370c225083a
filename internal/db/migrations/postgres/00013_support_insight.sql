-- +goose Up
-- See migrations/sqlite/00013_support_insight.sql for the model; only the
-- search index differs: a tsvector of internal/textsearch terms with a GIN
-- index.
CREATE TABLE support_ticket_search (
    ticket_id BIGINT PRIMARY KEY REFERENCES support_tickets(id),
    terms     TSVECTOR NOT NULL
);
CREATE INDEX support_ticket_search_terms ON support_ticket_search USING GIN (terms);

CREATE TABLE support_csat (
    ticket_id     BIGINT PRIMARY KEY REFERENCES support_tickets(id),
    solved_at     BIGINT NOT NULL,
    customer_id   BIGINT NOT NULL REFERENCES customers(id),
    agent_id      BIGINT REFERENCES users(id),
    team          TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    skip_reason   TEXT NOT NULL DEFAULT '',
    lease_until   BIGINT,
    invitation_id BIGINT UNIQUE REFERENCES survey_invitations(id),
    response_id   BIGINT REFERENCES survey_responses(id),
    score         INTEGER,
    flagged       INTEGER NOT NULL DEFAULT 0,
    responded_at  BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX support_csat_responded ON support_csat(responded_at) WHERE responded_at IS NOT NULL;
CREATE INDEX support_csat_invited ON support_csat(ticket_id) WHERE status = 'invited' AND responded_at IS NULL;
CREATE INDEX support_tickets_solved ON support_tickets(solved_at) WHERE solved_at IS NOT NULL;
-- "My queue" (an agent's unsolved tickets, newest first) walks the agent's
-- tickets by id instead of sorting every ticket the agent ever had.
CREATE INDEX support_tickets_assignee_id ON support_tickets(assignee_id, id) WHERE assignee_id IS NOT NULL;
-- The complaint queue walks complaints by id (the 00010 complaint index is
-- by customer, for the survey pause).
CREATE INDEX support_tickets_complaint_id ON support_tickets(complaint, id);
