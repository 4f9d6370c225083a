package mailbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/jobs"
)

// IMAPConfig is a mailbox to poll.
type IMAPConfig struct {
	// URL: imaps://host[:993] (TLS), imap://host[:143] (STARTTLS required),
	// or imap+insecure://host:port (no TLS: a local server, tests).
	URL      string
	Username string
	Password string
	Mailbox  string // default INBOX
	// Every is the poll interval (default 1 min).
	Every time.Duration
}

// imapBatch bounds the mails handled in one poll.
const imapBatch = 100

type imapTarget struct {
	addr, mode string
}

func (c IMAPConfig) target() (imapTarget, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return imapTarget{}, kizuna.FieldError("imap_url", "the IMAP URL %q is not valid (imaps://host:993)", c.URL)
	}
	port := map[string]string{"imaps": "993", "imap": "143", "imap+insecure": "143"}[u.Scheme]
	if port == "" {
		return imapTarget{}, kizuna.FieldError("imap_url", "the IMAP URL scheme must be imaps, imap or imap+insecure")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), port)
	}
	return imapTarget{addr: host, mode: u.Scheme}, nil
}

// IMAPJob polls cfg's mailbox on whichever node holds the job's lease, so
// two nodes never fetch the same mail at once. Errors: EINVALID (URL,
// missing user name).
func (m *Mailbox) IMAPJob(cfg IMAPConfig) (jobs.Job, error) {
	if _, err := cfg.target(); err != nil {
		return jobs.Job{}, err
	}
	if cfg.Username == "" {
		return jobs.Job{}, kizuna.FieldError("imap_username", "the IMAP user name is required")
	}
	every := cfg.Every
	if every <= 0 {
		every = time.Minute
	}
	return jobs.Job{Name: "support.mail.imap", Every: every, Run: func(ctx context.Context) error {
		_, err := m.PollIMAP(ctx, cfg)
		return err
	}}, nil
}

// PollIMAP fetches the mailbox's unseen mail (BODY.PEEK, so nothing is
// marked by reading), delivers each, and marks it \Seen only once it is
// committed (or is a duplicate, ignored, or unreadable for good). A mail
// that fails for a transient reason stays unseen for the next poll. It
// returns how many mails were marked. Errors: EUNAVAILABLE (the server
// could not be reached or refused the login), database errors.
func (m *Mailbox) PollIMAP(ctx context.Context, cfg IMAPConfig) (int, error) {
	tg, err := cfg.target()
	if err != nil {
		return 0, err
	}
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	opts := &imapclient.Options{Dialer: &net.Dialer{Timeout: 30 * time.Second}}
	var c *imapclient.Client
	switch tg.mode {
	case "imaps":
		c, err = imapclient.DialTLS(tg.addr, opts)
	case "imap":
		c, err = imapclient.DialStartTLS(tg.addr, opts)
	default:
		c, err = imapclient.DialInsecure(tg.addr, opts)
	}
	if err != nil {
		return 0, unavailable("connect to the IMAP server", err)
	}
	defer c.Close()
	// Commands take no context: closing the connection ends a stuck one.
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()

	if err := c.Login(cfg.Username, cfg.Password).Wait(); err != nil {
		return 0, unavailable("IMAP login", err)
	}
	if _, err := c.Select(cfg.Mailbox, nil).Wait(); err != nil {
		return 0, unavailable("select "+cfg.Mailbox, err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen, imap.FlagDeleted}}, nil).Wait()
	if err != nil {
		return 0, unavailable("IMAP search", err)
	}
	uids := data.AllUIDs()
	if len(uids) > imapBatch {
		uids = uids[:imapBatch]
	}
	ctx = auth.System(ctx, "mail:imap")
	section := &imap.FetchItemBodySection{Peek: true}
	marked := 0
	for _, uid := range uids {
		msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, RFC822Size: true,
			BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return marked, unavailable("IMAP fetch", err)
		}
		if len(msgs) == 0 {
			continue // expunged meanwhile
		}
		done := true
		if msgs[0].RFC822Size > m.max {
			m.log.Warn("support mail: IMAP message over the size cap left as read", "uid", uid, "size", msgs[0].RFC822Size)
		} else {
			_, err := m.Deliver(ctx, msgs[0].FindBodySection(section), Envelope{Transport: "imap"})
			switch kizuna.ErrorCode(err) {
			case "":
			case kizuna.EINVALID, kizuna.ETOOLARGE:
				m.log.Warn("support mail: unreadable IMAP message left as read", "uid", uid, "err", err)
			default:
				if ctx.Err() != nil {
					return marked, ctx.Err()
				}
				m.log.Error("support mail: IMAP message not stored; retried next poll", "uid", uid, "err", err)
				done = false
			}
		}
		if !done {
			continue
		}
		if err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
			Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			// Stored but not marked: the next poll finds a duplicate.
			return marked, unavailable("mark IMAP message seen", err)
		}
		marked++
	}
	_ = c.Logout().Wait()
	return marked, nil
}

func unavailable(what string, err error) error {
	var ie *imap.Error
	msg := what + " failed"
	if errors.As(err, &ie) {
		msg = fmt.Sprintf("%s failed: %s", what, ie.Text)
	}
	return &kizuna.Error{Code: kizuna.EUNAVAILABLE, Op: "mailbox.PollIMAP", Message: msg, Err: err}
}
