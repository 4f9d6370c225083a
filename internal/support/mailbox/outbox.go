package mailbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/jobs"
	kmail "github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// Outbox statuses.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

const (
	// outboxLookback bounds how far back the job looks for replies not yet
	// queued (the job being down longer loses nothing queued before).
	outboxLookback = 7 * 24 * time.Hour
	// sendHold is how long a sender holds a row it is sending: another
	// node (or run) takes it only after that, so a slow SMTP exchange is
	// not sent twice.
	sendHold = 10 * time.Minute
	// maxAttempts before a reply is marked failed.
	maxAttempts = 8
	outboxBatch = 50
)

// backoff is the wait after the n-th failed attempt: 1, 2, 4 … 64 min.
func backoff(n int) time.Duration { return time.Minute << min(n-1, 6) }

// OutboxJob sends pending replies every 15 s on whichever node holds the
// lease. It needs a Sender (Config.Sender).
func (m *Mailbox) OutboxJob() jobs.Job {
	return jobs.Job{Name: "support.mail.outbox", Every: 15 * time.Second, Run: m.SendPending}
}

// SendPending queues the public agent replies of mail tickets not yet
// queued, then sends what is due. Each row is taken with a conditional
// update before its SMTP exchange, and its Message-ID is stored before
// sending, so a crash between sending and recording re-sends the same
// Message-ID (the customer's client shows one mail) — exactly-once as far
// as mail allows. Errors: what the database returns; SMTP failures are
// recorded on the row, not returned. [tickets.write]
func (m *Mailbox) SendPending(ctx context.Context) error {
	if err := auth.Require(ctx, auth.PermTicketsWrite); err != nil {
		return err
	}
	if m.sender == nil {
		return &kizuna.Error{Code: kizuna.EUNAVAILABLE, Message: "no SMTP sender is configured"}
	}
	if err := m.enqueue(ctx); err != nil {
		return err
	}
	rows, err := m.db.Reader().QueryContext(ctx, `SELECT message_id FROM support_mail_outbox
		WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, message_id LIMIT $2`,
		m.db.Now().UnixMilli(), outboxBatch)
	if err != nil {
		return fmt.Errorf("mailbox: due replies: %w", err)
	}
	var due []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		due = append(due, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := m.sendOne(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// enqueue adds an outbox row for every public agent reply of the last
// week on a ticket that has mail from its customer, addressed to the
// latest sender.
func (m *Mailbox) enqueue(ctx context.Context) error {
	return m.db.WriteTx(ctx, func(tx *db.Tx) error {
		now := tx.NowMS()
		rows, err := tx.QueryContext(ctx, `SELECT m.id, m.ticket_id FROM support_messages m
			WHERE m.direction = 'out' AND m.public = 1 AND m.email_message_id = '' AND m.created_at >= $1
			AND m.author_kind = 'agent'
			AND NOT EXISTS (SELECT 1 FROM support_mail_outbox o WHERE o.message_id = m.id)
			ORDER BY m.id`, now-outboxLookback.Milliseconds())
		if err != nil {
			return fmt.Errorf("mailbox: unsent replies: %w", err)
		}
		type reply struct{ id, ticket int64 }
		var rs []reply
		for rows.Next() {
			var r reply
			if err := rows.Scan(&r.id, &r.ticket); err != nil {
				rows.Close()
				return err
			}
			rs = append(rs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range rs {
			// The latest customer mail on the ticket says where to reply;
			// a ticket without any is not a mail conversation.
			var to string
			err := tx.QueryRowContext(ctx, `SELECT i.from_addr FROM support_mail_inbound i
				JOIN support_messages im ON im.id = i.message_id
				WHERE im.ticket_id = $1 ORDER BY im.created_at DESC, im.id DESC LIMIT 1`, r.ticket).Scan(&to)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("mailbox: reply address of ticket %d: %w", r.ticket, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO support_mail_outbox (message_id, to_addr, email_message_id,
				next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (message_id) DO NOTHING`,
				r.id, to, m.sender.NewMessageID(), now); err != nil {
				return fmt.Errorf("mailbox: queue reply %d: %w", r.id, err)
			}
		}
		return nil
	})
}

// sendOne takes reply id if it is still due, composes and sends it, and
// records the outcome.
func (m *Mailbox) sendOne(ctx context.Context, id int64) error {
	var (
		o       outRow
		taken   bool
		attempt int
	)
	err := m.db.WriteTx(ctx, func(tx *db.Tx) error {
		now := tx.NowMS()
		res, err := tx.ExecContext(ctx, `UPDATE support_mail_outbox SET next_attempt_at = $1, attempts = attempts + 1
			WHERE message_id = $2 AND status = 'pending' AND next_attempt_at <= $3`, now+sendHold.Milliseconds(), id, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // another sender has it
		}
		taken = true
		if err := tx.QueryRowContext(ctx, `SELECT o.to_addr, o.email_message_id, o.attempts, m.ticket_id, m.body
			FROM support_mail_outbox o JOIN support_messages m ON m.id = o.message_id WHERE o.message_id = $1`, id).
			Scan(&o.to, &o.emailID, &attempt, &o.ticketID, &o.body); err != nil {
			return err
		}
		// The id is on the message before the mail leaves, so a customer's
		// answer threads even if recording "sent" never happens.
		if _, err := tx.ExecContext(ctx, `UPDATE support_messages SET email_message_id = $1 WHERE id = $2`, o.emailID, id); err != nil {
			return err
		}
		o.token, err = ticketToken(ctx, tx, o.ticketID)
		return err
	})
	if err != nil || !taken {
		return err
	}
	o.id = id
	msg, err := m.compose(ctx, &o)
	if err == nil {
		_, err = m.sender.Send(ctx, msg)
	}
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the hold expires and it is retried
	}
	return m.record(ctx, id, o.ticketID, attempt, err)
}

type outRow struct {
	to, emailID, body, token string
	id, ticketID             int64
}

// compose builds the mail of a reply: subject "Re: <subject> [#id-token]",
// threaded under every mail of the ticket (References, oldest first,
// capped) and In-Reply-To the latest customer mail.
func (m *Mailbox) compose(ctx context.Context, o *outRow) (kmail.Message, error) {
	t, err := m.desk.Ticket(ctx, o.ticketID)
	if err != nil {
		return kmail.Message{}, err
	}
	ms, err := m.desk.Messages(ctx, o.ticketID)
	if err != nil {
		return kmail.Message{}, err
	}
	var refs []string
	var files []kmail.Attachment
	inReplyTo := ""
	for _, msg := range ms {
		if msg.ID == o.id {
			if files, err = m.replyFiles(ctx, msg); err != nil {
				return kmail.Message{}, err
			}
		}
		if msg.EmailMessageID == "" || msg.EmailMessageID == o.emailID {
			continue
		}
		refs = append(refs, msg.EmailMessageID)
		if msg.Direction == support.DirectionIn {
			inReplyTo = msg.EmailMessageID
		}
	}
	if len(refs) > 20 {
		// The first (the conversation's root) and the most recent.
		refs = append(refs[:1], refs[len(refs)-19:]...)
	}
	if inReplyTo == "" && len(refs) > 0 {
		inReplyTo = refs[len(refs)-1]
	}
	subject := strings.TrimSpace(tagRE.ReplaceAllString(t.Subject, ""))
	if !hasReplyPrefix(subject) {
		subject = "Re: " + subject
	}
	return kmail.Message{To: o.to, Subject: subject + " " + Tag(t.ID, o.token), Text: o.body, MessageID: o.emailID,
		InReplyTo: inReplyTo, References: refs, ReplyTo: m.addresses[0], Attachments: files}, nil
}

// replyFiles reads the files of a public reply for its mail. Each is
// checked again with the desk's rules (support.CheckAttachment), so a file
// stored under older rules, or put there by other means, never leaves by
// mail if the desk would refuse it now; it stays on the ticket.
func (m *Mailbox) replyFiles(ctx context.Context, msg support.Message) ([]kmail.Attachment, error) {
	if !msg.Public {
		return nil, nil
	}
	var out []kmail.Attachment
	for _, meta := range msg.Attachments {
		a, err := m.desk.Attachment(ctx, meta.ID)
		if err != nil {
			return nil, err
		}
		ok, err := support.CheckAttachment(support.NewAttachment{Filename: a.Filename, ContentType: a.ContentType, Data: a.Data})
		if err != nil {
			m.log.Warn("support mail: attachment left out of the reply", "message", msg.ID, "attachment", a.ID, "err", err)
			continue
		}
		out = append(out, kmail.Attachment{Filename: ok.Filename, ContentType: ok.ContentType, Data: ok.Data})
	}
	return out, nil
}

func hasReplyPrefix(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "re:") || strings.HasPrefix(l, "re：") || strings.HasPrefix(s, "返信:")
}

// record stores the outcome of an attempt; after maxAttempts a reply is
// failed and an internal note on the ticket tells the agents.
func (m *Mailbox) record(ctx context.Context, id, ticketID int64, attempt int, sendErr error) error {
	var gaveUp bool
	err := m.db.WriteTx(ctx, func(tx *db.Tx) error {
		now := tx.NowMS()
		if sendErr == nil {
			_, err := tx.ExecContext(ctx, `UPDATE support_mail_outbox SET status = 'sent', sent_at = $1, last_error = ''
				WHERE message_id = $2`, now, id)
			return err
		}
		msg := sendErr.Error()
		if len(msg) > 1000 {
			msg = msg[:1000]
		}
		status, next := StatusPending, now+backoff(attempt).Milliseconds()
		// A refused address (EINVALID) will not get better.
		if attempt >= maxAttempts || kizuna.ErrorCode(sendErr) == kizuna.EINVALID {
			status, gaveUp = StatusFailed, true
		}
		_, err := tx.ExecContext(ctx, `UPDATE support_mail_outbox SET status = $1, next_attempt_at = $2, last_error = $3
			WHERE message_id = $4`, status, next, msg, id)
		return err
	})
	if err != nil {
		return err
	}
	if sendErr != nil {
		m.log.Warn("support mail: reply not sent", "message", id, "ticket", ticketID, "attempt", attempt, "err", sendErr)
	}
	if gaveUp {
		note := fmt.Sprintf("The reply (message %d) could not be sent by mail after %d attempts: %v", id, attempt, sendErr)
		if _, err := m.desk.Reply(ctx, ticketID, support.NewReply{Body: note, Internal: true}); err != nil {
			m.log.Error("support mail: failure note", "ticket", ticketID, "err", err)
		}
	}
	return nil
}

// Delivery is the mail state of one agent reply.
type Delivery struct {
	MessageID      int64      `json:"message_id"`
	To             string     `json:"to"`
	EmailMessageID string     `json:"email_message_id"`
	Status         string     `json:"status"` // pending, sent, failed
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"last_error,omitempty"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	SentAt         *time.Time `json:"sent_at,omitempty"`
}

// Deliveries returns the mail state of a ticket's replies, oldest first:
// what the agent sees next to each reply (sent, pending with the last
// error, failed). Errors: ENOTFOUND. [tickets.read]
func (m *Mailbox) Deliveries(ctx context.Context, ticketID int64) ([]Delivery, error) {
	if _, err := m.desk.Ticket(ctx, ticketID); err != nil {
		return nil, err
	}
	rows, err := m.db.Reader().QueryContext(ctx, `SELECT o.message_id, o.to_addr, o.email_message_id, o.status, o.attempts,
		o.last_error, o.next_attempt_at, o.sent_at FROM support_mail_outbox o JOIN support_messages m ON m.id = o.message_id
		WHERE m.ticket_id = $1 ORDER BY o.message_id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("mailbox: deliveries of ticket %d: %w", ticketID, err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var next int64
		var sent sql.NullInt64
		if err := rows.Scan(&d.MessageID, &d.To, &d.EmailMessageID, &d.Status, &d.Attempts, &d.LastError, &next, &sent); err != nil {
			return nil, err
		}
		if d.Status == StatusPending {
			t := time.UnixMilli(next).UTC()
			d.NextAttemptAt = &t
		}
		if sent.Valid {
			t := time.UnixMilli(sent.Int64).UTC()
			d.SentAt = &t
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Retry puts a failed reply back in the queue, due now.
// Errors: ENOTFOUND (no failed reply with that id). [tickets.write]
func (m *Mailbox) Retry(ctx context.Context, messageID int64) error {
	if err := auth.Require(ctx, auth.PermTicketsWrite); err != nil {
		return err
	}
	return m.db.WriteTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE support_mail_outbox SET status = 'pending', attempts = 0, next_attempt_at = $1
			WHERE message_id = $2 AND status = 'failed'`, tx.NowMS(), messageID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &kizuna.Error{Code: kizuna.ENOTFOUND, Message: fmt.Sprintf("no failed mail for message %d", messageID)}
		}
		return nil
	})
}
