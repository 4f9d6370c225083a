package support

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Merge folds duplicate ticket sourceID into targetID: its messages and
// attachments move (each remembering where it came from), its tags join
// the target's, its incidents follow it, and it is closed with
// merged_into pointing at the target. Both tickets get an internal note.
// Errors: ENOTFOUND, EINVALID (same ticket), ECONFLICT (either closed).
// [tickets.write]
func (s *Service) Merge(ctx context.Context, sourceID, targetID int64) (*Ticket, error) {
	if err := require(ctx, auth.PermTicketsWrite); err != nil {
		return nil, err
	}
	if sourceID == targetID {
		return nil, kizuna.FieldError("into", "a ticket cannot be merged into itself")
	}
	label, _ := actor(ctx)
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		src, err := s.ticket(ctx, tx, sourceID)
		if err != nil {
			return err
		}
		dst, err := s.ticket(ctx, tx, targetID)
		if err != nil {
			return err
		}
		if src.Status == StatusClosed || dst.Status == StatusClosed {
			return conflict("closed tickets cannot be merged")
		}
		if dst.ProblemID != nil && *dst.ProblemID == src.ID {
			return kizuna.FieldError("into", "ticket %d is an incident of %d; unlink it first", dst.ID, src.ID)
		}
		now := tx.NowMS()
		if _, err := tx.ExecContext(ctx, `UPDATE support_messages SET merged_from = COALESCE(merged_from, ticket_id), ticket_id = $1
			WHERE ticket_id = $2`, dst.ID, src.ID); err != nil {
			return fmt.Errorf("merge messages: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE support_attachments SET ticket_id = $1 WHERE ticket_id = $2`, dst.ID, src.ID); err != nil {
			return fmt.Errorf("merge attachments: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE support_tickets SET problem_id = $1 WHERE problem_id = $2`, dst.ID, src.ID); err != nil {
			return fmt.Errorf("merge incidents: %w", err)
		}
		tags := append(slices.Clone(dst.Tags), src.Tags...)
		slices.Sort(tags)
		tags = slices.Compact(tags)
		b, _ := json.Marshal(tags)
		kind := dst.Kind
		if src.Kind == KindProblem {
			kind = KindProblem
		}
		if _, err := tx.ExecContext(ctx, `UPDATE support_tickets SET tags = $1, kind = $2, updated_at = $3 WHERE id = $4`,
			string(b), kind, now, dst.ID); err != nil {
			return err
		}
		if err := writeTags(ctx, tx, dst.ID, tags); err != nil {
			return err
		}
		for _, n := range []struct {
			id   int64
			body string
		}{
			{dst.ID, fmt.Sprintf("Ticket #%d was merged into this ticket. / チケット #%d をこのチケットに統合しました。", src.ID, src.ID)},
			{src.ID, fmt.Sprintf("Merged into ticket #%d. / チケット #%d に統合しました。", dst.ID, dst.ID)},
		} {
			if _, err := insertMessage(ctx, tx, message{ticketID: n.id, authorKind: AuthorSystem, authorName: label,
				direction: DirectionOut, body: n.body, at: now}, nil); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE support_tickets SET merged_into = $1, problem_id = NULL WHERE id = $2`, dst.ID, src.ID); err != nil {
			return err
		}
		if err := forceStatus(ctx, tx, src.ID, StatusClosed, now, label); err != nil {
			return err
		}
		return afterTicketWrite(ctx, tx, src.ID, dst.ID)
	})
	if err != nil {
		return nil, err
	}
	return s.ticket(ctx, s.db.Reader(), targetID)
}
