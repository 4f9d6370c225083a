-- +goose Up
-- Support desk search and CSAT after resolution (internal/support: search.go,
-- csat.go; doc.go explains the model).

-- The ticket search index (rowid = support_tickets.id): the terms of
-- internal/textsearch over the subject, every message body (public and
-- internal notes: staff search only) and the requester's names and email.
-- Rewritten in the transaction of every ticket or message write.
CREATE VIRTUAL TABLE support_ticket_search USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');

-- One CSAT survey per ticket, tied to the agent and team who solved it.
-- status: claimed (a job run holds it until lease_until), invited
-- (invitation_id is the survey engine's invitation), skipped (skip_reason),
-- cancelled (the ticket reopened before the survey went out; a later solve
-- may claim the row again).
CREATE TABLE support_csat (
    ticket_id     INTEGER PRIMARY KEY REFERENCES support_tickets(id),
    solved_at     INTEGER NOT NULL,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    agent_id      INTEGER REFERENCES users(id),
    team          TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    skip_reason   TEXT NOT NULL DEFAULT '',
    lease_until   INTEGER,
    invitation_id INTEGER UNIQUE REFERENCES survey_invitations(id),
    response_id   INTEGER REFERENCES survey_responses(id),
    score         INTEGER,
    -- 1 when the survey engine flagged the response (too fast, honeypot):
    -- kept, left out of the report like every other metric does
    flagged       INTEGER NOT NULL DEFAULT 0,
    responded_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX support_csat_responded ON support_csat(responded_at) WHERE responded_at IS NOT NULL;
CREATE INDEX support_csat_invited ON support_csat(ticket_id) WHERE status = 'invited' AND responded_at IS NULL;
-- The CSAT job looks for solved tickets due for a survey.
CREATE INDEX support_tickets_solved ON support_tickets(solved_at) WHERE solved_at IS NOT NULL;
-- "My queue" (an agent's unsolved tickets, newest first) walks the agent's
-- tickets by id instead of sorting every ticket the agent ever had.
CREATE INDEX support_tickets_assignee_id ON support_tickets(assignee_id, id) WHERE assignee_id IS NOT NULL;
-- The complaint queue walks complaints by id (the 00010 complaint index is
-- by customer, for the survey pause).
CREATE INDEX support_tickets_complaint_id ON support_tickets(complaint, id);
