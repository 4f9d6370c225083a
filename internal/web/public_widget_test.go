package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

func widgetHash(t *testing.T, h *harness, userID string) string {
	t.Helper()
	secret, err := h.srv.cfg.Surveys.WidgetSecret(auth.System(context.Background(), "test"))
	if err != nil {
		t.Fatal(err)
	}
	return feedback.WidgetUserHash(secret, userID)
}

// TestWidgetEndpoints: the JSON endpoints verify the visitor's hash, tie
// the response to the customer, answer cross-origin without credentials,
// and do not ask a customer who has answered again.
func TestWidgetEndpoints(t *testing.T) {
	h := newHarness(t)
	ids := respondentSeed(t, h)
	hash := widgetHash(t, h, "u-1001")
	get := func(q string) *httptest.ResponseRecorder {
		return getPage(h, "/w/"+ids.slug+"?"+q, "Origin", "https://shop.example.jp")
	}
	if w := get("user_id=u-1001&user_hash=" + strings.Repeat("0", 64)); w.Code != http.StatusForbidden {
		t.Fatalf("forged hash: %d %s", w.Code, w.Body.String())
	}
	w := get("user_id=u-1001&user_hash=" + hash + "&lang=ja")
	if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(w.Body.String(), "当店") {
		t.Fatalf("form: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	if n := countResponses(t, h, "1=1"); n != 0 {
		t.Fatalf("the widget's GET created %d responses", n)
	}
	var form widgetForm
	if err := jsonUnmarshal(w.Body.Bytes(), &form); err != nil {
		t.Fatal(err)
	}
	post := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/w/"+ids.slug, strings.NewReader(body))
		r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		r.Header.Set("Origin", "https://shop.example.jp")
		return h.serve(r)
	}
	// Another user id with hanako's hash is refused before anything is stored.
	if w := post(`{"client_key":"` + form.ClientKey + `","user_id":"u-2002","user_hash":"` + hash + `","page":"score","answers":[{"question":"nps","num":9}]}`); w.Code != http.StatusForbidden {
		t.Fatalf("impersonation: %d %s", w.Code, w.Body.String())
	}
	time.Sleep(1100 * time.Millisecond)
	base := `"client_key":"` + form.ClientKey + `","opened":"` + form.Opened + `","user_id":"u-1001","user_hash":"` + hash + `"`
	w = post(`{` + base + `,"page":"score","answers":[{"question":"nps","num":2}]}`)
	var res widgetResult
	if err := jsonUnmarshal(w.Body.Bytes(), &res); err != nil || w.Code != http.StatusOK || res.NextPage != "detail" ||
		!res.Visible["disappointed"] || res.Visible["delighted"] || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("page 1: %d %s", w.Code, w.Body.String())
	}
	w = post(`{` + base + `,"page":"detail","answers":[{"question":"csat","num":2},{"question":"disappointed","text":"サイズが合わない"}]}`)
	if err := jsonUnmarshal(w.Body.Bytes(), &res); err != nil || w.Code != http.StatusOK || !res.Completed || res.ThankYou == "" {
		t.Fatalf("page 2: %d %s", w.Code, w.Body.String())
	}
	if n := countResponses(t, h, "status = 'completed' AND channel = 'widget' AND flags = '' AND customer_id = "+itoa(h.ids.hanako)); n != 1 {
		t.Fatalf("%d completed widget responses of hanako, want 1", n)
	}
	if w := get("user_id=u-1001&user_hash=" + hash); w.Code != http.StatusConflict {
		t.Fatalf("asked again after answering: %d %s", w.Code, w.Body.String())
	}
	// Anonymous visitors get the survey where it allows anonymous answers.
	if w := get(""); w.Code != http.StatusOK {
		t.Fatalf("anonymous: %d %s", w.Code, w.Body.String())
	}
}

// TestBrowserWidget embeds the widget's one <script> tag in a page of
// another origin that sends a strict Content-Security-Policy of its own
// (no inline script or style; Kizuna allowed in script-src and
// connect-src), answers the survey in headless Chromium, and checks the
// response is stored and tied to the customer — with no CSP violation and
// no console error.
func TestBrowserWidget(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test")
	}
	h := newHarness(t)
	ids := respondentSeed(t, h)
	hash := widgetHash(t, h, "u-1001")

	serve := func(handler http.Handler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: handler}
		go hs.Serve(ln)
		t.Cleanup(func() { _ = hs.Close() })
		return "http://" + ln.Addr().String()
	}
	kizuna := serve(h.srv)
	site := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' "+kizuna+"; connect-src 'self' "+kizuna+
			"; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>My account</h1>
<script src="%s/static/widget.js" data-survey="%s" data-user-id="u-1001" data-user-hash="%s" data-locale="ja" async></script>
</body></html>`, kizuna, url.PathEscape(ids.slug), hash)
	}))

	b := startBrowser(t, bin, 390, 844, cspProbe) // a phone
	ctx := b.ctx
	if err := chromedp.Do(ctx, chromedp.Navigate(site+"/account")); err != nil {
		t.Fatal(err)
	}
	const inWidget = `document.querySelector('#kizuna-survey-widget') && document.querySelector('#kizuna-survey-widget').shadowRoot`
	// waitFor polls a JavaScript condition inside the widget.
	waitFor := func(what, cond string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+inWidget+` && (function (root) { return `+cond+`; })(`+inWidget+`))`))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: timed out", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	click := func(what, sel string) {
		t.Helper()
		waitFor(what, `!!root.querySelector('`+sel+`')`)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function (root) { root.querySelector('`+sel+`').click(); return true; })(`+inWidget+`)`)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitFor("the widget shows the NPS question", `root.textContent.indexOf('当店') >= 0`)
	click("score 10", `.kz-q[data-question="nps"] button[value="10"]`)
	time.Sleep(1100 * time.Millisecond) // the survey's MinSeconds
	click("send page 1", `.kz-send`)
	waitFor("page 2 with the promoter's follow-up", `!!root.querySelector('.kz-q[data-question="delighted"]') && !root.querySelector('.kz-q[data-question="disappointed"]')`)
	click("CSAT 4", `.kz-q[data-question="csat"] button[value="4"]`)
	click("send page 2", `.kz-send`)
	waitFor("thanks", `!!root.querySelector('.kz-thanks')`)

	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__kzViolations || []`))
	if err != nil {
		t.Fatal(err)
	}
	if len(violations) > 0 {
		t.Errorf("CSP violations: %s", strings.Join(violations, "; "))
	}
	if n := countResponses(t, h, "status = 'completed' AND channel = 'widget' AND flags = '' AND nps_score = 10 AND csat_score = 4 AND customer_id = "+
		itoa(h.ids.hanako)); n != 1 {
		t.Fatalf("%d completed widget responses of hanako, want 1", n)
	}
	b.finish()
}
