package customer

import (
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
