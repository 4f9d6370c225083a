package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// KeyKind says what a key is for.
type KeyKind string

const (
	// KeyWrite authenticates Segment-style event ingestion (HTTP Basic, the
	// key as user name). It carries no role: it may only send events.
	KeyWrite KeyKind = "write"
	// KeyAPI authenticates the JSON API with the role it was given.
	KeyAPI KeyKind = "api"
)

// Key is a write or API key as listed; the secret is shown only once, by
// CreateKey, and only its SHA-256 is stored.
type Key struct {
	ID         int64      `json:"id"`
	Kind       KeyKind    `json:"kind"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // e.g. "kzw_ab12cd34": identifies the key in lists and logs
	Role       Role       `json:"role,omitempty"`
	CreatedBy  int64      `json:"created_by,omitempty"` // user id; 0 when made by the CLI
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Revoked reports whether the key no longer authenticates.
func (k *Key) Revoked() bool { return k.RevokedAt != nil }

// Secret layout: <tag>_<id>_<random>, e.g. kzw_ab12cd34_<32 chars>. The tag
// says the kind (and lets secret scanners recognise a leaked key), the id
// is the stored, unique, non-secret prefix used to find the row, and the
// random part carries 160 bits. Lower-case base32 keeps the secret free of
// ':' (HTTP Basic), '_' (our separator) and characters that URL- or
// shell-quoting would mangle.
const (
	keyIDChars     = 8  // 40 bits: collisions are retried
	keyRandomChars = 32 // 160 bits
	keyPrefixLen   = 4 + keyIDChars
	keySecretLen   = keyPrefixLen + 1 + keyRandomChars
	maxKeyName     = 100
)

var keyTags = map[KeyKind]string{KeyWrite: "kzw_", KeyAPI: "kza_"}

var base32Lower = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomBase32(chars int) string {
	b := make([]byte, chars*5/8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base32Lower.EncodeToString(b)
}

// parseSecret returns the stored prefix of a well-formed secret of kind.
func parseSecret(secret string, kind KeyKind) (string, bool) {
	if len(secret) != keySecretLen || !strings.HasPrefix(secret, keyTags[kind]) || secret[keyPrefixLen] != '_' {
		return "", false
	}
	for i := 4; i < len(secret); i++ {
		c := secret[i]
		if i == keyPrefixLen {
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return "", false
		}
	}
	return secret[:keyPrefixLen], true
}

// CreateKey makes a key and returns it with its secret, which is not
// stored and cannot be shown again. API keys need a role; write keys must
// not have one. Errors: EINVALID (field kind, name or role). [keys.manage]
func (s *Service) CreateKey(ctx context.Context, kind KeyKind, name string, role Role) (*Key, string, error) {
	if err := Require(ctx, PermKeysManage); err != nil {
		return nil, "", err
	}
	tag, ok := keyTags[kind]
	if !ok {
		return nil, "", kizuna.FieldError("kind", "unknown key kind %q (want write or api)", kind)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, "", kizuna.FieldError("name", "a key needs a name saying who uses it")
	}
	if utf8.RuneCountInString(name) > maxKeyName || !utf8.ValidString(name) {
		return nil, "", kizuna.FieldError("name", "the name must be valid text of at most %d characters", maxKeyName)
	}
	switch kind {
	case KeyWrite:
		if role != "" {
			return nil, "", kizuna.FieldError("role", "write keys have no role: they can only send events")
		}
	case KeyAPI:
		if role == "" {
			return nil, "", kizuna.FieldError("role", "an API key needs a role (admin, manager, agent or viewer)")
		}
		var err error
		if role, err = ParseRole(string(role)); err != nil {
			return nil, "", err
		}
	}
	var createdBy any
	if p, ok := PrincipalFrom(ctx); ok && p.Kind == PrincipalUser {
		createdBy = p.ID
	}
	var key *Key
	var secret string
	for try := 0; ; try++ {
		prefix := tag + randomBase32(keyIDChars)
		secret = prefix + "_" + randomBase32(keyRandomChars)
		err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
			now := s.now()
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO api_keys
				(kind, name, prefix, secret_hash, role, created_by, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
				string(kind), name, prefix, sha256Hex(secret), string(role), createdBy, ms(now)).Scan(&id); err != nil {
				return err
			}
			key = &Key{ID: id, Kind: kind, Name: name, Prefix: prefix, Role: role, CreatedAt: fromMS(ms(now))}
			if c, ok := createdBy.(int64); ok {
				key.CreatedBy = c
			}
			return s.AuditTx(ctx, tx, ActionKeyCreated, TargetKey, strconv.FormatInt(id, 10),
				map[string]any{"kind": string(kind), "name": name, "role": string(role), "prefix": prefix})
		})
		if err == nil {
			return key, secret, nil
		}
		// A prefix collision (1 in 2^40 per pair) is retried with a new one.
		if !db.IsUniqueViolation(err) || try == 2 {
			return nil, "", internalError("auth.CreateKey", err)
		}
	}
}

const keyColumns = `id, kind, name, prefix, role, created_by, created_at, revoked_at, last_used_at`

func scanKey(r scanner) (*Key, error) {
	var k Key
	var createdBy, revoked, lastUsed sql.NullInt64
	var created int64
	if err := r.Scan(&k.ID, &k.Kind, &k.Name, &k.Prefix, &k.Role, &createdBy, &created, &revoked, &lastUsed); err != nil {
		return nil, err
	}
	k.CreatedBy, k.CreatedAt = createdBy.Int64, fromMS(created)
	if revoked.Valid {
		t := fromMS(revoked.Int64)
		k.RevokedAt = &t
	}
	if lastUsed.Valid {
		t := fromMS(lastUsed.Int64)
		k.LastUsedAt = &t
	}
	return &k, nil
}

// ListKeys returns every key, revoked ones included, newest first.
// [keys.manage]
func (s *Service) ListKeys(ctx context.Context) ([]Key, error) {
	if err := Require(ctx, PermKeysManage); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY id DESC`)
	if err != nil {
		return nil, internalError("auth.ListKeys", err)
	}
	defer rows.Close()
	keys := []Key{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, internalError("auth.ListKeys", err)
		}
		keys = append(keys, *k)
	}
	if err := rows.Err(); err != nil {
		return nil, internalError("auth.ListKeys", err)
	}
	return keys, nil
}

// RevokeKey stops a key from authenticating: at once on this node, and on
// other nodes once their cache entry ages out (Options.KeyCacheTTL).
// Revoking a revoked key is a no-op. ENOTFOUND if there is no such key.
// [keys.manage]
func (s *Service) RevokeKey(ctx context.Context, id int64) error {
	if err := Require(ctx, PermKeysManage); err != nil {
		return err
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		k, err := scanKey(tx.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = $1
			WHERE id = $2 AND revoked_at IS NULL RETURNING `+keyColumns, ms(s.now()), id))
		if errors.Is(err, sql.ErrNoRows) {
			var exists int
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE id = $1`, id).Scan(&exists)
			if err != nil {
				return internalError("auth.RevokeKey", err)
			}
			if exists == 0 {
				return kizuna.Errorf(kizuna.ENOTFOUND, "key %d does not exist", id)
			}
			return nil
		}
		if err != nil {
			return internalError("auth.RevokeKey", err)
		}
		return s.AuditTx(ctx, tx, ActionKeyRevoked, TargetKey, strconv.FormatInt(id, 10),
			map[string]any{"kind": string(k.Kind), "name": k.Name, "prefix": k.Prefix})
	})
	if err != nil {
		return err
	}
	s.keys.evict(id)
	return nil
}

// keyCache remembers verified secrets for KeyCacheTTL, keyed by their
// SHA-256, so that the ingestion hot path (thousands of requests a second)
// does not query the database per request. Only valid keys are cached, so
// its size is bounded by the number of keys in use, not by what clients
// send.
type keyCache struct {
	mu      sync.RWMutex
	entries map[string]*keyCacheEntry
}

type keyCacheEntry struct {
	keyID      int64
	principal  Principal
	verifiedAt time.Time
	touchedAt  time.Time // last_used_at as last written or read
}

func (c *keyCache) evict(keyID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.entries {
		if e.keyID == keyID {
			delete(c.entries, h)
		}
	}
}

var errBadKey = &kizuna.Error{Code: kizuna.EUNAUTHORIZED, Message: "unknown or malformed key"}

// AuthenticateWriteKey returns the id of the write key whose secret this
// is. EUNAUTHORIZED for an unknown, malformed, revoked or non-write key.
// Safe for the hot path: see keyCache. No permission is needed.
func (s *Service) AuthenticateWriteKey(ctx context.Context, secret string) (int64, error) {
	e, err := s.authenticateKey(ctx, secret, KeyWrite)
	if err != nil {
		return 0, err
	}
	return e.keyID, nil
}

// AuthenticateAPIKey returns the principal of the API key whose secret
// this is (Kind PrincipalAPIKey, the key's role, its name as label; the
// caller sets IP). EUNAUTHORIZED for an unknown, malformed, revoked or
// non-API key. No permission is needed.
func (s *Service) AuthenticateAPIKey(ctx context.Context, secret string) (Principal, error) {
	e, err := s.authenticateKey(ctx, secret, KeyAPI)
	if err != nil {
		return Principal{}, err
	}
	return e.principal, nil
}

func (s *Service) authenticateKey(ctx context.Context, secret string, kind KeyKind) (keyCacheEntry, error) {
	prefix, ok := parseSecret(secret, kind)
	if !ok {
		return keyCacheEntry{}, errBadKey
	}
	h := sha256Hex(secret)
	now := s.now()
	ttl := s.opts.KeyCacheTTL

	s.keys.mu.RLock()
	cached, hit := s.keys.entries[h]
	var e keyCacheEntry
	if hit {
		e = *cached
	}
	s.keys.mu.RUnlock()

	if !hit || now.Sub(e.verifiedAt) >= ttl || now.Before(e.verifiedAt) {
		var err error
		if e, err = s.verifyKey(ctx, prefix, h, kind, now); err != nil {
			if kizuna.ErrorCode(err) == kizuna.EUNAUTHORIZED {
				s.keys.mu.Lock()
				delete(s.keys.entries, h)
				s.keys.mu.Unlock()
			}
			return keyCacheEntry{}, err
		}
		s.keys.mu.Lock()
		if old := s.keys.entries[h]; old != nil && old.touchedAt.After(e.touchedAt) {
			e.touchedAt = old.touchedAt
		}
		if len(s.keys.entries) >= 1024 {
			// Drop entries of keys no longer used; what remains is bounded
			// by the number of keys in use within one TTL.
			for k, v := range s.keys.entries {
				if now.Sub(v.verifiedAt) >= ttl {
					delete(s.keys.entries, k)
				}
			}
		}
		stored := e
		s.keys.entries[h] = &stored
		s.keys.mu.Unlock()
	}

	if now.Sub(e.touchedAt) >= touchInterval {
		touch := false
		s.keys.mu.Lock()
		if c := s.keys.entries[h]; c != nil && now.Sub(c.touchedAt) >= touchInterval {
			c.touchedAt, touch = now, true
		}
		s.keys.mu.Unlock()
		if touch {
			if err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1
					WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`, ms(now), e.keyID)
				return err
			}); err != nil {
				// Bookkeeping only: the request is authenticated either way.
				s.log.WarnContext(ctx, "auth: touch key", "key", e.keyID, "err", err)
			}
		}
	}
	return e, nil
}

// verifyKey checks a secret against the database.
func (s *Service) verifyKey(ctx context.Context, prefix, hash string, kind KeyKind, now time.Time) (keyCacheEntry, error) {
	var (
		id                int64
		gotKind, name     string
		stored, roleName  string
		revoked, lastUsed sql.NullInt64
	)
	err := s.db.Reader().QueryRowContext(ctx, `SELECT id, kind, name, secret_hash, role, revoked_at, last_used_at
		FROM api_keys WHERE prefix = $1`, prefix).Scan(&id, &gotKind, &name, &stored, &roleName, &revoked, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return keyCacheEntry{}, errBadKey
	}
	if err != nil {
		return keyCacheEntry{}, internalError("auth.authenticateKey", err)
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(hash)) != 1 || KeyKind(gotKind) != kind {
		return keyCacheEntry{}, errBadKey
	}
	if revoked.Valid {
		return keyCacheEntry{}, &kizuna.Error{Code: kizuna.EUNAUTHORIZED, Message: "this key has been revoked"}
	}
	e := keyCacheEntry{keyID: id, verifiedAt: now}
	if lastUsed.Valid {
		e.touchedAt = fromMS(lastUsed.Int64)
	}
	switch kind {
	case KeyWrite:
		e.principal = Principal{Kind: PrincipalWriteKey, ID: id, Label: name}
	case KeyAPI:
		role, err := ParseRole(roleName)
		if err != nil {
			return keyCacheEntry{}, internalError("auth.authenticateKey", err)
		}
		e.principal = Principal{Kind: PrincipalAPIKey, ID: id, Role: role, Label: name}
	}
	return e, nil
}
