package kb

import (
	"database/sql"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Locales the knowledge base is written in, in the order pages show them.
const (
	Japanese = "ja"
	English  = "en"
)

// Locales lists every article locale.
var Locales = []string{Japanese, English}

// Limits on what an article may hold.
const (
	MaxTitle = 200
	MaxBody  = 100_000
)

// Category groups articles in the help center.
type Category struct {
	ID        int64     `json:"id"`
	Slug      string    `json:"slug"`
	NameJA    string    `json:"name_ja"`
	NameEN    string    `json:"name_en"`
	Position  int       `json:"position"`
	CreatedAt time.Time `json:"created_at"`
}

// Name is the category's name in locale.
func (c Category) Name(locale string) string {
	if locale == Japanese {
		return c.NameJA
	}
	return c.NameEN
}

// NewCategory is the input of CreateCategory.
type NewCategory struct {
	Slug     string `json:"slug"`
	NameJA   string `json:"name_ja"`
	NameEN   string `json:"name_en"`
	Position int    `json:"position"`
}

// Version is the text of one locale of an article at one point in time.
type Version struct {
	ID        int64  `json:"id"`
	ArticleID int64  `json:"article_id"`
	Locale    string `json:"locale"`
	Number    int    `json:"number"`
	Title     string `json:"title"`
	// Body is Markdown; Render turns it into safe HTML.
	Body      string    `json:"body"`
	AuthorID  int64     `json:"author_id,omitempty"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// PublishedAt is nil for a draft.
	PublishedAt *time.Time `json:"published_at,omitempty"`
	// Live reports whether this is the version customers read now.
	Live bool `json:"live"`
}

// Draft reports whether v is still unpublished.
func (v Version) Draft() bool { return v.PublishedAt == nil }

// Article is one help topic, as staff see it: its live version and draft
// per locale and, in ArticleDetail, its history.
type Article struct {
	ID         int64     `json:"id"`
	Slug       string    `json:"slug"`
	CategoryID int64     `json:"category_id,omitempty"`
	Position   int       `json:"position"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Locales holds one entry per locale in Locales order.
	Locales []LocaleState `json:"locales"`
}

// LocaleState is where one locale of an article stands.
type LocaleState struct {
	Locale string   `json:"locale"`
	Live   *Version `json:"live,omitempty"`
	Draft  *Version `json:"draft,omitempty"`
}

// State returns the article's state in locale.
func (a Article) State(locale string) LocaleState {
	for _, s := range a.Locales {
		if s.Locale == locale {
			return s
		}
	}
	return LocaleState{Locale: locale}
}

// Title is the best title to list the article under in locale: the live
// one, else the draft's, else another locale's.
func (a Article) Title(locale string) string {
	st := a.State(locale)
	switch {
	case st.Live != nil:
		return st.Live.Title
	case st.Draft != nil:
		return st.Draft.Title
	}
	for _, s := range a.Locales {
		if s.Live != nil {
			return s.Live.Title
		}
		if s.Draft != nil {
			return s.Draft.Title
		}
	}
	return a.Slug
}

// ArticleDetail is an article with every version of every locale, newest
// first.
type ArticleDetail struct {
	Article
	History []Version `json:"history"`
}

// NewArticle is the input of CreateArticle: the article and the first
// draft of one locale.
type NewArticle struct {
	Slug       string `json:"slug"`
	CategoryID int64  `json:"category_id,omitempty"`
	Position   int    `json:"position"`
	Locale     string `json:"locale"`
	Title      string `json:"title"`
	Body       string `json:"body"`
}

// Draft is the text saved by SaveDraft.
type Draft struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Published is a live article as the help center shows it.
type Published struct {
	ArticleID  int64  `json:"article_id"`
	Slug       string `json:"slug"`
	CategoryID int64  `json:"category_id,omitempty"`
	Locale     string `json:"locale"`
	Number     int    `json:"version"`
	Title      string `json:"title"`
	Body       string `json:"body,omitempty"`
	// HTML is Body rendered by Render: safe to embed as is.
	HTML        string    `json:"html,omitempty"`
	PublishedAt time.Time `json:"published_at"`
	// Locales lists every locale the article is live in.
	Locales []string `json:"locales,omitempty"`
}

// Service is the knowledge base. Every staff method checks the caller's
// permission; the public ones only ever read published versions.
type Service struct {
	db *db.DB
}

// NewService returns the knowledge base over d.
func NewService(d *db.DB) *Service { return &Service{db: d} }

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

func validSlug(field, s string) error {
	if len(s) == 0 || len(s) > 80 || !slugPattern.MatchString(s) {
		return kizuna.FieldError(field, "%s must be 1 to 80 lower-case letters, digits and single hyphens, like returns-and-exchanges", field)
	}
	return nil
}

func validLocale(locale string) error {
	if locale != Japanese && locale != English {
		return kizuna.FieldError("locale", "locale must be ja or en, got %q", locale)
	}
	return nil
}

func validDraft(d Draft) (Draft, error) {
	d.Title = strings.TrimSpace(d.Title)
	switch {
	case d.Title == "":
		return d, kizuna.FieldError("title", "title is required")
	case utf8.RuneCountInString(d.Title) > MaxTitle:
		return d, kizuna.FieldError("title", "title must be at most %d characters", MaxTitle)
	case len(d.Body) > MaxBody:
		return d, kizuna.FieldError("body", "body must be at most %d bytes", MaxBody)
	case !utf8.ValidString(d.Title) || !utf8.ValidString(d.Body):
		return d, kizuna.FieldError("body", "text must be UTF-8")
	}
	return d, nil
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMS(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := msTime(n.Int64)
	return &t
}
