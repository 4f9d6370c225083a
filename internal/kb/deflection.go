package kb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

// EventKind is what a help-center visitor did.
type EventKind string

// Event kinds.
const (
	EventSearched   EventKind = "searched"
	EventViewed     EventKind = "viewed"
	EventHelpful    EventKind = "helpful"
	EventNotHelpful EventKind = "not_helpful"
	// EventSuggested: the contact form showed the visitor suggested
	// articles before they submitted.
	EventSuggested EventKind = "suggested"
	// EventSubmitted: the visitor submitted the contact form (a ticket).
	EventSubmitted EventKind = "submitted"
)

// EventKinds lists every kind.
var EventKinds = []EventKind{EventSearched, EventViewed, EventHelpful, EventNotHelpful, EventSuggested, EventSubmitted}

// Event is one thing a visitor did. Session is the visitor's anonymous
// session id (a random cookie value); only its SHA-256 is stored.
type Event struct {
	Session   string    `json:"session"`
	Kind      EventKind `json:"kind"`
	ArticleID int64     `json:"article_id,omitempty"`
	Locale    string    `json:"locale,omitempty"`
	// Query is what was searched for (searched events), kept for the
	// "searches without an answer" view; at most 200 characters.
	Query string `json:"query,omitempty"`
}

// HashSession is how a session id is stored.
func HashSession(session string) string {
	sum := sha256.Sum256([]byte(session))
	return hex.EncodeToString(sum[:])
}

// Record stores a help-center event. Public: the help center and the
// contact form call it for anonymous visitors. EINVALID for a missing
// session, an unknown kind or locale, a helpful/viewed event without an
// article; ENOTFOUND for an unknown article.
func (s *Service) Record(ctx context.Context, e Event) error {
	if e.Session == "" || len(e.Session) > 200 {
		return kizuna.FieldError("session", "session must be 1 to 200 characters")
	}
	known := false
	for _, k := range EventKinds {
		known = known || k == e.Kind
	}
	if !known {
		return kizuna.FieldError("kind", "unknown event kind %q", e.Kind)
	}
	if e.Locale != "" {
		if err := validLocale(e.Locale); err != nil {
			return err
		}
	}
	switch e.Kind {
	case EventViewed, EventHelpful, EventNotHelpful:
		if e.ArticleID == 0 {
			return kizuna.FieldError("article_id", "a %s event names its article", e.Kind)
		}
	}
	e.Query = strings.TrimSpace(e.Query)
	if r := []rune(e.Query); len(r) > 200 {
		e.Query = string(r[:200])
	}
	if !utf8.ValidString(e.Query) {
		e.Query = ""
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		var article sql.NullInt64
		if e.ArticleID != 0 {
			if err := articleExists(ctx, tx, e.ArticleID); err != nil {
				return err
			}
			article = sql.NullInt64{Int64: e.ArticleID, Valid: true}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO kb_events (session_hash, kind, article_id, locale, query, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			HashSession(e.Session), string(e.Kind), article, e.Locale, e.Query, tx.NowMS())
		return err
	})
	return wrap("record event", err)
}

// Deflection is the help center's effect over a period.
type Deflection struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Sessions is the number of help-center sessions with any event;
	// Searched and Viewed how many of them searched, viewed an article.
	Sessions int `json:"sessions"`
	Searched int `json:"searched"`
	Viewed   int `json:"viewed"`
	// Helpful and NotHelpful count the votes cast.
	Helpful    int `json:"helpful"`
	NotHelpful int `json:"not_helpful"`
	// Shown is the number of sessions the contact form showed suggestions;
	// of them, Submitted sent a ticket and Deflected did not, having
	// viewed an article after the suggestions appeared.
	Shown     int `json:"shown"`
	Submitted int `json:"submitted"`
	Deflected int `json:"deflected"`
	// Rate is Deflected / Shown with its Wilson 95% interval.
	Rate stats.Estimate `json:"rate"`
}

// Deflection reports, for the sessions whose events fall in [from, to),
// how many of those shown suggestions in the contact form left without
// submitting after reading an article (kb.read). A session still open at
// to may yet submit: report closed periods. EINVALID when to is not after
// from.
func (s *Service) Deflection(ctx context.Context, from, to time.Time) (*Deflection, error) {
	if err := auth.Require(ctx, auth.PermKBRead); err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, kizuna.FieldError("to", "the period must end after it starts")
	}
	r := &Deflection{From: from.UTC(), To: to.UTC()}
	// One row per session, then one row of totals. CASTs keep SUM an
	// integer on Postgres (it would be numeric).
	const q = `SELECT COUNT(*),
		CAST(COALESCE(SUM(CASE WHEN searched > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN last_view IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(helpful), 0) AS BIGINT),
		CAST(COALESCE(SUM(not_helpful), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN shown IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN shown IS NOT NULL AND submitted > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN shown IS NOT NULL AND submitted = 0 AND last_view >= shown THEN 1 ELSE 0 END), 0) AS BIGINT)
	FROM (SELECT session_hash,
		SUM(CASE WHEN kind = 'searched' THEN 1 ELSE 0 END) AS searched,
		MAX(CASE WHEN kind = 'viewed' THEN created_at END) AS last_view,
		SUM(CASE WHEN kind = 'helpful' THEN 1 ELSE 0 END) AS helpful,
		SUM(CASE WHEN kind = 'not_helpful' THEN 1 ELSE 0 END) AS not_helpful,
		MIN(CASE WHEN kind = 'suggested' THEN created_at END) AS shown,
		SUM(CASE WHEN kind = 'submitted' THEN 1 ELSE 0 END) AS submitted
		FROM kb_events WHERE created_at >= $1 AND created_at < $2
		GROUP BY session_hash) sessions`
	var n [8]int64
	err := s.db.Reader().QueryRowContext(ctx, db.Rebind(s.db.Dialect, q), from.UnixMilli(), to.UnixMilli()).
		Scan(&n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7])
	if err != nil {
		return nil, fmt.Errorf("kb: deflection: %w", err)
	}
	r.Sessions, r.Searched, r.Viewed, r.Helpful, r.NotHelpful = int(n[0]), int(n[1]), int(n[2]), int(n[3]), int(n[4])
	r.Shown, r.Submitted, r.Deflected = int(n[5]), int(n[6]), int(n[7])
	if r.Rate, err = stats.Wilson(r.Deflected, r.Shown, stats.Options{Level: 0.95}); err != nil {
		return nil, fmt.Errorf("kb: deflection rate: %w", err)
	}
	return r, nil
}
