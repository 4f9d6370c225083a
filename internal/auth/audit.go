package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Audit actions. The log is append-only: nothing updates or deletes a row.
// Capabilities outside auth record their own security-relevant actions
// (merge, unmerge, export) with Audit or AuditTx and these constants.
const (
	ActionLoginOK         = "login.ok"
	ActionLoginFailed     = "login.failed"
	ActionLoginThrottled  = "login.throttled"
	ActionLogout          = "logout"
	ActionUserCreated     = "user.created"
	ActionUserRoleChanged = "user.role_changed"
	ActionUserDisabled    = "user.disabled"
	ActionUserEnabled     = "user.enabled"
	ActionPasswordChanged = "user.password_changed"
	ActionKeyCreated      = "key.created"
	ActionKeyRevoked      = "key.revoked"
	ActionDataExported    = "data.exported"
	ActionDataImported    = "data.imported"
)

// Customer actions, as internal/customer records them.
const (
	ActionCustomerMerge        = "customer.merge"
	ActionCustomerMergeSkipped = "customer.merge_skipped" // an identify linked two user ids; not merged
	ActionCustomerUnmerge      = "customer.unmerge"
)

// Audit target types.
const (
	TargetUser     = "user"
	TargetKey      = "key"
	TargetSession  = "session"
	TargetCustomer = "customer"
	TargetMerge    = "merge"
	TargetSurvey   = "survey"
)

// ActorAnonymous is the actor type of entries made without a principal
// (failed logins).
const ActorAnonymous = "anonymous"

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	ActorType  string         `json:"actor_type"` // a PrincipalKind or "anonymous"
	ActorID    int64          `json:"actor_id,omitempty"`
	ActorLabel string         `json:"actor_label"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type,omitempty"`
	TargetID   string         `json:"target_id,omitempty"`
	Detail     map[string]any `json:"detail,omitempty"`
	IP         string         `json:"ip,omitempty"`
}

// AuditFilter selects audit entries. Empty fields match everything.
type AuditFilter struct {
	Action string // exact action, e.g. ActionLoginFailed
	Actor  string // exact actor label (an email, key name or "cli")
	// TargetType and TargetID select what was acted on, e.g. TargetCustomer
	// and "42" for one customer's trail. TargetID needs TargetType.
	TargetType string
	TargetID   string
	Limit      int    // 1..500, default 50
	Cursor     string // from the previous page's Next
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Items []AuditEntry `json:"items"`
	Next  string       `json:"next,omitempty"` // empty on the last page
}

// AuditTx appends an entry inside the caller's transaction, so that the
// record commits or rolls back with the change it describes (a customer
// merge, an export). The actor is ctx's principal; the time is tx.Now.
// detail must not hold secrets; it is stored as JSON.
func AuditTx(ctx context.Context, tx *db.Tx, action, targetType, targetID string, detail map[string]any) error {
	return auditTx(ctx, tx, tx.Now, actorOf(ctx), action, targetType, targetID, detail)
}

// Audit appends an entry in a transaction of its own. See AuditTx.
func (s *Service) Audit(ctx context.Context, action, targetType, targetID string, detail map[string]any) error {
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		return auditTx(ctx, tx, s.now(), actorOf(ctx), action, targetType, targetID, detail)
	})
}

// AuditTx is the package function AuditTx with the service's clock.
func (s *Service) AuditTx(ctx context.Context, tx *db.Tx, action, targetType, targetID string, detail map[string]any) error {
	return auditTx(ctx, tx, s.now(), actorOf(ctx), action, targetType, targetID, detail)
}

// actor is who an audit entry names.
type actor struct {
	Type  string
	ID    int64
	Label string
	IP    string
}

func actorOf(ctx context.Context) actor {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return actor{Type: ActorAnonymous}
	}
	return actorOfPrincipal(p)
}

func actorOfPrincipal(p Principal) actor {
	return actor{Type: string(p.Kind), ID: p.ID, Label: p.Label, IP: p.IP}
}

func auditTx(ctx context.Context, tx *db.Tx, at time.Time, a actor, action, targetType, targetID string, detail map[string]any) error {
	if action == "" {
		return internalError("auth.Audit", errors.New("empty action"))
	}
	js := []byte("{}")
	if len(detail) > 0 {
		var err error
		if js, err = json.Marshal(detail); err != nil {
			return internalError("auth.Audit", err)
		}
	}
	var actorID any
	if a.ID != 0 {
		actorID = a.ID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log
		(at, actor_type, actor_id, actor_label, action, target_type, target_id, detail, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		ms(at), a.Type, actorID, a.Label, action, targetType, targetID, string(js), a.IP)
	if err != nil {
		return internalError("auth.Audit", err)
	}
	return nil
}

// ListAudit returns audit entries matching f, newest first. [audit.read]
func (s *Service) ListAudit(ctx context.Context, f AuditFilter) (*AuditPage, error) {
	if err := Require(ctx, PermAuditRead); err != nil {
		return nil, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 500:
		return nil, kizuna.FieldError("limit", "limit must be between 1 and 500")
	}
	before := int64(1<<63 - 1)
	if f.Cursor != "" {
		n, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, kizuna.FieldError("cursor", "not a cursor from this list")
		}
		before = n
	}
	if f.TargetID != "" && f.TargetType == "" {
		return nil, kizuna.FieldError("target_type", "a target id needs a target type")
	}
	// Only the filters given become conditions, so that each can use its
	// index; the SQL is assembled from fixed fragments, never from input.
	where, args := []string{"id < $1"}, []any{before}
	for _, c := range []struct{ column, value string }{
		{"action", f.Action},
		{"actor_label", strings.TrimSpace(f.Actor)},
		{"target_type", f.TargetType},
		{"target_id", f.TargetID},
	} {
		if c.value != "" {
			args = append(args, c.value)
			where = append(where, c.column+" = $"+strconv.Itoa(len(args)))
		}
	}
	args = append(args, limit+1)
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, at, actor_type, actor_id, actor_label,
			action, target_type, target_id, detail, ip
		FROM audit_log WHERE `+strings.Join(where, " AND ")+`
		ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, internalError("auth.ListAudit", err)
	}
	defer rows.Close()
	page := &AuditPage{Items: []AuditEntry{}}
	for rows.Next() {
		var e AuditEntry
		var at int64
		var actorID sql.NullInt64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.ActorType, &actorID, &e.ActorLabel, &e.Action,
			&e.TargetType, &e.TargetID, &detail, &e.IP); err != nil {
			return nil, internalError("auth.ListAudit", err)
		}
		e.At, e.ActorID = fromMS(at), actorID.Int64
		if detail != "" && detail != "{}" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, internalError("auth.ListAudit", err)
			}
		}
		page.Items = append(page.Items, e)
	}
	if err := rows.Err(); err != nil {
		return nil, internalError("auth.ListAudit", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = strconv.FormatInt(page.Items[limit-1].ID, 10)
	}
	return page, nil
}
