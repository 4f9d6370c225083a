package web

import (
	"context"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/support"
	"github.com/kizuna-oss/kizuna/internal/support/mailbox"
)

// supportSeed are the support desk's rows in the seed: Hanako's complaint
// (ticket), John's question (other), a macro and a category.
type supportSeed struct {
	ticket, other, macro, category int64
	mailed                         int64 // a public reply on ticket whose mail failed
}

// seedSupport opens two tickets through the real service (Hanako's by her
// email, John's by his customer id) and saves a macro.
func seedSupport(ctx context.Context, d *db.DB) (supportSeed, error) {
	var ids supportSeed
	svc := support.NewService(d, customer.NewService(d))
	sys := auth.System(ctx, "test")
	t, err := svc.CreateTicket(sys, support.NewTicket{Subject: "<b>届いた商品が壊れていました</b>", Body: "<script>alert(1)</script>箱が潰れていました。",
		Channel: "email", Requester: support.Requester{Email: "hanako@example.jp"}, Complaint: true})
	if err != nil {
		return ids, err
	}
	o, err := svc.CreateTicket(sys, support.NewTicket{Subject: "How do I reset my password?", Body: "Please help.",
		Channel: "web", CustomerID: 2})
	if err != nil {
		return ids, err
	}
	m, err := svc.CreateMacro(sys, support.MacroInput{Name: "お詫び", Body: "{{customer.name}} 様\nチケット #{{ticket.id}} の件、大変申し訳ございません。"})
	if err != nil {
		return ids, err
	}
	cs, err := svc.Categories(sys)
	if err != nil {
		return ids, err
	}
	// A reply the outbox gave up on: what the ticket page offers to retry.
	r, err := svc.Reply(sys, t.ID, support.NewReply{Body: "お待たせしました。交換品を手配します。"})
	if err != nil {
		return ids, err
	}
	err = d.WriteTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO support_mail_outbox (message_id, to_addr, email_message_id, status, attempts,
			next_attempt_at, last_error, created_at) VALUES ($1, 'hanako@example.jp', '<seed@kizuna.test>', 'failed', 8, 0, '550 mailbox unavailable', 0)`, r.ID)
		return err
	})
	if err != nil {
		return ids, err
	}
	return supportSeed{ticket: t.ID, other: o.ID, macro: m.ID, category: cs[0].ID, mailed: r.ID}, nil
}

// testMailbox is the desk's mail channel as the harness serves it (no
// transport: the ticket page only reads deliveries and retries them).
func testMailbox(d *db.DB, desk *support.Service) *mailbox.Mailbox {
	mb, err := mailbox.New(d, desk, mailbox.Config{Addresses: []string{"support@example.test"}})
	if err != nil {
		panic(err)
	}
	return mb
}
