package results

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

func TestCustomerValue(t *testing.T) {
	for raw, want := range map[string]string{
		``: "", `null`: "", `"gold"`: "gold", `"ゴールド"`: "ゴールド", `3`: "3", `3.0`: "3.0", `1.5`: "1.5", `-2`: "-2",
		`true`: "true", `false`: "false", `{"a": 1}`: `{"a":1}`, `[1, 2]`: `[1,2]`,
		`"` + strings.Repeat("x", maxSegmentValue+1) + `"`: "",
	} {
		if got := customerValue(json.RawMessage(raw)); got != want {
			t.Errorf("customerValue(%s) = %q, want %q", raw, got, want)
		}
	}
	if got := customerValues(`not json`, []string{"plan"}); got["plan"] != "" || len(got) != 1 {
		t.Errorf("customerValues of bad JSON = %v", got)
	}
}

func setBreakdownAttributes(t *testing.T, d *db.DB, surveyID int64, keys ...string) {
	t.Helper()
	st, _ := json.Marshal(feedback.Settings{BreakdownAttributes: keys})
	if _, err := d.Writer().Exec(`UPDATE surveys SET settings = $1 WHERE id = $2`, string(st), surveyID); err != nil {
		t.Fatal(err)
	}
}

func dimRow(t *testing.T, d *db.DB, surveyID int64, key string) (state string, to int64) {
	t.Helper()
	err := d.Reader().QueryRow(`SELECT state, backfilled_to FROM survey_segment_dims WHERE survey_id = $1 AND dim = $2`, surveyID, dimName(key)).Scan(&state, &to)
	if err != nil {
		t.Fatalf("dim %s: %v", key, err)
	}
	return state, to
}

// step runs one backfill transaction on key.
func step(t *testing.T, d *db.DB, surveyID int64, key string) bool {
	t.Helper()
	var done bool
	if err := d.WriteTx(context.Background(), func(tx *db.Tx) (err error) {
		done, err = backfillStep(context.Background(), tx, surveyID, key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return done
}

// TestCustomerDims follows a customer attribute from being listed to being
// dropped: while the job backfills it chunk by chunk, responses keep
// completing (new ones, and old partial ones on either side of the
// backfill's mark); once ready, the rollups equal the answers on every
// split and range, a breakdown reads them, Rebuild finds the same rows,
// the value counted is the customer's at completion, and a key listed
// later falls back to the current value of earlier responses. Unlisting
// drops the rollups; too many values refuse the key.
func TestCustomerDims(t *testing.T) {
	defer func(c int) { backfillChunk = c }(backfillChunk)
	backfillChunk = 40
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		svc := New(d)
		s := createSurvey(t, d, "dims", testDef, feedback.Settings{})
		rng := rand.New(rand.NewPCG(5, 6))
		plans := []any{"gold", "silver", 3, nil, true}
		var custs []int64
		for i := range 10 {
			attrs := map[string]any{"region": []string{"kanto", "kansai"}[i%2], "email": fmt.Sprintf("c%d@example.com", i)}
			if p := plans[i%len(plans)]; p != nil {
				attrs["plan"] = p
			}
			custs = append(custs, createCustomer(t, d, "JP", "customer", attrs))
		}
		newResponse := func() *feedback.Response {
			done := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(90*24*60)) * time.Minute)
			r := &feedback.Response{Touchpoint: "web", StartedAt: done, CompletedAt: &done,
				Answers: []feedback.Answer{
					{Question: "nps", Num: num(float64(rng.IntN(11)))},
					{Question: "exp", Attribute: "quality", Num: num(float64(1 + rng.IntN(5))), Num2: num(float64(1 + rng.IntN(5)))},
				}}
			if c := rng.IntN(len(custs) + 2); c < len(custs) {
				r.CustomerID = &custs[c]
			}
			if rng.IntN(12) == 0 {
				r.Flags = []string{"too_fast"}
			}
			return r
		}
		// Partial responses started early, completed later.
		insertPartial := func() *feedback.Response {
			r := newResponse()
			r.Status = feedback.ResponsePartial
			done := r.CompletedAt
			r.CompletedAt = nil
			if err := d.WriteTx(ctx, func(tx *db.Tx) error { return insertResponse(ctx, tx, s, r) }); err != nil {
				t.Fatal(err)
			}
			r.CompletedAt = done
			return r
		}
		finish := func(r *feedback.Response) {
			r.Status = feedback.ResponseCompleted
			if err := d.WriteTx(ctx, func(tx *db.Tx) error {
				if _, err := tx.ExecContext(ctx, `UPDATE survey_responses SET status = 'completed', completed_at = $1 WHERE id = $2`, r.CompletedAt.UnixMilli(), r.ID); err != nil {
					return err
				}
				return OnComplete(ctx, tx, r)
			}); err != nil {
				t.Fatal(err)
			}
		}
		var early []*feedback.Response
		for range 10 {
			early = append(early, insertPartial())
		}
		for range 150 {
			complete(t, d, s, newResponse())
		}
		var late []*feedback.Response
		for range 10 {
			late = append(late, insertPartial())
		}

		// Listed, not yet picked up by the job: the breakdown reads the
		// answers and says why.
		setBreakdownAttributes(t, d, s.ID, "plan")
		b, err := svc.Breakdown(viewer(), Filter{SurveyID: s.ID}, "customer:plan")
		if err != nil {
			t.Fatal(err)
		}
		if !b.FromAnswers || b.Tracking == nil || b.Tracking.State != DimBackfilling {
			t.Fatalf("before the job: from answers %v, tracking %+v", b.FromAnswers, b.Tracking)
		}
		untracked, err := svc.Breakdown(viewer(), Filter{SurveyID: s.ID}, "customer:region")
		if err != nil {
			t.Fatal(err)
		}
		if !untracked.FromAnswers || untracked.Tracking.State != DimUntracked {
			t.Fatalf("unlisted key: from answers %v, tracking %+v", untracked.FromAnswers, untracked.Tracking)
		}

		// The job creates the row; then one chunk at a time, with
		// completions in between.
		runJob := func() {
			t.Helper()
			if err := BackfillDims(system(), d); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Writer().Exec(`INSERT INTO survey_segment_dims (survey_id, dim, state, backfilled_to, updated_at) VALUES ($1, $2, 'backfilling', 0, 0)`, s.ID, dimName("plan")); err != nil {
			t.Fatal(err)
		}
		if step(t, d, s.ID, "plan") {
			t.Fatal("ready after one chunk of 40 out of ~140")
		}
		_, mark := dimRow(t, d, s.ID, "plan")
		// Early partials (ids below the mark) completing now are counted by
		// the hook; late ones (above it) by the backfill.
		for _, r := range early[:5] {
			if r.ID > mark {
				t.Fatalf("early response %d above the mark %d", r.ID, mark)
			}
			finish(r)
		}
		for _, r := range late[:5] {
			finish(r)
		}
		complete(t, d, s, newResponse())
		step(t, d, s.ID, "plan")
		for _, r := range early[5:] {
			finish(r)
		}
		runJob()
		if state, _ := dimRow(t, d, s.ID, "plan"); state != DimReady {
			t.Fatalf("after the job: %s", state)
		}
		for _, r := range late[5:] {
			finish(r)
		}
		for range 20 {
			complete(t, d, s, newResponse())
		}

		f := Filter{SurveyID: s.ID}
		qs := []feedback.Question{testDef.Pages[0].Questions[0], testDef.Pages[0].Questions[3]}
		checkSegmentsEqualAnswers(t, svc, f, qs, []Dimension{"customer:plan"})
		b, err = svc.Breakdown(viewer(), f, "customer:plan")
		if err != nil {
			t.Fatal(err)
		}
		if b.FromAnswers || b.Tracking.State != DimReady {
			t.Fatalf("ready: from answers %v, tracking %+v", b.FromAnswers, b.Tracking)
		}
		groups := map[string]int{}
		total := 0
		for _, g := range b.Groups {
			groups[g.Key] = g.Estimate.N
			total += g.Estimate.N
		}
		nps, err := svc.NPS(viewer(), f)
		if err != nil {
			t.Fatal(err)
		}
		if total != nps.NPS.N {
			t.Errorf("groups add up to %d, NPS n = %d", total, nps.NPS.N)
		}
		for _, k := range []string{"gold", "silver", "3", "true", ""} {
			if groups[k] == 0 {
				t.Errorf("group %q missing from %v", k, groups)
			}
		}

		// At completion: a customer who moves from gold to platinum keeps
		// earlier answers under gold, on both paths and after Rebuild.
		gold := custs[0]
		if _, err := d.Writer().Exec(`UPDATE customers SET attributes = $1 WHERE id = $2`, `{"plan":"platinum","region":"kanto"}`, gold); err != nil {
			t.Fatal(err)
		}
		r := newResponse()
		r.CustomerID, r.Flags = &gold, nil
		complete(t, d, s, r)
		checkSegmentsEqualAnswers(t, svc, f, qs, []Dimension{"customer:plan"})
		b, _ = svc.Breakdown(viewer(), f, "customer:plan")
		got := map[string]int{}
		for _, g := range b.Groups {
			got[g.Key] = g.Estimate.N
		}
		if got["platinum"] != 1 || got["gold"] != groups["gold"] {
			t.Errorf("after the move: %v (before %v)", got, groups)
		}
		incremental := segmentRows(t, d, s.ID)
		if err := Rebuild(system(), d, s.ID); err != nil {
			t.Fatal(err)
		}
		if rebuilt := segmentRows(t, d, s.ID); !reflect.DeepEqual(incremental, rebuilt) {
			t.Fatalf("rebuild differs: %d vs %d rows", len(incremental), len(rebuilt))
		}

		// A key listed later: responses completed before have no snapshot
		// of it and count under the current value; equal on both paths.
		setBreakdownAttributes(t, d, s.ID, "plan", "region")
		runJob()
		if state, _ := dimRow(t, d, s.ID, "region"); state != DimReady {
			t.Fatalf("region: %s", state)
		}
		checkSegmentsEqualAnswers(t, svc, f, qs, []Dimension{"customer:plan", "customer:region"})

		// Too many values: refused, its rollups dropped, the breakdown
		// reads the answers and says why.
		defer func(n int) { dimValueLimit = n }(dimValueLimit)
		dimValueLimit = 5
		setBreakdownAttributes(t, d, s.ID, "plan", "region", "email")
		runJob()
		if state, _ := dimRow(t, d, s.ID, "email"); state != DimRefused {
			t.Fatalf("email: %s", state)
		}
		dimValueLimit = MaxDimValues
		for k := range segmentRows(t, d, s.ID) {
			if strings.Contains(k, "/customer:email/") {
				t.Fatalf("refused dim still rolled up: %s", k)
			}
		}
		b, err = svc.Breakdown(viewer(), f, "customer:email")
		if err != nil {
			t.Fatal(err)
		}
		if !b.FromAnswers || b.Tracking.State != DimRefused || !strings.Contains(b.Tracking.Reason, "distinct values") {
			t.Errorf("refused: from answers %v, tracking %+v", b.FromAnswers, b.Tracking)
		}
		tr, err := svc.Tracking(viewer(), s.ID)
		if err != nil || len(tr) != 3 {
			t.Fatalf("tracking: %v %+v", err, tr)
		}

		// Unlisted: the row and its rollups go.
		setBreakdownAttributes(t, d, s.ID, "plan")
		runJob()
		var n int
		if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM survey_segment_dims WHERE survey_id = $1`, s.ID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("dims after unlisting: %d, %v", n, err)
		}
		for k := range segmentRows(t, d, s.ID) {
			if strings.Contains(k, "/customer:region/") {
				t.Fatalf("unlisted dim still rolled up: %s", k)
			}
		}
		checkSegmentsEqualAnswers(t, svc, f, qs, []Dimension{"customer:plan"})
	})
}

// TestCustomerDimsImport: imported responses of a survey listing a
// breakdown attribute are counted by the batched hook and equal the
// answers.
func TestCustomerDimsImport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		sum := importPast(t, d)
		// Give the imported customers a plan, list it, backfill, then
		// import again (new responses through the hook).
		if _, err := d.Writer().Exec(`UPDATE customers SET attributes = '{"plan":"basic"}'`); err != nil {
			t.Fatal(err)
		}
		setBreakdownAttributes(t, d, sum.SurveyID, "plan")
		if err := BackfillDims(system(), d); err != nil {
			t.Fatal(err)
		}
		if state, _ := dimRow(t, d, sum.SurveyID, "plan"); state != DimReady {
			t.Fatalf("plan: %s", state)
		}
		m := pastMapping()
		m.Errors = &bytes.Buffer{}
		again, err := ImportCSV(auth.System(context.Background(), "import"), d, customer.NewService(d),
			strings.NewReader(strings.NewReplacer("2025-", "2024-", "\na", "\nb").Replace(pastFeedback)), m)
		if err != nil {
			t.Fatal(err)
		}
		if again.SurveyID != sum.SurveyID || again.Imported == 0 {
			t.Fatalf("second import: %+v", again)
		}
		svc := New(d)
		info, err := loadSurvey(context.Background(), d.Reader(), sum.SurveyID)
		if err != nil {
			t.Fatal(err)
		}
		q, _, err := headline(info, "")
		if err != nil {
			t.Fatal(err)
		}
		dm, _ := parseDimension("customer:plan")
		if a, b := segmentsAndAnswers(t, svc, Filter{SurveyID: sum.SurveyID}, q, dm, splitNone); len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("segment rollups %+v, answers %+v", a, b)
		}
	})
}

// TestCustomerDimsConcurrent: while the job backfills a newly listed
// attribute, four writers keep completing responses (new ones, and
// partial ones started before the listing, so with ids on both sides of
// the backfill's mark). Every counted response ends up counted exactly
// once: the rollups equal the answers, on both engines (Postgres with real
// concurrent transactions and row locks).
func TestCustomerDimsConcurrent(t *testing.T) {
	defer func(c int) { backfillChunk = c }(backfillChunk)
	backfillChunk = 25
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := createSurvey(t, d, "dims-concurrent", testDef, feedback.Settings{})
		var custs []int64
		for i := range 8 {
			custs = append(custs, createCustomer(t, d, "JP", "customer", map[string]any{"plan": fmt.Sprintf("p%d", i%3)}))
		}
		mk := func(rng *rand.Rand) *feedback.Response {
			done := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(120*24)) * time.Hour)
			r := &feedback.Response{Touchpoint: []string{"web", "store"}[rng.IntN(2)], StartedAt: done, CompletedAt: &done,
				Answers: []feedback.Answer{{Question: "nps", Num: num(float64(rng.IntN(11)))}}}
			if c := rng.IntN(len(custs) + 1); c < len(custs) {
				r.CustomerID = &custs[c]
			}
			return r
		}
		rng := rand.New(rand.NewPCG(11, 12))
		var partials []*feedback.Response
		for i := range 200 {
			r := mk(rng)
			if i%4 == 0 {
				r.Status, r.CompletedAt = feedback.ResponsePartial, nil
				if err := d.WriteTx(ctx, func(tx *db.Tx) error { return insertResponse(ctx, tx, s, r) }); err != nil {
					t.Fatal(err)
				}
				partials = append(partials, r)
				continue
			}
			complete(t, d, s, r)
		}
		setBreakdownAttributes(t, d, s.ID, "plan")

		errc := make(chan error, 5)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 99))
				for i := range 40 {
					r := mk(rng)
					err := d.WriteTx(ctx, func(tx *db.Tx) error {
						if i%4 == 0 && w*10+i/4 < len(partials) {
							// Finish a partial started before the listing.
							p := partials[w*10+i/4]
							done := *r.CompletedAt
							p.Status, p.CompletedAt = feedback.ResponseCompleted, &done
							if _, err := tx.ExecContext(ctx, `UPDATE survey_responses SET status = 'completed', completed_at = $1 WHERE id = $2`, done.UnixMilli(), p.ID); err != nil {
								return err
							}
							return OnComplete(ctx, tx, p)
						}
						if err := insertResponse(ctx, tx, s, r); err != nil {
							return err
						}
						return OnComplete(ctx, tx, r)
					})
					if err != nil {
						errc <- err
						return
					}
				}
			})
		}
		wg.Go(func() {
			for range 3 { // the job runs again while writers go on
				if err := BackfillDims(system(), d); err != nil {
					errc <- err
					return
				}
			}
		})
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if err := BackfillDims(system(), d); err != nil {
			t.Fatal(err)
		}
		if state, _ := dimRow(t, d, s.ID, "plan"); state != DimReady {
			t.Fatalf("plan: %s", state)
		}
		checkSegmentsEqualAnswers(t, New(d), Filter{SurveyID: s.ID}, []feedback.Question{testDef.Pages[0].Questions[0]}, []Dimension{"customer:plan"})
	})
}
