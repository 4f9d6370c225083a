package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// refusingCustomers wraps the customer service and refuses chosen inputs
// with EINVALID, as the service does for input it cannot store, to test
// that one refused order or customer costs only its own rows.
type refusingCustomers struct {
	Customers
	refuseRef    string // an order reference
	refuseUserID string // a customer id
}

func (r refusingCustomers) ResolveTx(ctx context.Context, tx *db.Tx, reqs []customer.Resolve) ([]int64, error) {
	for i, q := range reqs {
		if r.refuseUserID != "" && q.Keys.UserID == r.refuseUserID {
			return nil, kizuna.FieldError("userId", "request %d: refused by the test", i)
		}
	}
	return r.Customers.ResolveTx(ctx, tx, reqs)
}

func (r refusingCustomers) RecordOrdersTx(ctx context.Context, tx *db.Tx, orders []customer.OrderInput) error {
	for _, o := range orders {
		if o.Ref == r.refuseRef {
			return kizuna.FieldError("order_id", "order %s refused by the test", o.Ref)
		}
	}
	return r.Customers.RecordOrdersTx(ctx, tx, orders)
}

// sqlCustomers is a minimal stand-in for the customer service's two
// transaction methods over the base schema: it finds or creates one profile
// per request by its identities and inserts orders with their lines. It
// lets the import pipeline be tested on both engines independently of the
// real resolution rules.
//
// TODO(retail): once customer.Service's ResolveTx/RecordOrdersTx are on
// main, the store tests run on the real service (see newService in
// store_test.go); this stays for nothing else.
type sqlCustomers struct{}

func (sqlCustomers) ResolveTx(ctx context.Context, tx *db.Tx, reqs []customer.Resolve) ([]int64, error) {
	ids := make([]int64, len(reqs))
	for i, r := range reqs {
		keys := [][2]string{
			{customer.KindUserID, r.Keys.UserID}, {customer.KindEmail, r.Keys.Email},
			{customer.KindPhone, r.Keys.Phone}, {customer.KindAnonymousID, r.Keys.AnonymousID},
		}
		var id int64
		for _, k := range keys {
			if k[1] == "" || id != 0 {
				continue
			}
			err := tx.QueryRowContext(ctx, `SELECT customer_id FROM identities WHERE kind = $1 AND value = $2`, k[0], k[1]).Scan(&id)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
		}
		if id == 0 {
			if err := tx.QueryRowContext(ctx, `INSERT INTO customers (created_at, updated_at) VALUES ($1, $1) RETURNING id`, tx.NowMS()).Scan(&id); err != nil {
				return nil, err
			}
		}
		for _, k := range keys {
			if k[1] == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO identities (customer_id, kind, value, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, value) DO NOTHING`,
				id, k[0], k[1], tx.NowMS()); err != nil {
				return nil, err
			}
		}
		if t := r.Traits; t != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE customers SET family_name = $1, given_name = $2, country = $3, updated_at = $4 WHERE id = $5`,
				t.FamilyName, t.GivenName, t.Country, tx.NowMS(), id); err != nil {
				return nil, err
			}
		}
		ids[i] = id
	}
	return ids, nil
}

func (sqlCustomers) RecordOrdersTx(ctx context.Context, tx *db.Tx, orders []customer.OrderInput) error {
	for _, o := range orders {
		var total int64
		for _, l := range o.Lines {
			total += l.AmountMinor
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO orders (customer_id, order_ref, source, currency, total_minor, status, placed_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
			o.CustomerID, o.Ref, o.Source, o.Currency, total, o.Status, o.PlacedAt.UnixMilli(), tx.NowMS()).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert order %s: %w", o.Ref, err)
		}
		for _, l := range o.Lines {
			if _, err := tx.ExecContext(ctx, `INSERT INTO order_lines (order_id, kind, sku, name, quantity, unit_price_minor, amount_minor, occurred_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				id, l.Kind, l.SKU, l.Name, l.Quantity, l.UnitPriceMinor, l.AmountMinor, l.OccurredAt.UnixMilli()); err != nil {
				return err
			}
		}
	}
	return nil
}
