package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/textsearch"
)

// Hit is one search result or suggestion: a live article.
type Hit struct {
	ArticleID  int64   `json:"article_id"`
	Slug       string  `json:"slug"`
	CategoryID int64   `json:"category_id,omitempty"`
	Locale     string  `json:"locale"`
	Title      string  `json:"title"`
	Excerpt    string  `json:"excerpt"`
	Score      float64 `json:"score"`
}

// MaxResults bounds Search and Suggest.
const MaxResults = 50

// How much more a title match counts than a body match: much more for a
// search, where people type a topic; less for a suggestion, where a
// ticket's incidental words ("get", "when") would otherwise win by
// appearing in some title.
const (
	searchTitleWeight  = 4.0
	suggestTitleWeight = 1.5
)

// index puts a live version into the search index.
func (s *Service) index(ctx context.Context, tx *db.Tx, versionID int64, title, body string) error {
	var err error
	if tx.Dialect == db.Postgres {
		// The title's terms are kept apart for ranking, and repeated in
		// terms so that one GIN index answers every match.
		_, err = tx.ExecContext(ctx, `INSERT INTO kb_search (version_id, title_terms, terms) VALUES ($1, array_to_tsvector($2::text[]), array_to_tsvector($3::text[]))`,
			versionID, textsearch.Terms(title), textsearch.Terms(title, body))
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO kb_search (rowid, title, body) VALUES ($1, $2, $3)`,
			versionID, textsearch.Document(title), textsearch.Document(body))
	}
	return err
}

func (s *Service) unindex(ctx context.Context, tx *db.Tx, versionID int64) error {
	q := `DELETE FROM kb_search WHERE rowid = $1`
	if tx.Dialect == db.Postgres {
		q = `DELETE FROM kb_search WHERE version_id = $1`
	}
	_, err := tx.ExecContext(ctx, q, versionID)
	return err
}

// Search finds live articles in locale holding every term of query (the
// last one as a prefix when asYouType), best first. Public: it only ever
// sees published versions. An empty query returns no hits; EINVALID for
// an unknown locale.
func (s *Service) Search(ctx context.Context, query, locale string, asYouType bool, limit int) ([]Hit, error) {
	if err := validLocale(locale); err != nil {
		return nil, err
	}
	q := textsearch.Parse(query, asYouType)
	if q.Empty() {
		return nil, nil
	}
	return s.match(ctx, q, locale, limit, searchTitleWeight)
}

// Suggest finds the live articles in locale that best answer text — a
// ticket being replied to, a message typed into the contact form — best
// first. Public, like Search. Terms found in more than half of the
// locale's articles are left out: they cannot tell articles apart and
// would drown the ones that do.
func (s *Service) Suggest(ctx context.Context, text, locale string, limit int) ([]Hit, error) {
	if err := validLocale(locale); err != nil {
		return nil, err
	}
	q := textsearch.ParseAny(text)
	if q.Empty() {
		return nil, nil
	}
	total, df, err := s.documentFrequency(ctx, q, locale)
	if err != nil {
		return nil, err
	}
	if total >= 4 {
		i := 0
		q = q.Without(func(textsearch.Term) bool {
			common := 2*df[i] > total
			i++
			return common
		})
	}
	if q.Empty() {
		return nil, nil
	}
	return s.match(ctx, q, locale, limit, suggestTitleWeight)
}

// documentFrequency counts the live articles of locale and, per term of
// q, how many of them hold it — in one statement of one COUNT per term.
func (s *Service) documentFrequency(ctx context.Context, q textsearch.Query, locale string) (int, []int, error) {
	var b strings.Builder
	args := []any{locale}
	b.WriteString(`SELECT (SELECT COUNT(*) FROM kb_live WHERE locale = $1)`)
	for _, t := range q.Terms {
		one := textsearch.Query{Terms: []textsearch.Term{t}}
		if s.db.Dialect == db.Postgres {
			args = append(args, one.TSQuery())
			fmt.Fprintf(&b, `, (SELECT COUNT(*) FROM kb_search s JOIN kb_live l ON l.version_id = s.version_id WHERE l.locale = $1 AND s.terms @@ $%d::tsquery)`, len(args))
		} else {
			args = append(args, one.FTS5Match())
			fmt.Fprintf(&b, `, (SELECT COUNT(*) FROM kb_search JOIN kb_live l ON l.version_id = kb_search.rowid WHERE l.locale = $1 AND kb_search MATCH $%d)`, len(args))
		}
	}
	counts := make([]int64, len(q.Terms)+1)
	dst := make([]any, len(counts))
	for i := range counts {
		dst[i] = &counts[i]
	}
	if err := s.db.Reader().QueryRowContext(ctx, db.Rebind(s.db.Dialect, b.String()), args...).Scan(dst...); err != nil {
		return 0, nil, fmt.Errorf("kb: term counts: %w", err)
	}
	df := make([]int, len(q.Terms))
	for i := range df {
		df[i] = int(counts[i+1])
	}
	return int(counts[0]), df, nil
}

// match runs q over the live versions of locale, title matches weighing
// titleWeight times a body match.
func (s *Service) match(ctx context.Context, q textsearch.Query, locale string, limit int, titleWeight float64) ([]Hit, error) {
	if limit <= 0 || limit > MaxResults {
		limit = 10
	}
	const cols = `a.id, a.slug, a.category_id, v.locale, v.title, v.body`
	var query string
	var arg string
	if s.db.Dialect == db.Postgres {
		arg = q.TSQuery()
		query = `SELECT ` + cols + `, ts_rank(s.terms, $1::tsquery) + ` + fmt.Sprint(titleWeight) + ` * ts_rank(s.title_terms, $1::tsquery) AS score
			FROM kb_search s JOIN kb_live l ON l.version_id = s.version_id
			JOIN kb_versions v ON v.id = l.version_id JOIN kb_articles a ON a.id = l.article_id
			WHERE s.terms @@ $1::tsquery AND l.locale = $2
			ORDER BY score DESC, a.position, a.id LIMIT $3`
	} else {
		arg = q.FTS5Match()
		// bm25 is lower for better matches; its negation ranks like
		// ts_rank.
		query = `SELECT ` + cols + `, -bm25(kb_search, ` + fmt.Sprint(titleWeight) + `, 1.0) AS score
			FROM kb_search JOIN kb_live l ON l.version_id = kb_search.rowid
			JOIN kb_versions v ON v.id = l.version_id JOIN kb_articles a ON a.id = l.article_id
			WHERE kb_search MATCH $1 AND l.locale = $2
			ORDER BY score DESC, a.position, a.id LIMIT $3`
	}
	rows, err := s.db.Reader().QueryContext(ctx, db.Rebind(s.db.Dialect, query), arg, locale, limit)
	if err != nil {
		return nil, fmt.Errorf("kb: search: %w", err)
	}
	defer rows.Close()
	var out []Hit
	for rows.Next() {
		var h Hit
		var cat sql.NullInt64
		var body string
		if err := rows.Scan(&h.ArticleID, &h.Slug, &cat, &h.Locale, &h.Title, &body, &h.Score); err != nil {
			return nil, fmt.Errorf("kb: search: %w", err)
		}
		h.CategoryID, h.Excerpt = cat.Int64, Excerpt(body, 140)
		out = append(out, h)
	}
	return out, rows.Err()
}

// PublishedArticles lists the live articles of locale by category and
// position, without bodies. Public.
func (s *Service) PublishedArticles(ctx context.Context, locale string) ([]Published, error) {
	if err := validLocale(locale); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, db.Rebind(s.db.Dialect, `SELECT a.id, a.slug, a.category_id, v.locale, v.number, v.title, l.published_at
		FROM kb_live l JOIN kb_versions v ON v.id = l.version_id JOIN kb_articles a ON a.id = l.article_id
		WHERE l.locale = $1 ORDER BY a.position, a.id`), locale)
	if err != nil {
		return nil, fmt.Errorf("kb: published: %w", err)
	}
	defer rows.Close()
	var out []Published
	for rows.Next() {
		var p Published
		var cat sql.NullInt64
		var at int64
		if err := rows.Scan(&p.ArticleID, &p.Slug, &cat, &p.Locale, &p.Number, &p.Title, &at); err != nil {
			return nil, fmt.Errorf("kb: published: %w", err)
		}
		p.CategoryID, p.PublishedAt = cat.Int64, msTime(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// PublishedArticle returns the live version of an article in locale, its
// body rendered to safe HTML. Public. ENOTFOUND when the article does not
// exist or has no live version in locale (a draft is never returned); then
// LiveLocales(err) tells which locales it is live in.
func (s *Service) PublishedArticle(ctx context.Context, slug, locale string) (*Published, error) {
	if err := validLocale(locale); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, db.Rebind(s.db.Dialect, `SELECT a.id, a.slug, a.category_id, v.locale, v.number, v.title, v.body, l.published_at
		FROM kb_live l JOIN kb_versions v ON v.id = l.version_id JOIN kb_articles a ON a.id = l.article_id
		WHERE a.slug = $1 ORDER BY l.locale DESC`), slug)
	if err != nil {
		return nil, fmt.Errorf("kb: published article: %w", err)
	}
	defer rows.Close()
	var found *Published
	var locales []string
	for rows.Next() {
		var p Published
		var cat sql.NullInt64
		var at int64
		if err := rows.Scan(&p.ArticleID, &p.Slug, &cat, &p.Locale, &p.Number, &p.Title, &p.Body, &at); err != nil {
			return nil, fmt.Errorf("kb: published article: %w", err)
		}
		p.CategoryID, p.PublishedAt = cat.Int64, msTime(at)
		locales = append(locales, p.Locale)
		if p.Locale == locale {
			found = &p
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kb: published article: %w", err)
	}
	if found == nil {
		return nil, &NotLiveError{Slug: slug, Locale: locale, Locales: locales}
	}
	found.Locales = locales
	if found.HTML, err = Render(found.Body); err != nil {
		return nil, fmt.Errorf("kb: render %s: %w", slug, err)
	}
	return found, nil
}

// NotLiveError is PublishedArticle's ENOTFOUND: the article is not live in
// the locale asked for; Locales lists those it is live in (none when it
// does not exist or is only a draft).
type NotLiveError struct {
	Slug, Locale string
	Locales      []string
}

func (e *NotLiveError) Error() string { return "no published article " + e.Slug + " in " + e.Locale }

// Unwrap makes the error a kizuna ENOTFOUND.
func (e *NotLiveError) Unwrap() error {
	return &kizuna.Error{Code: kizuna.ENOTFOUND, Message: e.Error()}
}

// LiveLocales returns the locales err says an article is live in, if err
// is a NotLiveError.
func LiveLocales(err error) []string {
	var nl *NotLiveError
	if errors.As(err, &nl) {
		return nl.Locales
	}
	return nil
}
