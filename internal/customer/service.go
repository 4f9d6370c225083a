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
	// Region is the ISO 3166 region a phone number without a country code
	// is read in; "" means DefaultRegion (JP).
	Region string
}

func (s *Service) region() string {
	if s.Region == "" {
		return DefaultRegion
	}
	return s.Region
}

// NewService returns the customer service over d.
func NewService(d *db.DB) *Service { return &Service{db: d} }

var errTODO = errors.New("customer: not implemented yet")

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
