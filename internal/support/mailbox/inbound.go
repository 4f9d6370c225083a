package mailbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// Envelope is what the transport knows beyond the message: the SMTP
// envelope sender (MAIL FROM; "" for a bounce), and which transport.
type Envelope struct {
	From      string
	NullFrom  bool // MAIL FROM:<> — a delivery status notification
	Transport string
}

// Outcomes of a delivery.
const (
	Created   = "created"   // a new ticket
	Appended  = "appended"  // a message on an existing ticket
	Duplicate = "duplicate" // this Message-ID is already stored
	Ignored   = "ignored"   // automatic mail (auto-reply, bounce, loop)
)

// Result says what became of one mail.
type Result struct {
	Outcome   string
	TicketID  int64
	MessageID int64
	// Reason explains Ignored, or why a reply became a new ticket.
	Reason string
}

// tagRE finds the subject tag "[#123-token]".
var tagRE = regexp.MustCompile(`\[#(\d{1,18})-([a-z2-7]{10})\]`)

// Deliver stores one mail: an automatic one is ignored, a Message-ID seen
// before is a duplicate, a reply to a ticket (by In-Reply-To/References
// or the subject tag) from that ticket's customer is added to it, and
// anything else opens a ticket on channel email. It returns once the
// message is committed, so a transport may acknowledge it then.
// Errors: EINVALID (not a mail; refuse it for good), EUNAVAILABLE and
// others (try again later). [tickets.write]
func (m *Mailbox) Deliver(ctx context.Context, raw []byte, env Envelope) (*Result, error) {
	if err := auth.Require(ctx, auth.PermTicketsWrite); err != nil {
		return nil, err
	}
	if int64(len(raw)) > m.max {
		return nil, &kizuna.Error{Code: kizuna.ETOOLARGE, Message: fmt.Sprintf("a mail may be at most %d bytes", m.max)}
	}
	in, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	if env.NullFrom && in.Auto == "" {
		in.Auto = "null envelope sender (a delivery notification)"
	}
	if in.Auto == "" && m.Accepts(in.From) {
		in.Auto = "sent from a support address (a mail loop)"
	}
	if in.Auto != "" {
		m.log.Info("support mail ignored", "message_id", in.MessageID, "from", in.From, "reason", in.Auto)
		return &Result{Outcome: Ignored, Reason: in.Auto}, nil
	}
	if r, err := m.duplicate(ctx, in.MessageID); r != nil || err != nil {
		return r, err
	}
	r, err := m.store(ctx, in, env)
	if db.IsUniqueViolation(err) {
		// Another delivery of the same mail committed first.
		if r, derr := m.duplicate(ctx, in.MessageID); r != nil || derr != nil {
			return r, derr
		}
	}
	return r, err
}

func (m *Mailbox) duplicate(ctx context.Context, messageID string) (*Result, error) {
	var r Result
	err := m.db.Reader().QueryRowContext(ctx, `SELECT id, ticket_id FROM support_messages WHERE email_message_id = $1`,
		messageID).Scan(&r.MessageID, &r.TicketID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailbox: duplicate check: %w", err)
	}
	r.Outcome = Duplicate
	return &r, nil
}

func (m *Mailbox) store(ctx context.Context, in *Inbound, env Envelope) (*Result, error) {
	body, notes := in.Text, append([]string(nil), in.Dropped...)
	if strings.TrimSpace(body) == "" {
		body = "(no message text)"
	}
	if utf8.RuneCountInString(body) > maxText {
		body = string([]rune(body)[:maxText-100]) + "\n[…]"
		notes = append(notes, "the message text was longer than the desk keeps and was cut")
	}
	refs := strings.Join(in.References, " ")
	inReplyTo := strings.Join(in.InReplyTo, " ")

	target, why, err := m.thread(ctx, in)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	if target != nil {
		msg, err := m.desk.AddCustomerMessage(ctx, target.ID, support.NewCustomerMessage{Body: body, AuthorName: trimName(in.FromName),
			EmailMessageID: in.MessageID, InReplyTo: inReplyTo, References: refs, Attachments: in.Attachments})
		switch {
		case err == nil:
			res.Outcome, res.TicketID, res.MessageID = Appended, target.ID, msg.ID
		case kizuna.ErrorCode(err) == kizuna.ECONFLICT:
			why = fmt.Sprintf("a reply to ticket #%d, which is closed: opened as a follow-up", target.ID)
		default:
			return nil, err
		}
	}
	if res.Outcome == "" {
		subject := strings.TrimSpace(tagRE.ReplaceAllString(in.Subject, ""))
		if subject == "" {
			subject = "(no subject)"
		}
		if utf8.RuneCountInString(subject) > 500 {
			subject = string([]rune(subject)[:500])
		}
		t, err := m.desk.CreateTicket(ctx, support.NewTicket{Subject: subject, Body: body, Channel: "email",
			Requester: support.Requester{Email: in.From, Name: trimName(in.FromName)}, EmailMessageID: in.MessageID,
			InReplyTo: inReplyTo, References: refs, Attachments: in.Attachments})
		if err != nil {
			return nil, err
		}
		ms, err := m.desk.Messages(ctx, t.ID)
		if err != nil || len(ms) == 0 {
			return nil, fmt.Errorf("mailbox: first message of ticket %d: %w", t.ID, err)
		}
		res.Outcome, res.TicketID, res.MessageID, res.Reason = Created, t.ID, ms[0].ID, why
		if why != "" {
			notes = append([]string{why}, notes...)
		}
	}
	// The message is committed; what follows only annotates it. A failure
	// here is logged, not returned: answering "try again" would store
	// nothing new (the Message-ID is taken) and lose nothing either.
	if err := m.db.WriteTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO support_mail_inbound (message_id, from_addr, transport, received_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING`, res.MessageID, in.From, env.Transport, tx.NowMS())
		return err
	}); err != nil {
		m.log.Error("support mail: recording the sender failed", "ticket", res.TicketID, "err", err)
	}
	if len(notes) > 0 {
		note := "Mail from " + in.From + ":\n- " + strings.Join(notes, "\n- ")
		if _, err := m.desk.Reply(ctx, res.TicketID, support.NewReply{Body: note, Internal: true}); err != nil {
			m.log.Error("support mail: note failed", "ticket", res.TicketID, "err", err)
		}
	}
	return res, nil
}

func trimName(s string) string {
	if utf8.RuneCountInString(s) > 200 {
		return string([]rune(s)[:200])
	}
	return s
}

// thread finds the ticket a mail answers: a stored Message-ID in
// In-Reply-To or References (the newest first), else the subject tag with
// its ticket's token. The ticket counts only when the sender resolves to
// its customer; otherwise the mail opens a new ticket and why says so.
func (m *Mailbox) thread(ctx context.Context, in *Inbound) (t *support.Ticket, why string, err error) {
	id, err := m.byMessageID(ctx, in)
	if err != nil {
		return nil, "", err
	}
	if id == 0 {
		if id, why, err = m.byTag(ctx, in.Subject); err != nil || id == 0 {
			return nil, why, err
		}
	}
	// A merged duplicate's mail goes to its survivor.
	for range 10 {
		t, err = m.desk.Ticket(ctx, id)
		if err != nil {
			if kizuna.ErrorCode(err) == kizuna.ENOTFOUND {
				return nil, "", nil
			}
			return nil, "", err
		}
		if t.MergedInto == nil {
			break
		}
		id = *t.MergedInto
	}
	owner, err := m.senderCustomer(ctx, in.From)
	if err != nil {
		return nil, "", err
	}
	if owner != t.CustomerID {
		return nil, fmt.Sprintf("a reply to ticket #%d from an address that is not its customer's: opened as a new ticket", t.ID), nil
	}
	return t, "", nil
}

func (m *Mailbox) byMessageID(ctx context.Context, in *Inbound) (int64, error) {
	// Newest first: In-Reply-To, then References from the end.
	var ids []string
	ids = append(ids, in.InReplyTo...)
	for i := len(in.References) - 1; i >= 0; i-- {
		ids = append(ids, in.References[i])
	}
	if len(ids) > 50 {
		ids = ids[:50]
	}
	if len(ids) == 0 {
		return 0, nil
	}
	member, args := db.InText(m.db.Dialect, 1, ids)
	rows, err := m.db.Reader().QueryContext(ctx, db.Rebind(m.db.Dialect,
		`SELECT email_message_id, ticket_id FROM support_messages WHERE email_message_id`+member), args...)
	if err != nil {
		return 0, fmt.Errorf("mailbox: thread lookup: %w", err)
	}
	defer rows.Close()
	found := map[string]int64{}
	for rows.Next() {
		var mid string
		var tid int64
		if err := rows.Scan(&mid, &tid); err != nil {
			return 0, err
		}
		found[mid] = tid
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if t, ok := found[id]; ok {
			return t, nil
		}
	}
	return 0, nil
}

func (m *Mailbox) byTag(ctx context.Context, subject string) (int64, string, error) {
	mt := tagRE.FindStringSubmatch(subject)
	if mt == nil {
		return 0, "", nil
	}
	id, _ := strconv.ParseInt(mt[1], 10, 64)
	var token string
	err := m.db.Reader().QueryRowContext(ctx, `SELECT token FROM support_mail_tickets WHERE ticket_id = $1`, id).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && token != mt[2]) {
		return 0, fmt.Sprintf("the subject names ticket #%d with a tag that does not match it: opened as a new ticket", id), nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("mailbox: ticket tag: %w", err)
	}
	return id, "", nil
}

// senderCustomer is the canonical customer whose email identity is addr,
// or 0.
func (m *Mailbox) senderCustomer(ctx context.Context, addr string) (int64, error) {
	norm, err := customer.NormalizeEmail(addr)
	if err != nil {
		return 0, nil
	}
	var id int64
	err = m.db.Reader().QueryRowContext(ctx, `SELECT COALESCE(c.merged_into, c.id) FROM identities i
		JOIN customers c ON c.id = i.customer_id WHERE i.kind = $1 AND i.value = $2`, customer.KindEmail, norm).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("mailbox: sender lookup: %w", err)
	}
	return id, nil
}

// ticketToken returns ticket id's subject-tag token, creating it once.
func ticketToken(ctx context.Context, tx *db.Tx, id int64) (string, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO support_mail_tickets (ticket_id, token, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (ticket_id) DO NOTHING`, id, newToken(), tx.NowMS()); err != nil {
		return "", fmt.Errorf("mailbox: ticket token: %w", err)
	}
	var token string
	err := tx.QueryRowContext(ctx, `SELECT token FROM support_mail_tickets WHERE ticket_id = $1`, id).Scan(&token)
	return token, err
}

// Tag is the subject tag of ticket id with token.
func Tag(id int64, token string) string { return fmt.Sprintf("[#%d-%s]", id, token) }
