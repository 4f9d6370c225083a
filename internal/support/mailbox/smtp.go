package mailbox

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
)

// maxRecipients per message: a support mail names a few addresses; a long
// list is spam.
const maxRecipients = 20

// SMTPServer returns a receiving SMTP server (github.com/emersion/go-smtp)
// for the support addresses: RCPT for any other address is refused (550,
// so it is no open relay), a mail over the size cap is refused (552), and
// DATA is answered 250 only after the message is committed; a database
// failure answers 451 so the sending server retries later.
func (m *Mailbox) SMTPServer(domain string) *smtp.Server {
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{m: m}, nil
	}))
	s.Domain = domain
	s.MaxMessageBytes = m.max
	s.MaxRecipients = maxRecipients
	s.ReadTimeout = 5 * time.Minute
	s.WriteTimeout = time.Minute
	return s
}

// ServeSMTP receives mail on ln until ctx ends, then waits up to 30 s for
// messages being stored.
func (m *Mailbox) ServeSMTP(ctx context.Context, ln net.Listener, domain string) error {
	s := m.SMTPServer(domain)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		_ = s.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return err
	}
	return nil
}

type smtpSession struct {
	m        *Mailbox
	from     string
	nullFrom bool
	rcpts    int
}

func (s *smtpSession) Reset()        { s.from, s.nullFrom, s.rcpts = "", false, 0 }
func (s *smtpSession) Logout() error { return nil }

func (s *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	if opts != nil && opts.Size > s.m.max {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big"}
	}
	s.from, s.nullFrom = from, from == ""
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.m.Accepts("<" + to + ">") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}
	}
	s.rcpts++
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	if s.rcpts == 0 {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "no valid recipient"}
	}
	raw, err := io.ReadAll(io.LimitReader(r, s.m.max+1))
	if err != nil {
		return err // go-smtp answers 552 for ErrDataTooLarge
	}
	if int64(len(raw)) > s.m.max {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big"}
	}
	// The client may hang up; the store still finishes (or rolls back).
	ctx, cancel := context.WithTimeout(auth.System(context.Background(), "mail:smtp"), 2*time.Minute)
	defer cancel()
	_, err = s.m.Deliver(ctx, raw, Envelope{From: s.from, NullFrom: s.nullFrom, Transport: "smtp"})
	switch kizuna.ErrorCode(err) {
	case "":
		return nil
	case kizuna.EINVALID:
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "the message could not be read"}
	case kizuna.ETOOLARGE:
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big"}
	}
	s.m.log.Error("support mail: storing failed; the sender will retry", "err", err)
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "temporary failure, try again later"}
}
