package web

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// scriptProbe records any call of alert, confirm or prompt, so a payload
// that got to run is seen even when it does nothing visible.
const scriptProbe = `(function () {
  window.__kzAlerts = 0;
  for (const f of ['alert', 'confirm', 'prompt']) { window[f] = function () { window.__kzAlerts++; }; }
})();`

// TestBrowserTicketsRunNoCustomerScript opens the queue and a ticket
// whose subject, body, note, tags and customer name carry script in
// headless Chromium, uses the no-JavaScript macro insertion, and checks
// that nothing a customer wrote ran: the title is the page's own, no
// alert was called, the console has no error (the payload calls
// console.error) and no CSP violation was reported.
func TestBrowserTicketsRunNoCustomerScript(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test")
	}
	h := newHarness(t)
	id := hostileTicket(t, h)
	base := serveLive(t, h)

	b := startBrowser(t, bin, 1280, 900, cspProbe, scriptProbe)
	ctx := b.ctx
	step, text := b.do, b.text
	nothingRan := func(where string) {
		t.Helper()
		b.noCSPViolations(where)
		alerts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__kzAlerts`))
		if err != nil || alerts != 0 {
			t.Errorf("%s: alert called %d times (%v)", where, alerts, err)
		}
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil || strings.Contains(title, "pwned") || !strings.Contains(title, "Kizuna") {
			t.Errorf("%s: title %q (%v)", where, title, err)
		}
		imgs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('main img, main script, main a[href^="javascript:"]').length`))
		if err != nil || imgs != 0 {
			t.Errorf("%s: %d customer elements made it into the DOM (%v)", where, imgs, err)
		}
	}

	step("login",
		chromedp.Navigate(base+"/tickets"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "agent@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("form.form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("table.tickets")),
	)
	if q := text("table.tickets tbody"); !strings.Contains(q, "<script>console.error('xss')</script>返品") {
		t.Errorf("the queue does not show the hostile subject as text: %q", q)
	}
	nothingRan("queue")

	step("filter complaints",
		chromedp.Click(chromedp.CSS(`input[name="complaint"]`)),
		chromedp.Submit(chromedp.CSS(`form.tickets-filters`)),
		chromedp.WaitVisible(chromedp.CSS(`a.reset`)),
	)
	if q := text("table.tickets tbody"); strings.Contains(q, "返品") || !strings.Contains(q, "届いた商品") {
		t.Errorf("complaint filter: %q", q)
	}
	nothingRan("filtered queue")

	ticketURL := fmt.Sprintf("%s/tickets/%d", base, id)
	step("open the hostile ticket", chromedp.Navigate(ticketURL), chromedp.WaitVisible(chromedp.CSS("ol.conversation")))
	if body := text("ol.conversation"); !strings.Contains(body, "</textarea>") || !strings.Contains(body, "javascript:alert(1)") {
		t.Errorf("conversation does not show the hostile body as text: %q", body)
	}
	if name := text(".customer-panel .customer-name"); !strings.Contains(name, "onerror") {
		t.Errorf("customer name not shown as text: %q", name)
	}
	nothingRan("ticket")

	// Insert the macro without JavaScript: the page comes back with the
	// rendered macro in the reply box, and the box holds only text.
	step("insert macro",
		chromedp.SendKeys(chromedp.CSS("#reply-body"), "</textarea><script>alert(2)</script>"),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="macro"]`)),
		chromedp.WaitVisible(chromedp.CSS("#reply-body")),
	)
	// The click submits the form; wait for the page the server answers.
	var val string
	var err error
	for i := 0; i < 50; i++ {
		val, err = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('#reply-body') || {value: ''}).value`))
		if err == nil && strings.Contains(val, "チケット #") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || !strings.Contains(val, "</textarea><script>alert(2)</script>") || !strings.Contains(val, "チケット #") {
		t.Errorf("reply box after macro insertion: %q (%v)", val, err)
	}
	nothingRan("macro inserted")
	step("send internal note",
		chromedp.Click(chromedp.CSS(`input[name="internal"][value="1"]`)),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="send"]`)),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	)
	notes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('li.msg-note').length`))
	if err != nil || notes != 2 {
		t.Errorf("internal notes after sending: %d (%v)", notes, err)
	}
	nothingRan("after the note")

	if dir := os.Getenv("KIZUNA_SCREENSHOTS"); dir != "" {
		for name, u := range map[string]string{"tickets": base + "/tickets?status=all", "ticket": fmt.Sprintf("%s/tickets/%d", base, h.ids.support.ticket), "ticket-new": base + "/tickets/new"} {
			step("screenshot "+name, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("main")))
			img, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "en-"+name+".png"), img, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	b.finish()
}
