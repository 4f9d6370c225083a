package support

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"mime"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Authors and directions of messages.
const (
	AuthorCustomer = "customer"
	AuthorAgent    = "agent"
	AuthorSystem   = "system"
	DirectionIn    = "in"
	DirectionOut   = "out"
)

// Message is one entry of a ticket's conversation: a customer's message,
// an agent's public reply or an internal note (Public false).
type Message struct {
	ID             int64        `json:"id"`
	TicketID       int64        `json:"ticket_id"`
	AuthorKind     string       `json:"author_kind"`
	AuthorUserID   *int64       `json:"author_user_id"`
	AuthorName     string       `json:"author_name"`
	Public         bool         `json:"public"`
	Direction      string       `json:"direction"`
	Body           string       `json:"body"`
	EmailMessageID string       `json:"email_message_id,omitempty"`
	InReplyTo      string       `json:"in_reply_to,omitempty"`
	References     string       `json:"references,omitempty"`
	MergedFrom     *int64       `json:"merged_from"`
	CreatedAt      time.Time    `json:"created_at"`
	Attachments    []Attachment `json:"attachments"`
}

// Attachment is a stored file's metadata; Data holds the bytes only when
// read through Service.Attachment.
type Attachment struct {
	ID          int64  `json:"id"`
	MessageID   int64  `json:"message_id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Data        []byte `json:"-"`
}

// NewAttachment is a file sent with a message: in JSON
// {filename, content_type, data_base64} (data is accepted as an older
// name of data_base64; see UnmarshalJSON).
type NewAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data_base64"`
}

// Attachment limits.
const (
	MaxAttachmentSize  = 10 << 20
	MaxAttachmentCount = 5
)

// allowedTypes are the attachment types accepted: nothing a browser runs
// as a page or script (no HTML, SVG or JavaScript).
var allowedTypes = []string{
	"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/csv",
	"application/zip", "application/msword", "application/vnd.ms-excel",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

func checkAttachments(in []NewAttachment) ([]NewAttachment, error) {
	if len(in) > MaxAttachmentCount {
		return nil, kizuna.FieldError("attachments", "at most %d attachments per message", MaxAttachmentCount)
	}
	out := make([]NewAttachment, len(in))
	for i, a := range in {
		field := fmt.Sprintf("attachments[%d]", i)
		name := filepath.Base(strings.ReplaceAll(strings.TrimSpace(a.Filename), `\`, "/"))
		if name == "" || name == "." || name == "/" || !utf8.ValidString(name) || len(name) > 255 ||
			strings.ContainsAny(name, "\x00\r\n\"") {
			return nil, kizuna.FieldError(field+".filename", "a file name is required (at most 255 bytes, no quotes or line breaks)")
		}
		mt, _, err := mime.ParseMediaType(a.ContentType)
		if err != nil || !slices.Contains(allowedTypes, mt) {
			return nil, kizuna.FieldError(field+".content_type", "files of type %q are not accepted", a.ContentType)
		}
		if len(a.Data) == 0 {
			return nil, kizuna.FieldError(field+".data", "the file is empty")
		}
		if len(a.Data) > MaxAttachmentSize {
			return nil, &kizuna.Error{Code: kizuna.ETOOLARGE, Field: field + ".data",
				Message: fmt.Sprintf("a file may be at most %d MiB", MaxAttachmentSize>>20)}
		}
		out[i] = NewAttachment{Filename: name, ContentType: mt, Data: a.Data}
	}
	return out, nil
}

// message is one row to insert.
type message struct {
	ticketID                              int64
	authorKind                            string
	authorUserID                          *int64
	authorName                            string
	public                                bool
	direction                             string
	body                                  string
	emailMessageID, inReplyTo, references string
	at                                    int64
}

func insertMessage(ctx context.Context, tx *db.Tx, m message, atts []NewAttachment) (int64, error) {
	var uid any
	if m.authorUserID != nil {
		uid = *m.authorUserID
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO support_messages (ticket_id, author_kind, author_user_id, author_name,
		public, direction, body, email_message_id, in_reply_to, email_references, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		m.ticketID, m.authorKind, uid, m.authorName, boolInt(m.public), m.direction, m.body,
		m.emailMessageID, m.inReplyTo, m.references, m.at).Scan(&id); err != nil {
		return 0, fmt.Errorf("message on ticket %d: %w", m.ticketID, err)
	}
	for _, a := range atts {
		sum := sha256.Sum256(a.Data)
		if _, err := tx.ExecContext(ctx, `INSERT INTO support_attachments (message_id, ticket_id, filename, content_type,
			size, sha256, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, m.ticketID, a.Filename, a.ContentType, len(a.Data), hex.EncodeToString(sum[:]), a.Data, m.at); err != nil {
			return 0, fmt.Errorf("attachment on ticket %d: %w", m.ticketID, err)
		}
	}
	return id, nil
}

// NewReply is an agent's message on a ticket.
type NewReply struct {
	Body string `json:"body"`
	// Internal makes it a note that the customer never sees.
	Internal bool `json:"internal,omitempty"`
	// Status, if set, moves the ticket in the same step (e.g. "pending").
	Status      string          `json:"status,omitempty"`
	Attachments []NewAttachment `json:"attachments,omitempty"`
}

// Reply adds an agent's public reply or internal note. A public reply to
// a new ticket opens it, and the first one stamps first_response_at.
// Errors: ENOTFOUND, EINVALID, ETOOLARGE (attachment), ECONFLICT (closed
// ticket, invalid status transition). [tickets.write]
func (s *Service) Reply(ctx context.Context, ticketID int64, r NewReply) (*Message, error) {
	if err := require(ctx, auth.PermTicketsWrite); err != nil {
		return nil, err
	}
	if err := checkText("body", r.Body, maxBody, true); err != nil {
		return nil, err
	}
	if r.Status != "" && !validStatus(r.Status) {
		return nil, kizuna.FieldError("status", "unknown status %q", r.Status)
	}
	atts, err := checkAttachments(r.Attachments)
	if err != nil {
		return nil, err
	}
	var id int64
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		t, err := s.ticket(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		if id, err = agentReply(ctx, tx, t, r.Body, !r.Internal, r.Status, atts); err != nil {
			return err
		}
		return afterTicketWrite(ctx, tx, t.ID)
	})
	if err != nil {
		return nil, err
	}
	return s.message(ctx, id)
}

// agentReply writes an agent's message on t and applies status (or opens
// a new ticket on a public reply).
func agentReply(ctx context.Context, tx *db.Tx, t *Ticket, body string, public bool, status string, atts []NewAttachment) (int64, error) {
	if t.Status == StatusClosed {
		return 0, conflict("ticket %d is closed", t.ID)
	}
	label, uid := actor(ctx)
	now := tx.NowMS()
	id, err := insertMessage(ctx, tx, message{ticketID: t.ID, authorKind: AuthorAgent, authorUserID: uid, authorName: label,
		public: public, direction: DirectionOut, body: body, at: now}, atts)
	if err != nil {
		return 0, err
	}
	if public && t.FirstResponseAt == nil {
		if _, err := tx.ExecContext(ctx, `UPDATE support_tickets SET first_response_at = $1 WHERE id = $2`, now, t.ID); err != nil {
			return 0, err
		}
	}
	if status == "" && public && t.Status == StatusNew {
		status = StatusOpen
	}
	if status != "" && status != t.Status {
		if err := setStatus(ctx, tx, t, status, now, label); err != nil {
			return 0, err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE support_tickets SET updated_at = $1, sla_open = 1 WHERE id = $2`, now, t.ID)
	return id, err
}

// NewCustomerMessage is a message from the customer on an existing ticket
// (a mail reply, the portal, an agent logging a call).
type NewCustomerMessage struct {
	Body           string          `json:"body"`
	AuthorName     string          `json:"author_name,omitempty"`
	EmailMessageID string          `json:"email_message_id,omitempty"`
	InReplyTo      string          `json:"in_reply_to,omitempty"`
	References     string          `json:"references,omitempty"`
	Attachments    []NewAttachment `json:"attachments,omitempty"`
}

// AddCustomerMessage stores a customer's message; a pending or solved
// ticket reopens. Errors: ENOTFOUND, EINVALID, ETOOLARGE, ECONFLICT
// (closed: the customer needs a follow-up ticket). [tickets.write]
func (s *Service) AddCustomerMessage(ctx context.Context, ticketID int64, m NewCustomerMessage) (*Message, error) {
	if err := require(ctx, auth.PermTicketsWrite); err != nil {
		return nil, err
	}
	if err := checkText("body", m.Body, maxBody, true); err != nil {
		return nil, err
	}
	if err := checkText("author_name", m.AuthorName, 200, false); err != nil {
		return nil, err
	}
	atts, err := checkAttachments(m.Attachments)
	if err != nil {
		return nil, err
	}
	var id int64
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		t, err := s.ticket(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		if id, err = customerMessage(ctx, tx, t, m, atts); err != nil {
			return err
		}
		return afterTicketWrite(ctx, tx, t.ID)
	})
	if err != nil {
		return nil, err
	}
	return s.message(ctx, id)
}

func customerMessage(ctx context.Context, tx *db.Tx, t *Ticket, m NewCustomerMessage, atts []NewAttachment) (int64, error) {
	if t.Status == StatusClosed {
		return 0, conflict("ticket %d is closed; the customer's message needs a follow-up ticket", t.ID)
	}
	label, _ := actor(ctx)
	now := tx.NowMS()
	id, err := insertMessage(ctx, tx, message{ticketID: t.ID, authorKind: AuthorCustomer, authorName: m.AuthorName,
		public: true, direction: DirectionIn, body: m.Body, emailMessageID: m.EmailMessageID, inReplyTo: m.InReplyTo,
		references: m.References, at: now}, atts)
	if err != nil {
		return 0, err
	}
	if t.Status == StatusPending || t.Status == StatusSolved {
		if err := setStatus(ctx, tx, t, StatusOpen, now, label); err != nil {
			return 0, err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE support_tickets SET updated_at = $1, sla_open = 1 WHERE id = $2`, now, t.ID)
	return id, err
}

const messageCols = `id, ticket_id, author_kind, author_user_id, author_name, public, direction, body,
	email_message_id, in_reply_to, email_references, merged_from, created_at`

func scanMessage(r scanner) (*Message, error) {
	var m Message
	var uid, merged sql.NullInt64
	var public int
	var at int64
	if err := r.Scan(&m.ID, &m.TicketID, &m.AuthorKind, &uid, &m.AuthorName, &public, &m.Direction, &m.Body,
		&m.EmailMessageID, &m.InReplyTo, &m.References, &merged, &at); err != nil {
		return nil, err
	}
	m.AuthorUserID, m.MergedFrom = idPtr(uid), idPtr(merged)
	m.Public = public != 0
	m.CreatedAt = msTime(at)
	m.Attachments = []Attachment{}
	return &m, nil
}

func (s *Service) message(ctx context.Context, id int64) (*Message, error) {
	m, err := scanMessage(s.db.Reader().QueryRowContext(ctx, `SELECT `+messageCols+` FROM support_messages WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", id, err)
	}
	ms := []Message{*m}
	if err := s.loadAttachments(ctx, ticketOf(ms), ms); err != nil {
		return nil, err
	}
	return &ms[0], nil
}

func ticketOf(ms []Message) int64 {
	if len(ms) == 0 {
		return 0
	}
	return ms[0].TicketID
}

// Messages returns a ticket's conversation, oldest first, notes included.
// Errors: ENOTFOUND. [tickets.read]
func (s *Service) Messages(ctx context.Context, ticketID int64) ([]Message, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	if _, err := s.ticket(ctx, s.db.Reader(), ticketID); err != nil {
		return nil, err
	}
	return s.messages(ctx, ticketID, false)
}

func (s *Service) messages(ctx context.Context, ticketID int64, publicOnly bool) ([]Message, error) {
	q := `SELECT ` + messageCols + ` FROM support_messages WHERE ticket_id = $1`
	if publicOnly {
		q += ` AND public = 1`
	}
	rows, err := s.db.Reader().QueryContext(ctx, q+` ORDER BY created_at, id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("messages of ticket %d: %w", ticketID, err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("messages of ticket %d: %w", ticketID, err)
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.loadAttachments(ctx, ticketID, out)
}

func (s *Service) loadAttachments(ctx context.Context, ticketID int64, ms []Message) error {
	if len(ms) == 0 {
		return nil
	}
	at := map[int64]int{}
	for i, m := range ms {
		at[m.ID] = i
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, message_id, filename, content_type, size, sha256
		FROM support_attachments WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return fmt.Errorf("attachments of ticket %d: %w", ticketID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Attachment
		if err := rows.Scan(&a.ID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256); err != nil {
			return err
		}
		if i, ok := at[a.MessageID]; ok {
			ms[i].Attachments = append(ms[i].Attachments, a)
		}
	}
	return rows.Err()
}

// Attachment returns a stored file with its bytes.
// Errors: ENOTFOUND. [tickets.read]
func (s *Service) Attachment(ctx context.Context, id int64) (*Attachment, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	var a Attachment
	err := s.db.Reader().QueryRowContext(ctx, `SELECT id, message_id, filename, content_type, size, sha256, data
		FROM support_attachments WHERE id = $1`, id).Scan(&a.ID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.Data)
	if isNoRows(err) {
		return nil, notFound("attachment", id)
	}
	if err != nil {
		return nil, fmt.Errorf("attachment %d: %w", id, err)
	}
	return &a, nil
}
