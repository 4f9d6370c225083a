package customer

import (
	"context"
	"errors"
	"time"

	"github.com/kizuna-oss/kizuna/internal/db"
)

// Service is the customer capability. Methods that take a context check
// the caller's permission first (auth.Require); methods ending in Tx run
// inside a transaction their caller owns (ingestion, imports) and trust it.
type Service struct {
	db *db.DB
}

// NewService returns the customer service over d.
func NewService(d *db.DB) *Service { return &Service{db: d} }

var errTODO = errors.New("customer: not implemented yet")

// ResolveTx maps each request to a profile id, in order: the profile that
// owns the request's strongest identity (user_id > email > phone > LINE >
// anonymous_id), which events and orders are then stored under; readers
// reach the canonical customer through merged_into. Known identities find
// their profile; unknown ones are attached to it; a
// request with no known identity creates a profile; a request with Merge set
// that links two profiles merges them (the older survives; two different
// user_ids never merge automatically). Traits update the profile and SeenAt
// advances last_seen_at. Requests are applied in order, so a later request
// sees what an earlier one created.
func (s *Service) ResolveTx(ctx context.Context, tx *db.Tx, reqs []Resolve) ([]int64, error) {
	return nil, errTODO
}

// RecordOrdersTx stores orders, refunds and cancellations (see OrderInput).
// An order_ref already recorded as completed is not stored twice.
func (s *Service) RecordOrdersTx(ctx context.Context, tx *db.Tx, orders []OrderInput) error {
	return errTODO
}

// Get returns the customer with its identities. The id of a merged profile
// returns the canonical customer it was merged into. [customers.read]
func (s *Service) Get(ctx context.Context, id int64) (*Customer, error) { return nil, errTODO }

// List returns canonical customers matching f. [customers.read]
func (s *Service) List(ctx context.Context, f Filter) (*Page[Customer], error) {
	return nil, errTODO
}

// Update patches a profile. Email and phone are normalised and also added
// as identities. [customers.write]
func (s *Service) Update(ctx context.Context, id int64, p Patch) (*Customer, error) {
	return nil, errTODO
}

// Timeline returns the customer's events and orders (and, later, responses
// and tickets), newest first. [customers.read]
func (s *Service) Timeline(ctx context.Context, id int64, limit int, cursor string) (*Page[TimelineItem], error) {
	return nil, errTODO
}

// Orders returns the customer's orders with lines, newest first. [orders.read]
func (s *Service) Orders(ctx context.Context, id int64, limit int, cursor string) (*Page[Order], error) {
	return nil, errTODO
}

// Events returns the customer's events, newest first. [events.read]
func (s *Service) Events(ctx context.Context, id int64, limit int, cursor string) (*Page[Event], error) {
	return nil, errTODO
}

// Summary returns the recency / frequency / monetary summary. [customers.read]
func (s *Service) Summary(ctx context.Context, id int64) (*Summary, error) { return nil, errTODO }

// Merge merges loser into winner by hand. [customers.merge]
func (s *Service) Merge(ctx context.Context, winnerID, loserID int64, reason string) (*Merge, error) {
	return nil, errTODO
}

// Unmerge undoes a merge exactly. [customers.unmerge]
func (s *Service) Unmerge(ctx context.Context, mergeID int64) error { return errTODO }

// Merges lists the merge trail of a customer, newest first. [customers.read]
func (s *Service) Merges(ctx context.Context, customerID int64) ([]Merge, error) {
	return nil, errTODO
}

// Overview returns dashboard figures for [from, to) in buckets of one day,
// week or month ("day", "week", "month"). [dashboard.read]
func (s *Service) Overview(ctx context.Context, from, to time.Time, bucket string) (*Overview, error) {
	return nil, errTODO
}
