package mailbox_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/jobs"
	"github.com/kizuna-oss/kizuna/internal/support/mailbox"
)

// startIMAP runs an in-memory IMAP server (go-imap v2) on a free port
// with user support / secret and an INBOX.
func startIMAP(t *testing.T) string {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("support", "secret")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// imapClient logs in as a mail client would (to append and inspect).
func imapClient(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Login("support", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func appendMail(t *testing.T, c *imapclient.Client, raw string) {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func unseen(t *testing.T, c *imapclient.Client) int {
	t.Helper()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	d, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return len(d.AllUIDs())
}

// TestIMAPPolling fetches a real IMAP mailbox: unseen mail becomes
// tickets and is marked \Seen after commit, an auto-reply is marked but
// makes nothing, a re-delivered (unmarked) mail is not stored twice, and
// two nodes do not poll at once.
func TestIMAPPolling(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		addr := startIMAP(t)
		c := imapClient(t, addr)
		appendMail(t, c, mailText("jiro@example.jp", "Invoice question", "i1@example.jp", "Can I get an invoice?"))
		appendMail(t, c, mailText("jiro@example.jp", "Automatic reply", "", "Away.", "X-Autoreply: yes"))
		cfg := mailbox.IMAPConfig{URL: "imap+insecure://" + addr, Username: "support", Password: "secret"}

		job, err := f.mb.IMAPJob(cfg)
		if err != nil {
			t.Fatal(err)
		}
		other := jobs.NewRunner(d, nil)
		ran, err := f.runner.RunOnce(context.Background(), job)
		if err != nil || !ran {
			t.Fatalf("IMAP job: ran %v, %v", ran, err)
		}
		if ran, err := other.RunOnce(context.Background(), job); ran || err != nil {
			t.Fatalf("a second node polled while the lease was held: ran %v, %v", ran, err)
		}
		ts := f.tickets(t)
		if len(ts) != 1 || ts[0].Subject != "Invoice question" || ts[0].Channel != "email" {
			t.Fatalf("tickets = %+v", ts)
		}
		if n := unseen(t, c); n != 0 {
			t.Fatalf("%d mails left unseen after a poll", n)
		}

		// The mailbox is changed by someone (marked unread again): the
		// next poll finds the same Message-ID and stores nothing new.
		if err := c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		n, err := f.mb.PollIMAP(f.sys, cfg)
		if err != nil || n != 1 {
			t.Fatalf("re-poll marked %d, %v", n, err)
		}
		if ms := f.messages(t, ts[0].ID); len(ms) != 1 {
			t.Fatalf("a re-delivered mail was stored again: %d messages", len(ms))
		}

		// A reply that arrives through IMAP threads like one over SMTP.
		if _, err := f.desk.Reply(f.agent, ts[0].ID, supportReply("Here it is.")); err != nil {
			t.Fatal(err)
		}
		f.runOutbox(t)
		out := f.out.Wait(t, 1)[0]
		appendMail(t, c, mailText("jiro@example.jp", out.Subject, "", "Got it, thanks.",
			"In-Reply-To: "+out.Header.Get("Message-Id")))
		if n, err := f.mb.PollIMAP(f.sys, cfg); err != nil || n != 1 {
			t.Fatalf("poll marked %d, %v", n, err)
		}
		if ms := f.messages(t, ts[0].ID); len(ms) != 3 || ms[2].Body != "Got it, thanks." {
			t.Fatalf("IMAP reply not threaded: %+v", ms)
		}

		// A wrong password is an error the job reports, not a crash.
		bad := cfg
		bad.Password = "wrong"
		if _, err := f.mb.PollIMAP(f.sys, bad); err == nil {
			t.Fatal("a wrong IMAP password succeeded")
		}
	})
}
