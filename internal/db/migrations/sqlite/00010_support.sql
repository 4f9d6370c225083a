-- +goose Up
-- Support desk (internal/support; the model is described in its doc.go).
-- Categories: a two-level tree following the purchase cycle, editable.
CREATE TABLE support_categories (
    id         INTEGER PRIMARY KEY,
    parent_id  INTEGER REFERENCES support_categories(id),
    slug       TEXT NOT NULL UNIQUE,
    name_ja    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    archived   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE support_tickets (
    id                INTEGER PRIMARY KEY,
    subject           TEXT NOT NULL,
    -- the profile the requester resolved to; readers go through merged_into
    customer_id       INTEGER NOT NULL REFERENCES customers(id),
    channel           TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'new',
    priority          TEXT NOT NULL DEFAULT 'normal',
    category_id       INTEGER REFERENCES support_categories(id),
    complaint         INTEGER NOT NULL DEFAULT 0,
    -- 'ticket' or 'problem' (a problem gathers incident tickets)
    kind              TEXT NOT NULL DEFAULT 'ticket',
    problem_id        INTEGER REFERENCES support_tickets(id),
    merged_into       INTEGER REFERENCES support_tickets(id),
    assignee_id       INTEGER REFERENCES users(id),
    team              TEXT NOT NULL DEFAULT '',
    -- JSON array of tags, sorted and distinct; support_ticket_tags indexes them
    tags              TEXT NOT NULL DEFAULT '[]',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    first_response_at INTEGER,
    solved_at         INTEGER,
    closed_at         INTEGER,
    -- 1 while the SLA job may still have a warning or breach to record
    sla_open          INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX support_tickets_customer ON support_tickets(customer_id, created_at);
CREATE INDEX support_tickets_status ON support_tickets(status, updated_at, id);
CREATE INDEX support_tickets_assignee ON support_tickets(assignee_id, status) WHERE assignee_id IS NOT NULL;
CREATE INDEX support_tickets_problem ON support_tickets(problem_id) WHERE problem_id IS NOT NULL;
CREATE INDEX support_tickets_sla_open ON support_tickets(id) WHERE sla_open = 1;
CREATE INDEX support_tickets_complaint ON support_tickets(customer_id) WHERE complaint = 1;

CREATE TABLE support_ticket_tags (
    ticket_id INTEGER NOT NULL REFERENCES support_tickets(id),
    tag       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX support_ticket_tags_tag ON support_ticket_tags(tag);

-- Every status a ticket entered, with when: the SLA clock's pauses.
CREATE TABLE support_status_changes (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES support_tickets(id),
    status    TEXT NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX support_status_changes_ticket ON support_status_changes(ticket_id, at);

CREATE TABLE support_messages (
    id             INTEGER PRIMARY KEY,
    ticket_id      INTEGER NOT NULL REFERENCES support_tickets(id),
    -- 'customer', 'agent' or 'system'
    author_kind    TEXT NOT NULL,
    author_user_id INTEGER REFERENCES users(id),
    author_name    TEXT NOT NULL DEFAULT '',
    -- 0: an internal note, never shown to the customer
    public         INTEGER NOT NULL DEFAULT 1,
    -- 'in' (from the customer) or 'out' (to the customer, or a note)
    direction      TEXT NOT NULL,
    body           TEXT NOT NULL,
    -- email threading (RFC 5322); '' when the message did not come by mail
    email_message_id TEXT NOT NULL DEFAULT '',
    in_reply_to      TEXT NOT NULL DEFAULT '',
    email_references TEXT NOT NULL DEFAULT '',
    -- the ticket the message was first written on, when merged from another
    merged_from    INTEGER,
    created_at     INTEGER NOT NULL
);
CREATE INDEX support_messages_ticket ON support_messages(ticket_id, created_at, id);
CREATE INDEX support_messages_email ON support_messages(email_message_id) WHERE email_message_id <> '';

-- Attachments are stored in the database (one backup holds everything);
-- their size is capped by the service.
CREATE TABLE support_attachments (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES support_messages(id),
    ticket_id    INTEGER NOT NULL REFERENCES support_tickets(id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX support_attachments_message ON support_attachments(message_id);
CREATE INDEX support_attachments_ticket ON support_attachments(ticket_id);

CREATE TABLE support_macros (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The SLA policy: JSON sla.Policy (rules, warning, pause_on_hold) and JSON
-- calendar.Config. One row ('default'); absent means the built-in default.
CREATE TABLE support_sla_policy (
    name       TEXT PRIMARY KEY,
    policy     TEXT NOT NULL,
    calendar   TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The default category tree (the purchase cycle); editable in the service.
INSERT INTO support_categories (parent_id, slug, name_ja, name_en, position, created_at) VALUES
    (NULL, 'before-purchase', '購入前', 'Before purchase', 1, 0),
    (NULL, 'at-purchase', '購入時', 'At purchase', 2, 0),
    (NULL, 'after-purchase', '購入後', 'After purchase', 3, 0),
    (NULL, 'opinions-requests', 'ご意見・ご要望', 'Opinions and requests', 4, 0);
INSERT INTO support_categories (parent_id, slug, name_ja, name_en, position, created_at)
SELECT p.id, c.slug, c.name_ja, c.name_en, c.position, 0 FROM support_categories p JOIN (
    SELECT 'before-purchase' AS parent, 'product-usage' AS slug, '商品・使い方のお問い合わせ' AS name_ja, 'Product and usage questions' AS name_en, 1 AS position
    UNION ALL SELECT 'before-purchase', 'price-warranty', '価格・保証', 'Price and warranty', 2
    UNION ALL SELECT 'at-purchase', 'ordering', 'ご注文', 'Ordering', 1
    UNION ALL SELECT 'at-purchase', 'payment', 'お支払い', 'Payment', 2
    UNION ALL SELECT 'at-purchase', 'delivery', '配送', 'Delivery', 3
    UNION ALL SELECT 'at-purchase', 'first-use-setup', '初期設定・ご使用開始', 'First use and setup', 4
    UNION ALL SELECT 'at-purchase', 'defects-claims', '初期不良・クレーム', 'Defects and claims', 5
    UNION ALL SELECT 'at-purchase', 'exchanges', '交換・返品', 'Exchanges', 6
    UNION ALL SELECT 'after-purchase', 'trouble', '故障・トラブル', 'Trouble', 1
    UNION ALL SELECT 'after-purchase', 'repair', '修理', 'Repair', 2
    UNION ALL SELECT 'after-purchase', 'renewal', '更新・継続', 'Renewal', 3
    UNION ALL SELECT 'after-purchase', 'additional-orders', '追加注文', 'Additional orders', 4
) c ON c.parent = p.slug;

-- Warnings and breaches, each recorded once: (ticket, metric, cycle, kind)
-- is unique, so however often the job runs, and on however many nodes, a
-- breach is one row.
CREATE TABLE support_sla_events (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES support_tickets(id),
    metric      TEXT NOT NULL,
    cycle       INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    -- when it happened by the clock (not when the job noticed)
    at          INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (ticket_id, metric, cycle, kind)
);
CREATE INDEX support_sla_events_at ON support_sla_events(at);
