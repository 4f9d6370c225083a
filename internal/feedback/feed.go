package feedback

import (
	"context"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/jobs"
)

// The trigger feed carries committed events to the triggers (OnEvents)
// durably: a job reads the events table by id after a stored mark
// (feedback_event_marks), hands each batch to OnEvents and only then moves
// the mark. A crash between the two re-reads the batch next time, and
// OnEvents schedules nothing twice (UNIQUE(trigger_id, event_id)), so every
// event reaches the triggers exactly once in effect, across restarts and
// however many nodes run the job (job_leases lets one run at a time; an
// overrun that lets a second in is harmless for the same reason).
//
// Event ids are taken when a row is inserted, not when it commits: on
// Postgres, two nodes' ingest transactions may make id 10 visible before
// id 9. So the mark only passes events received more than feedSettle ago
// (an ingest transaction lasts milliseconds, and the request that carried
// the event waited for its commit); younger events are handed over at once
// and again on the next run, which is harmless.

const (
	feedMark   = "triggers"
	feedBatch  = 1000
	feedSettle = time.Minute
)

// FeedEvents hands the events committed since the last run to OnEvents
// and returns how many it read. [ingest.write]
func (s *Service) FeedEvents(ctx context.Context) (int, error) {
	if err := auth.Require(ctx, auth.PermIngest); err != nil {
		return 0, err
	}
	total := 0
	for {
		n, more, err := s.feedOnce(ctx)
		total += n
		if err != nil || !more {
			return total, err
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

func (s *Service) feedOnce(ctx context.Context) (int, bool, error) {
	var mark int64
	err := s.db.Reader().QueryRowContext(ctx, `SELECT COALESCE(MAX(last_event_id), 0) FROM feedback_event_marks WHERE name = $1`,
		feedMark).Scan(&mark)
	if err != nil {
		return 0, false, internalError("feedback.FeedEvents", err)
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, customer_id, name, properties, occurred_at, received_at FROM events
		WHERE id > $1 ORDER BY id LIMIT $2`, mark, feedBatch)
	if err != nil {
		return 0, false, internalError("feedback.FeedEvents", err)
	}
	var events []TriggerEvent
	settled := mark
	young := false
	settleBefore := s.db.Now().Add(-feedSettle).UnixMilli()
	n := 0
	for rows.Next() {
		var e TriggerEvent
		var props string
		var occurred, received int64
		if err := rows.Scan(&e.EventID, &e.CustomerID, &e.Name, &props, &occurred, &received); err != nil {
			rows.Close()
			return 0, false, internalError("feedback.FeedEvents", err)
		}
		n++
		if received > settleBefore {
			young = true
		} else if !young {
			settled = e.EventID
		}
		if e.Name == "" || e.CustomerID == 0 {
			continue // identify, page … carry no event name a trigger matches
		}
		e.Properties = []byte(props)
		e.OccurredAt = time.UnixMilli(occurred).UTC()
		events = append(events, e)
	}
	if err := rows.Close(); err != nil {
		return 0, false, internalError("feedback.FeedEvents", err)
	}
	if err := s.OnEvents(ctx, events); err != nil {
		return 0, false, err
	}
	if settled > mark {
		err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO feedback_event_marks (name, last_event_id, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (name) DO UPDATE SET last_event_id = excluded.last_event_id, updated_at = excluded.updated_at
				WHERE feedback_event_marks.last_event_id < excluded.last_event_id`, feedMark, settled, tx.NowMS())
			return err
		})
		if err != nil {
			return 0, false, internalError("feedback.FeedEvents", err)
		}
	}
	return n, n == feedBatch && !young, nil
}

// FeedJob runs FeedEvents every few seconds on whichever node holds its
// lease; cmd/kizuna starts it beside Jobs.
func (s *Service) FeedJob() jobs.Job {
	return jobs.Job{Name: "feedback.feed", Every: 5 * time.Second, Run: func(ctx context.Context) error {
		_, err := s.FeedEvents(ctx)
		return err
	}}
}
