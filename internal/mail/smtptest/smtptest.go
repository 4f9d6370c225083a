// Package smtptest runs a real SMTP server on 127.0.0.1 for tests
// (github.com/emersion/go-smtp) and parses what it receives: headers, the
// text and HTML parts of multipart/alternative bodies, decoded.
package smtptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received mail.
type Message struct {
	From    string
	To      []string
	Header  mail.Header
	Subject string // decoded (RFC 2047)
	Text    string
	HTML    string
	// Attachments are the parts with Content-Disposition attachment,
	// decoded.
	Attachments []Attachment
	Raw         []byte
}

// Attachment is one attached file of a received mail.
type Attachment struct {
	Filename    string // decoded (RFC 2231 / 2047)
	ContentType string // media type without parameters
	Data        []byte
}

// Server collects every message delivered to it.
type Server struct {
	Addr string
	Host string
	Port int

	mu       sync.Mutex
	messages []Message
	arrived  chan struct{}
	// Refuse makes the server reject every message (a mail outage).
	refuse bool
}

// Start listens on a free port of 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s := &Server{Addr: l.Addr().String(), Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, arrived: make(chan struct{}, 1000)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{srv: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// SetRefuse makes the server refuse (true) or accept messages.
func (s *Server) SetRefuse(v bool) {
	s.mu.Lock()
	s.refuse = v
	s.mu.Unlock()
}

// Messages returns what has arrived so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Wait returns once n messages have arrived, or fails the test.
func (s *Server) Wait(t testing.TB, n int) []Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("smtptest: %d messages arrived, want %d", len(s.Messages()), n)
		}
	}
}

type session struct {
	srv  *Server
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.srv.mu.Lock()
	refuse := ss.srv.refuse
	ss.srv.mu.Unlock()
	if refuse {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	m.From, m.To = ss.from, ss.to
	ss.srv.mu.Lock()
	ss.srv.messages = append(ss.srv.messages, *m)
	ss.srv.mu.Unlock()
	select {
	case ss.srv.arrived <- struct{}{}:
	default:
	}
	return nil
}

// Parse reads a message and decodes its text and HTML parts.
func Parse(raw []byte) (*Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	m := &Message{Header: msg.Header, Subject: subj, Raw: raw}
	if err := m.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		return nil, err
	}
	if m.Text == "" {
		return nil, errors.New("no text/plain part")
	}
	return m, nil
}

func (m *Message) walk(ctype, cte string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if disp, dp, err := mime.ParseMediaType(p.Header.Get("Content-Disposition")); err == nil && disp == "attachment" {
				if err := m.attach(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), dp["filename"], p); err != nil {
					return err
				}
				continue
			}
			if err := m.walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64Reader(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}

// attach decodes an attachment part.
func (m *Message) attach(ctype, cte, filename string, body io.Reader) error {
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("attachment content type %q: %w", ctype, err)
	}
	var r io.Reader = body
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64Reader(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if name, err := new(mime.WordDecoder).DecodeHeader(filename); err == nil {
		filename = name
	}
	m.Attachments = append(m.Attachments, Attachment{Filename: filename, ContentType: mt, Data: b})
	return nil
}
