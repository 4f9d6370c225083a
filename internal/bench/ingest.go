// Package bench measures Kizuna end to end on this machine and writes the
// figures BENCHMARKS.md reports. `kizuna bench ingest` runs it.
package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/ingest"
)

// IngestConfig says what to measure.
type IngestConfig struct {
	Events      int    // events per batch run and per raw run
	Users       int    // distinct userIds the events come from
	BatchSize   int    // events per /v1/batch request
	Clients     int    // concurrent HTTP clients
	Tracks      int    // single /v1/track requests
	PostgresDSN string // "" to skip Postgres
	SkipSQLite  bool   // measure Postgres only
	TempDir     string // where SQLite files go ("" = os.TempDir)
	Log         io.Writer
}

// IngestResult is one engine's figures.
type IngestResult struct {
	Engine          string
	RawEventsPerS   float64
	BatchEventsPerS float64
	TrackReqPerS    float64
	TrackP50        time.Duration
	TrackP99        time.Duration
	TrackErrors     int64
	BatchErrors     int64
}

// Ingest runs the ingestion benchmark on SQLite and, if configured,
// Postgres. Each measurement starts from a fresh database that already
// knows the users, so all three measure the same work: storing events of
// known customers.
func Ingest(ctx context.Context, cfg IngestConfig) ([]IngestResult, error) {
	if cfg.Events <= 0 {
		cfg.Events = 200_000
	}
	if cfg.Users <= 0 {
		cfg.Users = 10_000
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Clients <= 0 {
		cfg.Clients = 8
	}
	if cfg.Tracks <= 0 {
		cfg.Tracks = 50_000
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	dir, err := os.MkdirTemp(cfg.TempDir, "kizuna-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	engines := []struct {
		name  string
		fresh func(tag string) (string, func(), error)
	}{
		{"SQLite (synchronous=FULL)", func(tag string) (string, func(), error) {
			return filepath.Join(dir, tag+".db"), func() {}, nil
		}},
	}
	if cfg.SkipSQLite {
		engines = engines[:0]
	}
	if cfg.PostgresDSN != "" {
		engines = append(engines, struct {
			name  string
			fresh func(tag string) (string, func(), error)
		}{
			"PostgreSQL", func(tag string) (string, func(), error) { return freshPostgres(ctx, cfg.PostgresDSN, tag) },
		})
	}
	var out []IngestResult
	for _, e := range engines {
		r := IngestResult{Engine: e.name}
		fmt.Fprintf(cfg.Log, "%s: raw insert of %d events…\n", e.name, cfg.Events)
		if err := withDB(ctx, e.fresh, "raw", cfg, func(d *db.DB, _ *fixture) error {
			v, err := rawInsert(ctx, d, cfg)
			r.RawEventsPerS = v
			return err
		}); err != nil {
			return nil, fmt.Errorf("%s raw: %w", e.name, err)
		}
		fmt.Fprintf(cfg.Log, "%s: /v1/batch with %d events…\n", e.name, cfg.Events)
		if err := withDB(ctx, e.fresh, "batch", cfg, func(d *db.DB, f *fixture) error {
			v, errs, err := batchRun(ctx, f, cfg)
			r.BatchEventsPerS, r.BatchErrors = v, errs
			return err
		}); err != nil {
			return nil, fmt.Errorf("%s batch: %w", e.name, err)
		}
		fmt.Fprintf(cfg.Log, "%s: %d single /v1/track requests…\n", e.name, cfg.Tracks)
		if err := withDB(ctx, e.fresh, "track", cfg, func(d *db.DB, f *fixture) error {
			v, p50, p99, errs, err := trackRun(ctx, f, cfg)
			r.TrackReqPerS, r.TrackP50, r.TrackP99, r.TrackErrors = v, p50, p99, errs
			return err
		}); err != nil {
			return nil, fmt.Errorf("%s track: %w", e.name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// fixture is a running ingestion server over a seeded database.
type fixture struct {
	url string
	key string
}

func withDB(ctx context.Context, fresh func(string) (string, func(), error), tag string, cfg IngestConfig, fn func(*db.DB, *fixture) error) error {
	dsn, drop, err := fresh(tag)
	if err != nil {
		return err
	}
	defer drop()
	d, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	sys := auth.System(ctx, "bench")
	accounts := auth.NewService(d, auth.Options{})
	_, key, err := accounts.CreateKey(sys, "write", "bench", "")
	if err != nil {
		return err
	}
	customers := customer.NewService(d)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := ingest.NewWriter(d, customers, ingest.WriterConfig{Logger: quiet})
	defer w.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: ingest.NewHandler(accounts, w, nil, quiet)}
	go srv.Serve(ln)
	defer srv.Close()
	f := &fixture{url: "http://" + ln.Addr().String(), key: key}
	if err := seedUsers(ctx, f, cfg); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return fn(d, f)
}

// seedUsers makes every benchmark user known, with an identify each.
func seedUsers(ctx context.Context, f *fixture, cfg IngestConfig) error {
	c := newClient(cfg.Clients)
	for start := 0; start < cfg.Users; start += cfg.BatchSize {
		var b bytes.Buffer
		b.WriteString(`{"batch":[`)
		for i := start; i < min(start+cfg.BatchSize, cfg.Users); i++ {
			if i > start {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"type":"identify","userId":"bench-user-%d","messageId":"seed-%d","traits":{"email":"bench-user-%d@example.com"}}`, i, i, i)
		}
		b.WriteString(`]}`)
		if st, err := c.post(ctx, f.url+"/v1/batch", f.key, b.Bytes()); err != nil || st != 200 {
			return fmt.Errorf("seed batch: status %d: %v", st, err)
		}
	}
	return nil
}

func trackBody(run string, i, users int) []byte {
	return fmt.Appendf(nil, `{"type":"track","userId":"bench-user-%d","event":"Item Viewed","messageId":"%s-%d","timestamp":"2026-11-23T10:00:00Z","properties":{"sku":"SKU-%d","price":1280,"currency":"JPY"},"context":{"library":{"name":"kizuna-bench"},"ip":"127.0.0.1"}}`,
		i%users, run, i, i%997)
}

// rawInsert is the ceiling: the same event rows, inserted by a plain loop
// in large transactions with the writer's own INSERT statement, and no
// HTTP, JSON, dedup or identity work at all.
func rawInsert(ctx context.Context, d *db.DB, cfg IngestConfig) (float64, error) {
	var profiles []int64
	rows, err := d.Reader().QueryContext(ctx, `SELECT customer_id FROM identities WHERE kind = 'user_id' ORDER BY value`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		profiles = append(profiles, id)
	}
	rows.Close()
	if len(profiles) == 0 {
		return 0, fmt.Errorf("no seeded users")
	}
	type row struct {
		msgID, hash, user, props, ctx string
		customer                      int64
	}
	all := make([]row, cfg.Events)
	for i := range all {
		body := trackBody("raw", i, cfg.Users)
		h := sha256.Sum256(body)
		all[i] = row{msgID: fmt.Sprintf("raw-%d", i), hash: hex.EncodeToString(h[:]), user: fmt.Sprintf("bench-user-%d", i%cfg.Users),
			props: fmt.Sprintf(`{"sku":"SKU-%d","price":1280,"currency":"JPY"}`, i%997), ctx: `{"library":{"name":"kizuna-bench"},"ip":"127.0.0.1"}`,
			customer: profiles[i%len(profiles)]}
	}
	const perTx = 20_000
	if err := ingest.Prepare(ctx, d); err != nil {
		return 0, err
	}
	ts := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).UnixMilli()
	start := time.Now()
	for lo := 0; lo < len(all); lo += perTx {
		part := all[lo:min(lo+perTx, len(all))]
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			const perStmt = 2_000 // about the writer's group size
			for s := 0; s < len(part); s += perStmt {
				chunk := part[s:min(s+perStmt, len(part))]
				rows := make([]ingest.EventRow, len(chunk))
				for i, r := range chunk {
					rows[i] = ingest.EventRow{Source: 1, MessageID: r.msgID, Hash: r.hash, Type: "track", Name: "Item Viewed",
						Customer: r.customer, UserID: r.user, Properties: r.props, Context: r.ctx, Occurred: ts, Received: ts}
				}
				if _, err := ingest.InsertEvents(ctx, tx, rows, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return float64(len(all)) / time.Since(start).Seconds(), nil
}

func batchRun(ctx context.Context, f *fixture, cfg IngestConfig) (float64, int64, error) {
	var bodies [][]byte
	for lo := 0; lo < cfg.Events; lo += cfg.BatchSize {
		var b bytes.Buffer
		b.WriteString(`{"sentAt":"2026-11-23T10:00:01Z","batch":[`)
		for i := lo; i < min(lo+cfg.BatchSize, cfg.Events); i++ {
			if i > lo {
				b.WriteByte(',')
			}
			b.Write(trackBody("batch", i, cfg.Users))
		}
		b.WriteString(`]}`)
		bodies = append(bodies, b.Bytes())
	}
	c := newClient(cfg.Clients)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < cfg.Clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(bodies)) {
					return
				}
				for attempt := 0; ; attempt++ {
					st, err := c.post(ctx, f.url+"/v1/batch", f.key, bodies[i])
					if err == nil && st == 200 {
						break
					}
					errs.Add(1)
					if attempt > 20 || ctx.Err() != nil {
						return
					}
					time.Sleep(50 * time.Millisecond) // 503: back off and retry, as clients do
				}
			}
		}()
	}
	wg.Wait()
	return float64(cfg.Events) / time.Since(start).Seconds(), errs.Load(), nil
}

func trackRun(ctx context.Context, f *fixture, cfg IngestConfig) (float64, time.Duration, time.Duration, int64, error) {
	clients := max(cfg.Clients, 32)
	c := newClient(clients)
	lat := make([][]time.Duration, clients)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(cfg.Tracks) {
					return
				}
				body := trackBody("track", int(i), cfg.Users)
				t0 := time.Now()
				st, err := c.post(ctx, f.url+"/v1/track", f.key, body)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil || st != 200 {
					errs.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[int(p*float64(len(all)-1))] }
	return float64(len(all)) / elapsed.Seconds(), pct(0.50), pct(0.99), errs.Load(), nil
}

type client struct{ http *http.Client }

func newClient(conns int) *client {
	return &client{http: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute,
	}}}
}

func (c *client) post(ctx context.Context, url, key string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// Markdown renders results as the table BENCHMARKS.md carries.
func Markdown(cfg IngestConfig, rs []IngestResult) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "| engine | raw insert (events/s) | /v1/batch (events/s) | batch ÷ raw | /v1/track (req/s) | track p50 | track p99 |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.2f | %.0f | %.2f ms | %.2f ms |\n", r.Engine, r.RawEventsPerS, r.BatchEventsPerS,
			r.BatchEventsPerS/r.RawEventsPerS, r.TrackReqPerS, ms(r.TrackP50), ms(r.TrackP99))
	}
	fmt.Fprintf(&b, "\n%d events per run from %d known users; /v1/batch of %d events from %d clients; %d /v1/track requests from %d clients.\n",
		cfg.Events, cfg.Users, cfg.BatchSize, cfg.Clients, cfg.Tracks, max(cfg.Clients, 32))
	for _, r := range rs {
		if r.BatchErrors > 0 || r.TrackErrors > 0 {
			fmt.Fprintf(&b, "%s: %d batch retries (503 back-pressure), %d track errors.\n", r.Engine, r.BatchErrors, r.TrackErrors)
		}
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
