package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Session is a logged-in browser. The cookie holds a random token that is
// never stored: the database keeps only its SHA-256, so a copy of the
// database does not hand out live sessions.
type Session struct {
	// ID is the SHA-256 (hex) of the token: safe to show, log and compare.
	ID     string `json:"id"`
	UserID int64  `json:"user_id"`
	// CSRFToken is the secret the web layer embeds in every form of this
	// session and checks with ValidCSRF on every state-changing request.
	CSRFToken  string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is the absolute end; IdleExpiresAt the end if unused.
	ExpiresAt     time.Time `json:"expires_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	IP            string    `json:"ip,omitempty"`
	UserAgent     string    `json:"user_agent,omitempty"`
}

// tokenBytes is the entropy of session tokens and CSRF tokens.
const tokenBytes = 32

// sessionTokenLen is the length of a base64url session token; anything
// else is rejected without a query.
var sessionTokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

func randomToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidCSRF reports, in constant time, whether token (from a submitted form
// field or an X-CSRF-Token header) is the session's CSRF token.
//
// How the web layer uses it: render Session.CSRFToken into a hidden field
// of every form (and a <meta> for scripts); in a middleware, for every
// request whose method is not GET, HEAD or OPTIONS and that is
// authenticated by the session cookie, reject with 403 unless ValidCSRF
// holds. Requests authenticated by an API key carry no cookie and need no
// token. The login form has no session yet: it relies on the SameSite
// cookie and an Origin check instead. The session cookie itself must be
// HttpOnly, Secure when served over TLS, SameSite=Lax, Path=/.
func ValidCSRF(s *Session, token string) bool {
	if s == nil || s.CSRFToken == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(s.CSRFToken), []byte(token)) == 1
}

// ThrottleError is the cause inside an ETOOMANY login error: the time at
// which the caller may try again (for a Retry-After header).
type ThrottleError struct{ RetryAt time.Time }

func (e *ThrottleError) Error() string {
	return "login throttled until " + e.RetryAt.UTC().Format(time.RFC3339)
}

// RetryAt returns when a throttled caller may try again, if err is a
// throttling error.
func RetryAt(err error) (time.Time, bool) {
	var t *ThrottleError
	if errors.As(err, &t) {
		return t.RetryAt, true
	}
	return time.Time{}, false
}

func throttled(now, retryAt time.Time) error {
	mins := int(math.Ceil(retryAt.Sub(now).Minutes()))
	if mins < 1 {
		mins = 1
	}
	unit := "minutes"
	if mins == 1 {
		unit = "minute"
	}
	return &kizuna.Error{Code: kizuna.ETOOMANY,
		Message: fmt.Sprintf("too many failed login attempts; try again in %d %s (after %s UTC)",
			mins, unit, retryAt.UTC().Format("15:04")),
		Err: &ThrottleError{RetryAt: retryAt}}
}

var errBadLogin = &kizuna.Error{Code: kizuna.EUNAUTHORIZED, Message: "email or password is wrong"}

func throttleKeys(email, ip string) []string {
	keys := []string{"email:" + email}
	if k := ipKey(ip); k != "" {
		keys = append(keys, "ip:"+k)
	}
	return keys
}

// ipKey is the unit an IP throttle counts: the address for IPv4, its /64
// for IPv6 (one subscriber usually holds a whole /64, so counting single
// addresses would let one client rotate past the limit). Unparseable
// input (which the web layer should not pass) is counted as given.
func ipKey(ip string) string {
	if ip == "" {
		return ""
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(ip)
		if err2 != nil {
			return ip
		}
		addr = ap.Addr()
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (s *Service) limitOf(key string) int {
	if len(key) > 3 && key[:3] == "ip:" {
		return s.opts.MaxFailuresPerIP
	}
	return s.opts.MaxFailuresPerEmail
}

// attempt is a login attempt recorded as a failure before the password is
// checked, and forgotten if it succeeds. Counting first means parallel
// guesses cannot all slip in under the limit while the (slow) hashes run:
// on SQLite the check and the insert are one exclusive transaction; on
// Postgres concurrent attempts may overshoot by at most the number running
// at the same instant.
type attempt struct{ ids []int64 }

// recordAttempt checks every key's failures in the window and, unless one
// is at its limit, records this attempt against all of them. A throttled
// attempt is not recorded, so the block lifts one window after the last
// real guess. It returns the retry time when throttled.
func (s *Service) recordAttempt(ctx context.Context, now time.Time, keys []string) (*attempt, time.Time, error) {
	att := &attempt{}
	var retryAt time.Time
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		att.ids, retryAt = att.ids[:0], time.Time{}
		since := ms(now.Add(-s.opts.FailureWindow))
		for _, k := range keys {
			// The limit-th newest failure in the window: while it exists the
			// key is at its limit, and when it ages out the count drops
			// below the limit, so it also says when to retry.
			var at int64
			err := tx.QueryRowContext(ctx, `SELECT at FROM login_failures
				WHERE key = $1 AND at > $2 ORDER BY at DESC LIMIT 1 OFFSET $3`,
				k, since, s.limitOf(k)-1).Scan(&at)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return internalError("auth.recordAttempt", err)
			}
			if t := fromMS(at).Add(s.opts.FailureWindow); t.After(retryAt) {
				retryAt = t
			}
		}
		if !retryAt.IsZero() {
			return nil
		}
		for _, k := range keys {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO login_failures (key, at) VALUES ($1, $2) RETURNING id`,
				k, ms(now)).Scan(&id); err != nil {
				return internalError("auth.recordAttempt", err)
			}
			att.ids = append(att.ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return att, retryAt, nil
}

// forget removes the attempt's own rows and, as the credentials were
// right, the email's earlier failures.
func (a *attempt) forget(ctx context.Context, tx *db.Tx, email string) error {
	for _, id := range a.ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE id = $1`, id); err != nil {
			return internalError("auth.forget", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, "email:"+email); err != nil {
		return internalError("auth.forget", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Login checks an email and password and starts a new session. It returns
// the token for the session cookie (shown only here), the session and the
// user. No permission is needed: this is how one gets a principal.
//
// Errors: EINVALID when email or password is empty; EUNAUTHORIZED "email or
// password is wrong" for an unknown email or a wrong password alike (an
// unknown email costs the same hash, so timing does not tell them apart),
// and for a disabled account (only said when the password is right);
// ETOOMANY with a RetryAt when the email has had MaxFailuresPerEmail or the
// IP MaxFailuresPerIP failures within FailureWindow. Every outcome is
// audited.
func (s *Service) Login(ctx context.Context, email, password, ip, userAgent string) (string, *Session, *User, error) {
	email = NormalizeEmail(email)
	if email == "" {
		return "", nil, nil, kizuna.FieldError("email", "enter your email address")
	}
	if password == "" {
		return "", nil, nil, kizuna.FieldError("password", "enter your password")
	}
	email, ip, userAgent = truncate(email, 320), truncate(ip, 64), truncate(userAgent, 512)
	s.maybePrune(ctx)
	now := s.now()
	anon := actor{Type: ActorAnonymous, Label: email, IP: ip}

	att, retryAt, err := s.recordAttempt(ctx, now, throttleKeys(email, ip))
	if err != nil {
		return "", nil, nil, err
	}
	if !retryAt.IsZero() {
		err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
			return auditTx(ctx, tx, now, anon, ActionLoginThrottled, TargetUser, "",
				map[string]any{"email": email, "retry_at": retryAt.UTC().Format(time.RFC3339)})
		})
		if err != nil {
			return "", nil, nil, err
		}
		return "", nil, nil, throttled(now, retryAt)
	}

	var hash string
	u, err := scanUser(s.db.Reader().QueryRowContext(ctx,
		`SELECT `+userColumns+`, password_hash FROM users WHERE email = $1`, email), &hash)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil, internalError("auth.Login", err)
	}
	against := hash
	if !found || len(password) > maxPasswordBytes {
		// Still spend a hash: see dummy. (An over-long password cannot be
		// anyone's, as CheckPassword refuses it, and must not make a hash
		// cost more.)
		against, password = s.dummy(), "x"
	}
	match, err := s.verifyPassword(ctx, password, against)
	if err != nil {
		return "", nil, nil, internalError("auth.Login", err)
	}
	match = match && found && against == hash

	if !match {
		detail := map[string]any{"email": email, "reason": "unknown_email"}
		target := ""
		if found {
			detail["reason"], target = "wrong_password", strconv.FormatInt(u.ID, 10)
		}
		err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
			return auditTx(ctx, tx, now, anon, ActionLoginFailed, TargetUser, target, detail)
		})
		if err != nil {
			return "", nil, nil, err
		}
		return "", nil, nil, errBadLogin
	}

	userActor := actorOfPrincipal(u.Principal())
	userActor.IP = ip
	if u.Disabled() {
		err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
			if err := att.forget(ctx, tx, email); err != nil {
				return err
			}
			return auditTx(ctx, tx, now, userActor, ActionLoginFailed, TargetUser, strconv.FormatInt(u.ID, 10),
				map[string]any{"email": email, "reason": "disabled"})
		})
		if err != nil {
			return "", nil, nil, err
		}
		return "", nil, nil, &kizuna.Error{Code: kizuna.EUNAUTHORIZED,
			Message: "this account is disabled; ask an administrator"}
	}

	// Parameters raised since this password was set: store a new hash now,
	// while the plain password is at hand.
	var rehash string
	if needsRehash(hash, s.opts.Hash) {
		if rehash, err = s.hashPassword(ctx, password); err != nil {
			return "", nil, nil, internalError("auth.Login", err)
		}
	}

	token := randomToken()
	sess := &Session{
		ID: sha256Hex(token), UserID: u.ID, CSRFToken: randomToken(),
		CreatedAt: fromMS(ms(now)), LastSeenAt: fromMS(ms(now)),
		ExpiresAt: fromMS(ms(now.Add(s.opts.SessionLifetime))),
		IP:        ip, UserAgent: userAgent,
	}
	sess.IdleExpiresAt = s.idleEnd(sess)
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		if err := att.forget(ctx, tx, email); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions
			(id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
			VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`,
			sess.ID, u.ID, sess.CSRFToken, ms(now), ms(sess.ExpiresAt), ip, userAgent); err != nil {
			return internalError("auth.Login", err)
		}
		if rehash != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`,
				rehash, u.ID, hash); err != nil {
				return internalError("auth.Login", err)
			}
		}
		return auditTx(ctx, tx, now, userActor, ActionLoginOK, TargetSession, sess.ID[:16],
			map[string]any{"user_agent": userAgent})
	})
	if err != nil {
		return "", nil, nil, err
	}
	return token, sess, u, nil
}

func (s *Service) idleEnd(sess *Session) time.Time {
	idle := sess.LastSeenAt.Add(s.opts.SessionIdle)
	if idle.After(sess.ExpiresAt) {
		return sess.ExpiresAt
	}
	return idle
}

var errNoSession = &kizuna.Error{Code: kizuna.EUNAUTHORIZED, Message: "you are not logged in"}

// LookupSession returns the session a cookie token names, its user and the
// principal to put in the request context (the web layer sets
// Principal.IP to the request's address). No permission is needed.
//
// Errors: EUNAUTHORIZED when the token is unknown, the session has passed
// its absolute or idle expiry (it is then deleted), or the user is
// disabled. last_seen_at is written at most once a minute per session.
func (s *Service) LookupSession(ctx context.Context, token string) (*Session, *User, Principal, error) {
	if len(token) != sessionTokenLen {
		return nil, nil, Principal{}, errNoSession
	}
	id := sha256Hex(token)
	var sess Session
	var created, lastSeen, expires int64
	u, err := scanUser(s.db.Reader().QueryRowContext(ctx, `SELECT u.id, u.email, u.name, u.role, u.locale,
			u.disabled_at, u.password_changed_at, u.created_at, u.updated_at,
			s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1`, id),
		&sess.CSRFToken, &created, &lastSeen, &expires, &sess.IP, &sess.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, Principal{}, errNoSession
	}
	if err != nil {
		return nil, nil, Principal{}, internalError("auth.LookupSession", err)
	}
	sess.ID, sess.UserID = id, u.ID
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMS(created), fromMS(lastSeen), fromMS(expires)
	sess.IdleExpiresAt = s.idleEnd(&sess)
	now := s.now()
	if !now.Before(sess.IdleExpiresAt) || u.Disabled() {
		if err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, id)
			return err
		}); err != nil {
			s.log.WarnContext(ctx, "auth: delete expired session", "err", err)
		}
		if u.Disabled() {
			return nil, nil, Principal{}, errNoSession
		}
		return nil, nil, Principal{}, &kizuna.Error{Code: kizuna.EUNAUTHORIZED,
			Message: "your session has expired; please log in again"}
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval {
		err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1
				WHERE id_hash = $2 AND last_seen_at < $1`, ms(now), id)
			return err
		})
		if err != nil {
			// The session stays valid; at worst it idles out a minute early.
			s.log.WarnContext(ctx, "auth: touch session", "err", err)
		} else {
			sess.LastSeenAt = fromMS(ms(now))
			sess.IdleExpiresAt = s.idleEnd(&sess)
		}
	}
	return &sess, u, u.Principal(), nil
}

// Logout ends the session a token names. Logging out of a session that has
// already ended is not an error. No permission is needed: holding the token
// is the proof.
func (s *Service) Logout(ctx context.Context, token string) error {
	if len(token) != sessionTokenLen {
		return nil
	}
	id := sha256Hex(token)
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		var userID int64
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE id_hash = $1 RETURNING user_id`, id).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return internalError("auth.Logout", err)
		}
		a := actor{Type: string(PrincipalUser), ID: userID}
		if p, ok := PrincipalFrom(ctx); ok && p.Kind == PrincipalUser && p.ID == userID {
			a = actorOfPrincipal(p)
		} else if err := tx.QueryRowContext(ctx, `SELECT email FROM users WHERE id = $1`, userID).Scan(&a.Label); err != nil {
			return internalError("auth.Logout", err)
		}
		return auditTx(ctx, tx, s.now(), a, ActionLogout, TargetSession, id[:16], nil)
	})
}
