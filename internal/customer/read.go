package customer

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

func notFound(id int64) error {
	return kizuna.Errorf(kizuna.ENOTFOUND, "customer %d not found", id)
}

// canonicalID returns the canonical customer a profile id belongs to.
func canonicalID(ctx context.Context, q querier, id int64) (int64, error) {
	var c int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(merged_into, id) FROM customers WHERE id = $1`, id).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound(id)
	}
	if err != nil {
		return 0, fmt.Errorf("customer %d: %w", id, err)
	}
	return c, nil
}

func (p *profile) toCustomer(updatedAt int64) Customer {
	c := Customer{
		ID:             p.id,
		FamilyName:     p.f.FamilyName,
		GivenName:      p.f.GivenName,
		FamilyNameKana: p.f.FamilyNameKana,
		GivenNameKana:  p.f.GivenNameKana,
		Email:          p.f.Email,
		Phone:          p.f.Phone,
		Locale:         p.f.Locale,
		TimeZone:       p.f.TimeZone,
		Country:        p.f.Country,
		LifecycleStage: p.f.LifecycleStage,
		Attributes:     p.attributes(),
		CreatedAt:      msTime(p.createdAt),
		UpdatedAt:      msTime(updatedAt),
	}
	if p.lastSeen != 0 {
		t := msTime(p.lastSeen)
		c.LastSeenAt = &t
	}
	return c
}

// Get returns the customer with its identities. The id of a merged profile
// returns the canonical customer it was merged into. [customers.read]
func (s *Service) Get(ctx context.Context, id int64) (*Customer, error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	return s.get(ctx, s.db.Reader(), id)
}

func (s *Service) get(ctx context.Context, q querier, id int64) (*Customer, error) {
	root, err := canonicalID(ctx, q, id)
	if err != nil {
		return nil, err
	}
	p, updatedAt, err := scanProfile(q.QueryRowContext(ctx, `SELECT `+customerCols+` FROM customers WHERE id = $1`, root))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("customer %d: %w", id, err)
	}
	c := p.toCustomer(updatedAt)
	rows, err := q.QueryContext(ctx, `SELECT id, last_seen_at FROM customers WHERE merged_into = $1 ORDER BY id`, root)
	if err != nil {
		return nil, fmt.Errorf("customer %d: merged: %w", id, err)
	}
	for rows.Next() {
		var mid int64
		var seen sql.NullInt64
		if err := rows.Scan(&mid, &seen); err != nil {
			rows.Close()
			return nil, fmt.Errorf("customer %d: merged: %w", id, err)
		}
		c.MergedIDs = append(c.MergedIDs, mid)
		// The customer was last seen when any of its profiles was.
		if seen.Valid && (c.LastSeenAt == nil || seen.Int64 > c.LastSeenAt.UnixMilli()) {
			t := msTime(seen.Int64)
			c.LastSeenAt = &t
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	irows, err := q.QueryContext(ctx, `SELECT kind, value, customer_id, source, created_at FROM identities
		WHERE customer_id IN (`+groupIDs("$1")+`) ORDER BY id`, root)
	if err != nil {
		return nil, fmt.Errorf("customer %d: identities: %w", id, err)
	}
	for irows.Next() {
		var i Identity
		var at int64
		if err := irows.Scan(&i.Kind, &i.Value, &i.CustomerID, &i.Source, &at); err != nil {
			irows.Close()
			return nil, fmt.Errorf("customer %d: identities: %w", id, err)
		}
		i.CreatedAt = msTime(at)
		c.Identities = append(c.Identities, i)
	}
	if err := irows.Close(); err != nil {
		return nil, err
	}
	if err := irows.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(c.Identities, func(a, b Identity) int { return rankOf(a.Kind) - rankOf(b.Kind) })
	return &c, nil
}

func rankOf(kind string) int {
	if r, ok := kindRank[kind]; ok {
		return r
	}
	return len(kindRank)
}

// listSorts whitelists List's sort keys: the SQL expression (never built
// from input) and whether the key is text.
var listSorts = map[string]struct {
	expr string
	text bool
}{
	"created_at":   {"created_at", false},
	"updated_at":   {"updated_at", false},
	"last_seen_at": {"COALESCE(last_seen_at, -1)", false},
	"name":         {"sort_name", true},
}

// listCursor is what List's opaque cursor carries: the sort it belongs to
// and the last row's sort key and id.
type listCursor struct {
	Sort string `json:"s"`
	Int  int64  `json:"i,omitempty"`
	Text string `json:"t,omitempty"`
	ID   int64  `json:"id"`
}

func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, v) != nil {
		return kizuna.FieldError("cursor", "the page cursor is not valid; start again from the first page")
	}
	return nil
}

func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return 50, nil
	case n < 1 || n > 200:
		return 0, kizuna.FieldError("limit", "limit must be between 1 and 200")
	}
	return n, nil
}

// List returns canonical customers matching f. [customers.read]
func (s *Service) List(ctx context.Context, f Filter) (*Page[Customer], error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	sortName := strings.TrimSpace(f.Sort)
	if sortName == "" {
		sortName = "-created_at"
	}
	desc := strings.HasPrefix(sortName, "-")
	sortKey, ok := listSorts[strings.TrimPrefix(sortName, "-")]
	if !ok {
		return nil, kizuna.FieldError("sort", "cannot sort by %q (use created_at, updated_at, last_seen_at or name, with - for descending)", sortName)
	}
	where := []string{"merged_into IS NULL"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if pat, ok := searchPattern(f.Query); ok {
		// Besides names, email and phone, a query finds a customer by the
		// exact value of any identity of any of its profiles: the company's
		// own customer id, a LINE id, an anonymous id from a support
		// ticket, or an email that only a merged profile had.
		raw := strings.TrimSpace(f.Query)
		where = append(where, `(search_text LIKE `+arg(pat)+` ESCAPE '\' OR id IN (
			SELECT COALESCE(c.merged_into, c.id) FROM identities i JOIN customers c ON c.id = i.customer_id
			WHERE i.kind IN ('user_id', 'email', 'line_user_id', 'anonymous_id') AND i.value IN (`+arg(raw)+`, `+arg(strings.ToLower(raw))+`)))`)
	}
	if f.LifecycleStage != "" {
		if !validLifecycle(f.LifecycleStage) {
			return nil, kizuna.FieldError("lifecycle_stage", "unknown lifecycle stage %q", f.LifecycleStage)
		}
		where = append(where, "lifecycle_stage = "+arg(f.LifecycleStage))
	}
	if f.Country != "" {
		c, _ := normalizeCountry(f.Country)
		where = append(where, "country = "+arg(c))
	}
	if f.SeenAfter != nil {
		where = append(where, "last_seen_at >= "+arg(f.SeenAfter.UnixMilli()))
	}
	filter := strings.Join(where, " AND ")
	filterArgs := slices.Clone(args)

	if f.Cursor != "" {
		var c listCursor
		if err := decodeCursor(f.Cursor, &c); err != nil {
			return nil, err
		}
		if c.Sort != sortName {
			return nil, kizuna.FieldError("cursor", "the page cursor belongs to another sort order; start again from the first page")
		}
		cmp := ">"
		if desc {
			cmp = "<"
		}
		var k string
		if sortKey.text {
			k = arg(c.Text)
		} else {
			k = arg(c.Int)
		}
		id := arg(c.ID)
		where = append(where, fmt.Sprintf("(%s %s %s OR (%s = %s AND id %s %s))", sortKey.expr, cmp, k, sortKey.expr, k, cmp, id))
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	q := `SELECT ` + customerCols + `, sort_name FROM customers WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + sortKey.expr + ` ` + dir + `, id ` + dir + ` LIMIT ` + arg(limit+1)
	rows, err := s.db.Reader().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	page := &Page[Customer]{Items: []Customer{}}
	var last listCursor
	for rows.Next() {
		var (
			p         profile
			parent    sql.NullInt64
			lastSeen  sql.NullInt64
			updatedAt int64
			sortText  string
		)
		if err := rows.Scan(&p.id, &parent, &p.f.FamilyName, &p.f.GivenName, &p.f.FamilyNameKana, &p.f.GivenNameKana,
			&p.f.Email, &p.f.Phone, &p.f.Locale, &p.f.TimeZone, &p.f.Country, &p.f.LifecycleStage,
			&p.attrsRaw, &p.createdAt, &lastSeen, &updatedAt, &sortText); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list customers: %w", err)
		}
		p.lastSeen = lastSeen.Int64
		if len(page.Items) == limit {
			page.Next = encodeCursor(last)
			break
		}
		page.Items = append(page.Items, p.toCustomer(updatedAt))
		last = listCursor{Sort: sortName, ID: p.id}
		switch strings.TrimPrefix(sortName, "-") {
		case "created_at":
			last.Int = p.createdAt
		case "updated_at":
			last.Int = updatedAt
		case "last_seen_at":
			last.Int = -1
			if lastSeen.Valid {
				last.Int = lastSeen.Int64
			}
		case "name":
			last.Text = sortText
		}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM customers WHERE `+filter, filterArgs...).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("count customers: %w", err)
	}
	return page, nil
}

const maxNameLen = 200

// Update patches a profile. Email and phone are normalised and also added
// as identities. The id of a merged profile updates the canonical customer.
// Errors: EINVALID (with the field), ENOTFOUND, ECONFLICT when the email or
// phone already identifies another customer. [customers.write]
func (s *Service) Update(ctx context.Context, id int64, patch Patch) (*Customer, error) {
	if err := auth.Require(ctx, auth.PermCustomersWrite); err != nil {
		return nil, err
	}
	var out *Customer
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		root, err := canonicalID(ctx, tx, id)
		if err != nil {
			return err
		}
		parent, err := lockRoot(ctx, tx, root)
		if err != nil {
			return err
		}
		if parent != 0 {
			// Merged between the read and the lock: edit the survivor.
			root = parent
			if _, err := lockRoot(ctx, tx, root); err != nil {
				return err
			}
		}
		profiles := map[int64]*profile{}
		if err := loadProfiles(ctx, tx, tx.Dialect, []int64{root}, profiles); err != nil {
			return err
		}
		p := profiles[root]
		changed, idents, err := s.applyPatch(p, &patch)
		if err != nil {
			return err
		}
		for _, k := range idents {
			var owner int64
			err := tx.QueryRowContext(ctx, `SELECT COALESCE(c.merged_into, c.id) FROM identities i JOIN customers c ON c.id = i.customer_id
				WHERE i.kind = $1 AND i.value = $2`, k.kind, k.value).Scan(&owner)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, `INSERT INTO identities (customer_id, kind, value, source, created_at) VALUES ($1, $2, $3, $4, $5)`,
					root, k.kind, k.value, "manual", tx.NowMS()); err != nil {
					return fmt.Errorf("update customer %d: %w", id, err)
				}
			case err != nil:
				return fmt.Errorf("update customer %d: %w", id, err)
			case owner != root:
				return &kizuna.Error{Code: kizuna.ECONFLICT, Field: k.kind,
					Message: fmt.Sprintf("%s already identifies customer %d; merge the two customers instead", k.value, owner)}
			}
		}
		if len(changed) > 0 {
			if err := updateProfiles(ctx, tx, []*profile{p}, tx.NowMS()); err != nil {
				return err
			}
			if err := writeAudit(ctx, tx, ActionUpdate, strconv.FormatInt(root, 10), map[string]any{"fields": changed}); err != nil {
				return err
			}
		}
		out, err = s.get(ctx, tx, root)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyPatch validates and applies a patch to p, returning the names of the
// fields that changed and the identities the new email/phone add.
func (s *Service) applyPatch(p *profile, patch *Patch) (changed []string, idents []identKey, err error) {
	set := func(field string, dst *string, v string) {
		if *dst != v {
			*dst = v
			changed = append(changed, field)
		}
	}
	names := []struct {
		field string
		in    *string
		dst   *string
	}{
		{"family_name", patch.FamilyName, &p.f.FamilyName},
		{"given_name", patch.GivenName, &p.f.GivenName},
		{"family_name_kana", patch.FamilyNameKana, &p.f.FamilyNameKana},
		{"given_name_kana", patch.GivenNameKana, &p.f.GivenNameKana},
	}
	for _, n := range names {
		if n.in == nil {
			continue
		}
		v := NormalizeName(*n.in)
		if len([]rune(v)) > maxNameLen {
			return nil, nil, kizuna.FieldError(n.field, "at most %d characters", maxNameLen)
		}
		set(n.field, n.dst, v)
	}
	if patch.Email != nil {
		v := ""
		if !isBlank(*patch.Email) {
			if v, err = NormalizeEmail(*patch.Email); err != nil {
				return nil, nil, err
			}
			idents = append(idents, identKey{KindEmail, v})
		}
		set("email", &p.f.Email, v)
	}
	if patch.Phone != nil {
		v := ""
		if !isBlank(*patch.Phone) {
			country := p.f.Country
			if patch.Country != nil {
				country = *patch.Country
			}
			if v, err = NormalizePhone(*patch.Phone, s.phoneRegion(country)); err != nil {
				return nil, nil, err
			}
			idents = append(idents, identKey{KindPhone, v})
		}
		set("phone", &p.f.Phone, v)
	}
	if patch.Locale != nil {
		v, ok := normalizeLocale(*patch.Locale)
		if v != "" && !ok {
			return nil, nil, kizuna.FieldError("locale", "%q is not a language tag such as ja-JP or en", *patch.Locale)
		}
		set("locale", &p.f.Locale, v)
	}
	if patch.TimeZone != nil {
		v := strings.TrimSpace(*patch.TimeZone)
		if v != "" && !validTimeZone(v) {
			return nil, nil, kizuna.FieldError("time_zone", "%q is not an IANA time zone such as Asia/Tokyo", v)
		}
		set("time_zone", &p.f.TimeZone, v)
	}
	if patch.Country != nil {
		v, ok := normalizeCountry(*patch.Country)
		if v != "" && !ok {
			return nil, nil, kizuna.FieldError("country", "%q is not an ISO 3166 country code such as JP", *patch.Country)
		}
		set("country", &p.f.Country, v)
	}
	if patch.LifecycleStage != nil {
		v := strings.ToLower(strings.TrimSpace(*patch.LifecycleStage))
		if !validLifecycle(v) {
			return nil, nil, kizuna.FieldError("lifecycle_stage", "unknown lifecycle stage %q (one of %s)", *patch.LifecycleStage, strings.Join(LifecycleStages, ", "))
		}
		set("lifecycle_stage", &p.f.LifecycleStage, v)
	}
	if len(patch.Attributes) > 0 {
		a := p.attributes()
		for k, v := range patch.Attributes {
			if strings.TrimSpace(k) == "" {
				return nil, nil, kizuna.FieldError("attributes", "attribute names must not be empty")
			}
			old, had := a[k]
			switch {
			case v == nil && had:
				delete(a, k)
				changed = append(changed, "attributes."+k)
			case v != nil && (!had || !reflect.DeepEqual(old, v)):
				a[k] = v
				changed = append(changed, "attributes."+k)
			}
		}
	}
	if len(changed) > 0 {
		p.dirty = true
	}
	return changed, idents, nil
}

// ActionUpdate is the audit action of a profile edit (auth names the merge
// actions; this one is the customer capability's own).
const ActionUpdate = "customer.update"
