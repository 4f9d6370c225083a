package customer_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// TestTimelineShowsSurveyResponses: responses of every profile of the
// customer appear with the survey's name and their NPS / CSAT scores.
func TestTimelineShowsSurveyResponses(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		id := resolve(t, d, s, anon("surveyed"))[0]
		other := resolve(t, d, s, anon("someone-else"))[0]
		addEvent(t, d, id, "Order Completed", t0)
		ctx := context.Background()
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			var sid, vid int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO surveys (slug, name, status, current_version, created_at, updated_at)
				VALUES ('after', '購入後アンケート', 'live', 1, 0, 0) RETURNING id`).Scan(&sid); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO survey_versions (survey_id, version, definition, created_at)
				VALUES ($1, 1, '{"pages":[]}', 0) RETURNING id`, sid).Scan(&vid); err != nil {
				return err
			}
			for _, r := range []struct {
				cust               int64
				status             string
				started, completed any
				nps, csat          any
			}{
				{id, "completed", t0.Add(time.Minute).UnixMilli(), t0.Add(2 * time.Minute).UnixMilli(), 9, 4},
				{id, "partial", t0.Add(time.Hour).UnixMilli(), nil, nil, nil},
				{other, "completed", t0.UnixMilli(), t0.UnixMilli(), 1, nil},
			} {
				if _, err := tx.ExecContext(ctx, `INSERT INTO survey_responses (survey_id, version_id, customer_id, channel, status,
					started_at, updated_at, completed_at, nps_score, csat_score) VALUES ($1, $2, $3, 'email', $4, $5, $5, $6, $7, $8)`,
					sid, vid, r.cust, r.status, r.started, r.completed, r.nps, r.csat); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.Timeline(as(auth.RoleViewer), id, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, it := range page.Items {
			kinds = append(kinds, it.Kind)
		}
		if want := []string{"survey_response", "survey_response", "event"}; !slices.Equal(kinds, want) {
			t.Fatalf("kinds %v, want %v", kinds, want)
		}
		partial, done := page.Items[0], page.Items[1]
		if partial.Title != "購入後アンケート" || partial.Detail["status"] != "partial" || partial.Detail["nps"] != nil || partial.Detail["csat"] != nil {
			t.Fatalf("partial: %+v", partial)
		}
		if done.Detail["nps"] != int64(9) || done.Detail["csat"] != int64(4) || done.Detail["status"] != "completed" ||
			!done.At.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("completed: %+v", done)
		}
		// Paging through with a cursor keeps every entry once.
		if keys := timelineKeys(t, s, id); len(keys) != 3 {
			t.Fatalf("paged: %v", keys)
		}
	})
}
