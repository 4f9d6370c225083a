package results

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// The dashboard benchmark. Size and reuse are set by the environment so
// that `go test -bench .` in CI stays quick:
//
//	KIZUNA_BENCH_RESPONSES  responses to generate (default 20,000; the
//	                        reference figure uses 1,000,000); customers are
//	                        a tenth of that, over 365 days
//	KIZUNA_BENCH_DIR        keep the generated SQLite file there and reuse
//	                        it on the next run (generation is the slow part)
//	KIZUNA_BENCH_KEEP=1     keep the generated Postgres schema kz_bench_<n>
//	                        and reuse it
//	KIZUNA_TEST_POSTGRES_DSN  also run on Postgres
//
// The full run (BENCH.md):
//
//	KIZUNA_BENCH_RESPONSES=1000000 KIZUNA_BENCH_DIR=/tmp/kzbench KIZUNA_BENCH_KEEP=1 \
//	  go test -run '^$' -bench 'Dashboard|Submit' -benchtime 200x ./internal/feedback/results/
//
// Each query reports p50 and p95 in ms over its b.N runs, after a warm-up.

var benchDef = feedback.Definition{Pages: []feedback.Page{{Key: "p1", Questions: []feedback.Question{
	{Key: "nps", Type: feedback.QNPS},
	{Key: "exp", Type: feedback.QExpectation, Attributes: []feedback.Option{{Key: "quality"}, {Key: "price"}, {Key: "delivery"}, {Key: "staff"}}},
	{Key: "comment", Type: feedback.QText},
}}}}

var (
	benchTouchpoints = []string{"purchase", "delivery", "support", "web", "store"}
	benchChannels    = []string{"email", "link", "widget"}
	benchComments    = []string{
		"Delivery was late but the staff were kind.", "配送が早くて助かりました。", "The price is too high for the quality.",
		"スタッフの対応がとても丁寧でした。", "Great product, will buy again.", "サイズが合わなかったので返品しました。",
	}
	benchEnd = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
)

func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("KIZUNA_BENCH_RESPONSES")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

type benchStore struct {
	name     string
	d        *db.DB
	surveyID int64
	version  int64
}

var benchStores = struct {
	sync.Mutex
	m map[string]*benchStore
}{m: map[string]*benchStore{}}

func benchEngines(b *testing.B) []*benchStore {
	n := benchSize()
	benchStores.Lock()
	defer benchStores.Unlock()
	var out []*benchStore
	for _, name := range []string{"sqlite", "postgres"} {
		if s, ok := benchStores.m[name]; ok {
			out = append(out, s)
			continue
		}
		var d *db.DB
		switch name {
		case "sqlite":
			dir := os.Getenv("KIZUNA_BENCH_DIR")
			if dir == "" {
				dir = b.TempDir()
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			d = openBench(b, filepath.Join(dir, fmt.Sprintf("bench-%d.db", n)))
		case "postgres":
			base := os.Getenv(dbtest.EnvPostgresDSN)
			if base == "" {
				continue
			}
			if os.Getenv("KIZUNA_BENCH_KEEP") == "" {
				d = dbtest.OpenPostgres(b)
				break
			}
			schema := fmt.Sprintf("kz_bench_%d", n)
			admin, err := sql.Open("pgx", base)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := admin.Exec("CREATE SCHEMA IF NOT EXISTS " + schema); err != nil {
				b.Fatal(err)
			}
			admin.Close()
			u, _ := url.Parse(base)
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			d = openBench(b, u.String())
		}
		s := &benchStore{name: name, d: d}
		if err := s.ensure(b, n); err != nil {
			b.Fatal(err)
		}
		benchStores.m[name] = s
		out = append(out, s)
	}
	return out
}

func openBench(b *testing.B, dsn string) *db.DB {
	ctx := context.Background()
	d, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return d // kept open for every benchmark of the process
}

// ensure finds the generated survey or generates it: customers, responses,
// answers in large multi-row INSERT transactions, and the rollups through
// the same tally the hook uses.
func (s *benchStore) ensure(b *testing.B, n int) error {
	ctx := context.Background()
	err := s.d.Reader().QueryRowContext(ctx, `SELECT s.id, v.id FROM surveys s JOIN survey_versions v ON v.survey_id = s.id WHERE s.slug = 'bench'`).Scan(&s.surveyID, &s.version)
	if err == nil {
		// Data generated before migration 00019 has no segment rollups,
		// before 00021 no driver sums: build them with Rebuild (timed,
		// since that is what an upgrade costs).
		var segRows, pending int
		if err := s.d.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM survey_segment_rollups WHERE survey_id = $1`, s.surveyID).Scan(&segRows); err != nil {
			return err
		}
		if err := s.d.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM survey_rollup_pending WHERE survey_id = $1`, s.surveyID).Scan(&pending); err != nil {
			return err
		}
		if segRows == 0 || pending > 0 {
			start := time.Now()
			if err := s.d.WriteTx(ctx, func(tx *db.Tx) error { return rebuildTx(ctx, tx, s.surveyID) }); err != nil {
				return err
			}
			if _, err := s.d.Writer().ExecContext(ctx, `ANALYZE`); err != nil {
				return err
			}
			b.Logf("%s: rebuilt the rollups of %d responses in %v", s.name, n, time.Since(start).Round(time.Millisecond))
		}
		if err := s.syncSequences(); err != nil {
			return err
		}
		return s.listPlan(b, n)
	}
	start := time.Now()
	sv := createSurvey(b, s.d, "bench", benchDef, feedback.Settings{})
	s.surveyID, s.version = sv.ID, sv.VersionID
	customers := max(1, n/10)
	rng := rand.New(rand.NewPCG(42, 7))
	countries := []string{"JP", "JP", "JP", "US", "GB"}
	stages := []string{"customer", "repeat", "loyal", "at_risk"}
	const custWidth = 6
	for lo := 1; lo <= customers; lo += 5000 {
		hi := min(customers, lo+4999)
		args := make([]any, 0, (hi-lo+1)*custWidth)
		for id := lo; id <= hi; id++ {
			args = append(args, id, countries[id%5], stages[id%4], fmt.Sprintf(`{"plan":"p%d","region":"r%d"}`, id%3, id%7), benchEnd.UnixMilli(), benchEnd.UnixMilli())
		}
		if _, err := s.d.Writer().ExecContext(ctx, `INSERT INTO customers (id, country, lifecycle_stage, attributes, created_at, updated_at) VALUES `+db.Rows(hi-lo+1, custWidth), args...); err != nil {
			return err
		}
	}
	var firstID int64
	if err := s.d.Reader().QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM survey_responses`).Scan(&firstID); err != nil {
		return err
	}
	def := benchDef
	t := make(tally)
	st := make(segTally)
	dt := make(driverTally)
	const perTx, respWidth, ansWidth = 20_000, 12, 6
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	for lo := 0; lo < n; lo += perTx {
		hi := min(n, lo+perTx)
		err := s.d.WriteTx(ctx, func(tx *db.Tx) error {
			var resp, ans []any
			var nResp, nAns int
			flushResp := func() error {
				if nResp == 0 {
					return nil
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO survey_responses (id, survey_id, version_id, customer_id, channel, status, touchpoint, journey_stage, started_at, updated_at, completed_at, flags) VALUES `+db.Rows(nResp, respWidth), resp...)
				resp, nResp = resp[:0], 0
				return err
			}
			flushAns := func() error {
				if nAns == 0 {
					return nil
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO survey_answers (response_id, question_key, attribute_key, num, num2, text) VALUES `+db.Rows(nAns, ansWidth), ans...)
				ans, nAns = ans[:0], 0
				return err
			}
			for i := lo; i < hi; i++ {
				id := firstID + int64(i)
				done := benchEnd.UnixMilli() - span + int64(i)*span/int64(n)
				tp := benchTouchpoints[rng.IntN(len(benchTouchpoints))]
				ch := benchChannels[rng.IntN(len(benchChannels))]
				flags := ""
				if rng.IntN(100) == 0 {
					flags = "too_fast"
				}
				cust := int64(1 + rng.IntN(customers))
				r := feedback.Response{ID: id, Touchpoint: tp, Channel: ch, JourneyStage: "purchase"}
				gaps := 0
				for _, attr := range []string{"quality", "price", "delivery", "staff"} {
					e := 2 + rng.IntN(3)
					p := min(5, max(1, e+rng.IntN(5)-2))
					gaps += p - e
					r.Answers = append(r.Answers, feedback.Answer{Question: "exp", Attribute: attr, Num: num(float64(e)), Num2: num(float64(p))})
				}
				score := min(10, max(0, 7+gaps+rng.IntN(5)-2))
				r.Answers = append(r.Answers, feedback.Answer{Question: "nps", Num: num(float64(score))})
				if rng.IntN(10) < 3 {
					r.Answers = append(r.Answers, feedback.Answer{Question: "comment", Text: benchComments[rng.IntN(len(benchComments))]})
				}
				resp = append(resp, id, s.surveyID, s.version, cust, ch, feedback.ResponseCompleted, tp, "purchase", done-60_000, done, done, flags)
				nResp++
				if nResp == db.MaxParams/respWidth {
					if err := flushResp(); err != nil {
						return err
					}
				}
				for _, a := range r.Answers {
					ans = append(ans, id, a.Question, a.Attribute, a.Num, a.Num2, a.Text)
					nAns++
					if nAns == db.MaxParams/ansWidth {
						if err := flushResp(); err != nil { // answers reference their response
							return err
						}
						if err := flushAns(); err != nil {
							return err
						}
					}
				}
				if flags == "" {
					t.addResponse(&def, &r, done)
					st.addResponse(&def, &r, done, segment{Lifecycle: stages[cust%4], Country: countries[cust%5]})
					dt.addResponse(&def, &r, done)
				}
			}
			if err := flushResp(); err != nil {
				return err
			}
			return flushAns()
		})
		if err != nil {
			return err
		}
	}
	err = s.d.WriteTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO survey_rollup_applied (response_id, survey_id, counted, applied_at)
			SELECT id, survey_id, CASE WHEN flags = '' THEN 1 ELSE 0 END, $2 FROM survey_responses WHERE survey_id = $1`, s.surveyID, tx.NowMS()); err != nil {
			return err
		}
		if err := upsertTally(ctx, tx, s.surveyID, t, false); err != nil {
			return err
		}
		if err := upsertSegments(ctx, tx, s.surveyID, st, false); err != nil {
			return err
		}
		return upsertDrivers(ctx, tx, s.surveyID, dt, false)
	})
	if err != nil {
		return err
	}
	if _, err := s.d.Writer().ExecContext(ctx, `ANALYZE`); err != nil {
		return err
	}
	if err := s.syncSequences(); err != nil {
		return err
	}
	b.Logf("%s: generated %d responses from %d customers in %v (%d rollup rows)", s.name, n, customers, time.Since(start).Round(time.Millisecond), len(t))
	return s.listPlan(b, n)
}

// listPlan lists the customer attribute plan as a breakdown attribute of
// the bench survey and runs the backfill job until it is ready (timed:
// what listing an attribute on a survey of n responses costs).
func (s *benchStore) listPlan(b *testing.B, n int) error {
	ctx := context.Background()
	var state string
	err := s.d.Reader().QueryRowContext(ctx, `SELECT state FROM survey_segment_dims WHERE survey_id = $1 AND dim = 'customer:plan'`, s.surveyID).Scan(&state)
	if err == nil && state == DimReady {
		return nil
	}
	if _, err := s.d.Writer().ExecContext(ctx, `UPDATE surveys SET settings = '{"breakdown_attributes":["plan"]}' WHERE id = $1`, s.surveyID); err != nil {
		return err
	}
	start := time.Now()
	if err := BackfillDims(system(), s.d); err != nil {
		return err
	}
	b.Logf("%s: backfilled customer:plan over %d responses in %v", s.name, n, time.Since(start).Round(time.Millisecond))
	_, err = s.d.Writer().ExecContext(ctx, `ANALYZE`)
	return err
}

// syncSequences moves Postgres identity sequences past the ids the
// generator wrote explicitly, so later inserts (BenchmarkSubmit) get fresh
// ids. SQLite picks max(rowid)+1 by itself.
func (s *benchStore) syncSequences() error {
	if s.d.Dialect != db.Postgres {
		return nil
	}
	for _, t := range []string{"customers", "survey_responses"} {
		if _, err := s.d.Writer().Exec(`SELECT setval(pg_get_serial_sequence('` + t + `', 'id'), (SELECT MAX(id) FROM ` + t + `))`); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkDashboard times each query of the survey dashboard, warm.
func BenchmarkDashboard(b *testing.B) {
	for _, s := range benchEngines(b) {
		svc := New(s.d)
		ctx := system()
		f := Filter{SurveyID: s.surveyID}
		last90 := Filter{SurveyID: s.surveyID, From: benchEnd.AddDate(0, 0, -90), To: benchEnd}
		queries := []struct {
			name string
			run  func() error
		}{
			{"nps_overall", func() error { _, err := svc.NPS(ctx, f); return err }},
			{"nps_90d_store", func() error {
				g := last90
				g.Touchpoint = "store"
				_, err := svc.NPS(ctx, g)
				return err
			}},
			{"trend_week", func() error { _, err := svc.Trend(ctx, f, Week); return err }},
			{"distribution", func() error { _, err := svc.Distribution(ctx, f); return err }},
			{"breakdown_touchpoint", func() error { _, err := svc.Breakdown(ctx, f, DimTouchpoint); return err }},
			{"breakdown_country", func() error { _, err := svc.Breakdown(ctx, f, DimCountry); return err }},
			{"breakdown_lifecycle", func() error { _, err := svc.Breakdown(ctx, f, DimLifecycle); return err }},
			{"breakdown_country_90d", func() error { _, err := svc.Breakdown(ctx, last90, DimCountry); return err }},
			{"breakdown_country_90d_store", func() error {
				g := last90
				g.Touchpoint = "store"
				return rolledUp(svc.Breakdown(ctx, g, DimCountry))
			}},
			{"breakdown_customer_plan", func() error { return rolledUp(svc.Breakdown(ctx, f, "customer:plan")) }},
			{"breakdown_customer_plan_90d", func() error { return rolledUp(svc.Breakdown(ctx, last90, "customer:plan")) }},
			{"expectation_gaps", func() error { _, err := svc.Gaps(ctx, f); return err }},
			{"key_drivers", func() error { return driversRolledUp(svc.KeyDrivers(ctx, f, "")) }},
			{"key_drivers_90d", func() error { return driversRolledUp(svc.KeyDrivers(ctx, last90, "")) }},
			{"key_drivers_90d_store", func() error {
				g := last90
				g.Touchpoint = "store"
				return driversRolledUp(svc.KeyDrivers(ctx, g, ""))
			}},
			{"verbatims_first_page", func() error {
				_, err := svc.Verbatims(ctx, VerbatimQuery{Filter: f, Limit: 50})
				return err
			}},
			{"verbatims_detractors", func() error {
				_, err := svc.Verbatims(ctx, VerbatimQuery{Filter: f, Group: Detractors, Limit: 50})
				return err
			}},
		}
		for _, q := range queries {
			b.Run(s.name+"/"+q.name, func(b *testing.B) {
				for range 3 { // warm the caches and the plan
					if err := q.run(); err != nil {
						b.Fatal(err)
					}
				}
				times := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for b.Loop() {
					t0 := time.Now()
					if err := q.run(); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t0))
				}
				slices.Sort(times)
				ms := func(p float64) float64 {
					return float64(times[min(len(times)-1, int(p*float64(len(times))))].Microseconds()) / 1000
				}
				b.ReportMetric(ms(0.50), "p50-ms")
				b.ReportMetric(ms(0.95), "p95-ms")
			})
		}
	}
}

// rolledUp fails a breakdown that read the answers.
func rolledUp(b BreakdownResult, err error) error {
	if err == nil && b.FromAnswers {
		err = fmt.Errorf("breakdown by %s read the answers (tracking %+v)", b.Dimension, b.Tracking)
	}
	return err
}

// driversRolledUp fails a key-driver analysis that read the answers.
func driversRolledUp(r DriversResult, err error) error {
	if err == nil && r.FromAnswers {
		err = fmt.Errorf("key drivers read the answers")
	}
	if err == nil && r.N == 0 {
		err = fmt.Errorf("key drivers of no response")
	}
	return err
}

// BenchmarkSubmit measures completed responses per second through the
// store path the feedback service will use: insert the response and its
// six answers, and OnComplete, in one transaction per response, from
// several goroutines.
func BenchmarkSubmit(b *testing.B) {
	for _, s := range benchEngines(b) {
		for _, rollup := range []bool{true, false} {
			name := s.name
			if !rollup {
				name += "/without_rollup" // the baseline: what the hook costs
			}
			b.Run(name, func(b *testing.B) {
				sv := testSurvey{ID: s.surveyID, VersionID: s.version}
				ctx := context.Background()
				var seq atomic.Int64
				b.SetParallelism(4)
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					rng := rand.New(rand.NewPCG(uint64(seq.Add(1)), 9))
					for pb.Next() {
						done := benchEnd.Add(-time.Duration(rng.IntN(3600)) * time.Second)
						r := &feedback.Response{Touchpoint: benchTouchpoints[rng.IntN(5)], Channel: "link", StartedAt: done, CompletedAt: &done,
							Answers: []feedback.Answer{{Question: "nps", Num: num(float64(rng.IntN(11)))}, {Question: "comment", Text: "bench"}}}
						for _, attr := range []string{"quality", "price", "delivery", "staff"} {
							r.Answers = append(r.Answers, feedback.Answer{Question: "exp", Attribute: attr, Num: num(3), Num2: num(float64(1 + rng.IntN(5)))})
						}
						if err := s.d.WriteTx(ctx, func(tx *db.Tx) error {
							if err := insertResponse(ctx, tx, sv, r); err != nil {
								return err
							}
							if !rollup {
								return nil
							}
							return OnComplete(ctx, tx, r)
						}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "responses/s")
			})
		}
	}
}

// BenchmarkSegment times what reads answers instead of rollups: a
// breakdown by a customer attribute the survey does not list (region), a
// breakdown by country filtered by channel (the segment rollups keep
// touchpoints apart, not channels) and key drivers filtered by channel
// (the driver rollups do not either). Run with a small -benchtime
// (e.g. 3x); these are not dashboard-speed queries. Breakdowns by
// country, lifecycle stage and the listed customer attribute (plan) read
// the segment rollups and are in BenchmarkDashboard.
func BenchmarkSegment(b *testing.B) {
	for _, s := range benchEngines(b) {
		svc := New(s.d)
		ctx := system()
		f := Filter{SurveyID: s.surveyID}
		last30 := Filter{SurveyID: s.surveyID, From: benchEnd.AddDate(0, 0, -30), To: benchEnd}
		for _, q := range []struct {
			name string
			run  func() error
		}{
			{"breakdown_country_30d_email", func() error {
				g := last30
				g.Channel = "email"
				_, err := svc.Breakdown(ctx, g, DimCountry)
				return err
			}},
			{"breakdown_customer_attr_unlisted", func() error { _, err := svc.Breakdown(ctx, f, "customer:region"); return err }},
			{"breakdown_customer_attr_unlisted_30d", func() error { _, err := svc.Breakdown(ctx, last30, "customer:region"); return err }},
			{"key_drivers_30d_email", func() error {
				g := last30
				g.Channel = "email"
				_, err := svc.KeyDrivers(ctx, g, "")
				return err
			}},
		} {
			b.Run(s.name+"/"+q.name, func(b *testing.B) {
				for b.Loop() {
					if err := q.run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
