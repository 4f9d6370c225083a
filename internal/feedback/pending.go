package feedback

import (
	"context"
	"fmt"

	"github.com/kizuna-oss/kizuna/internal/db"
)

// SkipCancelled is the skip reason of an invitation its sender withdrew
// before it went out (CancelScheduledTx).
const SkipCancelled = "cancelled"

// CancelScheduledTx withdraws invitation id if it has not gone out yet
// (scheduled, including one deferred by quiet hours): it becomes skipped
// with reason SkipCancelled and detail, and the sender job never claims
// it. A claimed (sending) or sent invitation is left alone. It reports
// whether it withdrew the invitation.
//
// It runs in the caller's transaction and checks no permission: it is
// called by another capability that created the invitation (the support
// desk, when a ticket reopens before its CSAT survey went out).
func CancelScheduledTx(ctx context.Context, tx *db.Tx, id int64, detail string) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE survey_invitations SET status = $1, skip_reason = $2, last_error = $3
		WHERE id = $4 AND status = $5`, InvitationSkipped, SkipCancelled, truncate(detail, 200), id, InvitationScheduled)
	if err != nil {
		return false, fmt.Errorf("cancel invitation %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// HasPendingInvitationTx reports whether customer customerID (any of its
// merged profiles) has a survey invitation pending: scheduled or being
// sent, or sent and neither answered nor expired. The support desk sends
// no CSAT survey while one is. It checks no permission (like
// CancelScheduledTx).
func HasPendingInvitationTx(ctx context.Context, tx *db.Tx, customerID int64) (bool, error) {
	root, err := rootCustomer(ctx, tx, customerID)
	if err != nil {
		return false, err
	}
	var n int
	err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM survey_invitations
		WHERE customer_id IN (SELECT id FROM customers WHERE id = $1 OR merged_into = $1)
		AND (status IN ($2, $3) OR (status = $4 AND responded_at IS NULL AND (expires_at IS NULL OR expires_at > $5)))`,
		root, InvitationScheduled, InvitationSending, InvitationSent, tx.NowMS()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("pending invitations of %d: %w", customerID, err)
	}
	return n > 0, nil
}
