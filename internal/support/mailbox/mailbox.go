package mailbox

import (
	"crypto/rand"
	"log/slog"
	"net/mail"
	"slices"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
	kmail "github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// DefaultMaxMessageBytes caps one inbound mail: five attachments at the
// desk's 10 MiB limit, base64-encoded, fit with room for the text.
const DefaultMaxMessageBytes = 72 << 20

// Config is the mail channel's setup.
type Config struct {
	// Addresses are the support addresses mail is accepted for (the SMTP
	// receiver refuses other recipients) and never taken as a customer
	// (a mail from one of them is a loop). At least one.
	Addresses []string
	// MaxMessageBytes caps an inbound mail (default DefaultMaxMessageBytes).
	MaxMessageBytes int64
	// Sender sends agents' replies; nil: the outbox job is not offered.
	Sender *kmail.Sender
	Log    *slog.Logger
}

// Mailbox is the desk's mail channel.
type Mailbox struct {
	db        *db.DB
	desk      *support.Service
	addresses []string
	max       int64
	sender    *kmail.Sender
	log       *slog.Logger
}

// New returns the mail channel of desk. Errors: EINVALID (no or a
// malformed support address).
func New(d *db.DB, desk *support.Service, cfg Config) (*Mailbox, error) {
	m := &Mailbox{db: d, desk: desk, max: cfg.MaxMessageBytes, sender: cfg.Sender, log: cfg.Log}
	if m.max <= 0 {
		m.max = DefaultMaxMessageBytes
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	for _, a := range cfg.Addresses {
		p, err := mail.ParseAddress(a)
		if err != nil {
			return nil, kizuna.FieldError("support_address", "the support address %q is not valid", a)
		}
		m.addresses = append(m.addresses, strings.ToLower(p.Address))
	}
	if len(m.addresses) == 0 {
		return nil, kizuna.FieldError("support_address", "at least one support address is required")
	}
	return m, nil
}

// Accepts reports whether addr is one of the support addresses.
func (m *Mailbox) Accepts(addr string) bool {
	p, err := mail.ParseAddress(addr)
	if err != nil {
		return false
	}
	return slices.Contains(m.addresses, strings.ToLower(p.Address))
}

// MaxMessageBytes is the size cap of one inbound mail.
func (m *Mailbox) MaxMessageBytes() int64 { return m.max }

// newToken returns a ticket's subject-tag token: 10 base32 characters
// (50 random bits), lower-case.
func newToken() string { return strings.ToLower(rand.Text()[:10]) }
