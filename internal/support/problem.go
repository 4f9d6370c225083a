package support

import (
	"context"
	"fmt"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// LinkIncident makes ticket incidentID an incident of problem problemID;
// a plain ticket with no problem of its own becomes a problem on its
// first incident. Errors: ENOTFOUND, EINVALID (a ticket linked to
// itself, an incident that is a problem, a problem that is an incident),
// ECONFLICT (closed tickets). [tickets.write]
func (s *Service) LinkIncident(ctx context.Context, problemID, incidentID int64) (*Ticket, error) {
	if err := require(ctx, auth.PermTicketsWrite); err != nil {
		return nil, err
	}
	if problemID == incidentID {
		return nil, kizuna.FieldError("incident_id", "a ticket cannot be its own incident")
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		p, err := s.ticket(ctx, tx, problemID)
		if err != nil {
			return err
		}
		inc, err := s.ticket(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		switch {
		case p.Status == StatusClosed || inc.Status == StatusClosed:
			return conflict("closed tickets cannot be linked")
		case p.ProblemID != nil:
			return kizuna.FieldError("id", "ticket %d is itself an incident of %d", p.ID, *p.ProblemID)
		case inc.Kind == KindProblem:
			return kizuna.FieldError("incident_id", "ticket %d is a problem", inc.ID)
		}
		now := tx.NowMS()
		if _, err := tx.ExecContext(ctx, `UPDATE support_tickets SET kind = 'problem', updated_at = $1 WHERE id = $2`, now, p.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE support_tickets SET problem_id = $1, updated_at = $2 WHERE id = $3`, p.ID, now, inc.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.ticket(ctx, s.db.Reader(), incidentID)
}

// UnlinkIncident detaches incident id from its problem.
// Errors: ENOTFOUND. [tickets.write]
func (s *Service) UnlinkIncident(ctx context.Context, incidentID int64) error {
	if err := require(ctx, auth.PermTicketsWrite); err != nil {
		return err
	}
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		if _, err := s.ticket(ctx, tx, incidentID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE support_tickets SET problem_id = NULL, updated_at = $1 WHERE id = $2`, tx.NowMS(), incidentID)
		return err
	})
}

// SolveResult says what SolveProblem did.
type SolveResult struct {
	Problem   int64   `json:"problem"`
	Incidents []int64 `json:"incidents"` // solved, each with its own reply
}

// SolveProblem replies to problem id and to each of its incidents that is
// not yet solved or closed — one public reply each, body rendered for that
// ticket's customer (the macro variables) — and solves them all in one
// transaction. Errors: ENOTFOUND, EINVALID (body, unknown variable),
// ECONFLICT (closed problem). [tickets.write]
func (s *Service) SolveProblem(ctx context.Context, id int64, body string) (*SolveResult, error) {
	if err := require(ctx, auth.PermTicketsWrite); err != nil {
		return nil, err
	}
	in := MacroInput{Name: "solve", Body: body}
	if err := in.validate(); err != nil {
		return nil, err
	}
	p, err := s.ticket(ctx, s.db.Reader(), id)
	if err != nil {
		return nil, err
	}
	if p.Status == StatusClosed {
		return nil, conflict("ticket %d is closed", id)
	}
	// Render outside the transaction: variables read the customer service.
	var targets []*Ticket
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+ticketCols+ticketFrom+`
		WHERE t.problem_id = $1 AND t.status NOT IN ('solved', 'closed') ORDER BY t.id`, id)
	if err != nil {
		return nil, fmt.Errorf("incidents of %d: %w", id, err)
	}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		targets = append(targets, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if p.Status != StatusSolved {
		targets = append([]*Ticket{p}, targets...)
	}
	bodies := make([]string, len(targets))
	for i, t := range targets {
		vars, err := s.variables(ctx, t)
		if err != nil {
			return nil, err
		}
		bodies[i] = Render(body, vars)
	}
	res := &SolveResult{Problem: id, Incidents: []int64{}}
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		res.Incidents = res.Incidents[:0]
		for i, t := range targets {
			cur, err := s.ticket(ctx, tx, t.ID)
			if err != nil {
				return err
			}
			if cur.Status == StatusSolved || cur.Status == StatusClosed {
				continue // solved meanwhile: no second reply
			}
			if _, err := agentReply(ctx, tx, cur, bodies[i], true, StatusSolved, nil); err != nil {
				return err
			}
			if err := afterTicketWrite(ctx, tx, cur.ID); err != nil {
				return err
			}
			if t.ID != id {
				res.Incidents = append(res.Incidents, t.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
