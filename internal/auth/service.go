package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Options tune a Service. The zero value gives the production defaults.
type Options struct {
	// Hash is the argon2id cost for new password hashes; zero means
	// DefaultHashParams. Tests use TestHashParams.
	Hash HashParams
	// MaxConcurrentHashes bounds how many password hashes run at once (each
	// holds Hash.Memory); further logins wait. 0 means GOMAXPROCS.
	MaxConcurrentHashes int

	// SessionLifetime is the absolute lifetime of a session (default 12h):
	// after it the user logs in again however active they were.
	SessionLifetime time.Duration
	// SessionIdle ends a session nobody used for this long (default 2h).
	SessionIdle time.Duration

	// MaxFailuresPerEmail and MaxFailuresPerIP are the failed logins allowed
	// within FailureWindow before further attempts are refused with
	// ETOOMANY (defaults 5, 20 and 15 minutes).
	MaxFailuresPerEmail int
	MaxFailuresPerIP    int
	FailureWindow       time.Duration

	// KeyCacheTTL is how long a verified write or API key is trusted from
	// memory without asking the database (default 30s). A revoked key
	// therefore stops working on other nodes within this time; on the node
	// that revoked it, at once.
	KeyCacheTTL time.Duration

	// Now replaces the clock (tests). Nil means the database's clock.
	Now func() time.Time
	// Logger receives failures of best-effort bookkeeping (last_used_at,
	// pruning). Nil means slog.Default().
	Logger *slog.Logger
}

// DefaultKeyCacheTTL is how long a node trusts a verified key from memory
// unless Options.KeyCacheTTL says otherwise: the longest a revoked key keeps
// working on a node other than the one that revoked it.
const DefaultKeyCacheTTL = 30 * time.Second

const (
	// touchInterval is the least time between two writes of a session's
	// last_seen_at or a key's last_used_at: a request per second would
	// otherwise be a write per second.
	touchInterval = time.Minute
	// pruneInterval is the least time between two sweeps of expired
	// sessions and old login failures made by one process.
	pruneInterval = 10 * time.Minute
)

// Service is the accounts and security capability: users, passwords,
// sessions, login throttling, write and API keys, and the audit log.
// It keeps no state that must agree between nodes: throttling counts live
// in the database, and the key cache only ever shortens to KeyCacheTTL the
// delay before a revocation is seen.
//
// How the other layers use it:
//   - Web login: Login(ctx, email, password, ip, userAgent) returns the
//     token for an HttpOnly, SameSite=Lax cookie. On each request
//     LookupSession(ctx, token) gives the principal to put in ctx with
//     WithPrincipal (after setting Principal.IP); Logout(ctx, token) at
//     logout. State-changing requests check ValidCSRF(session, submitted).
//   - JSON API: AuthenticateAPIKey(ctx, secret) gives the principal, from
//     "Authorization: Bearer kza_…".
//   - Ingestion: AuthenticateWriteKey(ctx, secret) gives the key id, from
//     HTTP Basic with the key as user name (Segment's scheme).
//   - Settings pages: the user, key and audit methods, each of which calls
//     Require itself.
//   - Other capabilities record security events (merge, unmerge, export)
//     with AuditTx inside the transaction that makes the change.
type Service struct {
	db   *db.DB
	opts Options
	now  func() time.Time
	log  *slog.Logger

	hashSlots chan struct{}
	dummyOnce sync.Once
	dummyHash string

	keys keyCache

	pruneMu   sync.Mutex
	lastPrune time.Time
}

// NewService returns the accounts service over d.
func NewService(d *db.DB, opts Options) *Service {
	if opts.Hash == (HashParams{}) {
		opts.Hash = DefaultHashParams
	}
	if opts.Hash.SaltLen == 0 {
		opts.Hash.SaltLen = 16
	}
	if opts.Hash.KeyLen == 0 {
		opts.Hash.KeyLen = 32
	}
	if opts.MaxConcurrentHashes <= 0 {
		opts.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if opts.SessionLifetime <= 0 {
		opts.SessionLifetime = 12 * time.Hour
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 2 * time.Hour
	}
	if opts.MaxFailuresPerEmail <= 0 {
		opts.MaxFailuresPerEmail = 5
	}
	if opts.MaxFailuresPerIP <= 0 {
		opts.MaxFailuresPerIP = 20
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = 15 * time.Minute
	}
	if opts.KeyCacheTTL <= 0 {
		opts.KeyCacheTTL = DefaultKeyCacheTTL
	}
	s := &Service{db: d, opts: opts, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = d.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.hashSlots = make(chan struct{}, opts.MaxConcurrentHashes)
	s.keys.entries = make(map[string]*keyCacheEntry)
	return s
}

// hash runs fn (an argon2id hash or verification) once a slot is free.
func (s *Service) hash(ctx context.Context, fn func()) error {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashSlots }()
	fn()
	return nil
}

func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	var h string
	var err error
	if werr := s.hash(ctx, func() { h, err = HashPassword(password, s.opts.Hash) }); werr != nil {
		return "", werr
	}
	return h, err
}

func (s *Service) verifyPassword(ctx context.Context, password, encoded string) (bool, error) {
	var ok bool
	var err error
	if werr := s.hash(ctx, func() { ok, err = VerifyPassword(password, encoded) }); werr != nil {
		return false, werr
	}
	return ok, err
}

// dummy returns a hash of a random password under the current parameters.
// Login verifies against it when the email is unknown, so that an unknown
// email costs as much time as a wrong password and timing does not reveal
// which emails have accounts.
func (s *Service) dummy() string {
	s.dummyOnce.Do(func() {
		h, err := HashPassword(rand.Text(), s.opts.Hash)
		if err != nil {
			// crypto/rand does not fail on supported platforms; keep a
			// well-formed hash so that Login still spends the time.
			h = fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
				s.opts.Hash.Memory, s.opts.Hash.Time, s.opts.Hash.Threads)
		}
		s.dummyHash = h
	})
	return s.dummyHash
}

// sha256Hex is how session tokens and key secrets are stored. A fast hash
// is right for them (unlike passwords): they are 160+ random bits, so there
// is nothing to guess, and the hash only keeps a copied database from
// holding live credentials.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func internalError(op string, err error) error {
	return &kizuna.Error{Code: kizuna.EINTERNAL, Op: op, Err: err}
}

// maybePrune removes expired sessions and login failures older than the
// window, at most once per pruneInterval per process. Failure only logs:
// the rows it would have removed are already ignored by every query.
func (s *Service) maybePrune(ctx context.Context) {
	now := s.now()
	s.pruneMu.Lock()
	if now.Sub(s.lastPrune) < pruneInterval {
		s.pruneMu.Unlock()
		return
	}
	s.lastPrune = now
	s.pruneMu.Unlock()
	if err := s.Prune(ctx); err != nil {
		s.log.WarnContext(ctx, "auth: prune", "err", err)
	}
}

// Prune deletes expired sessions and login failures older than the
// throttling window. Login calls it now and then; a scheduled job may call
// it too. It needs no permission: it only forgets what is already void.
func (s *Service) Prune(ctx context.Context) error {
	now := s.now()
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
			ms(now), ms(now.Add(-s.opts.SessionIdle))); err != nil {
			return internalError("auth.Prune", err)
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM login_failures WHERE at <= $1`, ms(now.Add(-s.opts.FailureWindow))); err != nil {
			return internalError("auth.Prune", err)
		}
		return nil
	})
}
