package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

func cookieFrom(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSecurityHeadersAndNoInlineCode(t *testing.T) {
	h := newHarness(t)
	pages := []struct{ path, who string }{
		{"/login", "anon"}, {"/", "admin"}, {"/customers", "viewer"}, {fmt.Sprintf("/customers/%d", h.ids.hanako), "admin"},
		{"/settings/users", "admin"}, {"/settings/keys", "admin"}, {"/settings/audit", "manager"},
		{"/customers/999999", "admin"}, {"/no/such/page", "anon"}, {"/api/v1/customers", "key:viewer"},
	}
	inline := regexp.MustCompile(`(?i)<script|<style|\sstyle=|\son[a-z]+=|javascript:`)
	for _, p := range pages {
		w := h.get(p.path, p.who)
		hd := w.Header()
		if got := hd.Get("Content-Security-Policy"); got != contentSecurityPolicy {
			t.Errorf("%s: CSP %q", p.path, got)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if hd.Get(k) != v {
				t.Errorf("%s: %s = %q", p.path, k, hd.Get(k))
			}
		}
		if strings.HasPrefix(hd.Get("Content-Type"), "text/html") {
			if m := inline.FindString(w.Body.String()); m != "" {
				t.Errorf("%s: inline code %q would violate the CSP", p.path, m)
			}
		}
	}
	if !strings.Contains(contentSecurityPolicy, "script-src 'self'") || strings.Contains(contentSecurityPolicy, "unsafe") {
		t.Fatal("CSP weakened")
	}
}

// TestTemplateKeysInCatalog: every catalog key a template or handler uses
// exists in both languages, including keys built from values
// (lifecycle.%s, role.%s …).
func TestTemplateKeysInCatalog(t *testing.T) {
	var keys []string
	static := regexp.MustCompile(`\.T "([a-z0-9_.\-]+)"`)
	dynamic := regexp.MustCompile(`printf "([a-z_.]+)%s"`) // both .T and .TOr: TOr's keys must exist too
	prefixes := map[string][]string{}
	add := func(prefix string, vals ...string) {
		for _, v := range vals {
			keys = append(keys, prefix+v)
		}
	}
	var roles []string
	for _, r := range auth.Roles {
		roles = append(roles, string(r))
	}
	var periodKeys []string
	for _, p := range periods {
		periodKeys = append(periodKeys, p.Key)
	}
	prefixes["lifecycle."] = customer.LifecycleStages
	prefixes["role."] = roles
	prefixes["lang."] = i18n.Locales
	prefixes["period."] = periodKeys
	prefixes["sort."] = listSorts
	prefixes["identity."] = []string{customer.KindEmail, customer.KindPhone, customer.KindUserID, customer.KindAnonymousID, customer.KindLINE, customer.KindOrderID}
	prefixes["timeline.kind."] = []string{"event", "order"}
	prefixes["order.status."] = []string{"completed", "refunded", "cancelled"}
	prefixes["order.line."] = []string{"sale", "refund", "cancel"}
	prefixes["key.kind."] = []string{string(auth.KeyAPI), string(auth.KeyWrite)}
	prefixes["audit.action."] = auditActions
	prefixes["portal.status."] = []string{"new", "open", "pending", "on-hold", "solved", "closed"}
	prefixes["audit.actor."] = []string{string(auth.PrincipalUser), string(auth.PrincipalAPIKey), string(auth.PrincipalWriteKey), string(auth.PrincipalSystem), auth.ActorAnonymous}
	for k, v := range ticketKeyPrefixes() { // tickets_ui_test.go
		prefixes[k] = v
	}

	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(p)
		for _, m := range static.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1])
		}
		for _, m := range dynamic.FindAllStringSubmatch(string(b), -1) {
			vals, ok := prefixes[m[1]]
			if !ok {
				t.Errorf("%s: dynamic key prefix %q has no value list in this test", p, m[1])
			}
			add(m[1], vals...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Keys handlers pass to templates.
	goKey := regexp.MustCompile(`(?:newPage\(w, r, |ErrorKey = |T\(|\{)"([a-z]+\.[a-z0-9_.]+)"`)
	entries, _ := os.ReadDir(".")
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, _ := os.ReadFile(e.Name())
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			if strings.HasSuffix(m[1], ".") { // a prefix completed at run time
				vals, ok := prefixes[m[1]]
				if !ok {
					t.Errorf("%s: dynamic key prefix %q has no value list in this test", e.Name(), m[1])
				}
				add(m[1], vals...)
				continue
			}
			keys = append(keys, m[1])
		}
	}
	for _, code := range []string{kizuna.EINVALID, kizuna.EUNAUTHORIZED, kizuna.EFORBIDDEN, kizuna.ENOTFOUND, kizuna.ECONFLICT, kizuna.ETOOLARGE, kizuna.ETOOMANY, kizuna.EUNAVAILABLE, kizuna.EINTERNAL} {
		add("error."+code, "", ".hint")
	}
	for _, d := range []string{"saved", "merged", "unmerged", "user_created", "role_changed", "user_disabled", "user_enabled", "key_revoked"} {
		if k := flashKey(d); k == "" {
			t.Errorf("flash %s has no key", d)
		} else {
			keys = append(keys, k)
		}
	}
	if len(keys) < 150 {
		t.Fatalf("found only %d keys; is the scan broken?", len(keys))
	}
	for _, k := range keys {
		for _, loc := range []string{i18n.English, i18n.Japanese} {
			if !i18n.Has(loc, k) {
				t.Errorf("key %q missing from %s catalog", k, loc)
			}
		}
	}
}

// TestTemplatesHaveNoLiteralText: words on screen come from the catalogs,
// never from the template text itself (which would show in one language
// only).
func TestTemplatesHaveNoLiteralText(t *testing.T) {
	textNode := regexp.MustCompile(`>([^<{]*[\p{L}]{2,}[^<{]*)<`)
	attr := regexp.MustCompile(`(?:placeholder|title|aria-label|alt)="([^"{]*\p{L}{2,}[^"{]*)"`)
	allowed := map[string]bool{"JP": true} // a country code, the same in every language
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(p)
		for _, re := range []*regexp.Regexp{textNode, attr} {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				if txt := strings.TrimSpace(m[1]); !allowed[txt] {
					t.Errorf("%s: literal text %q; use the catalog", p, txt)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoginFlow(t *testing.T) {
	h := newHarness(t)
	w := h.get("/customers/1", "anon")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next=%2Fcustomers%2F1" {
		t.Fatalf("anonymous visit: %d %q", w.Code, w.Header().Get("Location"))
	}
	w = h.serve(httptest.NewRequest("GET", "/login?next=/customers/1", nil))
	csrf := cookieFrom(w, csrfCookie)
	if w.Code != 200 || csrf == nil || !csrf.HttpOnly {
		t.Fatalf("login page: %d, csrf cookie %+v", w.Code, csrf)
	}
	post := func(email, password string, csrfVal string, secure bool) *httptest.ResponseRecorder {
		form := url.Values{"email": {email}, "password": {password}, "csrf_token": {csrfVal}, "next": {"/customers/1"}}
		r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		name := csrfCookie
		if secure {
			r.Header.Set("X-Forwarded-Proto", "https")
			name = "__Host-" + csrfCookie
		}
		r.AddCookie(&http.Cookie{Name: name, Value: csrf.Value})
		return h.serve(r)
	}
	if w := post("admin@example.com", testPassword, "forged", false); w.Code != http.StatusForbidden {
		t.Fatalf("login without the form's CSRF token: %d", w.Code)
	}
	w = post("admin@example.com", "wrong", csrf.Value, false)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "The email or password is wrong.") {
		t.Fatalf("bad password: %d", w.Code)
	}
	if !strings.Contains(w.Body.String(), `value="admin@example.com"`) || strings.Contains(w.Body.String(), "wrong") && strings.Contains(w.Body.String(), `value="wrong"`) {
		t.Fatal("the form should keep the email and never echo the password")
	}
	w = post("admin@example.com", testPassword, csrf.Value, false)
	sess := cookieFrom(w, sessionCookie)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/customers/1" || sess == nil {
		t.Fatalf("login: %d %q %v", w.Code, w.Header().Get("Location"), sess)
	}
	if !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure || sess.Path != "/" {
		t.Fatalf("session cookie attributes: %+v", sess)
	}
	w = post("admin@example.com", testPassword, csrf.Value, true)
	sec := cookieFrom(w, "__Host-"+sessionCookie)
	if sec == nil || !sec.Secure || !sec.HttpOnly || sec.Domain != "" {
		t.Fatalf("behind HTTPS the cookie must be __Host- and Secure: %+v", w.Result().Cookies())
	}
	if w.Header().Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS over HTTPS")
	}

	// The session works, and logout kills it.
	r := httptest.NewRequest("GET", "/customers", nil)
	r.AddCookie(sess)
	if w := h.serve(r); w.Code != 200 {
		t.Fatalf("with session: %d", w.Code)
	}
	live, _, _, err := h.accounts.LookupSession(context.Background(), sess.Value)
	if err != nil {
		t.Fatal(err)
	}
	tokCSRF := live.CSRFToken
	r = httptest.NewRequest("POST", "/logout", strings.NewReader("csrf_token="+tokCSRF))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(sess)
	if w := h.serve(r); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d", w.Code)
	}
	r = httptest.NewRequest("GET", "/customers", nil)
	r.AddCookie(sess)
	if w := h.serve(r); w.Code != http.StatusSeeOther {
		t.Fatalf("session still alive after logout: %d", w.Code)
	}

	// Throttling shows its own message.
	for i := 0; i < 5; i++ {
		post("viewer@example.com", "nope", csrf.Value, false)
	}
	w = post("viewer@example.com", testPassword, csrf.Value, false)
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "Too many failed attempts") || !strings.Contains(w.Body.String(), "You can try again after") {
		t.Fatalf("throttled login: %d %s", w.Code, w.Body.String())
	}
	if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("throttled login without Retry-After: %q", ra)
	}
}

func TestLoginRejectsOpenRedirect(t *testing.T) {
	for in, want := range map[string]string{"": "/", "/customers?q=a": "/customers?q=a", "//evil.example": "/", "https://evil.example": "/", "/\\evil": "/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSRFRequired(t *testing.T) {
	h := newHarness(t)
	c := h.creds["admin"]
	send := func(method, path, body, ct, token string, header bool) int {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.token})
		if header {
			r.Header.Set(csrfHeader, token)
		}
		return h.serve(r).Code
	}
	form := "application/x-www-form-urlencoded"
	if got := send("POST", "/customers/1", "family_name=X", form, "", false); got != http.StatusForbidden {
		t.Errorf("form without token: %d", got)
	}
	if got := send("POST", "/customers/1", "family_name=X&csrf_token=wrong", form, "", false); got != http.StatusForbidden {
		t.Errorf("form with wrong token: %d", got)
	}
	if got := send("POST", "/customers/1", "family_name=X&csrf_token="+c.csrf, form, "", false); got != http.StatusSeeOther {
		t.Errorf("form with token: %d", got)
	}
	// A valid token does not help a request another site made.
	r0 := h.request("POST", "/customers/1", "admin", "family_name=Z", false)
	r0.Header.Set("Origin", "https://evil.example")
	if w := h.serve(r0); w.Code != http.StatusForbidden {
		t.Errorf("cross-origin form post: %d", w.Code)
	}
	r0 = h.request("POST", "/customers/1", "admin", "family_name=Z", false)
	r0.Header.Set("Origin", "http://"+r0.Host)
	if w := h.serve(r0); w.Code != http.StatusSeeOther {
		t.Errorf("same-origin form post: %d", w.Code)
	}
	js := "application/json"
	if got := send("PATCH", "/api/v1/customers/1", `{"family_name":"X"}`, js, "", false); got != http.StatusForbidden {
		t.Errorf("cookie API call without X-CSRF-Token: %d", got)
	}
	if got := send("PATCH", "/api/v1/customers/1", `{"family_name":"X"}`, js, c.csrf, true); got != http.StatusOK {
		t.Errorf("cookie API call with X-CSRF-Token: %d", got)
	}
	// API keys carry no ambient authority, so they need no CSRF token.
	r := h.request("PATCH", "/api/v1/customers/1", "key:agent", `{"family_name":"Y"}`, true)
	if w := h.serve(r); w.Code != http.StatusOK {
		t.Errorf("API key call: %d %s", w.Code, w.Body.String())
	}
	if c, err := h.customers.Get(auth.System(context.Background(), "test"), 1); err != nil || c.FamilyName != "Y" {
		t.Errorf("update not applied: %v %+v", err, c)
	}
}

func TestAPIErrors(t *testing.T) {
	h := newHarness(t)
	check := func(w *httptest.ResponseRecorder, status int, code, field string) {
		t.Helper()
		var body apiErrorBody
		if err := jsonUnmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("error body %q: %v", w.Body.String(), err)
		}
		if w.Code != status || body.Error.Code != code || body.Error.Field != field || body.Error.Message == "" {
			t.Fatalf("got %d %+v, want %d %s field %q", w.Code, body.Error, status, code, field)
		}
	}
	check(h.get("/api/v1/customers/abc", "admin"), 400, kizuna.EINVALID, "id")
	check(h.get("/api/v1/customers?sort=evil", "admin"), 400, kizuna.EINVALID, "sort")
	check(h.get("/api/v1/customers?lifecycle_stage=x", "admin"), 400, kizuna.EINVALID, "lifecycle_stage")
	check(h.get("/api/v1/customers/424242", "admin"), 404, kizuna.ENOTFOUND, "")
	check(h.get("/api/v1/nope", "admin"), 404, kizuna.ENOTFOUND, "")
	w0 := h.serve(h.request("DELETE", "/api/v1/customers/1", "admin", "", true))
	if w0.Code != http.StatusMethodNotAllowed || w0.Header().Get("Allow") != "GET, PATCH" || !strings.Contains(w0.Body.String(), `"code":"method_not_allowed"`) {
		t.Errorf("DELETE on a customer: %d %q %s", w0.Code, w0.Header().Get("Allow"), w0.Body.String())
	}
	big0 := h.request("POST", "/customers/1", "admin", "family_name="+strings.Repeat("a", maxFormBody), false)
	if w := h.serve(big0); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("over-long form: %d", w.Code)
	}
	bad := h.request("POST", "/customers/1", "admin", "", false)
	bad.Body = io.NopCloser(strings.NewReader("a=%zz"))
	if w := h.serve(bad); w.Code != http.StatusBadRequest {
		t.Errorf("malformed form: %d", w.Code)
	}
	check(h.serve(h.request("PATCH", "/api/v1/customers/1", "admin", `{"emial":"x"}`, true)), 400, kizuna.EINVALID, "emial")
	check(h.serve(h.request("PATCH", "/api/v1/customers/1", "admin", `{"email":5}`, true)), 400, kizuna.EINVALID, "email")
	check(h.serve(h.request("PATCH", "/api/v1/customers/1", "admin", `{`, true)), 400, kizuna.EINVALID, "")
	big := `{"family_name":"` + strings.Repeat("a", maxAPIBody) + `"}`
	check(h.serve(h.request("PATCH", "/api/v1/customers/1", "admin", big, true)), 413, kizuna.ETOOLARGE, "")
	r := h.request("GET", "/api/v1/customers", "anon", "", true)
	r.Header.Set("Authorization", "Bearer kz_not_a_key")
	w := h.serve(r)
	check(w, 401, kizuna.EUNAUTHORIZED, "")
	if w.Header().Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

// brokenCustomers fails with an error that is not a *kizuna.Error.
type brokenCustomers struct{ Customers }

func (b brokenCustomers) Get(ctx context.Context, id int64) (*customer.Customer, error) {
	return nil, errors.New("disk on fire: /var/lib/kizuna secret path")
}

func TestInternalErrorsAreLoggedOnceAndHidden(t *testing.T) {
	h := newHarness(t)
	var logs bytes.Buffer
	cfg := h.config()
	cfg.Customers, cfg.Logger = brokenCustomers{h.customers}, slog.New(slog.NewTextHandler(&logs, nil))
	h.srv = New(cfg)
	w := h.get("/api/v1/customers/1", "admin")
	if w.Code != 500 || strings.Contains(w.Body.String(), "disk on fire") || !strings.Contains(w.Body.String(), `"internal error"`) {
		t.Fatalf("API: %d %s", w.Code, w.Body.String())
	}
	if n := strings.Count(logs.String(), "disk on fire"); n != 1 {
		t.Fatalf("logged %d times: %s", n, logs.String())
	}
	w = h.get("/customers/1", "admin")
	if w.Code != 500 || strings.Contains(w.Body.String(), "disk on fire") {
		t.Fatalf("page: %d", w.Code)
	}
}

func TestCustomerPages(t *testing.T) {
	h := newHarness(t)
	r := h.request("GET", "/customers?q=%E3%83%A4%E3%83%9E%E3%83%80", "viewer", "", false) // ヤマダ
	r.Header.Set("Accept-Language", "ja-JP,ja;q=0.9")
	w := h.serve(r)
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, "山田 花子") || strings.Contains(body, "John") {
		t.Fatalf("kana search: %d\n%s", w.Code, body)
	}
	if !strings.Contains(body, `<html lang="ja">`) || !strings.Contains(body, "顧客一覧") || !strings.Contains(body, "リピーター") {
		t.Fatal("page not in Japanese")
	}

	w = h.get("/customers?lifecycle_stage=bogus", "viewer")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `name="q"`) {
		t.Fatalf("bad filter should keep the form: %d", w.Code)
	}

	r = h.request("GET", "/customers/1", "viewer", "", false)
	r.Header.Set("Accept-Language", "ja")
	w = h.serve(r)
	body = w.Body.String()
	for _, want := range []string{"山田 花子", "ヤマダ ハナコ", "Product Viewed &lt;Teapot&gt;", "ORD-536365", "£1,234.50", "2026年11月23日", "hanako@example.jp", "u-1001", "#4 を #1 に統合"} {
		if !strings.Contains(body, want) {
			t.Errorf("customer page lacks %q", want)
		}
	}
	// A viewer sees no edit, merge or unmerge forms.
	for _, form := range []string{`action="/customers/1"`, `action="/customers/1/merge"`, `/unmerge"`} {
		if strings.Contains(body, form) {
			t.Errorf("viewer is offered %s", form)
		}
	}
	w = h.get("/customers/1", "admin")
	for _, form := range []string{`action="/customers/1"`, `action="/customers/1/merge"`, `action="/merges/1/unmerge"`} {
		if !strings.Contains(w.Body.String(), form) {
			t.Errorf("admin is not offered %s", form)
		}
	}

	// A failed edit re-renders the form with the typed value and the error.
	w = h.serve(h.request("POST", "/customers/1", "agent", "email=not-an-email&family_name=%E5%B1%B1%E6%9C%AC", false))
	if w.Code != 400 || !strings.Contains(w.Body.String(), `value="not-an-email"`) || !strings.Contains(w.Body.String(), `aria-invalid="true"`) || !strings.Contains(w.Body.String(), "山本") {
		t.Fatalf("failed edit: %d", w.Code)
	}
	if c, err := h.customers.Get(auth.System(context.Background(), "test"), 1); err != nil || c.Email != "hanako@example.jp" {
		t.Fatal("failed edit changed the customer")
	}
	// Failed merges keep the form, with what was typed and why it failed.
	for _, c := range []struct {
		form, want string
		status     int
	}{
		{"loser_id=4&reason=again", "already one customer", http.StatusConflict},
		{"loser_id=424242&reason=typo", "not found", http.StatusNotFound},
		{"loser_id=abc&reason=x", "enter the number", http.StatusBadRequest},
		{"loser_id=3&reason=", "say why", http.StatusBadRequest},
	} {
		w = h.serve(h.request("POST", "/customers/1/merge", "manager", c.form, false))
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) || !strings.Contains(w.Body.String(), `id="loser_id"`) {
			t.Errorf("merge %s: %d, want %d with %q", c.form, w.Code, c.status, c.want)
		}
	}

	w = h.get("/", "viewer")
	if w.Code != 200 || strings.Count(w.Body.String(), "<svg") < 4 || !strings.Contains(w.Body.String(), "£1,234.50") {
		t.Fatalf("dashboard: %d", w.Code)
	}
	if w := h.get("/?period=5y", "viewer"); w.Code != 400 {
		t.Fatalf("bad period: %d", w.Code)
	}
}

func TestKeySecretShownOnce(t *testing.T) {
	h := newHarness(t)
	w := h.serve(h.request("POST", "/settings/keys", "admin", "kind=write&name=Website", false))
	if w.Code != http.StatusCreated {
		t.Fatalf("create key: %d %s", w.Code, w.Body.String())
	}
	secret := regexp.MustCompile(`value="(kzw_[a-z0-9_]+)"`).FindStringSubmatch(w.Body.String())
	if secret == nil {
		t.Fatalf("the new secret is not shown: %s", w.Body.String())
	}
	if w := h.get("/settings/keys", "admin"); strings.Contains(w.Body.String(), secret[1]) || !strings.Contains(w.Body.String(), "Website") {
		t.Fatal("the secret is shown again, or the key is not listed")
	}
	w = h.serve(h.request("POST", "/settings/keys", "admin", "kind=api&name=&role=viewer", false))
	if w.Code != 400 || !strings.Contains(w.Body.String(), `aria-invalid="true"`) {
		t.Fatalf("invalid key: %d %s", w.Code, w.Body.String())
	}
	// The API returns the secret once, too, and it works at once.
	w = h.serve(h.request("POST", "/api/v1/keys", "admin", `{"kind":"api","name":"CI","role":"viewer"}`, true))
	var created createdKey
	if err := jsonUnmarshal(w.Body.Bytes(), &created); err != nil || w.Code != 201 || created.Secret == "" {
		t.Fatalf("API create: %d %s", w.Code, w.Body.String())
	}
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.Header.Set("Authorization", "Bearer "+created.Secret)
	if w := h.serve(r); w.Code != 200 || !strings.Contains(w.Body.String(), `"role":"viewer"`) {
		t.Fatalf("new key: %d %s", w.Code, w.Body.String())
	}
}

func TestUserAdmin(t *testing.T) {
	h := newHarness(t)
	w := h.serve(h.request("POST", "/settings/users", "admin", "email=new%40example.com&password=short&role=agent", false))
	if w.Code != 400 || strings.Contains(w.Body.String(), `value="short"`) || !strings.Contains(w.Body.String(), `value="new@example.com"`) || !strings.Contains(w.Body.String(), `id="nu-password" name="password" type="password" autocomplete="new-password" required minlength="12" aria-invalid="true"`) {
		t.Fatalf("short password: %d", w.Code)
	}
	w = h.serve(h.request("POST", "/settings/users/4/role", "admin", "role=overlord", false))
	if w.Code != 400 {
		t.Fatalf("unknown role: %d", w.Code)
	}
	w = h.serve(h.request("POST", "/settings/users/4/disable", "admin", "", false))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("disable: %d", w.Code)
	}
	if w := h.get("/customers", "viewer"); w.Code != http.StatusSeeOther {
		t.Fatalf("a disabled user's session must end: %d", w.Code)
	}
	w = h.serve(h.request("POST", "/settings/users/4/enable", "admin", "", false))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("enable: %d", w.Code)
	}
	w = h.get("/settings/audit", "admin")
	for _, action := range []string{"user.disabled", "user.enabled", "User disabled", "User enabled"} {
		if !strings.Contains(w.Body.String(), action) {
			t.Errorf("audit log page lacks %s", action)
		}
	}
	w = h.get("/settings/audit?action=user.enabled", "manager")
	if w.Code != 200 || strings.Contains(w.Body.String(), "<code class=\"muted\">user.disabled</code>") || !strings.Contains(w.Body.String(), "<code class=\"muted\">user.enabled</code>") {
		t.Fatalf("audit filter: %d", w.Code)
	}
	w = h.get("/settings", "manager")
	if w.Header().Get("Location") != "/settings/audit" {
		t.Fatalf("manager settings: %q", w.Header().Get("Location"))
	}
}

func TestLocaleSwitch(t *testing.T) {
	h := newHarness(t)
	w := h.serve(h.request("POST", "/locale", "anon", "locale=ja&return=%2Flogin", false))
	lang := cookieFrom(w, localeCookie)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" || lang == nil || lang.Value != "ja" {
		t.Fatalf("switch: %d %v", w.Code, lang)
	}
	r := httptest.NewRequest("GET", "/login", nil)
	r.Header.Set("Accept-Language", "en")
	r.AddCookie(lang)
	if body := h.serve(r).Body.String(); !strings.Contains(body, "Kizuna にログイン") {
		t.Fatal("the switch does not win over Accept-Language")
	}
	// A signed-in user's choice is stored in their settings, so it follows
	// them to another browser.
	w = h.serve(h.request("POST", "/locale", "agent", "locale=ja&return=https%3A%2F%2Fevil.example", false))
	if w.Header().Get("Location") != "/" {
		t.Fatalf("open redirect via return: %q", w.Header().Get("Location"))
	}
	_, u, _, err := h.accounts.LookupSession(context.Background(), h.creds["agent"].token)
	if err != nil || u.Locale != "ja" {
		t.Fatalf("user's locale not saved: %v %+v", err, u)
	}
	r = httptest.NewRequest("GET", "/customers", nil)
	r.Header.Set("Accept-Language", "en")
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: h.creds["agent"].token})
	if body := h.serve(r).Body.String(); !strings.Contains(body, "顧客一覧") {
		t.Fatal("the user's setting does not win over Accept-Language")
	}
	if w := h.serve(h.request("POST", "/locale", "anon", "locale=fr", false)); w.Code != 400 {
		t.Fatalf("unsupported locale: %d", w.Code)
	}
}

func TestStaticAssets(t *testing.T) {
	h := newHarness(t)
	url := h.srv.assetURL("app.css")
	w := h.get(url, "anon")
	if w.Code != 200 || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("%s: %d %q %q", url, w.Code, w.Header().Get("Cache-Control"), w.Header().Get("Content-Type"))
	}
	if w := h.get("/static/app.css?v=old", "anon"); w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatal("a stale fingerprint must not be cached forever")
	}
	if w := h.get("/static/..%2fserver.go", "anon"); w.Code != 404 {
		t.Fatalf("traversal: %d", w.Code)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	h := newHarness(t)
	h.get("/customers/1", "admin")
	h.get("/api/v1/customers/1", "key:viewer")
	if w := h.get("/healthz", "anon"); w.Code != 200 {
		t.Fatalf("healthz %d", w.Code)
	}
	if w := h.get("/readyz", "anon"); w.Code != 200 || !strings.Contains(w.Body.String(), "ready") {
		t.Fatalf("readyz %d %s", w.Code, w.Body.String())
	}
	h.db.Close()
	if w := h.get("/readyz", "anon"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database closed: %d", w.Code)
	}
	w := h.get("/metrics", "anon")
	body := w.Body.String()
	for _, want := range []string{
		`kizuna_http_requests_total{code="200",method="GET",route="/customers/{id}"} 1`,
		`kizuna_http_requests_total{code="200",method="GET",route="/api/v1/customers/{id}"} 1`,
		`kizuna_http_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestIngestMount(t *testing.T) {
	h := newHarness(t)
	var got string
	cfg := h.config()
	cfg.Ingest = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		w.WriteHeader(http.StatusOK)
	})
	h.srv = New(cfg)
	r := httptest.NewRequest("POST", "/v1/track", strings.NewReader(`{}`))
	if w := h.serve(r); w.Code != 200 || got != "/v1/track" {
		t.Fatalf("ingest mount: %d %q", w.Code, got)
	}
}

// TestSearchAndPaging: the list finds a customer by kanji, kana, email and
// phone digits; the timeline pages with its cursor.
func TestSearchAndPaging(t *testing.T) {
	h := newHarness(t)
	for _, q := range []string{"山田", "ヤマダ", "ハナコ", "hanako@example.jp", "09012345678", "1234-5678"} {
		w := h.get("/api/v1/customers?q="+url.QueryEscape(q), "key:viewer")
		var page customer.Page[customer.Customer]
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Items) != 1 || page.Items[0].ID != h.ids.hanako {
			t.Errorf("search %q: %d %s", q, w.Code, w.Body.String())
		}
	}
	w := h.get("/api/v1/customers?limit=1&sort=name", "viewer")
	var first customer.Page[customer.Customer]
	if err := json.Unmarshal(w.Body.Bytes(), &first); err != nil || len(first.Items) != 1 || first.Next == "" || first.Total != 3 {
		t.Fatalf("first page: %s", w.Body.String())
	}
	w = h.get("/customers?limit=1&sort=name&cursor="+url.QueryEscape(first.Next), "viewer")
	if w.Code != 200 || strings.Contains(w.Body.String(), first.Items[0].DisplayName()) {
		t.Fatalf("second page repeats the first: %d", w.Code)
	}
	seen := map[string]bool{}
	cursor := ""
	for i := 0; i < 10; i++ {
		w := h.get("/api/v1/customers/1/timeline?limit=1&cursor="+url.QueryEscape(cursor), "viewer")
		var page customer.Page[customer.TimelineItem]
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || w.Code != 200 {
			t.Fatalf("timeline: %d %s", w.Code, w.Body.String())
		}
		for _, it := range page.Items {
			key := fmt.Sprint(it.Kind, it.ID)
			if seen[key] {
				t.Fatalf("timeline item %s %d twice", it.Kind, it.ID)
			}
			seen[key] = true
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if len(seen) < 4 { // 3 events (identify, view, order event) and the order
		t.Fatalf("timeline pages held %d items", len(seen))
	}
	if w := h.get("/customers/1?tl=not-a-cursor", "viewer"); w.Code != http.StatusBadRequest {
		t.Fatalf("bad timeline cursor: %d", w.Code)
	}
}
