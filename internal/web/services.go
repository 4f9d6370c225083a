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

// Accounts is what the web layer uses of the auth capability: logins,
// sessions, API keys, users, keys and the audit log; *auth.Service
// implements it. The management methods check permissions themselves
// (users.manage, keys.manage, audit.read).
type Accounts interface {
	// Login checks the credentials and starts a session; it returns the
	// cookie value. EUNAUTHORIZED for bad credentials, ETOOMANY when
	// throttled.
	Login(ctx context.Context, email, password, ip, userAgent string) (string, *auth.Session, *auth.User, error)
	// LookupSession returns the live session for a cookie value, or
	// EUNAUTHORIZED.
	LookupSession(ctx context.Context, token string) (*auth.Session, *auth.User, auth.Principal, error)
	Logout(ctx context.Context, token string) error
	// AuthenticateAPIKey returns the principal of an API key secret, or
	// EUNAUTHORIZED (unknown, revoked, or a write key).
	AuthenticateAPIKey(ctx context.Context, secret string) (auth.Principal, error)
	// SetLocale stores a user's language choice (their own, or anyone's
	// with users.manage).
	SetLocale(ctx context.Context, userID int64, locale string) error

	CreateUser(ctx context.Context, email, name, password string, role auth.Role) (*auth.User, error)
	ListUsers(ctx context.Context) ([]auth.User, error)
	SetRole(ctx context.Context, userID int64, role auth.Role) (*auth.User, error)
	DisableUser(ctx context.Context, userID int64) error
	EnableUser(ctx context.Context, userID int64) error

	// CreateKey returns the key and its secret, shown once.
	CreateKey(ctx context.Context, kind auth.KeyKind, name string, role auth.Role) (*auth.Key, string, error)
	ListKeys(ctx context.Context) ([]auth.Key, error)
	RevokeKey(ctx context.Context, id int64) error

	ListAudit(ctx context.Context, f auth.AuditFilter) (*auth.AuditPage, error)
}

var _ Accounts = (*auth.Service)(nil)

// NewUser is the input for creating an account (API and form).
type NewUser struct {
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Password string    `json:"password"`
	Role     auth.Role `json:"role"`
}

// NewKey is the input for creating a key.
type NewKey struct {
	Kind auth.KeyKind `json:"kind"`
	Name string       `json:"name"`
	Role auth.Role    `json:"role,omitempty"`
}
