package mailbox_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/support"
	"github.com/kizuna-oss/kizuna/internal/support/mailbox"
)

// TestMailConversation is the whole loop over real SMTP: the customer
// mails the receiver, an agent replies, the outbox sends the reply to a
// real SMTP server, the customer's answer (In-Reply-To that reply) lands
// in the same ticket; duplicates, spoofed replies, forged subject tags and
// auto-replies do not.
func TestMailConversation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)

		// 1. The customer writes in.
		first := mailText(`"Taro Yamada" <Taro@Example.jp>`, "Order 1234 arrived broken", "c1@example.jp",
			"The mug in order 1234 arrived broken.\n\n-- \nTaro Yamada\n090-0000-0000")
		f.mustSend(t, "taro@example.jp", first)
		ts := f.tickets(t)
		if len(ts) != 1 {
			t.Fatalf("tickets after the first mail: %d, want 1", len(ts))
		}
		tk := ts[0]
		if tk.Channel != "email" || tk.Subject != "Order 1234 arrived broken" || tk.Status != support.StatusNew {
			t.Fatalf("ticket = %+v", tk)
		}
		c, err := f.customers.Get(f.sys, tk.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Email != "taro@example.jp" {
			t.Fatalf("customer email %q, want taro@example.jp (resolved by email identity)", c.Email)
		}
		ms := f.messages(t, tk.ID)
		if len(ms) != 1 || ms[0].EmailMessageID != "c1@example.jp" || ms[0].Body != "The mug in order 1234 arrived broken." ||
			ms[0].AuthorName != "Taro Yamada" {
			t.Fatalf("first message = %+v (signature must be trimmed)", ms)
		}

		// 2. An agent replies; the outbox job sends it over SMTP.
		reply, err := f.desk.Reply(f.agent, tk.ID, support.NewReply{Body: "We are sorry! A new mug is on its way."})
		if err != nil {
			t.Fatal(err)
		}
		f.runOutbox(t)
		got := f.out.Wait(t, 1)
		out := got[0]
		if !slices.Equal(out.To, []string{"taro@example.jp"}) {
			t.Fatalf("reply sent to %v", out.To)
		}
		tagRE := regexp.MustCompile(`^Re: Order 1234 arrived broken \[#` + itoa(tk.ID) + `-[a-z2-7]{10}\]$`)
		if !tagRE.MatchString(out.Subject) {
			t.Fatalf("reply subject %q", out.Subject)
		}
		if out.Header.Get("In-Reply-To") != "<c1@example.jp>" || !strings.Contains(out.Header.Get("References"), "<c1@example.jp>") {
			t.Fatalf("threading headers: In-Reply-To %q References %q", out.Header.Get("In-Reply-To"), out.Header.Get("References"))
		}
		if out.Header.Get("Reply-To") != "<"+supportAddr+">" && out.Header.Get("Reply-To") != supportAddr {
			t.Fatalf("Reply-To %q", out.Header.Get("Reply-To"))
		}
		if !strings.Contains(out.Text, "A new mug is on its way.") {
			t.Fatalf("reply text %q", out.Text)
		}
		outID := strings.Trim(out.Header.Get("Message-Id"), "<>")
		ms = f.messages(t, tk.ID)
		if ms[1].ID != reply.ID || ms[1].EmailMessageID != outID {
			t.Fatalf("the reply's stored Message-ID %q, sent %q", ms[1].EmailMessageID, outID)
		}
		ds, err := f.mb.Deliveries(f.agent, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].Status != mailbox.StatusSent || ds[0].SentAt == nil || ds[0].Attempts != 1 {
			t.Fatalf("deliveries = %+v", ds)
		}
		// Sent replies are not sent again.
		f.runOutbox(t)
		if n := len(f.out.Messages()); n != 1 {
			t.Fatalf("%d mails after a second outbox run, want 1", n)
		}

		// 3. The customer answers the reply (subject changed, no tag: the
		// headers alone must thread it), quoting it below.
		answer := mailText("taro@example.jp", "Thanks", "c2@example.jp",
			"Thank you, I will wait.\n\nOn Mon, 16 Nov 2026 at 10:00, Kizuna Support <support@example.com> wrote:\n> We are sorry! A new mug is on its way.",
			"In-Reply-To: <"+outID+">", "References: <c1@example.jp> <"+outID+">")
		f.mustSend(t, "taro@example.jp", answer)
		if n := len(f.tickets(t)); n != 1 {
			t.Fatalf("tickets after the answer: %d, want 1", n)
		}
		ms = f.messages(t, tk.ID)
		if len(ms) != 3 || ms[2].Body != "Thank you, I will wait." || ms[2].Direction != support.DirectionIn ||
			ms[2].InReplyTo != outID {
			t.Fatalf("answer = %+v", ms[len(ms)-1])
		}

		// 4. The same mail delivered again is one message.
		f.mustSend(t, "taro@example.jp", answer)
		if ms = f.messages(t, tk.ID); len(ms) != 3 {
			t.Fatalf("messages after a duplicate delivery: %d, want 3", len(ms))
		}
		res, err := f.mb.Deliver(f.sys, []byte(answer), mailbox.Envelope{Transport: "test"})
		if err != nil || res.Outcome != mailbox.Duplicate || res.TicketID != tk.ID {
			t.Fatalf("Deliver duplicate = %+v, %v", res, err)
		}

		// 5. A "reply" from another address is a new ticket, with a note;
		// the customer's ticket is untouched.
		spoof := mailText("mallory@evil.example", "Re: Order 1234 arrived broken", "", "Send it to my address instead.",
			"In-Reply-To: <"+outID+">")
		f.mustSend(t, "mallory@evil.example", spoof)
		ts = f.tickets(t)
		if len(ts) != 2 {
			t.Fatalf("tickets after a spoofed reply: %d, want 2", len(ts))
		}
		if ms = f.messages(t, tk.ID); len(ms) != 3 {
			t.Fatalf("the spoofed reply reached the customer's ticket: %d messages", len(ms))
		}
		sm := f.messages(t, ts[0].ID)
		if ts[0].CustomerID == tk.CustomerID || len(sm) != 2 || sm[1].Public ||
			!strings.Contains(sm[1].Body, "not its customer's") {
			t.Fatalf("spoofed reply ticket %+v messages %+v", ts[0], sm)
		}

		// 6. The subject tag threads a mail without headers — with its
		// token; a forged token does not, even from the customer.
		tag := tagRE.FindString(out.Subject)[len("Re: Order 1234 arrived broken "):]
		f.mustSend(t, "taro@example.jp", mailText("taro@example.jp", "One more thing "+tag, "", "Also the lid is missing."))
		if ms = f.messages(t, tk.ID); len(ms) != 4 || ms[3].Body != "Also the lid is missing." {
			t.Fatalf("tagged mail not threaded: %d messages", len(ms))
		}
		forged := "[#" + itoa(tk.ID) + "-aaaaaaaaaa]"
		f.mustSend(t, "taro@example.jp", mailText("taro@example.jp", "Other question "+forged, "", "A forged tag."))
		if ms = f.messages(t, tk.ID); len(ms) != 4 {
			t.Fatalf("a forged tag threaded the mail: %d messages", len(ms))
		}
		if n := len(f.tickets(t)); n != 3 {
			t.Fatalf("tickets after a forged tag: %d, want 3", n)
		}

		// 7. Auto-replies, bounces and loops make nothing.
		f.mustSend(t, "taro@example.jp", mailText("taro@example.jp", "Out of office", "", "I am away.", "Auto-Submitted: auto-replied"))
		f.mustSend(t, "list@example.jp", mailText("news@example.jp", "Newsletter", "", "News.", "Precedence: bulk"))
		f.mustSend(t, "", mailText("MAILER-DAEMON@mx.example.jp", "Undelivered Mail", "", "Bounce."))
		f.mustSend(t, supportAddr, mailText(supportAddr, "Loop", "", "Our own mail came back."))
		if n := len(f.tickets(t)); n != 3 {
			t.Fatalf("tickets after automatic mail: %d, want 3", n)
		}

		// 8. Mail for other addresses is refused at RCPT (no open relay),
		// and an oversized mail at DATA.
		if err := f.send(t, "taro@example.jp", []string{"someone@else.example"}, first); err == nil ||
			!strings.Contains(err.Error(), "550") {
			t.Fatalf("relay attempt: %v, want 550", err)
		}
		big := mailText("taro@example.jp", "Big", "", strings.Repeat("x", 2<<20))
		if err := f.send(t, "taro@example.jp", []string{supportAddr}, big); err == nil {
			t.Fatal("an oversized mail was accepted")
		}
		// A client that announces the size is refused at MAIL FROM.
		sc, err := smtp.Dial(f.smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		if err := sc.Mail("taro@example.jp", &smtp.MailOptions{Size: 2 << 20}); err == nil || !strings.Contains(err.Error(), "552") {
			t.Fatalf("MAIL FROM SIZE=2MiB: %v, want 552", err)
		}
		if n := len(f.tickets(t)); n != 3 {
			t.Fatalf("tickets after refused mail: %d, want 3", n)
		}
	})
}

// TestOutboxRetry: a refused reply stays queued with the error visible,
// is retried with the same Message-ID, and a closed-then-open server gets
// it once.
func TestOutboxRetry(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.mustSend(t, "hanako@example.jp", mailText("hanako@example.jp", "Where is my parcel?", "h1@example.jp", "Order 77."))
		tk := f.tickets(t)[0]
		if _, err := f.desk.Reply(f.agent, tk.ID, support.NewReply{Body: "It ships tomorrow."}); err != nil {
			t.Fatal(err)
		}
		// An internal note is never mailed.
		if _, err := f.desk.Reply(f.agent, tk.ID, support.NewReply{Body: "Checked the warehouse.", Internal: true}); err != nil {
			t.Fatal(err)
		}
		f.out.SetRefuse(true)
		f.runOutbox(t)
		ds, err := f.mb.Deliveries(f.agent, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].Status != mailbox.StatusPending || ds[0].Attempts != 1 || ds[0].LastError == "" ||
			ds[0].NextAttemptAt == nil {
			t.Fatalf("after a refused send: %+v", ds)
		}
		firstID := ds[0].EmailMessageID
		// Not due yet: nothing happens.
		f.out.SetRefuse(false)
		f.runOutbox(t)
		if n := len(f.out.Messages()); n != 0 {
			t.Fatalf("sent before the retry was due: %d", n)
		}
		if _, err := d.Writer().Exec(`UPDATE support_mail_outbox SET next_attempt_at = 0`); err != nil {
			t.Fatal(err)
		}
		f.runOutbox(t)
		got := f.out.Wait(t, 1)
		if id := strings.Trim(got[0].Header.Get("Message-Id"), "<>"); id != firstID {
			t.Fatalf("retry sent Message-ID %q, want the stored %q", id, firstID)
		}
		ds, _ = f.mb.Deliveries(f.agent, tk.ID)
		if ds[0].Status != mailbox.StatusSent || ds[0].Attempts != 2 || ds[0].LastError != "" {
			t.Fatalf("after the retry: %+v", ds)
		}

		// Giving up: a failed reply is marked, noted on the ticket, and
		// can be retried by an agent.
		if _, err := f.desk.Reply(f.agent, tk.ID, support.NewReply{Body: "Update: delayed."}); err != nil {
			t.Fatal(err)
		}
		f.out.SetRefuse(true)
		for range 8 {
			if _, err := d.Writer().Exec(`UPDATE support_mail_outbox SET next_attempt_at = 0 WHERE status = 'pending'`); err != nil {
				t.Fatal(err)
			}
			f.runOutbox(t)
		}
		ds, _ = f.mb.Deliveries(f.agent, tk.ID)
		if len(ds) != 2 || ds[1].Status != mailbox.StatusFailed || ds[1].Attempts != 8 {
			t.Fatalf("after 8 refusals: %+v", ds)
		}
		ms := f.messages(t, tk.ID)
		last := ms[len(ms)-1]
		if last.Public || !strings.Contains(last.Body, "could not be sent") {
			t.Fatalf("no failure note: %+v", last)
		}
		f.out.SetRefuse(false)
		if err := f.mb.Retry(f.agent, ds[1].MessageID); err != nil {
			t.Fatal(err)
		}
		f.runOutbox(t)
		f.out.Wait(t, 2)
		ds, _ = f.mb.Deliveries(f.agent, tk.ID)
		if ds[1].Status != mailbox.StatusSent {
			t.Fatalf("after Retry: %+v", ds[1])
		}
		// A viewer may read deliveries but not retry.
		if err := f.mb.Retry(f.viewer, ds[1].MessageID); err == nil {
			t.Fatal("viewer retried a mail")
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
