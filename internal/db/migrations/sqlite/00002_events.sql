-- +goose Up
-- Every accepted Segment-style message. (source_id, message_id) is the
-- dedup key: a replay finds it and stores nothing; body_hash tells a replay
-- (same body) from a conflicting reuse of the id (different body).
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL,
    message_id   TEXT NOT NULL,
    body_hash    TEXT NOT NULL,
    type         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    -- No foreign key: this is the hot append-only table, and the row check
    -- halved the insert rate on Postgres. The writer takes customer_id from
    -- ResolveTx in the same transaction, and customers are never deleted
    -- (an erasure deletes a customer's events first).
    customer_id  INTEGER NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    anonymous_id TEXT NOT NULL DEFAULT '',
    properties   TEXT NOT NULL DEFAULT '{}',
    context      TEXT NOT NULL DEFAULT '{}',
    occurred_at  INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    UNIQUE (source_id, message_id)
);
CREATE INDEX events_customer_time ON events(customer_id, occurred_at, id);
CREATE INDEX events_time ON events(occurred_at);

-- Orders, from `Order Completed` events or imports. Amounts are integers in
-- the currency's minor unit (pence, cents; yen have none).
CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    order_ref   TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL DEFAULT '',
    currency    TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'completed',
    -- 1 once the order has sale lines: a cancellation invoice that refers
    -- to no known order is stored as an order but is not counted as one
    has_sale    INTEGER NOT NULL DEFAULT 0,
    placed_at   INTEGER NOT NULL,
    event_id    INTEGER REFERENCES events(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX orders_customer_time ON orders(customer_id, placed_at, id);
CREATE INDEX orders_time ON orders(placed_at);

-- Line items. kind is sale, refund or cancel; refunds and cancellations are
-- negative quantities and amounts, so SUM(amount_minor) is net revenue.
CREATE TABLE order_lines (
    id               INTEGER PRIMARY KEY,
    order_id         INTEGER NOT NULL REFERENCES orders(id),
    kind             TEXT NOT NULL DEFAULT 'sale',
    sku              TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL DEFAULT '',
    quantity         INTEGER NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    amount_minor     INTEGER NOT NULL,
    occurred_at      INTEGER NOT NULL,
    -- what recorded a refund or cancellation (a messageId, a credit note
    -- number), so that recording it again adds nothing; '' for sales
    adjustment_key   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_lines_order ON order_lines(order_id, adjustment_key);
