// Package mail sends Kizuna's email over SMTP: survey invitations and
// reminders, in Japanese or English, each as a multipart text + HTML
// message rendered from templates (the HTML through html/template, so
// survey names and customer names are escaped). The SMTP exchange itself
// is github.com/wneessen/go-mail (maintained, STARTTLS, AUTH, context
// support); this package only composes.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/kizuna-oss/kizuna"
)

// TLS policies for the SMTP connection.
const (
	// TLSMandatory refuses to send unless STARTTLS succeeds (the default:
	// invitation links are credentials).
	TLSMandatory = "mandatory"
	// TLSOpportunistic uses STARTTLS when the server offers it.
	TLSOpportunistic = "opportunistic"
	// TLSNone never uses TLS (a local relay on loopback, tests).
	TLSNone = "none"
)

// Config is how to reach the SMTP server.
type Config struct {
	Host     string
	Port     int // default 587
	Username string
	Password string
	// From is the sender, e.g. "Kizuna <cx@example.com>".
	From string
	// StartTLS is TLSMandatory (default), TLSOpportunistic or TLSNone.
	StartTLS string
	// Timeout of the whole SMTP exchange (default 30 s).
	Timeout time.Duration
	// HELO name; default the host part of From.
	HELO string
}

// Sender sends mail through one SMTP server.
type Sender struct {
	cfg    Config
	from   *mail.Address
	domain string
}

// NewSender checks cfg. Errors: EINVALID naming the bad setting.
func NewSender(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, kizuna.FieldError("smtp_host", "the SMTP host is required")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, kizuna.FieldError("smtp_port", "the SMTP port %d is out of range", cfg.Port)
	}
	if cfg.StartTLS == "" {
		cfg.StartTLS = TLSMandatory
	}
	switch cfg.StartTLS {
	case TLSMandatory, TLSOpportunistic, TLSNone:
	default:
		return nil, kizuna.FieldError("smtp_starttls", "unknown STARTTLS policy %q (want mandatory, opportunistic or none)", cfg.StartTLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, kizuna.FieldError("smtp_from", "the sender address %q is not valid: %v", cfg.From, err)
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	if cfg.HELO == "" {
		cfg.HELO = domain
	}
	return &Sender{cfg: cfg, from: from, domain: domain}, nil
}

// Message is one composed email.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// ListUnsubscribe is an https URL that unsubscribes the recipient with
	// one POST (RFC 8058); mail clients show an "unsubscribe" button.
	ListUnsubscribe string
	// InReplyTo threads a reminder under its invitation, or a support
	// reply under the customer's mail.
	InReplyTo string
	// References is the thread (oldest first) for the References header;
	// empty: InReplyTo alone.
	References []string
	// MessageID, when set, is used instead of a fresh one (an outbox that
	// stores the id before sending, so a retry keeps it).
	MessageID string
	// ReplyTo is where the recipient's answer should go.
	ReplyTo string
	// Attachments are files sent with the mail (a support reply's files),
	// each as a base64 part with its name and type. The caller checks
	// what may be sent; Send only refuses a file without a name.
	Attachments []Attachment
}

// Attachment is one file of a Message.
type Attachment struct {
	Filename    string
	ContentType string // empty: application/octet-stream
	Data        []byte
}

// NewMessageID returns a fresh Message-ID (without angle brackets) in the
// sender's domain.
func (s *Sender) NewMessageID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:])) + "@" + s.domain
}

// Send delivers m and returns its Message-ID (without angle brackets).
// Errors: EINVALID (recipient), EUNAVAILABLE (the server refused or could
// not be reached; retry later).
func (s *Sender) Send(ctx context.Context, m Message) (string, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return "", kizuna.FieldError("to", "the recipient %q is not a valid address", m.To)
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDate()
	id := m.MessageID
	if id == "" {
		id = s.NewMessageID()
	}
	msg.SetMessageIDWithValue(id)
	if m.InReplyTo != "" {
		msg.SetGenHeader(gomail.HeaderInReplyTo, "<"+m.InReplyTo+">")
		refs := m.References
		if len(refs) == 0 {
			refs = []string{m.InReplyTo}
		}
		var b strings.Builder
		for i, r := range refs {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString("<" + r + ">")
		}
		msg.SetGenHeader(gomail.HeaderReferences, b.String())
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return "", kizuna.FieldError("reply_to", "the reply-to %q is not a valid address", m.ReplyTo)
		}
	}
	if m.ListUnsubscribe != "" {
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+m.ListUnsubscribe+">")
		msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	// Automated mail: no out-of-office replies to the sender.
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for i, a := range m.Attachments {
		if a.Filename == "" {
			return "", kizuna.FieldError(fmt.Sprintf("attachments[%d].filename", i), "an attachment needs a file name")
		}
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		msg.AttachReadSeeker(a.Filename, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct)),
			gomail.WithFileEncoding(gomail.EncodingB64))
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithHELO(s.cfg.HELO),
	}
	switch s.cfg.StartTLS {
	case TLSMandatory:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return "", fmt.Errorf("mail: client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return "", &kizuna.Error{Code: kizuna.EUNAVAILABLE, Op: "mail.Send", Message: "the mail server did not accept the message", Err: err}
	}
	return id, nil
}
