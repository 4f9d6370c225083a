package web

import (
	"context"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// Customers is what the web layer uses of the customer capability;
// *customer.Service implements it. Every method checks the caller's
// permission itself (auth.Require), so handlers only translate.
type Customers interface {
	Get(ctx context.Context, id int64) (*customer.Customer, error)
	List(ctx context.Context, f customer.Filter) (*customer.Page[customer.Customer], error)
	Update(ctx context.Context, id int64, p customer.Patch) (*customer.Customer, error)
	Timeline(ctx context.Context, id int64, limit int, cursor string) (*customer.Page[customer.TimelineItem], error)
	Orders(ctx context.Context, id int64, limit int, cursor string) (*customer.Page[customer.Order], error)
	Events(ctx context.Context, id int64, limit int, cursor string) (*customer.Page[customer.Event], error)
	Summary(ctx context.Context, id int64) (*customer.Summary, error)
	Merge(ctx context.Context, winnerID, loserID int64, reason string) (*customer.Merge, error)
	Unmerge(ctx context.Context, mergeID int64) error
	Merges(ctx context.Context, customerID int64) ([]customer.Merge, error)
	Overview(ctx context.Context, from, to time.Time, bucket string) (*customer.Overview, error)
}

var _ Customers = (*customer.Service)(nil)

// Session is what the web layer needs of a login session.
type Session struct {
	CSRFToken string
	ExpiresAt time.Time
}

// User is an account as the settings pages and the API show it.
type User struct {
	ID         int64      `json:"id"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	Role       auth.Role  `json:"role"`
	Locale     string     `json:"locale"`
	CreatedAt  time.Time  `json:"created_at"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

// NewUser is the input for creating an account.
type NewUser struct {
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Password string    `json:"password"`
	Role     auth.Role `json:"role"`
	Locale   string    `json:"locale"`
}

// Key kinds.
const (
	KeyKindWrite = "write" // Segment ingestion (/v1/*)
	KeyKindAPI   = "api"   // the JSON API (/api/v1), with a role
)

// Key is an API or write key as lists show it; the secret is never shown
// again after creation.
type Key struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Role       auth.Role  `json:"role,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// NewKey is the input for creating a key.
type NewKey struct {
	Kind string    `json:"kind"`
	Name string    `json:"name"`
	Role auth.Role `json:"role,omitempty"`
}

// AuditEntry is one row of the append-only audit log.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	ActorType  string    `json:"actor_type"`
	ActorLabel string    `json:"actor_label"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type"`
	TargetID   string    `json:"target_id"`
	Detail     string    `json:"detail"`
	IP         string    `json:"ip"`
}

// Accounts is what the web layer uses of the auth capability: logins,
// sessions, API keys, users, keys and the audit log. The management
// methods check permissions themselves (users.manage, keys.manage,
// audit.read). An adapter over *auth.Service implements it.
type Accounts interface {
	// Login checks the credentials and starts a session; it returns the
	// cookie value. EUNAUTHORIZED for bad credentials, ETOOMANY when
	// throttled.
	Login(ctx context.Context, email, password, ip, userAgent string) (token string, s *Session, u *User, err error)
	// LookupSession returns the live session for a cookie value, or
	// EUNAUTHORIZED.
	LookupSession(ctx context.Context, token string) (*Session, auth.Principal, error)
	Logout(ctx context.Context, token string) error
	// AuthenticateAPIKey returns the principal of an API key secret, or
	// EUNAUTHORIZED (unknown, revoked, or a write key).
	AuthenticateAPIKey(ctx context.Context, secret string) (auth.Principal, error)
	// SetLocale stores a user's language choice.
	SetLocale(ctx context.Context, userID int64, locale string) error

	CreateUser(ctx context.Context, in NewUser) (*User, error)
	ListUsers(ctx context.Context) ([]User, error)
	SetRole(ctx context.Context, userID int64, role auth.Role) error
	DisableUser(ctx context.Context, userID int64) error

	// CreateKey returns the key and its secret, shown once.
	CreateKey(ctx context.Context, in NewKey) (*Key, string, error)
	ListKeys(ctx context.Context) ([]Key, error)
	RevokeKey(ctx context.Context, id int64) error

	ListAudit(ctx context.Context, limit int, cursor string) (*customer.Page[AuditEntry], error)
}
