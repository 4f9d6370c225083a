package customer

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// profileFields are the editable fields of one profile row: what a merge
// fills from the loser and an unmerge restores.
type profileFields struct {
	FamilyName     string `json:"family_name"`
	GivenName      string `json:"given_name"`
	FamilyNameKana string `json:"family_name_kana"`
	GivenNameKana  string `json:"given_name_kana"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	Locale         string `json:"locale"`
	TimeZone       string `json:"time_zone"`
	Country        string `json:"country"`
	LifecycleStage string `json:"lifecycle_stage"`
}

// fieldPtrs lists the fields by column name, in the order of customerCols,
// so that merge fill, unmerge restore and the UPDATE share one list.
func (f *profileFields) fieldPtrs() []struct {
	col string
	p   *string
} {
	return []struct {
		col string
		p   *string
	}{
		{"family_name", &f.FamilyName},
		{"given_name", &f.GivenName},
		{"family_name_kana", &f.FamilyNameKana},
		{"given_name_kana", &f.GivenNameKana},
		{"email", &f.Email},
		{"phone", &f.Phone},
		{"locale", &f.Locale},
		{"time_zone", &f.TimeZone},
		{"country", &f.Country},
		{"lifecycle_stage", &f.LifecycleStage},
	}
}

// profile is one customers row as the write paths hold it in memory.
type profile struct {
	id        int64 // > 0 stored; < 0 created by this batch, not yet inserted
	parent    int64 // merged_into; 0 for a root
	f         profileFields
	attrsRaw  string
	attrs     map[string]any // parsed from attrsRaw on first use
	createdAt int64
	lastSeen  int64 // 0: never seen
	seen      int64 // the newest SeenAt of this batch, to move last_seen_at forward
	dirty     bool  // fields or attributes changed
	isNew     bool  // created by this batch: inserted whole, never updated
	light     bool  // only id, parent and lastSeen are loaded (see loadLight)
}

func (p *profile) attributes() map[string]any {
	if p.attrs == nil {
		p.attrs = map[string]any{}
		if p.attrsRaw != "" {
			// A corrupt attributes column must not stop ingestion: the
			// profile then starts over with the attributes this batch sets.
			_ = json.Unmarshal([]byte(p.attrsRaw), &p.attrs)
		}
	}
	return p.attrs
}

func (p *profile) attributesJSON() string {
	if p.attrs == nil {
		if p.attrsRaw == "" {
			return "{}"
		}
		return p.attrsRaw
	}
	b, err := json.Marshal(p.attrs)
	if err != nil {
		return "{}"
	}
	return string(b)
}

func (p *profile) asCustomer() *Customer {
	return &Customer{
		ID:             p.id,
		FamilyName:     p.f.FamilyName,
		GivenName:      p.f.GivenName,
		FamilyNameKana: p.f.FamilyNameKana,
		GivenNameKana:  p.f.GivenNameKana,
		Email:          p.f.Email,
		Phone:          p.f.Phone,
	}
}

// customerCols is the column list scanProfile reads.
const customerCols = `id, merged_into, family_name, given_name, family_name_kana, given_name_kana,
	email, phone, locale, time_zone, country, lifecycle_stage, attributes, created_at, last_seen_at, updated_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanProfile(r rowScanner) (*profile, int64, error) {
	var (
		p         profile
		parent    sql.NullInt64
		lastSeen  sql.NullInt64
		updatedAt int64
	)
	err := r.Scan(&p.id, &parent, &p.f.FamilyName, &p.f.GivenName, &p.f.FamilyNameKana, &p.f.GivenNameKana,
		&p.f.Email, &p.f.Phone, &p.f.Locale, &p.f.TimeZone, &p.f.Country, &p.f.LifecycleStage,
		&p.attrsRaw, &p.createdAt, &lastSeen, &updatedAt)
	if err != nil {
		return nil, 0, err
	}
	p.parent = parent.Int64
	p.lastSeen = lastSeen.Int64
	return &p, updatedAt, nil
}

// querier is what both *sql.DB (reads) and *db.Tx (writes) offer.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// loadLight reads only what resolving a track needs — the profile's root
// and last_seen_at — for the given profiles, leaving those already in into
// alone. The hot path reads hundreds of profiles per batch and changes the
// fields of few; those are then read whole (loadProfiles).
func loadLight(ctx context.Context, q querier, d db.Dialect, ids []int64, into map[int64]*profile) error {
	const chunk = 1000
	for lo := 0; lo < len(ids); lo += chunk {
		hi := min(lo+chunk, len(ids))
		in, args := db.InInt(d, 1, ids[lo:hi])
		rows, err := q.QueryContext(ctx, positional(d, `SELECT id, merged_into, last_seen_at FROM customers WHERE id`+in), args...)
		if err != nil {
			return fmt.Errorf("load profiles: %w", err)
		}
		for rows.Next() {
			var p profile
			var parent, seen sql.NullInt64
			if err := rows.Scan(&p.id, &parent, &seen); err != nil {
				rows.Close()
				return fmt.Errorf("load profiles: %w", err)
			}
			p.parent, p.lastSeen, p.light = parent.Int64, seen.Int64, true
			if into[p.id] == nil {
				into[p.id] = &p
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("load profiles: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load profiles: %w", err)
		}
	}
	return nil
}

// loadProfiles reads the given profiles into into, chunked so no statement
// exceeds db.MaxParams.
func loadProfiles(ctx context.Context, q querier, d db.Dialect, ids []int64, into map[int64]*profile) error {
	const chunk = 1000
	for lo := 0; lo < len(ids); lo += chunk {
		hi := min(lo+chunk, len(ids))
		in, args := db.InInt(d, 1, ids[lo:hi])
		rows, err := q.QueryContext(ctx, positional(d, `SELECT `+customerCols+` FROM customers WHERE id`+in), args...)
		if err != nil {
			return fmt.Errorf("load profiles: %w", err)
		}
		for rows.Next() {
			p, _, err := scanProfile(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("load profiles: %w", err)
			}
			into[p.id] = p
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("load profiles: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load profiles: %w", err)
		}
	}
	return nil
}

// fillBlanks copies into w every field and attribute that w lacks and l
// has, and returns what it filled (for an exact unmerge).
func fillBlanks(w, l *profile) (filled map[string]string, attrsAdded []string) {
	filled = map[string]string{}
	wf, lf := w.f.fieldPtrs(), l.f.fieldPtrs()
	for i := range wf {
		if wf[i].col == "lifecycle_stage" {
			// Every profile has a stage (default "lead"); the survivor's
			// stays: it is the customer's relationship, not a blank.
			continue
		}
		if *wf[i].p == "" && *lf[i].p != "" {
			*wf[i].p = *lf[i].p
			filled[wf[i].col] = *lf[i].p
		}
	}
	la := l.attributes()
	if len(la) > 0 {
		wa := w.attributes()
		for k, v := range la {
			if _, ok := wa[k]; !ok {
				wa[k] = v
				attrsAdded = append(attrsAdded, k)
			}
		}
	}
	if len(filled) > 0 || len(attrsAdded) > 0 {
		w.dirty = true
	}
	return filled, attrsAdded
}

// mergeRecord is the JSON kept in customer_merges.winner_before: the
// winner's fields before the merge and exactly what the merge filled, so an
// unmerge can put back only what the merge put there.
type mergeRecord struct {
	Before      profileFields     `json:"before"`
	Filled      map[string]string `json:"filled,omitempty"`
	AttrsAdded  []string          `json:"attributes_added,omitempty"`
	AttrsValues map[string]any    `json:"attributes_values,omitempty"`
}

// actor names the principal in ctx for audit trails.
func actor(ctx context.Context) (kind string, id any, label, ip string) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return string(auth.PrincipalSystem), nil, "system", ""
	}
	kind, label, ip = string(p.Kind), p.Label, p.IP
	if p.ID != 0 {
		id = p.ID
	}
	if label == "" {
		label = kind
	}
	return kind, id, label, ip
}

// writeAudit appends one row to the audit log in tx, so that it commits or
// rolls back with the change it records.
func writeAudit(ctx context.Context, tx *db.Tx, action, targetID string, detail map[string]any) error {
	return auth.AuditTx(ctx, tx, action, auth.TargetCustomer, targetID, detail)
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
