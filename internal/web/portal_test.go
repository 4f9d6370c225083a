package web

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/mail/smtptest"
)

// withMail makes the harnesses built in this test mail through a real
// SMTP server.
func withMail(t *testing.T) *smtptest.Server {
	t.Helper()
	srv := smtptest.Start(t)
	sender, err := mail.NewSender(mail.Config{Host: srv.Host, Port: srv.Port, From: "Support <support@example.com>", StartTLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	portalMailer = sender
	t.Cleanup(func() { portalMailer = nil })
	return srv
}

// portalCall is a request with a portal cookie (token may be "").
func portalCall(method, target, token, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		r.AddCookie(&http.Cookie{Name: portalCookie, Value: token})
	}
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: anonCSRF})
	return r
}

func cookieOf(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn redeems a fresh link for customer cid and returns the session
// cookie's value and the portal CSRF token.
func signIn(t *testing.T, h *harness, cid int64) (string, string) {
	t.Helper()
	w := h.serve(portalCall("POST", "/portal/login/"+h.portalLink(t, cid), "", "csrf_token="+anonCSRF))
	c := cookieOf(w, portalCookie)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/portal" || c == nil {
		t.Fatalf("sign-in: %d %q %v", w.Code, w.Header().Get("Location"), c)
	}
	page := h.serve(portalCall("GET", "/portal", c.Value, ""))
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindAllStringSubmatch(page.Body.String(), -1)
	for _, x := range m {
		if x[1] != anonCSRF {
			return c.Value, x[1]
		}
	}
	t.Fatalf("no portal CSRF token on /portal:\n%s", page.Body.String())
	return "", ""
}

// TestPortalCustomerNeverReadsAnotherCustomersTicket enumerates every
// route that touches tickets with John signed in to the portal and asks
// for Hanako's ticket, message files and conversation.
func TestPortalCustomerNeverReadsAnotherCustomersTicket(t *testing.T) {
	h := newHarness(t)
	hanakoTicket, johnTicket, att := h.ids.support.ticket, h.ids.support.other, thePortalSeed.attachment
	john, johnCSRF := signIn(t, h, h.ids.john)
	hanako, hanakoCSRF := thePortalSeed.token, thePortalSeed.csrf

	// The owner reads her ticket, escaped, and her file as a download.
	w := h.serve(portalCall("GET", fmt.Sprintf("/portal/tickets/%d", hanakoTicket), hanako, ""))
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, "&lt;b&gt;届いた商品が壊れていました&lt;/b&gt;") ||
		strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("owner's page (%d) not as expected:\n%s", w.Code, body)
	}
	w = h.serve(portalCall("GET", fmt.Sprintf("/portal/tickets/%d/attachments/%d", hanakoTicket, att), hanako, ""))
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment") ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(w.Body.String(), "seed") {
		t.Fatalf("owner's download: %d %v", w.Code, w.Header())
	}

	// John, through every portal route, gets 404 — as for a missing id.
	for _, c := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/portal/tickets/%d", hanakoTicket), ""},
		{"POST", fmt.Sprintf("/portal/tickets/%d", hanakoTicket), "body=hijack&csrf_token=" + url.QueryEscape(johnCSRF)},
		{"GET", fmt.Sprintf("/portal/tickets/%d/attachments/%d", hanakoTicket, att), ""},
		{"GET", fmt.Sprintf("/portal/tickets/%d/attachments/%d", johnTicket, att), ""},
		{"GET", "/portal/tickets/999999", ""},
	} {
		w := h.serve(portalCall(c.method, c.path, john, c.body))
		if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "届いた商品") {
			t.Errorf("John %s %s: %d\n%s", c.method, c.path, w.Code, w.Body.String())
		}
	}
	w = h.serve(portalCall("GET", "/portal", john, ""))
	if w.Code != 200 || strings.Contains(w.Body.String(), "届いた商品") || !strings.Contains(w.Body.String(), "How do I reset my password?") {
		t.Errorf("John's list:\n%s", w.Body.String())
	}

	// Every staff route (HTML and API, the ticket list and search
	// included) refuses a portal session.
	for _, rt := range h.srv.routes {
		if rt.Access != page && rt.Access != api {
			continue
		}
		// Authentication comes before any handler: ids and bodies need
		// only be plausible.
		path := strings.NewReplacer("{id}", fmt.Sprint(hanakoTicket), "{$}", "", "{locale}", "ja").Replace(rt.Pattern)
		path = regexp.MustCompile(`\{[a-z]+\}`).ReplaceAllString(path, "1")
		body := "csrf_token=" + url.QueryEscape(johnCSRF)
		if rt.Access == api && rt.Method != "GET" {
			body = "{}"
		}
		if rt.Method == "GET" {
			body = ""
		}
		r := portalCall(rt.Method, path, john, body)
		if rt.Access == api {
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(csrfHeader, johnCSRF)
		}
		if path == "/api/v1/tickets" && rt.Method == "GET" {
			r.URL.RawQuery = "q=" + url.QueryEscape("壊れて")
		}
		w := h.serve(r)
		wantLogin := rt.Access == page && w.Code == http.StatusSeeOther && strings.HasPrefix(w.Header().Get("Location"), "/login")
		if !(rt.Access == api && w.Code == http.StatusUnauthorized) && !wantLogin {
			t.Errorf("%s %s with a portal session: %d %q", rt.Method, rt.Pattern, w.Code, w.Header().Get("Location"))
		}
	}

	// CSRF: no token, the anonymous token, or the other customer's token.
	for _, tok := range []string{"", anonCSRF, johnCSRF, h.creds["agent"].csrf} {
		w := h.serve(portalCall("POST", fmt.Sprintf("/portal/tickets/%d", hanakoTicket), hanako, "body=x&csrf_token="+url.QueryEscape(tok)))
		if w.Code != http.StatusForbidden {
			t.Errorf("reply with CSRF %q: %d", tok, w.Code)
		}
	}
	w = h.serve(portalCall("POST", fmt.Sprintf("/portal/tickets/%d", hanakoTicket), hanako,
		"body="+url.QueryEscape("<img src=x onerror=alert(2)>")+"&csrf_token="+url.QueryEscape(hanakoCSRF)))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("reply: %d %s", w.Code, w.Body.String())
	}
	w = h.serve(portalCall("GET", fmt.Sprintf("/portal/tickets/%d", hanakoTicket), hanako, ""))
	if strings.Contains(w.Body.String(), "<img src=x") || !strings.Contains(w.Body.String(), "&lt;img src=x onerror=alert(2)&gt;") {
		t.Errorf("hostile reply not escaped")
	}

	// A staff session is no portal session.
	r := portalCall("GET", "/portal", "", "")
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: h.creds["admin"].token})
	if w := h.serve(r); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/portal/login" {
		t.Errorf("staff cookie on /portal: %d %q", w.Code, w.Header().Get("Location"))
	}
	// Logout kills the session.
	w = h.serve(portalCall("POST", "/portal/logout", john, "csrf_token="+url.QueryEscape(johnCSRF)))
	if w.Code != http.StatusSeeOther || cookieOf(w, portalCookie) == nil || cookieOf(w, portalCookie).MaxAge >= 0 {
		t.Fatalf("logout: %d", w.Code)
	}
	if w := h.serve(portalCall("GET", "/portal", john, "")); w.Code != http.StatusSeeOther {
		t.Errorf("session alive after logout: %d", w.Code)
	}
}

var portalLinkRE = regexp.MustCompile(`/portal/login/([A-Za-z0-9_-]{43})`)

func TestPortalMagicLinkSignIn(t *testing.T) {
	smtp := withMail(t)
	h := newHarness(t)
	post := func(email string) *httptest.ResponseRecorder {
		return h.serve(portalCall("POST", "/portal/login", "", "email="+url.QueryEscape(email)+"&csrf_token="+anonCSRF))
	}
	known, unknown := post("hanako@example.jp"), post("nobody@example.jp")
	if known.Code != 200 || unknown.Code != 200 || known.Body.String() != strings.ReplaceAll(unknown.Body.String(), "nobody@", "hanako@") {
		t.Fatalf("answers differ: %d / %d", known.Code, unknown.Code)
	}
	h.srv.cfg.Portal.Wait()
	msgs := smtp.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "hanako@example.jp" {
		t.Fatalf("mails: %d", len(msgs))
	}
	m := portalLinkRE.FindStringSubmatch(msgs[0].Text)
	if m == nil || !strings.Contains(msgs[0].Text, testBaseURL+"/portal/login/") {
		t.Fatalf("no link in:\n%s", msgs[0].Text)
	}
	// A GET (a mail scanner) does not use the link.
	for range 2 {
		if w := h.serve(portalCall("GET", "/portal/login/"+m[1], "", "")); w.Code != 200 || !strings.Contains(w.Body.String(), `action="/portal/login/`+m[1]) {
			t.Fatalf("confirm page: %d", w.Code)
		}
	}
	r := portalCall("POST", "/portal/login/"+m[1], "", "csrf_token="+anonCSRF)
	r.Header.Set("X-Forwarded-Proto", "https")
	r.AddCookie(&http.Cookie{Name: "__Host-" + csrfCookie, Value: anonCSRF})
	w := h.serve(r)
	c := cookieOf(w, "__Host-"+portalCookie)
	if w.Code != http.StatusSeeOther || c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("redeem: %d %+v", w.Code, c)
	}
	if w := h.serve(portalCall("POST", "/portal/login/"+m[1], "", "csrf_token="+anonCSRF)); w.Code != http.StatusGone {
		t.Fatalf("second use: %d", w.Code)
	}
	// Without the form's CSRF token the link is not even tried.
	if w := h.serve(portalCall("POST", "/portal/login/"+h.portalLink(t, h.ids.john), "", "")); w.Code != http.StatusForbidden {
		t.Fatalf("redeem without CSRF: %d", w.Code)
	}
}

func TestContactFormSuggestsThenSubmits(t *testing.T) {
	smtp := withMail(t)
	h := newHarness(t)
	form := url.Values{"name": {"新規 太郎"}, "email": {"new@example.jp"}, "subject": {"返品したい <script>alert(3)</script>"},
		"body": {"サイズが合わないので返品・交換の方法を教えてください"}, "step": {"check"}, "csrf_token": {anonCSRF}}
	r := portalCall("POST", "/contact", "", form.Encode())
	r.Header.Set("Accept-Language", "ja")
	w := h.serve(r)
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, "/help/articles/returns-and-exchanges") || strings.Contains(body, "<script>alert(3)") {
		t.Fatalf("check step: %d\n%s", w.Code, body)
	}
	help := cookieOf(w, helpSessionCookie)
	if help == nil {
		t.Fatal("no help-center session")
	}
	events := func(kind string) int {
		var n int
		if err := h.db.Reader().QueryRow(`SELECT COUNT(*) FROM kb_events WHERE kind = $1`, kind).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if events("suggested") != 1 || events("submitted") != 0 {
		t.Fatalf("events after check: %d suggested, %d submitted", events("suggested"), events("submitted"))
	}

	// Submit anyway, with a file, from the same browser.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	form.Set("step", "submit")
	for k, v := range form {
		_ = mw.WriteField(k, v[0])
	}
	fw, _ := mw.CreatePart(map[string][]string{"Content-Disposition": {`form-data; name="attachment"; filename="receipt.pdf"`},
		"Content-Type": {"application/pdf"}})
	_, _ = fw.Write([]byte("%PDF-1.4 receipt"))
	mw.Close()
	r = httptest.NewRequest("POST", "/contact", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: anonCSRF})
	r.AddCookie(help)
	w = h.serve(r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "#") {
		t.Fatalf("submit: %d\n%s", w.Code, w.Body.String())
	}
	if events("submitted") != 1 {
		t.Fatalf("submitted events: %d", events("submitted"))
	}
	var id int64
	var channel string
	var files int
	if err := h.db.Reader().QueryRow(`SELECT t.id, t.channel, (SELECT COUNT(*) FROM support_attachments a WHERE a.ticket_id = t.id)
		FROM support_tickets t ORDER BY t.id DESC LIMIT 1`).Scan(&id, &channel, &files); err != nil {
		t.Fatal(err)
	}
	if channel != "web" || files != 1 || !strings.Contains(w.Body.String(), fmt.Sprintf("#%d", id)) {
		t.Fatalf("ticket %d channel %q files %d", id, channel, files)
	}
	mails := smtp.Wait(t, 1)
	if mails[0].To[0] != "new@example.jp" || !strings.Contains(mails[0].Subject, fmt.Sprintf("#%d", id)) ||
		!strings.Contains(mails[0].Text, testBaseURL+"/portal/login") {
		t.Fatalf("confirmation: %q\n%s", mails[0].Subject, mails[0].Text)
	}

	// A bot filling the honeypot is thanked and dropped.
	form.Set("website", "http://spam.example")
	if w := h.serve(portalCall("POST", "/contact", "", form.Encode())); w.Code != 200 {
		t.Fatalf("honeypot: %d", w.Code)
	}
	var n int
	_ = h.db.Reader().QueryRow(`SELECT COUNT(*) FROM support_tickets WHERE id > $1`, id).Scan(&n)
	if n != 0 {
		t.Fatalf("honeypot created %d tickets", n)
	}
	// The form page lists the purchase-cycle categories.
	if w := h.serve(portalCall("GET", "/contact", "", "")); w.Code != 200 || !strings.Contains(w.Body.String(), `name="category_id"`) {
		t.Fatalf("contact form: %d", w.Code)
	}
}
