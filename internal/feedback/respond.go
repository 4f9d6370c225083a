package feedback

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Installation secrets (table feedback_secrets), created on first use and
// then shared by every node: a form rendered on one node may be posted to
// another.
const (
	secretForm   = "form"
	secretWidget = "widget"
)

// secret returns the named installation secret, creating it (32 random
// bytes) the first time; concurrent first uses on several nodes agree
// through ON CONFLICT DO NOTHING and a re-read. It is one primary-key
// read, cheap enough not to cache (and nothing to invalidate).
func (s *Service) secret(ctx context.Context, name string) ([]byte, error) {
	read := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) (string, error) {
		var v string
		err := q.QueryRowContext(ctx, `SELECT secret FROM feedback_secrets WHERE name = $1`, name).Scan(&v)
		return v, err
	}
	v, err := read(s.db.Reader())
	if errors.Is(err, sql.ErrNoRows) {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO feedback_secrets (name, secret, created_at) VALUES ($1, $2, $3)
				ON CONFLICT (name) DO NOTHING`, name, hex.EncodeToString(b[:]), tx.NowMS()); err != nil {
				return err
			}
			var err error
			v, err = read(tx)
			return err
		})
	}
	if err != nil {
		return nil, internalError("feedback.secret", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil {
		return nil, internalError("feedback.secret", err)
	}
	return key, nil
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// SealOpened returns the signed hidden field a form page carries: when the
// page was rendered (the database clock, which starts responses too), bound to the form's client key, so that StartInput.
// OpenedAt (which the too-fast check counts from) cannot be forged by the
// poster. Respondent pages call it; it needs no permission.
func (s *Service) SealOpened(ctx context.Context, clientKey string) (string, error) {
	key, err := s.secret(ctx, secretForm)
	if err != nil {
		return "", err
	}
	ms := strconv.FormatInt(s.db.Now().UnixMilli(), 10)
	return ms + "." + base64.RawURLEncoding.EncodeToString(mac(key, "opened", clientKey, ms)), nil
}

// OpenedAt checks a SealOpened value for clientKey and returns the time it
// carries; a missing, forged or malformed seal gives the zero time (the
// response then counts as started at its first save).
func (s *Service) OpenedAt(ctx context.Context, clientKey, seal string) time.Time {
	ms, sig, ok := strings.Cut(seal, ".")
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return time.Time{}
	}
	key, err := s.secret(ctx, secretForm)
	if err != nil || !hmac.Equal(got, mac(key, "opened", clientKey, ms)) {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// Progress is a response in progress, as the form goes on with it.
type Progress struct {
	Session
	// Visible holds the keys of the questions shown given the answers so
	// far (a question whose condition is not met yet is left out).
	Visible map[string]bool `json:"visible"`
	// Pages holds the keys of the pages shown given the answers so far.
	Pages map[string]bool `json:"pages"`
}

// Progress returns the response the client key started, read-only: its
// form, answers, next page and what is visible. Errors: ENOTFOUND (no
// response with this key). [surveys.respond]
func (s *Service) Progress(ctx context.Context, surveyID int64, clientKey, locale string) (*Progress, error) {
	if err := auth.Require(ctx, auth.PermSurveysRespond); err != nil {
		return nil, err
	}
	q := s.db.Reader()
	r, err := loadResponseByKey(ctx, q, surveyID, clientKey)
	if err != nil {
		return nil, internalError("feedback.Progress", err)
	}
	sess, err := s.session(ctx, q, r.ID, locale)
	if err != nil {
		return nil, err
	}
	def, err := s.definitionOf(ctx, q, r.versionID)
	if err != nil {
		return nil, internalError("feedback.Progress", err)
	}
	vis := Visible(def, AnswersOf(sess.Answers))
	p := &Progress{Session: *sess, Visible: vis.Questions, Pages: map[string]bool{}}
	for i, pg := range def.Pages {
		if vis.Pages[i] {
			p.Pages[pg.Key] = true
		}
	}
	return p, nil
}

// LinkLocale returns the language of the customer a personal link was sent
// to ("ja", "en"), or "" when the link is unknown or the customer has none,
// so the page speaks the customer's language before Accept-Language.
// [surveys.respond]
func (s *Service) LinkLocale(ctx context.Context, token string) string {
	if auth.Require(ctx, auth.PermSurveysRespond) != nil {
		return ""
	}
	var loc string
	err := s.db.Reader().QueryRowContext(ctx, `SELECT COALESCE(c.locale, '') FROM survey_invitations i
		JOIN customers c ON c.id = i.customer_id WHERE i.token_hash = $1 OR i.reminder_token_hash = $1`, HashToken(token)).Scan(&loc)
	if err != nil || loc == "" {
		return ""
	}
	return NormalizeLocale(loc)
}
