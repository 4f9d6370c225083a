-- +goose Up
-- Support email (internal/support/mailbox; the design is in its doc.go).

-- One Message-ID is one message: the same mail delivered twice (an SMTP
-- retry, a re-polled IMAP message, both transports) is stored once.
CREATE UNIQUE INDEX support_messages_email_unique ON support_messages(email_message_id) WHERE email_message_id <> '';
DROP INDEX support_messages_email;

-- The per-ticket token of the subject tag "[#123-token]": a tag without
-- the right token threads nothing.
CREATE TABLE support_mail_tickets (
    ticket_id  BIGINT PRIMARY KEY REFERENCES support_tickets(id),
    token      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Messages that arrived by mail: who sent them and how. Replies go to the
-- latest sender of a ticket, and only tickets with a row here get mail.
CREATE TABLE support_mail_inbound (
    message_id  BIGINT PRIMARY KEY REFERENCES support_messages(id),
    from_addr   TEXT NOT NULL,
    transport   TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- The outbox: each public agent reply on a mail ticket, committed before it
-- is sent; the job sends what is pending and records the outcome.
-- status: pending (next_attempt_at is when it may be tried; a sender holds
-- a row by moving it forward), sent, failed (gave up; see last_error).
CREATE TABLE support_mail_outbox (
    message_id       BIGINT PRIMARY KEY REFERENCES support_messages(id),
    to_addr          TEXT NOT NULL,
    email_message_id TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    sent_at          BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX support_mail_outbox_due ON support_mail_outbox(next_attempt_at) WHERE status = 'pending';

-- Finds agent replies not yet in the outbox without scanning every message.
CREATE INDEX support_messages_unsent ON support_messages(created_at) WHERE direction = 'out' AND public = 1 AND email_message_id = '';
