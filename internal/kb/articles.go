package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// CanWrite returns nil when the caller may write drafts (kb.write), so a
// page can decide whether to offer the editor; EUNAUTHORIZED or EFORBIDDEN
// otherwise.
func (s *Service) CanWrite(ctx context.Context) error { return auth.Require(ctx, auth.PermKBWrite) }

// Categories lists every category by position. Public: category names are
// part of the help center.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, slug, name_ja, name_en, position, created_at FROM kb_categories ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("kb: categories: %w", err)
	}
	defer rows.Close()
	var out []Category
	for rows.Next() {
		var c Category
		var created int64
		if err := rows.Scan(&c.ID, &c.Slug, &c.NameJA, &c.NameEN, &c.Position, &created); err != nil {
			return nil, fmt.Errorf("kb: categories: %w", err)
		}
		c.CreatedAt = msTime(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateCategory adds a category (kb.publish). EINVALID for a bad slug or
// a missing name, ECONFLICT when the slug is taken.
func (s *Service) CreateCategory(ctx context.Context, in NewCategory) (*Category, error) {
	if err := auth.Require(ctx, auth.PermKBPublish); err != nil {
		return nil, err
	}
	in.NameJA, in.NameEN = strings.TrimSpace(in.NameJA), strings.TrimSpace(in.NameEN)
	if err := validSlug("slug", in.Slug); err != nil {
		return nil, err
	}
	if in.NameJA == "" || in.NameEN == "" {
		field := "name_ja"
		if in.NameJA != "" {
			field = "name_en"
		}
		return nil, kizuna.FieldError(field, "a category needs a Japanese and an English name")
	}
	c := Category{Slug: in.Slug, NameJA: in.NameJA, NameEN: in.NameEN, Position: in.Position}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		c.CreatedAt = msTime(tx.NowMS())
		return tx.QueryRowContext(ctx, `INSERT INTO kb_categories (slug, name_ja, name_en, position, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			c.Slug, c.NameJA, c.NameEN, c.Position, tx.NowMS()).Scan(&c.ID)
	})
	if db.IsUniqueViolation(err) {
		return nil, &kizuna.Error{Code: kizuna.ECONFLICT, Field: "slug", Message: "a category with slug " + in.Slug + " exists"}
	}
	if err != nil {
		return nil, fmt.Errorf("kb: create category: %w", err)
	}
	return &c, nil
}

// author is who writes a version: the signed-in user, or the process
// (demo, import) by its label.
func author(ctx context.Context) (sql.NullInt64, string) {
	p, _ := auth.PrincipalFrom(ctx)
	if p.Kind == auth.PrincipalUser {
		return sql.NullInt64{Int64: p.ID, Valid: true}, p.Label
	}
	return sql.NullInt64{}, p.Label
}

// CreateArticle creates an article with the first draft of one locale
// (kb.write). EINVALID for bad input or an unknown category, ECONFLICT
// when the slug is taken.
func (s *Service) CreateArticle(ctx context.Context, in NewArticle) (*ArticleDetail, error) {
	if err := auth.Require(ctx, auth.PermKBWrite); err != nil {
		return nil, err
	}
	if err := validSlug("slug", in.Slug); err != nil {
		return nil, err
	}
	if err := validLocale(in.Locale); err != nil {
		return nil, err
	}
	d, err := validDraft(Draft{Title: in.Title, Body: in.Body})
	if err != nil {
		return nil, err
	}
	var id int64
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		var cat sql.NullInt64
		if in.CategoryID != 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM kb_categories WHERE id = $1`, in.CategoryID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return kizuna.FieldError("category_id", "no category %d", in.CategoryID)
			}
			cat = sql.NullInt64{Int64: in.CategoryID, Valid: true}
		}
		now := tx.NowMS()
		if err := tx.QueryRowContext(ctx, `INSERT INTO kb_articles (slug, category_id, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id`,
			in.Slug, cat, in.Position, now).Scan(&id); err != nil {
			return err
		}
		_, err := s.saveDraft(ctx, tx, id, in.Locale, d)
		return err
	})
	if db.IsUniqueViolation(err) {
		return nil, &kizuna.Error{Code: kizuna.ECONFLICT, Field: "slug", Message: "an article with slug " + in.Slug + " exists"}
	}
	if err != nil {
		return nil, wrap("create article", err)
	}
	return s.article(ctx, id)
}

// SaveDraft saves the draft of an article's locale (kb.write): it edits
// the current draft, or starts version n+1 when the newest version is
// published. The live version is untouched. ENOTFOUND for an unknown
// article, EINVALID for bad input.
func (s *Service) SaveDraft(ctx context.Context, articleID int64, locale string, d Draft) (*Version, error) {
	if err := auth.Require(ctx, auth.PermKBWrite); err != nil {
		return nil, err
	}
	if err := validLocale(locale); err != nil {
		return nil, err
	}
	d, err := validDraft(d)
	if err != nil {
		return nil, err
	}
	var vid int64
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		if err := articleExists(ctx, tx, articleID); err != nil {
			return err
		}
		var err error
		vid, err = s.saveDraft(ctx, tx, articleID, locale, d)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE kb_articles SET updated_at = $1 WHERE id = $2`, tx.NowMS(), articleID)
		return err
	})
	if err != nil {
		return nil, wrap("save draft", err)
	}
	return s.version(ctx, vid)
}

func articleExists(ctx context.Context, tx *db.Tx, id int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM kb_articles WHERE id = $1`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return &kizuna.Error{Code: kizuna.ENOTFOUND, Message: fmt.Sprintf("no article %d", id)}
	}
	return nil
}

// saveDraft writes d as the draft of (article, locale) and returns its id.
func (s *Service) saveDraft(ctx context.Context, tx *db.Tx, articleID int64, locale string, d Draft) (int64, error) {
	authorID, label := author(ctx)
	now := tx.NowMS()
	var vid int64
	var number int
	var published sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT id, number, published_at FROM kb_versions WHERE article_id = $1 AND locale = $2 ORDER BY number DESC LIMIT 1`,
		articleID, locale).Scan(&vid, &number, &published)
	switch {
	case err == nil && !published.Valid:
		_, err = tx.ExecContext(ctx, `UPDATE kb_versions SET title = $1, body = $2, author_id = $3, author = $4, updated_at = $5 WHERE id = $6`,
			d.Title, d.Body, authorID, label, now, vid)
		return vid, err
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO kb_versions (article_id, locale, number, title, body, author_id, author, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
		articleID, locale, number+1, d.Title, d.Body, authorID, label, now).Scan(&vid)
	return vid, err
}

// Publish makes the draft of an article's locale its live version
// (kb.publish) and puts it in the search index in place of the version it
// replaces. ENOTFOUND for an unknown article, ECONFLICT when the locale
// has no draft.
func (s *Service) Publish(ctx context.Context, articleID int64, locale string) (*Version, error) {
	if err := auth.Require(ctx, auth.PermKBPublish); err != nil {
		return nil, err
	}
	if err := validLocale(locale); err != nil {
		return nil, err
	}
	var vid int64
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		if err := articleExists(ctx, tx, articleID); err != nil {
			return err
		}
		var title, body string
		var published sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT id, title, body, published_at FROM kb_versions WHERE article_id = $1 AND locale = $2 ORDER BY number DESC LIMIT 1`,
			articleID, locale).Scan(&vid, &title, &body, &published)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && published.Valid) {
			return &kizuna.Error{Code: kizuna.ECONFLICT, Message: "this article has no " + locale + " draft to publish"}
		}
		if err != nil {
			return err
		}
		now := tx.NowMS()
		if _, err := tx.ExecContext(ctx, `UPDATE kb_versions SET published_at = $1 WHERE id = $2`, now, vid); err != nil {
			return err
		}
		var old int64
		err = tx.QueryRowContext(ctx, `SELECT version_id FROM kb_live WHERE article_id = $1 AND locale = $2`, articleID, locale).Scan(&old)
		switch {
		case err == nil:
			if err := s.unindex(ctx, tx, old); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_live (article_id, locale, version_id, published_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (article_id, locale) DO UPDATE SET version_id = excluded.version_id, published_at = excluded.published_at`,
			articleID, locale, vid, now); err != nil {
			return err
		}
		if err := s.index(ctx, tx, vid, title, body); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE kb_articles SET updated_at = $1 WHERE id = $2`, now, articleID)
		return err
	})
	if err != nil {
		return nil, wrap("publish", err)
	}
	return s.version(ctx, vid)
}

// Article returns an article with its live version, draft and history per
// locale (kb.read). ENOTFOUND when there is no such article.
func (s *Service) Article(ctx context.Context, id int64) (*ArticleDetail, error) {
	if err := auth.Require(ctx, auth.PermKBRead); err != nil {
		return nil, err
	}
	return s.article(ctx, id)
}

// ArticleBySlug is Article by slug (kb.read).
func (s *Service) ArticleBySlug(ctx context.Context, slug string) (*ArticleDetail, error) {
	if err := auth.Require(ctx, auth.PermKBRead); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.Reader().QueryRowContext(ctx, db.Rebind(s.db.Dialect, `SELECT id FROM kb_articles WHERE slug = $1`), slug).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kizuna.Error{Code: kizuna.ENOTFOUND, Message: "no article " + slug}
	}
	if err != nil {
		return nil, fmt.Errorf("kb: article: %w", err)
	}
	return s.article(ctx, id)
}

// Articles lists every article with its live version and draft per
// locale, by category and position (kb.read). Bodies are left out.
func (s *Service) Articles(ctx context.Context) ([]Article, error) {
	if err := auth.Require(ctx, auth.PermKBRead); err != nil {
		return nil, err
	}
	arts, err := s.articles(ctx, 0)
	if err != nil {
		return nil, err
	}
	return arts, nil
}

const versionColumns = `v.id, v.article_id, v.locale, v.number, v.title, v.body, v.author_id, v.author, v.created_at, v.updated_at, v.published_at, l.version_id IS NOT NULL`

func scanVersion(sc interface{ Scan(...any) error }) (Version, error) {
	var v Version
	var authorID, published sql.NullInt64
	var created, updated int64
	err := sc.Scan(&v.ID, &v.ArticleID, &v.Locale, &v.Number, &v.Title, &v.Body, &authorID, &v.Author, &created, &updated, &published, &v.Live)
	v.AuthorID, v.CreatedAt, v.UpdatedAt, v.PublishedAt = authorID.Int64, msTime(created), msTime(updated), nullMS(published)
	return v, err
}

func (s *Service) version(ctx context.Context, id int64) (*Version, error) {
	row := s.db.Reader().QueryRowContext(ctx, db.Rebind(s.db.Dialect, `SELECT `+versionColumns+` FROM kb_versions v LEFT JOIN kb_live l ON l.version_id = v.id WHERE v.id = $1`), id)
	v, err := scanVersion(row)
	if err != nil {
		return nil, fmt.Errorf("kb: version %d: %w", id, err)
	}
	return &v, nil
}

// articles reads one article (id > 0) or all, with the live version and
// the draft per locale (the draft's and live's bodies only for one).
func (s *Service) articles(ctx context.Context, id int64) ([]Article, error) {
	q := `SELECT id, slug, category_id, position, created_at, updated_at FROM kb_articles`
	args := []any{}
	if id > 0 {
		q += ` WHERE id = $1`
		args = append(args, id)
	}
	q += ` ORDER BY position, id`
	rows, err := s.db.Reader().QueryContext(ctx, db.Rebind(s.db.Dialect, q), args...)
	if err != nil {
		return nil, fmt.Errorf("kb: articles: %w", err)
	}
	var out []Article
	index := map[int64]int{}
	for rows.Next() {
		var a Article
		var cat sql.NullInt64
		var created, updated int64
		if err := rows.Scan(&a.ID, &a.Slug, &cat, &a.Position, &created, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("kb: articles: %w", err)
		}
		a.CategoryID, a.CreatedAt, a.UpdatedAt = cat.Int64, msTime(created), msTime(updated)
		for _, l := range Locales {
			a.Locales = append(a.Locales, LocaleState{Locale: l})
		}
		index[a.ID] = len(out)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kb: articles: %w", err)
	}
	// The live version and the newest version (a draft when unpublished)
	// of every locale.
	vq := `SELECT ` + versionColumns + ` FROM kb_versions v LEFT JOIN kb_live l ON l.version_id = v.id
		WHERE (l.version_id IS NOT NULL OR (v.published_at IS NULL AND v.number = (SELECT MAX(number) FROM kb_versions w WHERE w.article_id = v.article_id AND w.locale = v.locale)))`
	if id > 0 {
		vq += ` AND v.article_id = $1`
	}
	vrows, err := s.db.Reader().QueryContext(ctx, db.Rebind(s.db.Dialect, vq), args...)
	if err != nil {
		return nil, fmt.Errorf("kb: versions: %w", err)
	}
	defer vrows.Close()
	for vrows.Next() {
		v, err := scanVersion(vrows)
		if err != nil {
			return nil, fmt.Errorf("kb: versions: %w", err)
		}
		i, ok := index[v.ArticleID]
		if !ok {
			continue
		}
		if id == 0 {
			v.Body = ""
		}
		for j := range out[i].Locales {
			st := &out[i].Locales[j]
			if st.Locale != v.Locale {
				continue
			}
			if v.Live {
				st.Live = &v
			} else {
				st.Draft = &v
			}
		}
	}
	return out, vrows.Err()
}

func (s *Service) article(ctx context.Context, id int64) (*ArticleDetail, error) {
	arts, err := s.articles(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(arts) == 0 {
		return nil, &kizuna.Error{Code: kizuna.ENOTFOUND, Message: fmt.Sprintf("no article %d", id)}
	}
	d := &ArticleDetail{Article: arts[0]}
	rows, err := s.db.Reader().QueryContext(ctx, db.Rebind(s.db.Dialect, `SELECT `+versionColumns+` FROM kb_versions v LEFT JOIN kb_live l ON l.version_id = v.id
		WHERE v.article_id = $1 ORDER BY v.locale DESC, v.number DESC`), id)
	if err != nil {
		return nil, fmt.Errorf("kb: history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("kb: history: %w", err)
		}
		d.History = append(d.History, v)
	}
	return d, rows.Err()
}

// wrap keeps kizuna errors as they are and marks others as internal.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ke *kizuna.Error
	if errors.As(err, &ke) {
		return err
	}
	return fmt.Errorf("kb: %s: %w", op, err)
}
