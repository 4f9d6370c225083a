package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/kizuna-oss/kizuna"
)

// HashParams are the argon2id cost parameters. They are stored inside every
// hash (PHC string format), so raising them later only affects new hashes;
// Login re-hashes a password under the current parameters when it succeeds.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultHashParams follow RFC 9106's second recommended option (64 MiB)
// with three passes and two lanes: about 80 ms per hash on the 2-core
// reference machine. Memory is the defence against GPU guessing; the login
// path bounds how many hashes run at once (Options.MaxConcurrentHashes) so
// that a burst of logins cannot exhaust memory.
var DefaultHashParams = HashParams{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// TestHashParams are cheap parameters for tests only.
var TestHashParams = HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	minPasswordRunes = 10
	// maxPasswordBytes bounds the work an attacker can make one request do
	// and still fits any pass phrase a person types.
	maxPasswordBytes = 1024
)

var b64 = base64.RawStdEncoding

// normalizePassword applies Unicode NFKC before hashing, as NIST SP
// 800-63B advises: the same pass phrase typed on another device or with a
// Japanese IME left in full-width mode ("ｐａｓｓ" for "pass", a composed
// or decomposed "が") then still matches.
func normalizePassword(password string) []byte { return []byte(norm.NFKC.String(password)) }

// HashPassword returns the argon2id hash of password (NFKC-normalised) in
// PHC string format: $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>
// (unpadded standard base64).
func HashPassword(password string, p HashParams) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey(normalizePassword(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("auth: malformed password hash")

// parseHash splits a PHC argon2id string into its parameters, salt and key.
func parseHash(encoded string) (p HashParams, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("auth: unsupported argon2 version %q", parts[2])
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return p, nil, nil, errBadHash
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, errBadHash
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, errBadHash
		}
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return p, nil, nil, errBadHash
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) == 0 {
		return p, nil, nil, errBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return p, nil, nil, errBadHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether password matches the PHC hash encoded.
// The comparison is constant-time. A malformed hash is an error, not a
// mismatch, so that a corrupted row is noticed.
func VerifyPassword(password, encoded string) (bool, error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey(normalizePassword(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// needsRehash reports whether encoded was made with other parameters than p.
func needsRehash(encoded string, p HashParams) bool {
	q, _, _, err := parseHash(encoded)
	return err != nil || q.Memory != p.Memory || q.Time != p.Time || q.Threads != p.Threads ||
		q.SaltLen != p.SaltLen || q.KeyLen != p.KeyLen
}

// CheckPassword applies the password policy: at least 10 characters
// (after NFKC normalisation), at most 1024 bytes, and not the account's own
// email address. field names the form field for the error ("password",
// "new_password").
func CheckPassword(field, password, email string) error {
	if !utf8.ValidString(password) {
		return kizuna.FieldError(field, "the password is not valid UTF-8 text")
	}
	if utf8.RuneCountInString(norm.NFKC.String(password)) < minPasswordRunes {
		return kizuna.FieldError(field, "the password must be at least %d characters long", minPasswordRunes)
	}
	if len(password) > maxPasswordBytes {
		return kizuna.FieldError(field, "the password must be at most %d bytes long", maxPasswordBytes)
	}
	if email != "" && strings.EqualFold(strings.TrimSpace(norm.NFKC.String(password)), strings.TrimSpace(email)) {
		return kizuna.FieldError(field, "the password must not be the email address")
	}
	return nil
}
