package mailbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/jobs"
	"github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/mail/smtptest"
	"github.com/kizuna-oss/kizuna/internal/support"
	"github.com/kizuna-oss/kizuna/internal/support/mailbox"
)

const supportAddr = "support@example.com"

// fixture is one engine's desk with the mail channel: a receiving SMTP
// server on a free port, and an outgoing SMTP server (smtptest) that
// collects the replies.
type fixture struct {
	d         *db.DB
	desk      *support.Service
	customers *customer.Service
	mb        *mailbox.Mailbox
	smtpAddr  string
	out       *smtptest.Server
	runner    *jobs.Runner
	sys       context.Context
	agent     context.Context
	viewer    context.Context
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	cs := customer.NewService(d)
	desk := support.NewService(d, cs)
	out := smtptest.Start(t)
	sender, err := mail.NewSender(mail.Config{Host: out.Host, Port: out.Port, From: "Kizuna Support <" + supportAddr + ">",
		StartTLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := mailbox.New(d, desk, mailbox.Config{Addresses: []string{"Support <" + supportAddr + ">"}, Sender: sender,
		MaxMessageBytes: 1 << 20, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mb.ServeSMTP(ctx, ln, "kizuna.test") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeSMTP: %v", err)
		}
	})
	sys := auth.System(context.Background(), "test")
	accounts := auth.NewService(d, auth.Options{Hash: auth.TestHashParams})
	u, err := accounts.CreateUser(sys, "agent@example.com", "Agent", "a long enough password", auth.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	agent := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, ID: u.ID, Role: auth.RoleAgent, Label: u.Email})
	v, err := accounts.CreateUser(sys, "viewer@example.com", "Viewer", "a long enough password", auth.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	viewer := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, ID: v.ID, Role: auth.RoleViewer, Label: v.Email})
	runner := jobs.NewRunner(d, nil)
	return &fixture{d: d, desk: desk, customers: cs, mb: mb, smtpAddr: ln.Addr().String(), out: out, runner: runner, sys: sys,
		agent: agent, viewer: viewer}
}

// send delivers raw to the receiver over SMTP, as a mail server would.
func (f *fixture) send(t *testing.T, from string, to []string, raw string) error {
	t.Helper()
	// Plain SMTP on loopback (smtp.SendMail insists on STARTTLS).
	c, err := smtp.Dial(f.smtpAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n"))); err != nil {
		return err
	}
	return c.Quit()
}

func (f *fixture) mustSend(t *testing.T, from, raw string) {
	t.Helper()
	if err := f.send(t, from, []string{supportAddr}, raw); err != nil {
		t.Fatalf("SMTP delivery: %v", err)
	}
}

// runOutbox runs the outbox job as the runner would (lease claimed).
func (f *fixture) runOutbox(t *testing.T) {
	t.Helper()
	// A fresh lease each time: the test does not wait out the period.
	if _, err := f.d.Writer().ExecContext(context.Background(), `DELETE FROM job_leases`); err != nil {
		t.Fatal(err)
	}
	ran, err := f.runner.RunOnce(context.Background(), f.mb.OutboxJob())
	if err != nil || !ran {
		t.Fatalf("outbox job: ran %v, %v", ran, err)
	}
}

func (f *fixture) tickets(t *testing.T) []support.Ticket {
	t.Helper()
	p, err := f.desk.Tickets(f.sys, support.Filter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return p.Items
}

func (f *fixture) messages(t *testing.T, ticketID int64) []support.Message {
	t.Helper()
	ms, err := f.desk.Messages(f.sys, ticketID)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

var msgSeq atomic.Int64

// mailText builds a plain-text mail; extra is more header lines.
func mailText(from, subject, messageID, body string, extra ...string) string {
	if messageID == "" {
		messageID = fmt.Sprintf("m%d@customer.example", msgSeq.Add(1))
	}
	h := "From: " + from + "\nTo: " + supportAddr + "\nSubject: " + subject + "\nMessage-ID: <" + messageID + ">\n" +
		"Date: Mon, 16 Nov 2026 09:00:00 +0900\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n" +
		"Content-Transfer-Encoding: 8bit\n"
	for _, e := range extra {
		h += e + "\n"
	}
	return h + "\n" + body + "\n"
}

func supportReply(body string) support.NewReply { return support.NewReply{Body: body} }
