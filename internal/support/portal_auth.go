package support

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/jobs"
	"github.com/kizuna-oss/kizuna/internal/mail"
)

// PortalMailer sends one composed mail; *mail.Sender implements it.
type PortalMailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// PortalOptions tune a Portal. The zero value gives the defaults named on
// each field.
type PortalOptions struct {
	// BaseURL is the installation's public URL, for links in mail.
	BaseURL string
	// Mailer sends sign-in links and contact confirmations; nil logs a
	// warning instead (no link can then be used: it is never shown).
	Mailer PortalMailer
	// LinkTTL is how long a sign-in link works (default 15 minutes).
	LinkTTL time.Duration
	// SessionLifetime is a portal session's absolute lifetime (default 7
	// days); SessionIdle ends one unused for this long (default 24 hours).
	SessionLifetime time.Duration
	SessionIdle     time.Duration
	// Rate limits per Window (default 1 hour): sign-in links per email
	// (default 5) and per IP (default 20); contact-form tickets per email
	// (default 5) and per IP (default 10).
	Window              time.Duration
	MaxLinksPerEmail    int
	MaxLinksPerIP       int
	MaxContactsPerEmail int
	MaxContactsPerIP    int
	Logger              *slog.Logger
}

// Portal is the customer side of the desk: passwordless sign-in by a
// single-use link mailed to an address the customer is known by, the
// portal's own sessions, and the public contact form. Tokens and session
// ids are kept only as SHA-256 hex (migration 00012); a portal session
// yields an auth.Customer principal, which holds tickets.own and nothing
// else, so it can never act as staff.
//
// Mail goes out in the background (so that a known address does not
// answer more slowly than an unknown one); Wait returns when every mail
// started has been handed to the server or failed. The sign-in mail is
// deliberately not queued in a durable outbox like agents' replies: it
// carries the link's bearer token, which the database keeps only as a
// hash, and lives 15 minutes; a mail lost to a crash is asked for again.
type Portal struct {
	desk *Service
	db   *db.DB
	opts PortalOptions
	log  *slog.Logger
	mail sync.WaitGroup
}

// NewPortal returns the portal over the desk.
func NewPortal(desk *Service, opts PortalOptions) *Portal {
	def := func(v *int, n int) {
		if *v <= 0 {
			*v = n
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defD(&opts.LinkTTL, 15*time.Minute)
	defD(&opts.SessionLifetime, 7*24*time.Hour)
	defD(&opts.SessionIdle, 24*time.Hour)
	defD(&opts.Window, time.Hour)
	def(&opts.MaxLinksPerEmail, 5)
	def(&opts.MaxLinksPerIP, 20)
	def(&opts.MaxContactsPerEmail, 5)
	def(&opts.MaxContactsPerIP, 10)
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	p := &Portal{desk: desk, db: desk.db, opts: opts, log: opts.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p
}

// Wait blocks until every mail started so far has been sent or failed
// (tests, shutdown).
func (p *Portal) Wait() { p.mail.Wait() }

// Jobs returns the portal's background work: pruning used and expired
// links, ended sessions and old rate-limit counts every ten minutes.
func (p *Portal) Jobs() []jobs.Job {
	return []jobs.Job{{Name: "support.portal.prune", Every: 10 * time.Minute, Run: p.Prune}}
}

// Prune deletes expired links and sessions and counts older than the
// rate-limit window. No permission: it only forgets what has ended.
func (p *Portal) Prune(ctx context.Context) error {
	return p.db.WriteTx(ctx, func(tx *db.Tx) error {
		now := tx.NowMS()
		for _, q := range []struct {
			sql string
			arg int64
		}{
			{`DELETE FROM support_portal_links WHERE expires_at < $1`, now},
			{`DELETE FROM support_portal_sessions WHERE expires_at < $1 OR last_seen_at < $2`, now},
			{`DELETE FROM support_portal_requests WHERE at < $1`, now - p.opts.Window.Milliseconds()},
		} {
			args := []any{q.arg}
			if strings.Contains(q.sql, "$2") {
				args = append(args, now-p.opts.SessionIdle.Milliseconds())
			}
			if _, err := tx.ExecContext(ctx, q.sql, args...); err != nil {
				return fmt.Errorf("portal prune: %w", err)
			}
		}
		return nil
	})
}

// portalTokenBytes is the entropy of links, session ids and CSRF tokens.
const portalTokenBytes = 32

var portalTokenLen = base64.RawURLEncoding.EncodedLen(portalTokenBytes)

func portalToken() string {
	b := make([]byte, portalTokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how links and session ids are stored: a fast hash suffices
// for 256 random bits; it only keeps a copied database from holding live
// credentials.
func hashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ipUnit is what an IP limit counts: the address for IPv4, its /64 for
// IPv6 (one subscriber holds a whole /64).
func ipUnit(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		pfx, _ := addr.Prefix(64)
		return pfx.String()
	}
	return addr.String()
}

type limit struct {
	key string
	max int
}

// ThrottledError is the cause inside an ETOOMANY portal error.
type ThrottledError struct{ RetryAt time.Time }

func (e *ThrottledError) Error() string {
	return "throttled until " + e.RetryAt.UTC().Format(time.RFC3339)
}

// count refuses with ETOOMANY when a key has reached its limit in the
// window, and otherwise records one request against every key. Counting
// happens before anything is looked up, so that a known and an unknown
// address are limited alike.
func (p *Portal) count(ctx context.Context, tx *db.Tx, limits []limit) error {
	now := tx.NowMS()
	since := now - p.opts.Window.Milliseconds()
	for _, l := range limits {
		var at int64
		err := tx.QueryRowContext(ctx, `SELECT at FROM support_portal_requests WHERE key = $1 AND at > $2
			ORDER BY at DESC LIMIT 1 OFFSET $3`, l.key, since, l.max-1).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("portal rate limit: %w", err)
		}
		retry := msTime(at + p.opts.Window.Milliseconds())
		return &kizuna.Error{Code: kizuna.ETOOMANY, Message: "too many requests; please try again later",
			Err: &ThrottledError{RetryAt: retry}}
	}
	for _, l := range limits {
		if _, err := tx.ExecContext(ctx, `INSERT INTO support_portal_requests (key, at) VALUES ($1, $2)`, l.key, now); err != nil {
			return fmt.Errorf("portal rate limit: %w", err)
		}
	}
	return nil
}

// customerByEmail returns the canonical customer an email identity
// belongs to, or 0.
func customerByEmail(ctx context.Context, tx *db.Tx, email string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(c.merged_into, c.id) FROM identities i
		JOIN customers c ON c.id = i.customer_id WHERE i.kind = 'email' AND i.value = $1`, email).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// RequestLink mails a single-use sign-in link to email if it is a
// customer's address. The answer is the same whether or not it is (no
// account enumeration): nil, or ETOOMANY when the address or the IP has
// asked too often within the window, or EINVALID when email is not an
// address at all. Public.
func (p *Portal) RequestLink(ctx context.Context, email, ip, locale string) error {
	email, err := customer.NormalizeEmail(email)
	if err != nil {
		return kizuna.FieldError("email", "enter your email address")
	}
	token := portalToken()
	var found bool
	err = p.db.WriteTx(ctx, func(tx *db.Tx) error {
		found = false
		if err := p.count(ctx, tx, []limit{{"link-email:" + email, p.opts.MaxLinksPerEmail}, {"link-ip:" + ipUnit(ip), p.opts.MaxLinksPerIP}}); err != nil {
			return err
		}
		cid, err := customerByEmail(ctx, tx, email)
		if err != nil || cid == 0 {
			return err
		}
		now := tx.NowMS()
		if _, err := tx.ExecContext(ctx, `INSERT INTO support_portal_links (token_hash, customer_id, email, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, hashToken(token), cid, email, now, now+p.opts.LinkTTL.Milliseconds()); err != nil {
			return fmt.Errorf("portal link: %w", err)
		}
		found = true
		return nil
	})
	if err != nil {
		if kizuna.ErrorCode(err) == kizuna.ETOOMANY {
			return err
		}
		return wrapInternal("portal link", err)
	}
	if found {
		p.send(ctx, composeLink(locale, email, p.opts.BaseURL+"/portal/login/"+token, p.opts.LinkTTL))
	}
	return nil
}

// send mails m in the background; a failure is logged (the visitor sees
// the same answer either way).
func (p *Portal) send(ctx context.Context, m mail.Message) {
	if p.opts.Mailer == nil {
		p.log.Warn("support portal: no mailer configured; mail not sent", "subject", m.Subject)
		return
	}
	ctx = context.WithoutCancel(ctx)
	p.mail.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if _, err := p.opts.Mailer.Send(ctx, m); err != nil {
			p.log.Warn("support portal: sending mail", "subject", m.Subject, "err", err)
		}
	})
}

func wrapInternal(op string, err error) error {
	if kizuna.ErrorCode(err) != kizuna.EINTERNAL {
		return err
	}
	return &kizuna.Error{Code: kizuna.EINTERNAL, Op: op, Message: "internal error", Err: err}
}

var errBadLink = &kizuna.Error{Code: kizuna.EUNAUTHORIZED,
	Message: "this sign-in link has expired or has already been used; ask for a new one"}

// CheckLink reports whether a sign-in link can still be used, without
// using it (the confirmation page). Errors: EUNAUTHORIZED. Public.
func (p *Portal) CheckLink(ctx context.Context, token string) error {
	if len(token) != portalTokenLen {
		return errBadLink
	}
	var n int
	err := p.db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM support_portal_links
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`, hashToken(token), p.db.Now().UnixMilli()).Scan(&n)
	if err != nil {
		return wrapInternal("portal check link", err)
	}
	if n == 0 {
		return errBadLink
	}
	return nil
}

// PortalSession is a customer signed in to the portal. The cookie holds a
// random token; the database keeps its SHA-256 (ID).
type PortalSession struct {
	ID         string
	CustomerID int64 // canonical (merges followed)
	// CSRFToken is embedded in every portal form and checked on every
	// state-changing portal request.
	CSRFToken     string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time
	IdleExpiresAt time.Time
}

// Redeem uses a sign-in link exactly once and starts a new portal session;
// it returns the session token for the cookie. Errors: EUNAUTHORIZED (an
// unknown, used or expired link). Public: the link is the credential.
func (p *Portal) Redeem(ctx context.Context, token, ip, userAgent string) (string, *PortalSession, error) {
	if len(token) != portalTokenLen {
		return "", nil, errBadLink
	}
	sessToken := portalToken()
	var sess *PortalSession
	err := p.db.WriteTx(ctx, func(tx *db.Tx) error {
		now := tx.NowMS()
		var cid int64
		// One UPDATE both checks and uses the link: two concurrent
		// redemptions cannot both see it unused.
		err := tx.QueryRowContext(ctx, `UPDATE support_portal_links SET used_at = $1
			WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING customer_id`,
			now, hashToken(token)).Scan(&cid)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		root, err := rootCustomer(ctx, tx, cid)
		if err != nil {
			return err
		}
		sess = &PortalSession{ID: hashToken(sessToken), CustomerID: root, CSRFToken: portalToken(),
			CreatedAt: msTime(now), LastSeenAt: msTime(now), ExpiresAt: msTime(now + p.opts.SessionLifetime.Milliseconds())}
		sess.IdleExpiresAt = p.idleEnd(sess)
		_, err = tx.ExecContext(ctx, `INSERT INTO support_portal_sessions
			(id_hash, customer_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
			VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`, sess.ID, root, sess.CSRFToken, now,
			sess.ExpiresAt.UnixMilli(), truncate(ip, 64), truncate(userAgent, 512))
		return err
	})
	if err != nil {
		return "", nil, wrapInternal("portal redeem", err)
	}
	return sessToken, sess, nil
}

func truncate(s string, n int) string {
	for len(s) > n {
		r := []rune(s)
		s = string(r[:len(r)-1])
	}
	return s
}

func (p *Portal) idleEnd(s *PortalSession) time.Time {
	idle := s.LastSeenAt.Add(p.opts.SessionIdle)
	if idle.After(s.ExpiresAt) {
		return s.ExpiresAt
	}
	return idle
}

var errNoPortalSession = &kizuna.Error{Code: kizuna.EUNAUTHORIZED, Message: "please sign in to the support portal"}

// LookupSession returns the portal session a cookie token names; the web
// layer acts as auth.Customer(ctx, s.CustomerID, ip). Errors:
// EUNAUTHORIZED for an unknown token or an ended session (then deleted).
// Public: the token is the credential.
func (p *Portal) LookupSession(ctx context.Context, token string) (*PortalSession, error) {
	if len(token) != portalTokenLen {
		return nil, errNoPortalSession
	}
	id := hashToken(token)
	var s PortalSession
	var created, seen, expires int64
	err := p.db.Reader().QueryRowContext(ctx, `SELECT COALESCE(c.merged_into, c.id), s.csrf_token, s.created_at,
		s.last_seen_at, s.expires_at FROM support_portal_sessions s JOIN customers c ON c.id = s.customer_id
		WHERE s.id_hash = $1`, id).Scan(&s.CustomerID, &s.CSRFToken, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoPortalSession
	}
	if err != nil {
		return nil, wrapInternal("portal session", err)
	}
	s.ID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt = id, msTime(created), msTime(seen), msTime(expires)
	s.IdleExpiresAt = p.idleEnd(&s)
	now := p.db.Now()
	if !now.Before(s.IdleExpiresAt) {
		if err := p.deleteSession(ctx, id); err != nil {
			p.log.Warn("support portal: delete ended session", "err", err)
		}
		return nil, errNoPortalSession
	}
	if now.Sub(s.LastSeenAt) >= time.Minute {
		err := p.db.WriteTx(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE support_portal_sessions SET last_seen_at = $1 WHERE id_hash = $2`, tx.NowMS(), id)
			return err
		})
		if err != nil {
			p.log.Warn("support portal: touch session", "err", err)
		} else {
			s.LastSeenAt = now
			s.IdleExpiresAt = p.idleEnd(&s)
		}
	}
	return &s, nil
}

func (p *Portal) deleteSession(ctx context.Context, id string) error {
	return p.db.WriteTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM support_portal_sessions WHERE id_hash = $1`, id)
		return err
	})
}

// Logout ends the portal session a token names; an ended one is no
// error. Public: the token is the credential.
func (p *Portal) Logout(ctx context.Context, token string) error {
	if len(token) != portalTokenLen {
		return nil
	}
	return wrapInternal("portal logout", p.deleteSession(ctx, hashToken(token)))
}
