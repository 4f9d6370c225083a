package support

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/mail/smtptest"
)

func newPortal(t *testing.T, e *env) (*Portal, *smtptest.Server) {
	t.Helper()
	srv := smtptest.Start(t)
	sender, err := mail.NewSender(mail.Config{Host: srv.Host, Port: srv.Port, From: "Support <support@example.com>", StartTLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	return NewPortal(e.svc, PortalOptions{BaseURL: "https://cx.example.com/", Mailer: sender}), srv
}

var linkRE = regexp.MustCompile(`https://cx\.example\.com/portal/login/([A-Za-z0-9_-]{43})`)

func linkToken(t *testing.T, m smtptest.Message) string {
	t.Helper()
	got := linkRE.FindStringSubmatch(m.Text)
	if got == nil {
		t.Fatalf("no sign-in link in mail:\n%s", m.Text)
	}
	return got[1]
}

func TestPortalMagicLink(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		p, smtp := newPortal(t, e)
		ctx := context.Background()
		e.open("hanako@example.jp", "壊れていました")

		// An unknown address gets the same answer and no mail.
		if err := p.RequestLink(ctx, "nobody@example.jp", "192.0.2.9", "ja"); err != nil {
			t.Fatalf("unknown email: %v", err)
		}
		if err := p.RequestLink(ctx, " Hanako@Example.jp ", "192.0.2.9", "ja"); err != nil {
			t.Fatalf("known email: %v", err)
		}
		p.Wait()
		msgs := smtp.Messages()
		if len(msgs) != 1 || msgs[0].To[0] != "hanako@example.jp" {
			t.Fatalf("mails: %+v", msgs)
		}
		if !strings.Contains(msgs[0].Subject, "ログイン") || !strings.Contains(msgs[0].Text, "15 分") {
			t.Errorf("mail not in Japanese: %q\n%s", msgs[0].Subject, msgs[0].Text)
		}
		token := linkToken(t, msgs[0])

		// Stored hashed only.
		var n int
		if err := e.d.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM support_portal_links WHERE token_hash = $1`, token).Scan(&n); err != nil || n != 0 {
			t.Fatalf("token stored in clear (%d, %v)", n, err)
		}
		if err := p.CheckLink(ctx, token); err != nil {
			t.Fatalf("check: %v", err)
		}
		sessTok, sess, err := p.Redeem(ctx, token, "192.0.2.9", "test")
		if err != nil {
			t.Fatalf("redeem: %v", err)
		}
		// Exactly once.
		if _, _, err := p.Redeem(ctx, token, "192.0.2.9", "test"); code(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("second redeem: %v", err)
		}
		if err := p.CheckLink(ctx, token); code(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("check after use: %v", err)
		}
		if err := e.d.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM support_portal_sessions WHERE id_hash = $1`, sessTok).Scan(&n); err != nil || n != 0 {
			t.Fatalf("session token stored in clear")
		}
		got, err := p.LookupSession(ctx, sessTok)
		if err != nil || got.CustomerID != sess.CustomerID || got.CSRFToken == "" {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		// The session's customer sees their ticket through the principal.
		cctx := auth.Customer(ctx, got.CustomerID, "192.0.2.9")
		page, err := e.svc.MyTickets(cctx, 10, "")
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("my tickets: %+v %v", page, err)
		}
		if err := p.Logout(ctx, sessTok); err != nil {
			t.Fatal(err)
		}
		if _, err := p.LookupSession(ctx, sessTok); code(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("after logout: %v", err)
		}

		// A link expires after 15 minutes.
		if err := p.RequestLink(ctx, "hanako@example.jp", "192.0.2.9", "en"); err != nil {
			t.Fatal(err)
		}
		p.Wait()
		late := linkToken(t, smtp.Wait(t, 2)[1])
		e.clk.Set(e.clk.Now().Add(15*time.Minute + time.Second))
		if _, _, err := p.Redeem(ctx, late, "192.0.2.9", "test"); code(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("expired link redeemed: %v", err)
		}
		if _, _, err := p.Redeem(ctx, "not-a-token", "", ""); code(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("garbage: %v", err)
		}
	})
}

func TestPortalSessionExpires(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		p, smtp := newPortal(t, e)
		ctx := context.Background()
		e.open("john@example.co.uk", "Password")
		if err := p.RequestLink(ctx, "john@example.co.uk", "192.0.2.1", "en"); err != nil {
			t.Fatal(err)
		}
		tok, _, err := p.Redeem(ctx, linkToken(t, smtp.Wait(t, 1)[0]), "", "")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Set(e.clk.Now().Add(23 * time.Hour))
		if _, err := p.LookupSession(ctx, tok); err != nil {
			t.Fatalf("within idle time: %v", err)
		}
		e.clk.Set(e.clk.Now().Add(24*time.Hour + time.Second))
		if _, err := p.LookupSession(ctx, tok); code(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("idle session still valid: %v", err)
		}
		if err := p.Prune(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPortalRateLimitsAlikeForKnownAndUnknown(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		p, _ := newPortal(t, e)
		ctx := context.Background()
		e.open("hanako@example.jp", "x")
		for _, email := range []string{"hanako@example.jp", "nobody@example.jp"} {
			for i := 0; i < 5; i++ {
				if err := p.RequestLink(ctx, email, "192.0.2.50", "en"); err != nil {
					t.Fatalf("%s #%d: %v", email, i, err)
				}
			}
			if err := p.RequestLink(ctx, email, "192.0.2.50", "en"); code(err) != kizuna.ETOOMANY {
				t.Fatalf("%s: 6th request: %v", email, err)
			}
		}
		// Per IP: 20 in the window, whatever the addresses.
		for i := 0; i < 10; i++ {
			if err := p.RequestLink(ctx, "other"+itoa(int64(i))+"@example.jp", "192.0.2.50", "en"); err != nil && i < 10 {
				t.Fatalf("#%d: %v", i, err)
			}
		}
		if err := p.RequestLink(ctx, "fresh@example.jp", "192.0.2.50", "en"); code(err) != kizuna.ETOOMANY {
			t.Fatalf("21st from one IP: %v", err)
		}
		// The window passes.
		e.clk.Set(e.clk.Now().Add(time.Hour + time.Minute))
		if err := p.RequestLink(ctx, "hanako@example.jp", "192.0.2.50", "en"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		p.Wait()
	})
}

// TestPortalOwnTicketsOnly: a customer reaches only their own tickets,
// their public messages and public attachments, by every method.
func TestPortalOwnTicketsOnly(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		png := []byte("\x89PNG\r\n\x1a\nfake")
		a := e.open("a@example.jp", "A's ticket", func(nt *NewTicket) {
			nt.Attachments = []NewAttachment{{Filename: "a.png", ContentType: "image/png", Data: png}}
		})
		b := e.open("b@example.jp", "B's ticket")
		if _, err := e.svc.Reply(e.agent(), a.ID, NewReply{Body: "internal only", Internal: true,
			Attachments: []NewAttachment{{Filename: "note.txt", ContentType: "text/plain", Data: []byte("secret")}}}); err != nil {
			t.Fatal(err)
		}
		ams, err := e.svc.Messages(e.agent(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var pub, note int64
		for _, m := range ams {
			for _, at := range m.Attachments {
				if m.Public {
					pub = at.ID
				} else {
					note = at.ID
				}
			}
		}
		if pub == 0 || note == 0 {
			t.Fatalf("attachments: %+v", ams)
		}
		ctxA := auth.Customer(context.Background(), a.CustomerID, "")
		ctxB := auth.Customer(context.Background(), b.CustomerID, "")

		if _, ms, err := e.svc.MyTicket(ctxA, a.ID); err != nil || len(ms) != 1 {
			t.Fatalf("own ticket: %d messages, %v", len(ms), err)
		}
		if got, err := e.svc.MyAttachment(ctxA, a.ID, pub); err != nil || string(got.Data) != string(png) {
			t.Fatalf("own attachment: %v", err)
		}
		if _, err := e.svc.MyAttachment(ctxA, a.ID, note); code(err) != kizuna.ENOTFOUND {
			t.Fatalf("internal note's file: %v", err)
		}
		if _, err := e.svc.MyReply(ctxA, a.ID, NewCustomerMessage{Body: "thanks"}); err != nil {
			t.Fatalf("own reply: %v", err)
		}
		// B, by every method, sees nothing of A's.
		if _, _, err := e.svc.MyTicket(ctxB, a.ID); code(err) != kizuna.ENOTFOUND {
			t.Fatalf("B reads A's ticket: %v", err)
		}
		if _, err := e.svc.MyAttachment(ctxB, a.ID, pub); code(err) != kizuna.ENOTFOUND {
			t.Fatalf("B reads A's file: %v", err)
		}
		if _, err := e.svc.MyAttachment(ctxB, b.ID, pub); code(err) != kizuna.ENOTFOUND {
			t.Fatalf("B reads A's file through B's ticket: %v", err)
		}
		if _, err := e.svc.MyReply(ctxB, a.ID, NewCustomerMessage{Body: "hijack"}); code(err) != kizuna.ENOTFOUND {
			t.Fatalf("B writes on A's ticket: %v", err)
		}
		page, err := e.svc.MyTickets(ctxB, 50, "")
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != b.ID {
			t.Fatalf("B's list: %+v %v", page, err)
		}
		// A customer principal is no staff member.
		if _, err := e.svc.Ticket(ctxB, a.ID); code(err) != kizuna.EFORBIDDEN {
			t.Fatalf("staff read as customer: %v", err)
		}
		if _, err := e.svc.Attachment(ctxB, pub); code(err) != kizuna.EFORBIDDEN {
			t.Fatalf("staff attachment read as customer: %v", err)
		}
		// And staff are no customer.
		if _, err := e.svc.MyReply(e.agent(), a.ID, NewCustomerMessage{Body: "x"}); code(err) != kizuna.EFORBIDDEN {
			t.Fatalf("agent as customer: %v", err)
		}
	})
}

func TestContactFormOpensAWebTicket(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		p, smtp := newPortal(t, e)
		ctx := context.Background()
		cats, err := p.Categories(ctx)
		if err != nil || len(cats) == 0 {
			t.Fatalf("categories: %v", err)
		}
		tk, err := p.SubmitContact(ctx, ContactForm{Name: "新規 太郎", Email: "new@example.jp", CategoryID: cats[0].ID,
			Subject: "返品したい\r\nBcc: x@evil", Body: "サイズが合いません", Locale: "ja"}, "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		if tk.Channel != "web" || tk.Category != cats[0].Slug {
			t.Fatalf("ticket %+v", tk)
		}
		m := smtp.Wait(t, 1)[0]
		if m.To[0] != "new@example.jp" || !strings.Contains(m.Subject, "#"+itoa(tk.ID)) ||
			strings.Contains(m.Subject, "\n") || !strings.Contains(m.Text, "https://cx.example.com/portal/login") {
			t.Fatalf("confirmation: %q\n%s", m.Subject, m.Text)
		}
		if _, err := p.SubmitContact(ctx, ContactForm{Email: "not an address", Subject: "s", Body: "b"}, "192.0.2.7"); kizuna.ErrorField(err) != "email" {
			t.Fatalf("bad email: %v", err)
		}
		if _, err := p.SubmitContact(ctx, ContactForm{Email: "x@example.jp", Subject: "", Body: "b"}, "192.0.2.7"); kizuna.ErrorField(err) != "subject" {
			t.Fatalf("no subject: %v", err)
		}
		for i := 1; i < 5; i++ {
			if _, err := p.SubmitContact(ctx, ContactForm{Email: "new@example.jp", Subject: "again", Body: "b"}, "192.0.2.8"); err != nil {
				t.Fatalf("#%d: %v", i, err)
			}
		}
		if _, err := p.SubmitContact(ctx, ContactForm{Email: "new@example.jp", Subject: "again", Body: "b"}, "192.0.2.8"); code(err) != kizuna.ETOOMANY {
			t.Fatalf("6th from one email: %v", err)
		}
		p.Wait()
	})
}
