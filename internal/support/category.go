package support

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Category groups tickets by topic; the default tree follows the purchase
// cycle (see the package doc).
type Category struct {
	ID       int64  `json:"id"`
	ParentID *int64 `json:"parent_id"`
	Slug     string `json:"slug"`
	NameJA   string `json:"name_ja"`
	NameEN   string `json:"name_en"`
	Position int    `json:"position"`
	Archived bool   `json:"archived"`
}

// CategoryInput creates or edits a category.
type CategoryInput struct {
	ParentID *int64 `json:"parent_id,omitempty"`
	Slug     string `json:"slug"`
	NameJA   string `json:"name_ja"`
	NameEN   string `json:"name_en"`
	Position int    `json:"position"`
	Archived bool   `json:"archived"`
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func (in *CategoryInput) validate() error {
	in.Slug = strings.TrimSpace(in.Slug)
	if !slugRE.MatchString(in.Slug) || in.Slug == ComplaintCategory {
		return kizuna.FieldError("slug", "a slug is 1–63 lower-case letters, digits and hyphens (and not %q)", ComplaintCategory)
	}
	in.NameJA, in.NameEN = strings.TrimSpace(in.NameJA), strings.TrimSpace(in.NameEN)
	if err := checkText("name_ja", in.NameJA, 100, true); err != nil {
		return err
	}
	return checkText("name_en", in.NameEN, 100, true)
}

// Categories returns every category, parents before children, by position.
// [tickets.read]
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT c.id, c.parent_id, c.slug, c.name_ja, c.name_en, c.position, c.archived
		FROM support_categories c LEFT JOIN support_categories p ON p.id = c.parent_id
		ORDER BY COALESCE(p.position, c.position), COALESCE(p.id, c.id), c.parent_id IS NOT NULL, c.position, c.id`)
	if err != nil {
		return nil, fmt.Errorf("categories: %w", err)
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		var parent sql.NullInt64
		var archived int
		if err := rows.Scan(&c.ID, &parent, &c.Slug, &c.NameJA, &c.NameEN, &c.Position, &archived); err != nil {
			return nil, err
		}
		c.ParentID, c.Archived = idPtr(parent), archived != 0
		out = append(out, c)
	}
	return out, rows.Err()
}

// checkParent: the tree has two levels, so a parent is a top-level category.
func checkParent(ctx context.Context, tx *db.Tx, self int64, parent *int64) error {
	if parent == nil {
		return nil
	}
	var grand sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT parent_id FROM support_categories WHERE id = $1`, *parent).Scan(&grand)
	if isNoRows(err) {
		return &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "parent_id", Message: fmt.Sprintf("category %d not found", *parent)}
	}
	if err != nil {
		return err
	}
	if grand.Valid || *parent == self {
		return kizuna.FieldError("parent_id", "categories have two levels: the parent must be a top-level category")
	}
	if self != 0 {
		var kids int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM support_categories WHERE parent_id = $1`, self).Scan(&kids); err != nil {
			return err
		}
		if kids > 0 {
			return kizuna.FieldError("parent_id", "a category with subcategories stays at the top level")
		}
	}
	return nil
}

// CreateCategory adds a category.
// Errors: EINVALID, ENOTFOUND (parent), ECONFLICT (slug taken). [categories.manage]
func (s *Service) CreateCategory(ctx context.Context, in CategoryInput) (*Category, error) {
	return s.saveCategory(ctx, 0, in)
}

// UpdateCategory edits category id (archiving keeps its tickets).
// Errors: EINVALID, ENOTFOUND, ECONFLICT (slug taken). [categories.manage]
func (s *Service) UpdateCategory(ctx context.Context, id int64, in CategoryInput) (*Category, error) {
	return s.saveCategory(ctx, id, in)
}

func (s *Service) saveCategory(ctx context.Context, id int64, in CategoryInput) (*Category, error) {
	if err := require(ctx, auth.PermCategoriesManage); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		if err := checkParent(ctx, tx, id, in.ParentID); err != nil {
			return err
		}
		var parent any
		if in.ParentID != nil {
			parent = *in.ParentID
		}
		var err error
		if id == 0 {
			err = tx.QueryRowContext(ctx, `INSERT INTO support_categories (parent_id, slug, name_ja, name_en, position, archived, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, parent, in.Slug, in.NameJA, in.NameEN, in.Position,
				boolInt(in.Archived), tx.NowMS()).Scan(&id)
		} else {
			var res sql.Result
			res, err = tx.ExecContext(ctx, `UPDATE support_categories SET parent_id = $1, slug = $2, name_ja = $3, name_en = $4,
				position = $5, archived = $6 WHERE id = $7`, parent, in.Slug, in.NameJA, in.NameEN, in.Position, boolInt(in.Archived), id)
			if err == nil {
				if n, _ := res.RowsAffected(); n == 0 {
					return notFound("category", id)
				}
			}
		}
		if db.IsUniqueViolation(err) {
			return &kizuna.Error{Code: kizuna.ECONFLICT, Field: "slug", Message: fmt.Sprintf("slug %q is taken", in.Slug)}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Category{ID: id, ParentID: in.ParentID, Slug: in.Slug, NameJA: in.NameJA, NameEN: in.NameEN,
		Position: in.Position, Archived: in.Archived}, nil
}

// categoryUsable: the category exists and is not archived.
func categoryUsable(ctx context.Context, tx *db.Tx, id int64) error {
	var archived int
	err := tx.QueryRowContext(ctx, `SELECT archived FROM support_categories WHERE id = $1`, id).Scan(&archived)
	if isNoRows(err) {
		return &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "category_id", Message: fmt.Sprintf("category %d not found", id)}
	}
	if err != nil {
		return err
	}
	if archived != 0 {
		return kizuna.FieldError("category_id", "category %d is archived", id)
	}
	return nil
}
