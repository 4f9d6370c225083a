package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
)

const (
	testPassword = "correct horse battery staple"
	anonCSRF     = "anonymous-csrf-token-from-the-login-page"
)

// who names a caller in tests: "anon", a role name (a signed-in user of
// that role) or "key:<role>" (an API key with that role).
var everyone = []string{"anon", "viewer", "agent", "manager", "admin", "key:viewer", "key:agent", "key:manager", "key:admin"}

type cred struct {
	token, csrf string // session
	secret      string // API key
	role        auth.Role
}

type harness struct {
	t         *testing.T
	srv       *Server
	accounts  *fakeAccounts
	customers *fakeCustomers
	creds     map[string]cred
	userIDs   map[auth.Role]int64
	writeKey  int64
}

// newHarness builds a server over fresh fakes: users admin(1), manager(2),
// agent(3), viewer(4); API keys for each role (5–8); a write key (9).
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, accounts: newFakeAccounts(), customers: newFakeCustomers(), creds: map[string]cred{}, userIDs: map[auth.Role]int64{}}
	for _, r := range auth.Roles {
		u := h.accounts.addUser(string(r)+"@example.com", testPassword, r, "")
		h.userIDs[r] = u.ID
	}
	for _, r := range auth.Roles {
		tok, csrf := h.accounts.session(h.userIDs[r])
		h.creds[string(r)] = cred{token: tok, csrf: csrf, role: r}
	}
	for _, r := range auth.Roles {
		_, secret := h.accounts.addKey(KeyKindAPI, "key-"+string(r), r)
		h.creds["key:"+string(r)] = cred{secret: secret, role: r}
	}
	wk, _ := h.accounts.addKey(KeyKindWrite, "website", "")
	h.writeKey = wk.ID
	h.srv = New(Config{Customers: h.customers, Accounts: h.accounts, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return testNow }})
	return h
}

// request builds a request as who. For HTML forms the body is url-encoded
// form values and the CSRF field is added; for JSON the X-CSRF-Token
// header is set when a session is used.
func (h *harness) request(method, target, who string, body string, isJSON bool) *http.Request {
	c := h.creds[who]
	if !isJSON && body != "" || !isJSON && method == http.MethodPost {
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
