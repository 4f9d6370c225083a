package web

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-oss/kizuna/internal/auth"
)

// TestBrowserPortal is the customer's side of the desk in headless
// Chromium against the real server, with sign-in mail through a real SMTP
// server: ask for a link, receive it, open it (a confirmation page: the
// link is used only by the button), sign in, see only her own tickets,
// read the agent's reply, answer it, and sign out — with no console error
// and no CSP violation on any page, and the customer's script-like text
// shown as text.
func TestBrowserPortal(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test")
	}
	smtp := withMail(t)
	h := newHarness(t)
	base := serveLive(t, h)

	b := startBrowser(t, bin, 1024, 800, cspProbe, scriptProbe)
	ctx := b.ctx
	step, text := b.do, b.text
	clean := func(where string) {
		t.Helper()
		b.noCSPViolations(where)
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__kzAlerts`)); err != nil || n != 0 {
			t.Errorf("%s: alert called %d times (%v)", where, n, err)
		}
	}

	step("ask for a link",
		chromedp.Navigate(base+"/portal/login"),
		chromedp.WaitVisible(chromedp.CSS("#portal-email")),
		chromedp.SendKeys(chromedp.CSS("#portal-email"), "hanako@example.jp"),
		chromedp.Submit(chromedp.CSS("form[action='/portal/login']")),
		chromedp.WaitVisible(chromedp.CSS(".portal-sent")),
	)
	clean("link requested")
	h.srv.cfg.Portal.Wait()
	msgs := smtp.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "hanako@example.jp" {
		t.Fatalf("mails: %+v", msgs)
	}
	m := portalLinkRE.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no sign-in link in:\n%s", msgs[0].Text)
	}

	// Opening the link shows a button; nothing is signed in yet.
	step("open the link", chromedp.Navigate(base+"/portal/login/"+m[1]), chromedp.WaitVisible(chromedp.CSS("form[action^='/portal/login/'] button")))
	clean("confirmation")
	step("sign in",
		chromedp.Click(chromedp.CSS("form[action^='/portal/login/'] button")),
		chromedp.WaitVisible(chromedp.CSS("table.portal-tickets")),
	)
	list := text("table.portal-tickets")
	if !strings.Contains(list, "<b>届いた商品が壊れていました</b>") || strings.Contains(list, "reset my password") {
		t.Errorf("her list: %q", list)
	}
	clean("ticket list")

	step("open her ticket",
		chromedp.Click(chromedp.CSS("table.portal-tickets a")),
		chromedp.WaitVisible(chromedp.CSS("ol.portal-thread")),
	)
	thread := text("ol.portal-thread")
	if !strings.Contains(thread, "<script>alert(1)</script>箱が潰れていました。") || !strings.Contains(thread, "交換品を手配します") {
		t.Errorf("thread: %q", thread)
	}
	clean("ticket")

	step("reply",
		chromedp.SendKeys(chromedp.CSS("#reply-body"), "ありがとうございます。土曜日の午前に受け取れます。"),
		chromedp.Submit(chromedp.CSS("#reply-body")),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	)
	if thread := text("ol.portal-thread"); !strings.Contains(thread, "土曜日の午前に受け取れます") {
		t.Errorf("the reply is not in the thread: %q", thread)
	}
	clean("after the reply")
	msgsNow, err := h.srv.cfg.Support.Messages(auth.System(context.Background(), "test"), h.ids.support.ticket)
	if err != nil {
		t.Fatal(err)
	}
	last := msgsNow[len(msgsNow)-1]
	if last.Direction != "in" || !strings.Contains(last.Body, "土曜日の午前") {
		t.Errorf("stored last message: %+v", last)
	}

	step("sign out",
		chromedp.Click(chromedp.CSS("form[action='/portal/logout'] button")),
		chromedp.WaitVisible(chromedp.CSS("#portal-email")),
	)
	// The session is gone: the list asks to sign in again.
	step("list after sign-out", chromedp.Navigate(base+"/portal"), chromedp.WaitVisible(chromedp.CSS("#portal-email")))
	if u, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(u, "/portal/login") {
		t.Errorf("after sign-out /portal went to %q (%v)", u, err)
	}
	clean("signed out")
	b.finish()
}
