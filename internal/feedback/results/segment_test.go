package results

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

func segmentRows(t *testing.T, d *db.DB, surveyID int64) map[string]int64 {
	t.Helper()
	rows, err := d.Reader().Query(`SELECT question_key, dim, grain, bucket, dim_value, touchpoint, attribute_key, value, value2, option_key, n FROM survey_segment_rollups WHERE survey_id = $1`, surveyID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := make(map[string]int64)
	for rows.Next() {
		var q, dim, dv, tp, a, opt string
		var grain, v, v2 int
		var bucket, n int64
		if err := rows.Scan(&q, &dim, &grain, &bucket, &dv, &tp, &a, &v, &v2, &opt, &n); err != nil {
			t.Fatal(err)
		}
		m[fmt.Sprintf("%s/%s/%d/%d/%s/%s/%s/%d/%d/%s", q, dim, grain, bucket, dv, tp, a, v, v2, opt)] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func sortedCells(cs []cell) []cell {
	slices.SortFunc(cs, func(a, b cell) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Day, b.Day), cmp.Compare(a.Attribute, b.Attribute),
			cmp.Compare(a.Value, b.Value), cmp.Compare(a.Value2, b.Value2), cmp.Compare(a.Option, b.Option))
	})
	return cs
}

// segmentsAndAnswers returns the cells of q grouped by dm under f from
// the segment rollups and from the answers, each sorted.
func segmentsAndAnswers(t *testing.T, svc *Service, f Filter, q feedback.Question, dm dimension, sp split) (fromSegments, fromAnswers []cell) {
	t.Helper()
	a, err := svc.countsFromSegments(context.Background(), f, q, dm, sp)
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.countsFromAnswers(context.Background(), f, q, dm, sp)
	if err != nil {
		t.Fatal(err)
	}
	return sortedCells(a), sortedCells(b)
}

// checkSegmentsEqualAnswers asserts the segment rollups give the same cells
// as the answers for dims, over the whole survey and a ragged range (day,
// month and day rows), with and without a touchpoint filter, in total, by
// day and by week.
func checkSegmentsEqualAnswers(t *testing.T, svc *Service, f Filter, questions []feedback.Question, dims []Dimension) {
	t.Helper()
	ranges := []Filter{f}
	if !f.From.IsZero() || !f.To.IsZero() {
		t.Fatal("checkSegmentsEqualAnswers takes an open filter")
	}
	ragged := f
	ragged.From, ragged.To = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	ranges = append(ranges, ragged)
	// The segment rollups keep touchpoints apart: filtered views too.
	for _, g := range []Filter{f, ragged} {
		g.Touchpoint = "web"
		ranges = append(ranges, g)
	}
	for _, dim := range dims {
		dm, err := parseDimension(dim)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range ranges {
			if !dm.fromSegmentRollups(g) {
				t.Fatalf("%s: not answered by the segment rollups", dim)
			}
			for _, q := range questions {
				// splitMonth is left out: the answers give days there and
				// the caller folds them into months.
				for _, sp := range []split{splitNone, splitDay, splitWeek} {
					if a, b := segmentsAndAnswers(t, svc, g, q, dm, sp); len(a) == 0 || !reflect.DeepEqual(a, b) {
						t.Errorf("%s, %s, split %d, %v–%v: segment rollups %d cells, answers %d cells", dim, q.Key, sp, g.From, g.To, len(a), len(b))
					}
				}
			}
		}
	}
}

// TestSegmentRollupsRandom: on a random survey whose customers never change
// segment, the segment rollups count exactly what the answers do, for
// lifecycle stage, country and response attributes; Rebuild finds the same
// rows; flagged responses are left out.
func TestSegmentRollupsRandom(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := createSurvey(t, d, "segments", testDef, feedback.Settings{})
		rng := rand.New(rand.NewPCG(3, 4))
		ctx := context.Background()
		countries := []string{"JP", "US", "GB", ""}
		stages := []string{"new", "customer", "loyal", "at_risk"}
		var custs []int64
		for i := range 12 {
			custs = append(custs, createCustomer(t, d, countries[i%4], stages[i%3], nil))
		}
		// A customer only flagged responses come from, and one merged into
		// another (counted under the one it was merged into).
		spammer := createCustomer(t, d, "XX", "spam", nil)
		merged := createCustomer(t, d, "FR", "new", nil)
		if _, err := d.Writer().Exec(`UPDATE customers SET merged_into = $1 WHERE id = $2`, custs[0], merged); err != nil {
			t.Fatal(err)
		}
		custs = append(custs, merged)
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			for i := range 300 {
				done := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(90*24*60)) * time.Minute)
				r := &feedback.Response{Touchpoint: []string{"web", "store"}[rng.IntN(2)], StartedAt: done, CompletedAt: &done,
					Answers: []feedback.Answer{
						{Question: "nps", Num: num(float64(rng.IntN(12)))},
						{Question: "exp", Attribute: "quality", Num: num(float64(1 + rng.IntN(5))), Num2: num(float64(1 + rng.IntN(5)))},
						{Question: "topics", Text: []string{`["fit"]`, `["fit","price"]`, `[]`}[rng.IntN(3)]},
					}}
				if c := rng.IntN(len(custs) + 2); c < len(custs) {
					r.CustomerID = &custs[c]
				}
				attrs := map[string]string{}
				if rng.IntN(3) > 0 {
					attrs["store"] = []string{"shibuya", "umeda", "ginza"}[rng.IntN(3)]
				}
				if rng.IntN(2) == 0 {
					attrs["sku"] = fmt.Sprintf("S-%d", rng.IntN(4))
				}
				if i%10 == 0 {
					r.Flags = []string{"too_fast"}
					r.CustomerID = &spammer
					attrs["store"] = "flagged"
				}
				if err := insertResponse(ctx, tx, s, r); err != nil {
					return err
				}
				for k, v := range attrs {
					if _, err := tx.ExecContext(ctx, `INSERT INTO survey_response_attributes (response_id, key, value) VALUES ($1, $2, $3)`, r.ID, k, v); err != nil {
						return err
					}
				}
				if err := OnComplete(ctx, tx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		svc := New(d)
		f := Filter{SurveyID: s.ID}
		qs := []feedback.Question{testDef.Pages[0].Questions[0], testDef.Pages[0].Questions[3], testDef.Pages[0].Questions[5]}
		dims := []Dimension{DimLifecycle, DimCountry, "response:store", "response:sku"}
		// The answers path (the filter drops flagged responses) and the
		// segment rollups agree.
		checkSegmentsEqualAnswers(t, svc, f, qs, dims)

		incremental := segmentRows(t, d, s.ID)
		if len(incremental) == 0 {
			t.Fatal("no segment rollups")
		}
		for k := range incremental {
			if strings.Contains(k, "/XX/") || strings.Contains(k, "/spam/") || strings.Contains(k, "/flagged/") || strings.Contains(k, "/FR/") {
				t.Errorf("segment row %s: flagged or merged-away value counted", k)
			}
		}
		if err := Rebuild(system(), d, s.ID); err != nil {
			t.Fatal(err)
		}
		if rebuilt := segmentRows(t, d, s.ID); !reflect.DeepEqual(incremental, rebuilt) {
			t.Fatalf("rebuild differs: %d vs %d rows", len(incremental), len(rebuilt))
		}
		// Breakdowns through Service: flagged groups appear only when
		// flagged responses are included (the answers path).
		for _, dim := range []Dimension{DimCountry, DimLifecycle, "response:store"} {
			b, err := svc.Breakdown(viewer(), f, dim)
			if err != nil {
				t.Fatal(err)
			}
			all, err := svc.Breakdown(viewer(), Filter{SurveyID: s.ID, IncludeFlagged: true}, dim)
			if err != nil {
				t.Fatal(err)
			}
			if len(all.Groups) != len(b.Groups)+1 {
				t.Errorf("%s: %d groups without flagged, %d with", dim, len(b.Groups), len(all.Groups))
			}
			var n, nAll int
			for _, g := range b.Groups {
				n += g.Estimate.N
				if g.Key == "XX" || g.Key == "spam" || g.Key == "flagged" {
					t.Errorf("%s: flagged group %q counted", dim, g.Key)
				}
			}
			for _, g := range all.Groups {
				nAll += g.Estimate.N
			}
			if n == 0 || nAll <= n {
				t.Errorf("%s: n %d, with flagged %d", dim, n, nAll)
			}
		}
	})
}

// TestSegmentAtCompletion: a breakdown by lifecycle stage counts each
// response under the stage its customer had when answering, before and
// after a rebuild, on both paths.
func TestSegmentAtCompletion(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := createSurvey(t, d, "moves", testDef, feedback.Settings{})
		c := createCustomer(t, d, "JP", "new", nil)
		complete(t, d, s, &feedback.Response{Touchpoint: "web", StartedAt: *at("2026-02-01", 9), CompletedAt: at("2026-02-01", 10), CustomerID: &c,
			Answers: []feedback.Answer{{Question: "nps", Num: num(3)}}})
		if _, err := d.Writer().Exec(`UPDATE customers SET lifecycle_stage = 'loyal', country = 'US' WHERE id = $1`, c); err != nil {
			t.Fatal(err)
		}
		complete(t, d, s, &feedback.Response{Touchpoint: "web", StartedAt: *at("2026-03-01", 9), CompletedAt: at("2026-03-01", 10), CustomerID: &c,
			Answers: []feedback.Answer{{Question: "nps", Num: num(10)}}})
		svc := New(d)
		check := func(when string) {
			t.Helper()
			for _, f := range []Filter{{SurveyID: s.ID}, {SurveyID: s.ID, IncludeFlagged: true}, {SurveyID: s.ID, Touchpoint: "web"}} {
				for dim, want := range map[Dimension][2]string{DimLifecycle: {"new", "loyal"}, DimCountry: {"JP", "US"}} {
					b, err := svc.Breakdown(viewer(), f, dim)
					if err != nil {
						t.Fatal(err)
					}
					got := map[string]float64{}
					for _, g := range b.Groups {
						if g.Estimate.N != 1 {
							t.Errorf("%s %s %+v: group %q n = %d", when, dim, f, g.Key, g.Estimate.N)
						}
						got[g.Key], _ = g.Estimate.Value.Get()
					}
					// The old response (a detractor) stays under the old
					// segment; the new one (a promoter) is under the new.
					if len(got) != 2 || got[want[0]] != -100 || got[want[1]] != 100 {
						t.Errorf("%s %s %+v: groups %v", when, dim, f, got)
					}
				}
			}
		}
		check("incremental")
		if err := Rebuild(system(), d, s.ID); err != nil {
			t.Fatal(err)
		}
		check("rebuilt")
	})
}

// importPast imports pastFeedback with pastMapping as the system.
func importPast(t *testing.T, d *db.DB) *ImportSummary {
	t.Helper()
	m := pastMapping()
	m.Errors = &bytes.Buffer{}
	sum, err := ImportCSV(auth.System(context.Background(), "import"), d, customer.NewService(d), strings.NewReader(pastFeedback), m)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestSegmentRollupsImport: imported responses (the batched ImportTx path)
// get the same segment rows as a rebuild, and the rollups answer as the
// answers do.
func TestSegmentRollupsImport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		sum := importPast(t, d)
		imported := segmentRows(t, d, sum.SurveyID)
		var skuRows int
		for k := range imported {
			if strings.Contains(k, "/response:sku/") {
				skuRows++
			}
		}
		if skuRows == 0 {
			t.Fatalf("no response:sku rows in %v", imported)
		}
		if err := Rebuild(system(), d, sum.SurveyID); err != nil {
			t.Fatal(err)
		}
		if rebuilt := segmentRows(t, d, sum.SurveyID); !reflect.DeepEqual(imported, rebuilt) {
			t.Fatalf("rebuild differs:\n%v\n%v", imported, rebuilt)
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
		for _, dim := range []Dimension{DimCountry, DimLifecycle, "response:sku", "response:store"} {
			dm, _ := parseDimension(dim)
			if a, b := segmentsAndAnswers(t, svc, Filter{SurveyID: sum.SurveyID}, q, dm, splitNone); len(a) == 0 || !reflect.DeepEqual(a, b) {
				t.Errorf("%s: segment rollups %+v, answers %+v", dim, a, b)
			}
		}
	})
}
