package web

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds the browser; CI installs Debian's chromium package.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// cspProbe records Content-Security-Policy violations. It is injected
// through the DevTools protocol, which the page's CSP does not govern.
const cspProbe = `document.addEventListener('securitypolicyviolation', function (e) {
  (window.__kzViolations = window.__kzViolations || []).push(e.violatedDirective + ' ' + e.blockedURI);
});`

// TestBrowserLoginAndCustomer360 drives headless Chromium against the real
// server on a random port: sign in, open the customer list, search, open a
// customer, and check the 360 page shows the name and the timeline, with
// no console error, no uncaught exception and no CSP violation anywhere.
func TestBrowserLoginAndCustomer360(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test")
	}
	h := newHarness(t)
	base := serveLive(t, h)

	b := startBrowser(t, bin, 1280, 900, cspProbe)
	ctx := b.ctx
	step, text := b.do, b.text
	checkViolations := b.noCSPViolations
	// Sign in from a deep link; the login page sends us back to it.
	step("login",
		chromedp.Navigate(base+"/customers"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "agent@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("form.form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("form.filters")),
	)
	checkViolations("login")

	// The stylesheet applied (a blocked or missing one leaves defaults).
	styled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('.topbar')).display === 'flex'`))
	if err != nil || !styled {
		t.Errorf("the stylesheet did not apply (%v)", err)
	}

	// Search the list by kana and open the customer.
	step("search",
		chromedp.SendKeys(chromedp.CSS("#q"), "ヤマダ"),
		chromedp.Submit(chromedp.CSS("#q")),
		// The result page no longer lists the other customers.
		chromedp.WaitNotPresent(chromedp.CSS(`a[href="/customers/2"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.table")),
	)
	if list := text("table.table tbody"); !strings.Contains(list, "山田 花子") || strings.Contains(list, "Smith") {
		t.Errorf("search result list: %q", list)
	}
	checkViolations("customer list")
	step("open customer",
		chromedp.Click(chromedp.CSS(`table.table tbody a`)),
		chromedp.WaitVisible(chromedp.CSS("h1.customer-name")),
	)
	if name, kana := text("h1.customer-name"), text("p.kana"); strings.TrimSpace(name) != "山田 花子" || !strings.Contains(kana, "ヤマダ ハナコ") {
		t.Errorf("customer name %q, kana %q", name, kana)
	}
	items, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("ol.timeline li")))
	if err != nil {
		t.Fatal(err)
	}
	if tl := text("ol.timeline"); len(items) < 2 || !strings.Contains(tl, "Product Viewed <Teapot>") || !strings.Contains(tl, "ORD-536365") {
		t.Errorf("timeline (%d items): %q", len(items), tl)
	}
	// An order's lines open without any script (<details>).
	step("order lines",
		chromedp.Click(chromedp.CSS("details.order summary")),
		chromedp.WaitVisible(chromedp.CSS("details.order table")),
	)
	checkViolations("customer 360")
	customerURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}

	// The dashboard with its server-side SVG charts.
	step("dashboard",
		chromedp.Navigate(base+"/?period=7d"),
		chromedp.WaitVisible(chromedp.CSS("svg.kz-chart")),
	)
	if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || !strings.Contains(title, "Kizuna") {
		t.Errorf("dashboard title %q (%v)", title, err)
	}
	checkViolations("dashboard")
	// The language switch (a form button, no script) turns the UI Japanese.
	step("switch to Japanese",
		chromedp.Click(chromedp.CSS(`form.langswitch button[value="ja"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="ja"]`)),
	)
	if h1 := text("main h1"); h1 != "概要" {
		t.Errorf("after switching to Japanese the heading is %q", h1)
	}
	checkViolations("Japanese dashboard")

	// KIZUNA_SCREENSHOTS=dir saves full-page PNGs of the pages in both
	// languages, for people reviewing the UI.
	if dir := os.Getenv("KIZUNA_SCREENSHOTS"); dir != "" {
		// The page is Japanese now: English first, so each switch waits for
		// a page in the other language rather than matching the old one.
		for _, lang := range []string{"en", "ja"} {
			step("language "+lang, chromedp.Navigate(base+"/"), chromedp.Click(chromedp.CSS(`form.langswitch button[value="`+lang+`"]`)),
				chromedp.WaitVisible(chromedp.CSS(`html[lang="`+lang+`"]`)))
			for name, u := range map[string]string{"dashboard": base + "/", "customers": base + "/customers", "customer": customerURL} {
				step("screenshot "+name, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("main")))
				img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, lang+"-"+name+".png"), img, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	b.finish()
}

// browser is a headless Chromium for one test. Every console error,
// exception and security (CSP) message it reports is collected; finish
// turns them into test errors.
type browser struct {
	t         *testing.T
	ctx       context.Context
	stop      context.CancelFunc
	collected chan struct{}
	mu        sync.Mutex
	problems  []string
}

// startBrowser starts Chromium (bin) with the flags this machine's closed
// network needs, a fresh profile and the given window size, and installs
// probes (scripts run before every page's own).
func startBrowser(t *testing.T, bin string, width, height int, probes ...string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	ctx, stop := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(stop)
	b := &browser{t: t, ctx: ctx, stop: stop, collected: make(chan struct{})}

	messages := chromedp.Console(ctx)
	go func() {
		defer close(b.collected)
		for m, err := range messages {
			if err != nil {
				return
			}
			// Errors, uncaught exceptions, and whatever the security
			// subsystem says (that is where CSP refusals are reported).
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Source == "security" {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("console %s (%s): %s %s", m.Type, m.Source, m.Text, m.URL))
				b.mu.Unlock()
			}
		}
	}()
	for _, src := range probes {
		if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
			t.Fatalf("starting chromium: %v", err)
		}
	}
	return b
}

// serveLive serves h's server on a free local port for the browser and
// returns its base URL; the server stops with the test.
func serveLive(t *testing.T, h *harness) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := h.srv.HTTPServer(ln.Addr().String())
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

// do runs actions in the browser; a failure ends the test, naming what.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// text is the text of the first element matching the CSS selector sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// noCSPViolations fails the test if cspProbe recorded a violation on the
// page (where names it).
func (b *browser) noCSPViolations(where string) {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`window.__kzViolations || []`))
	if err != nil {
		b.t.Fatalf("reading CSP violations: %v", err)
	}
	if len(v) > 0 {
		b.t.Errorf("%s: CSP violations: %s", where, strings.Join(v, "; "))
	}
}

// finish gives late console messages a moment, stops the browser, and
// reports every problem it collected.
func (b *browser) finish() {
	b.t.Helper()
	time.Sleep(200 * time.Millisecond)
	b.stop()
	<-b.collected
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser reported: %s", p)
	}
}
