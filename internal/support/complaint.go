package support

import (
	"context"
	"fmt"
)

// HasOpenComplaint reports whether customer customerID (any profile of
// it: merges are followed) has a complaint ticket that is not solved or
// closed. It implements feedback.ComplaintChecker, so no survey is sent
// while a complaint is open.
//
// It checks no permission: it is asked by another capability on its own
// path (the survey sender, as the job or the user who sends), it answers
// only a yes or no, and a survey must pause whoever triggers it. Errors:
// ENOTFOUND (customer).
func (s *Service) HasOpenComplaint(ctx context.Context, customerID int64) (bool, error) {
	q := s.db.Reader()
	root, err := rootCustomer(ctx, q, customerID)
	if err != nil {
		return false, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM support_tickets WHERE complaint = 1
		AND status NOT IN ('solved', 'closed') AND customer_id IN (`+groupOf("$1")+`)`, root).Scan(&n); err != nil {
		return false, fmt.Errorf("open complaints of %d: %w", customerID, err)
	}
	return n > 0, nil
}
