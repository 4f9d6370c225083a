package importer

import (
	"context"

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
