package web

import (
	"context"
	"encoding/json"
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
	"github.com/kizuna-oss/kizuna/internal/ingest"
)

const (
	testPassword = "correct horse battery staple"
	anonCSRF     = "anonymous-csrf-token-from-the-login-page"
)

// who names a caller in tests: "anon", a role name (a signed-in user of
// that role) or "key:<role>" (an API key with that role).
var everyone = []string{"anon", "viewer", "agent", "manager", "admin", "key:viewer", "key:agent", "key:manager", "key:admin", "writekey"}

type cred struct {
	token, csrf string // session
	secret      string // API key (Bearer)
	basic       string // write key (HTTP Basic user name)
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
	err         error
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
	return s
}

type harness struct {
	t         *testing.T
	srv       *Server
	db        *db.DB
	accounts  *auth.Service
	customers *fakeCustomers
	ingest    http.Handler // the real Segment tracking API over this database
	creds     map[string]cred
	userIDs   map[auth.Role]int64
	writeKey  int64
}

// newHarness builds a server over a private copy of the seed database with
// the real auth service and the fake customer service.
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
	h := &harness{t: t, db: d, customers: newFakeCustomers(), creds: theSeed.creds, userIDs: theSeed.userIDs, writeKey: theSeed.writeKey}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.accounts = auth.NewService(d, auth.Options{Hash: auth.TestHashParams, Logger: quiet})
	writer := ingest.NewWriter(d, customer.NewService(d), ingest.WriterConfig{Logger: quiet})
	t.Cleanup(writer.Close)
	h.ingest = ingest.NewHandler(h.accounts, writer, nil, quiet)
	h.srv = New(h.config())
	return h
}

func (h *harness) config() Config {
	return Config{Customers: h.customers, Accounts: h.accounts, DB: h.db, Ingest: h.ingest, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
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
		if c.csrf != "" {
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
