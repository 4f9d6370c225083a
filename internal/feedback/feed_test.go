package feedback

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/jobs"
)

// addEvent stores an event row the way the ingest writer does.
func addEvent(t *testing.T, d *db.DB, cust int64, name string, received time.Time) int64 {
	t.Helper()
	var id int64
	err := d.WriteTx(context.Background(), func(tx *db.Tx) error {
		return tx.QueryRowContext(context.Background(), `INSERT INTO events (source_id, message_id, body_hash, type, name, customer_id,
			properties, occurred_at, received_at) VALUES (1, $1, 'h', $2, $3, $4, '{"revenue": 100}', $5, $5) RETURNING id`,
			fmt.Sprintf("m-%d", time.Now().UnixNano()), map[bool]string{true: "track", false: "identify"}[name != ""], name, cust,
			received.UnixMilli()).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func invitationCount(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM survey_invitations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func feedMarkOf(t *testing.T, d *db.DB) int64 {
	t.Helper()
	var n int64
	if err := d.Reader().QueryRow(`SELECT COALESCE(MAX(last_event_id), 0) FROM feedback_event_marks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFeedEventsExactlyOnce: events reach the triggers through the feed
// job, each once, across repeated runs, a restart (a new service) and two
// nodes racing; the mark never passes events younger than the settle time.
func TestFeedEventsExactlyOnce(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := NewService(d, Options{})
		ctx := manager(context.Background())
		sys := auth.System(context.Background(), "test")
		sv := liveSurvey(t, s, "feed", Settings{})
		if _, err := s.CreateTrigger(ctx, TriggerInput{SurveyID: sv.ID, EventName: "Order Completed", Delay: time.Hour}); err != nil {
			t.Fatal(err)
		}
		hanako := addCustomer(t, d, "hanako@example.jp", "Asia/Tokyo", "ja")
		old := time.Now().Add(-5 * time.Minute)
		addEvent(t, d, hanako, "", old) // an identify: no trigger
		e1 := addEvent(t, d, hanako, "Order Completed", old)
		addEvent(t, d, hanako, "Page Viewed", old)
		if _, err := s.FeedEvents(viewer(context.Background())); err == nil {
			t.Fatal("a viewer fed events")
		}
		n, err := s.FeedEvents(sys)
		if err != nil || n != 3 {
			t.Fatalf("fed %d (%v), want 3", n, err)
		}
		if got := invitationCount(t, d); got != 1 {
			t.Fatalf("%d invitations, want 1", got)
		}
		if m := feedMarkOf(t, d); m != e1+1 {
			t.Fatalf("mark %d, want %d", m, e1+1)
		}
		// A young event is handed over at once but the mark stays behind it,
		// so a lower id committing late is still read.
		young := addEvent(t, d, hanako, "Order Completed", time.Now())
		if _, err := s.FeedEvents(sys); err != nil {
			t.Fatal(err)
		}
		if got := invitationCount(t, d); got != 2 {
			t.Fatalf("%d invitations, want 2", got)
		}
		if m := feedMarkOf(t, d); m >= young {
			t.Fatalf("mark %d passed the young event %d", m, young)
		}
		// Restart: a new service re-reads the young event; nothing doubles.
		s2 := NewService(d, Options{})
		if n, err := s2.FeedEvents(sys); err != nil || n != 1 {
			t.Fatalf("after restart fed %d (%v), want the 1 young event again", n, err)
		}
		if got := invitationCount(t, d); got != 2 {
			t.Fatalf("after restart %d invitations, want 2", got)
		}
		// Two nodes, many events: each event invites exactly once.
		for i := 0; i < 30; i++ {
			addEvent(t, d, hanako, "Order Completed", old)
		}
		var wg sync.WaitGroup
		for _, svc := range []*Service{s, s2} {
			r := jobs.NewRunner(d, nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 3; i++ {
					if _, err := svc.FeedEvents(sys); err != nil {
						t.Error(err)
					}
					if _, err := r.RunOnce(context.Background(), svc.FeedJob()); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if got := invitationCount(t, d); got != 32 {
			t.Fatalf("%d invitations, want 32", got)
		}
	})
}
