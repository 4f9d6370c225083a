package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/ingest"
)

// stack is a real ingestion server over a real store.
type stack struct {
	db     *db.DB
	srv    *httptest.Server
	key    string
	writer *ingest.Writer
}

func newStack(t testing.TB, d *db.DB, cfg ingest.WriterConfig) *stack {
	t.Helper()
	ctx := auth.System(context.Background(), "test")
	accounts := auth.NewService(d, auth.Options{})
	_, secret, err := accounts.CreateKey(ctx, "write", "test source", "")
	if err != nil {
		t.Fatal(err)
	}
	w := ingest.NewWriter(d, customer.NewService(d), cfg)
	srv := httptest.NewServer(ingest.NewHandler(accounts, w, nil, nil))
	t.Cleanup(func() {
		srv.Close()
		w.Close()
	})
	return &stack{db: d, srv: srv, key: secret, writer: w}
}

func (s *stack) post(t testing.TB, path, key, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: response is not JSON: %s", path, raw)
	}
	return res.StatusCode, v, res.Header
}

func count(t testing.TB, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Reader().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func errField(v map[string]any) (code, field string) {
	e, _ := v["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return
}

func TestTrackReplayAndConflict(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, ingest.WriterConfig{})
		body := `{"userId":"u-1","event":"Signed Up","messageId":"m-1","properties":{"plan":"gold"}}`
		st, v, _ := s.post(t, "/v1/track", s.key, body)
		if st != 200 || v["success"] != true || v["duplicate"] != false {
			t.Fatalf("first: %d %v", st, v)
		}
		st, v, _ = s.post(t, "/v1/track", s.key, body)
		if st != 200 || v["duplicate"] != true {
			t.Fatalf("replay: %d %v", st, v)
		}
		st, v, _ = s.post(t, "/v1/track", s.key, `{"userId":"u-1","event":"Signed Up","messageId":"m-1","properties":{"plan":"silver"}}`)
		if code, field := errField(v); st != 409 || code != "conflict" || field != "messageId" {
			t.Fatalf("conflict: %d %v", st, v)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM events WHERE message_id = 'm-1'`); n != 1 {
			t.Fatalf("stored %d times", n)
		}
		var props string
		_ = d.Reader().QueryRow(`SELECT properties FROM events WHERE message_id = 'm-1'`).Scan(&props)
		if !strings.Contains(props, "gold") {
			t.Errorf("properties = %s; the first body must be kept", props)
		}
	})
}

func TestRequestErrors(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, ingest.WriterConfig{})
		big := `{"userId":"u","event":"e","properties":{"x":"` + strings.Repeat("y", ingest.MaxEventBytes) + `"}}`
		var batch strings.Builder
		batch.WriteString(`{"batch":[`)
		for i := 0; i < 40; i++ {
			if i > 0 {
				batch.WriteString(",")
			}
			fmt.Fprintf(&batch, `{"type":"track","userId":"u","event":"e","properties":{"x":"%s"}}`, strings.Repeat("z", 16000))
		}
		batch.WriteString(`]}`)
		tests := []struct {
			name, path, key, body string
			status                int
			code, field           string
		}{
			{"unknown key", "/v1/track", "nope", `{"userId":"u","event":"e"}`, 401, "unauthorized", ""},
			{"no key", "/v1/track", "", `{"userId":"u","event":"e"}`, 401, "unauthorized", ""},
			{"malformed", "/v1/track", s.key, `{"userId":`, 400, "invalid", ""},
			{"empty", "/v1/track", s.key, ``, 400, "invalid", ""},
			{"no ids", "/v1/track", s.key, `{"event":"e"}`, 400, "invalid", "userId"},
			{"bad timestamp", "/v1/track", s.key, `{"userId":"u","event":"e","timestamp":"2026-02-30T00:00:00Z"}`, 400, "invalid", "timestamp"},
			{"unknown endpoint", "/v1/explode", s.key, `{}`, 404, "not_found", ""},
			{"event too large", "/v1/track", s.key, big, 413, "too_large", ""},
			{"batch too large", "/v1/batch", s.key, batch.String(), 413, "too_large", ""},
			{"batch not array", "/v1/batch", s.key, `{"batch":{}}`, 400, "invalid", ""},
			{"batch missing", "/v1/batch", s.key, `{"sentAt":"2026-11-23T00:00:00Z"}`, 400, "invalid", "batch"},
			{"order without id", "/v1/track", s.key, `{"userId":"u","event":"Order Completed","properties":{"total":10}}`, 400, "invalid", "properties.order_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st, v, h := s.post(t, tt.path, tt.key, tt.body)
				code, field := errField(v)
				if st != tt.status || code != tt.code || field != tt.field {
					t.Errorf("got %d %q %q, want %d %q %q (%v)", st, code, field, tt.status, tt.code, tt.field, v)
				}
				if st == 401 && h.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
		if n := count(t, d, `SELECT COUNT(*) FROM events`); n != 0 {
			t.Errorf("%d events stored from bad requests", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM customers`); n != 0 {
			t.Errorf("%d customers created by bad requests", n)
		}
	})
}

func TestBatchEachEventItsOwnResult(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, ingest.WriterConfig{})
		st, _, _ := s.post(t, "/v1/track", s.key, `{"userId":"u-9","event":"Old","messageId":"old-1"}`)
		if st != 200 {
			t.Fatal(st)
		}
		body := `{"sentAt":"2026-11-23T11:00:00Z","context":{"library":{"name":"test"}},"batch":[
			{"type":"track","userId":"u-1","event":"A","messageId":"b-1"},
			{"type":"track","event":"no ids","messageId":"b-2"},
			{"type":"identify","userId":"u-1","messageId":"b-3","traits":{"email":"u1@example.com"}},
			{"type":"track","userId":"u-1","event":"A","messageId":"b-1"},
			{"type":"track","userId":"u-1","event":"B","messageId":"b-1"},
			{"type":"track","userId":"u-9","event":"Old","messageId":"old-1"},
			{"type":"teleport","userId":"u-1","messageId":"b-7"},
			{"type":"page","anonymousId":"anon-1","name":"Home","messageId":"b-8"}
		]}`
		st, v, _ := s.post(t, "/v1/batch", s.key, body)
		if st != 207 {
			t.Fatalf("status %d, want 207: %v", st, v)
		}
		results := v["results"].([]any)
		want := []struct {
			status int
			dup    bool
			field  string
		}{{200, false, ""}, {400, false, "batch[1].userId"}, {200, false, ""}, {200, true, ""}, {409, false, "batch[4].messageId"}, {200, true, ""}, {400, false, "batch[6].type"}, {200, false, ""}}
		for i, w := range want {
			r := results[i].(map[string]any)
			dup, _ := r["duplicate"].(bool)
			var field string
			if e, ok := r["error"].(map[string]any); ok {
				field, _ = e["field"].(string)
			}
			if int(r["status"].(float64)) != w.status || dup != w.dup || field != w.field {
				t.Errorf("result %d = %v, want %+v", i, r, w)
			}
		}
		if v["accepted"].(float64) != 3 || v["duplicates"].(float64) != 2 || v["rejected"].(float64) != 3 {
			t.Errorf("counts = %v", v)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM events`); n != 4 {
			t.Errorf("events = %d, want 4", n)
		}
		var ctx string
		_ = d.Reader().QueryRow(`SELECT context FROM events WHERE message_id = 'b-8'`).Scan(&ctx)
		if !strings.Contains(ctx, "library") {
			t.Errorf("batch context not applied: %s", ctx)
		}
	})
}

func TestBackpressure(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	s := newStack(t, d, ingest.WriterConfig{QueueSize: 5})
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for i := 0; i < 10; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"type":"track","userId":"u","event":"e","messageId":"bp-%d"}`, i)
	}
	b.WriteString(`]}`)
	st, v, h := s.post(t, "/v1/batch", s.key, b.String())
	if st != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("over capacity: %d %v (Retry-After %q)", st, v, h.Get("Retry-After"))
	}
	if n := count(t, d, `SELECT COUNT(*) FROM events`); n != 0 {
		t.Errorf("a refused batch stored %d events", n)
	}
}

func TestOrderEventsBecomeOrders(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, ingest.WriterConfig{})
		st, v, _ := s.post(t, "/v1/track", s.key, `{"userId":"buyer-1","event":"Order Completed","messageId":"o-1",
			"properties":{"order_id":"A-100","total":3500,"currency":"JPY","products":[
				{"product_id":"p1","name":"湯呑","price":1500,"quantity":2},{"sku":"p2","name":"箸","price":500}]}}`)
		if st != 200 {
			t.Fatalf("%d %v", st, v)
		}
		st, v, _ = s.post(t, "/v1/track", s.key, `{"userId":"buyer-1","event":"Order Refunded","messageId":"o-2",
			"properties":{"order_id":"A-100","currency":"JPY","products":[{"sku":"p2","name":"箸","price":500,"quantity":1}]}}`)
		if st != 200 {
			t.Fatalf("%d %v", st, v)
		}
		var total int64
		var status string
		if err := d.Reader().QueryRow(`SELECT total_minor, status FROM orders WHERE order_ref = 'A-100'`).Scan(&total, &status); err != nil {
			t.Fatal(err)
		}
		if total != 3000 || status != "partially_refunded" {
			t.Errorf("order total %d status %q, want 3000 partially_refunded", total, status)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.order_ref = 'A-100' AND l.amount_minor < 0`); n != 1 {
			t.Errorf("refund lines = %d, want 1", n)
		}
	})
}

func TestIdentifyLinksAnonymousHistory(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, ingest.WriterConfig{})
		for i, body := range []string{
			`{"anonymousId":"anon-7","event":"Viewed Product","messageId":"l-1"}`,
			`{"anonymousId":"anon-7","event":"Added to Cart","messageId":"l-2"}`,
		} {
			if st, v, _ := s.post(t, "/v1/track", s.key, body); st != 200 {
				t.Fatalf("%d: %d %v", i, st, v)
			}
		}
		if st, v, _ := s.post(t, "/v1/identify", s.key, `{"userId":"cust-7","anonymousId":"anon-7","messageId":"l-3","traits":{"email":"seven@example.jp","lastName":"佐藤"}}`); st != 200 {
			t.Fatalf("identify: %d %v", st, v)
		}
		if st, v, _ := s.post(t, "/v1/track", s.key, `{"userId":"cust-7","event":"Order Viewed","messageId":"l-4"}`); st != 200 {
			t.Fatalf("%d %v", st, v)
		}
		// Every event belongs to one customer.
		n := count(t, d, `SELECT COUNT(DISTINCT COALESCE(c.merged_into, c.id)) FROM events e JOIN customers c ON c.id = e.customer_id`)
		if n != 1 {
			t.Errorf("events spread over %d customers, want 1", n)
		}
	})
}

// postRaw posts bytes with a body the caller built (gzip tests).
func postRaw(t testing.TB, url, key string, body []byte, enc string) int {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.SetBasicAuth(key, "")
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

var _ = time.Second

// A message refused as a conflict leaves nothing behind, even when it was
// stored optimistically with the rest of its group and rolled back.
func TestConflictLeavesNothingBehind(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, ingest.WriterConfig{})
		if st, v, _ := s.post(t, "/v1/identify", s.key, `{"userId":"u-1","messageId":"id-1","traits":{"email":"first@example.com"}}`); st != 200 {
			t.Fatalf("%d %v", st, v)
		}
		body := `{"batch":[
			{"type":"identify","userId":"u-2","messageId":"id-1","traits":{"email":"thief@example.com"}},
			{"type":"identify","userId":"u-3","messageId":"id-3","traits":{"email":"third@example.com"}}
		]}`
		st, v, _ := s.post(t, "/v1/batch", s.key, body)
		if st != 207 {
			t.Fatalf("status %d: %v", st, v)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM identities WHERE value IN ('thief@example.com', 'u-2')`); n != 0 {
			t.Errorf("the refused message left %d identities behind", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM identities WHERE value = 'third@example.com'`); n != 1 {
			t.Errorf("its neighbour was not stored (%d)", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM events`); n != 2 {
			t.Errorf("events = %d, want 2", n)
		}
	})
}

// A large batch (several full INSERT chunks, the kept statement on SQLite)
// replayed with new messages mixed in: the replays are answered as
// duplicates, the new ones stored, each message exactly once.
func TestLargeBatchReplayMixedWithNew(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, ingest.WriterConfig{})
		batch := func(from, to int) string {
			var b strings.Builder
			b.WriteString(`{"batch":[`)
			for i := from; i < to; i++ {
				if i > from {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"type":"track","userId":"u-%d","event":"Viewed","messageId":"m-%d","properties":{"i":%d}}`, i%37, i, i)
			}
			b.WriteString(`]}`)
			return b.String()
		}
		if st, v, _ := s.post(t, "/v1/batch", s.key, batch(0, 1000)); st != 200 {
			t.Fatalf("first: %d %v", st, v)
		}
		st, v, _ := s.post(t, "/v1/batch", s.key, batch(500, 1500))
		if st != 200 || v["duplicates"] != float64(500) {
			t.Fatalf("mixed replay: %d, duplicates %v", st, v["duplicates"])
		}
		if n := count(t, d, `SELECT COUNT(*) FROM events`); n != 1500 {
			t.Fatalf("events = %d, want 1500", n)
		}
		if n := count(t, d, `SELECT COUNT(DISTINCT message_id) FROM events`); n != 1500 {
			t.Fatalf("distinct messageIds = %d, want 1500", n)
		}
	})
}
