package support

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/jobs"
)

// Service is the support desk. Every exported method checks the caller's
// permission first.
type Service struct {
	db        *db.DB
	customers *customer.Service
}

// NewService returns the support desk over d; customers resolves
// requesters to customers and reads names and orders for macros.
func NewService(d *db.DB, customers *customer.Service) *Service {
	return &Service{db: d, customers: customers}
}

// Jobs returns the desk's background work: the SLA check every minute.
func (s *Service) Jobs() []jobs.Job {
	return []jobs.Job{{Name: "support.sla", Every: time.Minute, Run: s.CheckSLA}}
}

// Page is one page of a list; Next is the cursor of the following page
// ("" on the last).
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func msPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := msTime(v.Int64)
	return &t
}

func idPtr(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func notFound(what string, id int64) error {
	return &kizuna.Error{Code: kizuna.ENOTFOUND, Message: fmt.Sprintf("%s %d not found", what, id)}
}

func conflict(format string, args ...any) error {
	return &kizuna.Error{Code: kizuna.ECONFLICT, Message: fmt.Sprintf(format, args...)}
}

// actor names the caller for stored records (status changes).
func actor(ctx context.Context) (label string, userID *int64) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return "", nil
	}
	if p.Kind == auth.PrincipalUser {
		id := p.ID
		return p.Label, &id
	}
	return p.Label, nil
}

// require is auth.Require for a permission.
func require(ctx context.Context, p auth.Permission) error { return auth.Require(ctx, p) }

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// groupOf is the SQL of the profiles of canonical customer p (itself and
// the profiles merged into it).
func groupOf(p string) string {
	return `SELECT id FROM customers WHERE id = ` + p + ` UNION ALL SELECT id FROM customers WHERE merged_into = ` + p
}

// rootCustomer returns the canonical id of customer id.
func rootCustomer(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (int64, error) {
	var root int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(merged_into, id) FROM customers WHERE id = $1`, id).Scan(&root)
	if isNoRows(err) {
		return 0, notFound("customer", id)
	}
	return root, err
}
