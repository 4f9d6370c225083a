package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/internal/ingest"
	"github.com/kizuna-oss/kizuna/internal/kb"
	"github.com/kizuna-oss/kizuna/internal/support"
)

const (
	testPassword = "correct horse battery staple"
	anonCSRF     = "anonymous-csrf-token-from-the-login-page"
)

// who names a caller in tests: "anon", a role name (a signed-in user of
// that role) or "key:<role>" (an API key with that role).
// "customer" is Hanako signed in to the support portal (harness_portal_test.go).
var everyone = []string{"anon", "viewer", "agent", "manager", "admin", "key:viewer", "key:agent", "key:manager", "key:admin", "writekey", "customer"}

type cred struct {
	token, csrf string // session
	secret      string // API key (Bearer)
	basic       string // write key (HTTP Basic user name)
	portal      string // support portal session (csrf is its token)
	role        auth.Role
}

// seed is a migrated SQLite database with a user, a session and an API key
// per role and a write key, built once; each harness works on a copy, so
// tests may change anything.
type seed struct {
	path        string
	creds       map[string]cred
	userIDs     map[auth.Role]int64
	writeKey    int64
	writeSecret string
	ids         seedIDs
	err         error
}

// seedIDs are the customers and the merge the seed holds.
type seedIDs struct {
	hanako, john, dup, old int64 // old was merged into hanako
	merge                  int64 // that merge
	survey, trigger        int64 // a live survey with responses, and its trigger (harness_survey_test.go)
	support                supportSeed
}

var (
	seedOnce sync.Once
	theSeed  seed
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theSeed.path != "" {
		os.RemoveAll(filepath.Dir(theSeed.path))
	}
	os.Exit(code)
}

func buildSeed() (s seed) {
	dir, err := os.MkdirTemp("", "kizuna-web-test-")
	if err != nil {
		return seed{err: err}
	}
	s = seed{path: filepath.Join(dir, "seed.db"), creds: map[string]cred{}, userIDs: map[auth.Role]int64{}}
	ctx := context.Background()
	d, err := db.Open(ctx, s.path, db.Options{UnsafeFast: true})
	if err != nil {
		s.err = err
		return s
	}
	defer d.Close()
	if s.err = d.Migrate(ctx); s.err != nil {
		return s
	}
	accounts := auth.NewService(d, auth.Options{Hash: auth.TestHashParams})
	sys := auth.System(ctx, "test")
	for _, r := range auth.Roles {
		u, err := accounts.CreateUser(sys, string(r)+"@example.com", strings.ToUpper(string(r[:1]))+string(r[1:]), testPassword, r)
		if err != nil {
			s.err = err
			return s
		}
		s.userIDs[r] = u.ID
		tok, sess, _, err := accounts.Login(ctx, u.Email, testPassword, "192.0.2.1", "test")
		if err != nil {
			s.err = err
			return s
		}
		s.creds[string(r)] = cred{token: tok, csrf: sess.CSRFToken, role: r}
		_, secret, err := accounts.CreateKey(sys, auth.KeyAPI, "key-"+string(r), r)
		if err != nil {
			s.err = err
			return s
		}
		s.creds["key:"+string(r)] = cred{secret: secret, role: r}
	}
	wk, wsecret, err := accounts.CreateKey(sys, auth.KeyWrite, "website", "")
	if err != nil {
		s.err = err
		return s
	}
	s.writeKey, s.writeSecret = wk.ID, wsecret
	s.creds["writekey"] = cred{basic: wsecret}
	if s.ids, s.err = seedCustomers(ctx, d, accounts, wsecret); s.err != nil {
		return s
	}
	if s.err = seedSurvey(ctx, d, &s.ids); s.err != nil {
		return s
	}
	s.ids.support, s.err = seedSupport(ctx, d)
	if s.err == nil {
		s.err = seedKB(ctx, d)
	}
	if s.err == nil {
		s.err = seedPortal(ctx, d, &s)
	}
	return s
}

// testNow is the clock of the server under test; the seeded events happen
// shortly before it.
var testNow = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

// seedCustomers sends the customer data through the real Segment-compatible
// tracking API, the way production data arrives: identifies with Japanese
// names and kana, a track, an order with a line, two more profiles, and a
// merge made by hand.
func seedCustomers(ctx context.Context, d *db.DB, accounts *auth.Service, writeSecret string) (seedIDs, error) {
	var ids seedIDs
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := customer.NewService(d)
	writer := ingest.NewWriter(d, svc, ingest.WriterConfig{Logger: quiet})
	defer writer.Close()
	ts := func(ago time.Duration) string { return testNow.Add(-ago).Format(time.RFC3339) }
	batch := []map[string]any{
		{"type": "identify", "messageId": "seed-1", "userId": "u-1001", "timestamp": ts(90 * 24 * time.Hour),
			"traits": map[string]any{"lastName": "山田", "firstName": "花子", "lastNameKana": "ヤマダ", "firstNameKana": "ハナコ",
				"email": "hanako@example.jp", "phone": "090-1234-5678", "country": "JP", "plan": "gold"}},
		{"type": "track", "messageId": "seed-2", "userId": "u-1001", "event": "Product Viewed <Teapot>", "timestamp": ts(4 * time.Hour),
			"properties": map[string]any{"sku": "85123A"}},
		{"type": "track", "messageId": "seed-3", "userId": "u-1001", "event": "Order Completed", "timestamp": ts(3 * time.Hour),
			"properties": map[string]any{"order_id": "ORD-536365", "total": 1234.50, "currency": "GBP",
				"products": []map[string]any{{"sku": "85123A", "name": "WHITE HANGING HEART T-LIGHT HOLDER", "price": 205.75, "quantity": 6}}}},
		{"type": "identify", "messageId": "seed-4", "userId": "u-2002", "timestamp": ts(30 * 24 * time.Hour),
			"traits": map[string]any{"lastName": "Smith", "firstName": "John", "email": "john@example.co.uk", "country": "GB"}},
		{"type": "identify", "messageId": "seed-5", "anonymousId": "anon-3", "timestamp": ts(time.Hour),
			"traits": map[string]any{"email": "dup@example.jp", "country": "JP"}},
		{"type": "identify", "messageId": "seed-6", "anonymousId": "anon-4", "timestamp": ts(48 * time.Hour),
			"traits": map[string]any{"email": "old@example.jp"}},
	}
	// One request per message: each commits before the next, so the
	// profiles get ids 1 to 4 in this order, which the tests rely on.
	handler := ingest.NewHandler(accounts, writer, nil, quiet)
	for _, m := range batch {
		body, _ := json.Marshal(map[string]any{"batch": []any{m}})
		r := httptest.NewRequest("POST", "/v1/batch", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.SetBasicAuth(writeSecret, "")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			return ids, fmt.Errorf("seeding through /v1/batch: %d %s", w.Code, w.Body.String())
		}
	}
	sys := auth.System(ctx, "test")
	find := func(q string) (int64, error) {
		page, err := svc.List(sys, customer.Filter{Query: q})
		if err != nil {
			return 0, err
		}
		if len(page.Items) != 1 {
			return 0, fmt.Errorf("seed: %d customers match %q", len(page.Items), q)
		}
		return page.Items[0].ID, nil
	}
	var err error
	for q, dst := range map[string]*int64{"hanako@example.jp": &ids.hanako, "john@example.co.uk": &ids.john, "dup@example.jp": &ids.dup, "old@example.jp": &ids.old} {
		if *dst, err = find(q); err != nil {
			return ids, err
		}
	}
	m, err := svc.Merge(sys, ids.hanako, ids.old, "same person")
	if err != nil {
		return ids, err
	}
	ids.merge = m.ID
	if want := (seedIDs{hanako: 1, john: 2, dup: 3, old: 4, merge: 1}); ids != want {
		return ids, fmt.Errorf("seed ids %+v, want %+v", ids, want)
	}
	return ids, nil
}

type harness struct {
	t         *testing.T
	srv       *Server
	db        *db.DB
	accounts  *auth.Service
	customers *customer.Service
	ingest    http.Handler // the real Segment tracking API over this database
	surveys   *feedback.Service
	results   *results.Service
	creds     map[string]cred
	userIDs   map[auth.Role]int64
	writeKey  int64
	ids       seedIDs
}

// newHarness builds a server over a private copy of the seed database with
// the real auth, customer and ingestion services.
func newHarness(t *testing.T) *harness {
	t.Helper()
	seedOnce.Do(func() { theSeed = buildSeed() })
	if theSeed.err != nil {
		t.Fatalf("seeding: %v", theSeed.err)
	}
	b, err := os.ReadFile(theSeed.path)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kizuna.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(context.Background(), path, db.Options{UnsafeFast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	h := &harness{t: t, db: d, customers: customer.NewService(d), creds: theSeed.creds, userIDs: theSeed.userIDs, writeKey: theSeed.writeKey, ids: theSeed.ids}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.accounts = auth.NewService(d, auth.Options{Hash: auth.TestHashParams, Logger: quiet})
	writer := ingest.NewWriter(d, h.customers, ingest.WriterConfig{Logger: quiet})
	t.Cleanup(writer.Close)
	h.ingest = ingest.NewHandler(h.accounts, writer, nil, quiet)
	h.surveys, h.results = surveyServices(d)
	h.srv = New(h.config())
	return h
}

func (h *harness) config() Config {
	desk := support.NewService(h.db, h.customers)
	return Config{Customers: h.customers, Accounts: h.accounts, DB: h.db, KB: kb.NewService(h.db), Support: desk, Portal: h.portal(desk), Mailbox: testMailbox(h.db, desk), Ingest: h.ingest, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Surveys: h.surveys, Results: h.results, BaseURL: testBaseURL,
		Now: func() time.Time { return testNow }}
}

// request builds a request as who. For HTML forms the body is url-encoded
// form values and the CSRF field is added; for JSON the X-CSRF-Token
// header is set when a session is used.
func (h *harness) request(method, target, who string, body string, isJSON bool) *http.Request {
	c := h.creds[who]
	if !isJSON && (body != "" || method == http.MethodPost) {
		vals, err := url.ParseQuery(body)
		if err != nil {
			h.t.Fatal(err)
		}
		portalForm := strings.HasPrefix(target, "/portal") && !strings.HasPrefix(target, "/portal/login")
		if c.csrf != "" && (c.portal == "" || portalForm) {
			vals.Set(csrfField, c.csrf)
		} else {
			vals.Set(csrfField, anonCSRF) // a visitor who loaded the form
		}
		body = vals.Encode()
	}
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if method != http.MethodGet {
		if isJSON {
			r.Header.Set("Content-Type", "application/json")
		} else {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if c.token == "" && !isJSON {
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: anonCSRF})
	}
	if c.portal != "" {
		r.AddCookie(&http.Cookie{Name: portalCookie, Value: c.portal})
	}
	if c.token != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.token})
		if isJSON {
			r.Header.Set(csrfHeader, c.csrf)
		}
	}
	if c.secret != "" {
		r.Header.Set("Authorization", "Bearer "+c.secret)
	}
	if c.basic != "" {
		r.SetBasicAuth(c.basic, "")
	}
	return r
}

func (h *harness) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

func (h *harness) get(target, who string) *httptest.ResponseRecorder {
	return h.serve(h.request(http.MethodGet, target, who, "", strings.HasPrefix(target, "/api/")))
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
