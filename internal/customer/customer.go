// Package customer is the unified customer view: profiles, the identities
// they are known by, deterministic identity resolution and merging (with an
// exact unmerge), orders, and the time-ordered timeline of everything a
// customer did.
//
// Data model (migrations 00001, 00002):
//   - customers: one row per profile. A merged profile keeps its rows and
//     points at the surviving profile through merged_into (always a root),
//     so "customer C" means every profile with id = C or merged_into = C.
//   - identities: (kind, value) unique; an identity never moves, so an
//     unmerge restores exactly what each profile owned.
//   - events / orders / order_lines (and later survey responses, tickets …)
//     carry the customer_id of the profile that owned the identity they
//     arrived with; reads go through the canonical id.
package customer

import (
	"encoding/json"
	"time"
)

// Identity kinds.
const (
	KindEmail       = "email"        // lower-cased, trimmed
	KindPhone       = "phone"        // E.164
	KindUserID      = "user_id"      // Segment userId / the company's own customer id
	KindAnonymousID = "anonymous_id" // Segment anonymousId
	KindLINE        = "line_user_id" // LINE Messaging API user id (U + 32 hex)
	KindOrderID     = "order_id"     // an order reference known before the buyer
)

// Lifecycle stages.
var LifecycleStages = []string{"lead", "prospect", "customer", "repeat", "loyal", "at_risk", "churned"}

// Customer is a profile as shown to users: the canonical profile with what
// merges contributed.
type Customer struct {
	ID             int64          `json:"id"`
	FamilyName     string         `json:"family_name"`
	GivenName      string         `json:"given_name"`
	FamilyNameKana string         `json:"family_name_kana"`
	GivenNameKana  string         `json:"given_name_kana"`
	Email          string         `json:"email"`
	Phone          string         `json:"phone"`
	Locale         string         `json:"locale"`
	TimeZone       string         `json:"time_zone"`
	Country        string         `json:"country"`
	LifecycleStage string         `json:"lifecycle_stage"`
	Attributes     map[string]any `json:"attributes"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	LastSeenAt     *time.Time     `json:"last_seen_at"`
	// MergedIDs are the profiles merged into this one.
	MergedIDs  []int64    `json:"merged_ids,omitempty"`
	Identities []Identity `json:"identities,omitempty"`
}

// DisplayName is the name as a Japanese reader expects it (family name
// first), falling back to email, phone, then "#id".
func (c *Customer) DisplayName() string {
	switch {
	case c.FamilyName != "" && c.GivenName != "":
		return c.FamilyName + " " + c.GivenName
	case c.FamilyName != "":
		return c.FamilyName
	case c.GivenName != "":
		return c.GivenName
	case c.Email != "":
		return c.Email
	case c.Phone != "":
		return c.Phone
	}
	return "#" + itoa(c.ID)
}

// Identity is one key a customer is known by.
type Identity struct {
	Kind       string    `json:"kind"`
	Value      string    `json:"value"`
	CustomerID int64     `json:"customer_id"` // the profile that owns it
	Source     string    `json:"source"`
	CreatedAt  time.Time `json:"created_at"`
}

// Keys are the identities one message carries, before normalisation.
type Keys struct {
	UserID      string
	AnonymousID string
	Email       string
	Phone       string
	LINEUserID  string
}

// Traits are profile fields a message sets (Segment identify traits). Empty
// strings leave a field alone.
type Traits struct {
	FamilyName     string
	GivenName      string
	FamilyNameKana string
	GivenNameKana  string
	Email          string
	Phone          string
	Locale         string
	TimeZone       string
	Country        string
	LifecycleStage string
	// Attributes are merged key by key into the profile's attributes.
	Attributes map[string]any
}

// Resolve asks for the profile of one message's keys.
type Resolve struct {
	Keys   Keys
	Traits *Traits // nil: no profile update
	// Merge allows this message to merge two known profiles it links
	// (Segment identify and alias). A track never merges.
	Merge  bool
	Source string // e.g. "segment:3" or "import:online-retail"
	SeenAt time.Time
}

// Patch updates a profile from the API or UI; nil fields stay as they are.
type Patch struct {
	FamilyName     *string        `json:"family_name,omitempty"`
	GivenName      *string        `json:"given_name,omitempty"`
	FamilyNameKana *string        `json:"family_name_kana,omitempty"`
	GivenNameKana  *string        `json:"given_name_kana,omitempty"`
	Email          *string        `json:"email,omitempty"`
	Phone          *string        `json:"phone,omitempty"`
	Locale         *string        `json:"locale,omitempty"`
	TimeZone       *string        `json:"time_zone,omitempty"`
	Country        *string        `json:"country,omitempty"`
	LifecycleStage *string        `json:"lifecycle_stage,omitempty"`
	Attributes     map[string]any `json:"attributes,omitempty"` // merged key by key; a null value deletes the key
}

// Filter selects and orders customers for the list.
type Filter struct {
	Query          string // matches names (kanji and kana), email, phone digits, or exactly any identity (user id, LINE id …)
	LifecycleStage string
	Country        string
	SeenAfter      *time.Time
	// Sort is one of created_at, updated_at, last_seen_at, name; a leading
	// "-" sorts descending. Default "-created_at".
	Sort   string
	Limit  int    // 1..200, default 50
	Cursor string // opaque, from the previous page's Next
}

// Page is one page of a list.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"` // cursor for the next page; empty at the end
	Total int64  `json:"total"`          // matches in all pages (-1 if not counted)
}

// Order is a purchase with its lines.
type Order struct {
	ID         int64       `json:"id"`
	CustomerID int64       `json:"customer_id"`
	Ref        string      `json:"order_ref"`
	Source     string      `json:"source"`
	Currency   string      `json:"currency"`
	TotalMinor int64       `json:"total_minor"`
	Status     string      `json:"status"`
	PlacedAt   time.Time   `json:"placed_at"`
	Lines      []OrderLine `json:"lines,omitempty"`
}

// OrderLine is one line item; refunds and cancellations are negative.
type OrderLine struct {
	Kind           string    `json:"kind"` // sale, refund, cancel
	SKU            string    `json:"sku"`
	Name           string    `json:"name"`
	Quantity       int64     `json:"quantity"`
	UnitPriceMinor int64     `json:"unit_price_minor"`
	AmountMinor    int64     `json:"amount_minor"`
	OccurredAt     time.Time `json:"occurred_at"`
}

// OrderInput records an order, a refund or a cancellation.
type OrderInput struct {
	CustomerID int64
	Ref        string
	Source     string
	Currency   string // ISO 4217
	// Status: completed (a new order), refunded, cancelled. A refund or
	// cancellation of an order already known adds negative lines to it;
	// of an unknown order it creates the order with those lines.
	Status   string
	PlacedAt time.Time
	EventID  int64 // 0 if not from an event
	Lines    []OrderLine
	// AdjustmentKey identifies a refund or cancellation so that recording
	// it twice adds nothing: the credit note number of an import, the
	// messageId of an event (defaults to the EventID when set).
	AdjustmentKey string
}

// Event is a stored Segment-style message as the timeline shows it.
type Event struct {
	ID          int64           `json:"id"`
	CustomerID  int64           `json:"customer_id"`
	MessageID   string          `json:"message_id"`
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	UserID      string          `json:"user_id,omitempty"`
	AnonymousID string          `json:"anonymous_id,omitempty"`
	Properties  json.RawMessage `json:"properties"`
	Context     json.RawMessage `json:"context"`
	OccurredAt  time.Time       `json:"occurred_at"`
	ReceivedAt  time.Time       `json:"received_at"`
}

// TimelineItem is one entry of the 360 timeline. Kind is "event" or
// "order" today; survey responses, tickets and messages join later.
type TimelineItem struct {
	Kind    string         `json:"kind"`
	ID      int64          `json:"id"`
	At      time.Time      `json:"at"`
	Title   string         `json:"title"` // event name / order ref
	Detail  map[string]any `json:"detail,omitempty"`
	Profile int64          `json:"profile_id"` // the (possibly merged) profile it belongs to
}

// Merge is one entry of the merge audit trail.
type Merge struct {
	ID        int64      `json:"id"`
	WinnerID  int64      `json:"winner_id"`
	LoserID   int64      `json:"loser_id"`
	Reason    string     `json:"reason"`
	Actor     string     `json:"actor"`
	CreatedAt time.Time  `json:"created_at"`
	UndoneAt  *time.Time `json:"undone_at,omitempty"`
	UndoneBy  string     `json:"undone_by,omitempty"`
}

// Summary is the recency / frequency / monetary view of one customer.
type Summary struct {
	Orders          int64      `json:"orders"`            // completed orders
	FirstOrderAt    *time.Time `json:"first_order_at"`    // nil: never ordered
	LastOrderAt     *time.Time `json:"last_order_at"`     //
	RecencyDays     int        `json:"recency_days"`      // days since the last order (-1: never)
	Currency        string     `json:"currency"`          // the customer's main currency
	NetRevenueMinor int64      `json:"net_revenue_minor"` // sales minus refunds and cancellations
	AvgOrderMinor   int64      `json:"avg_order_minor"`
	Events          int64      `json:"events"`
}

// Point is one bucket of a time series.
type Point struct {
	Start time.Time `json:"start"`
	Value float64   `json:"value"`
}

// Overview is what the dashboard shows for a period.
type Overview struct {
	Customers       int64   `json:"customers"`         // canonical profiles in all
	ActiveCustomers int64   `json:"active_customers"`  // with an event or order in the period
	Orders          int64   `json:"orders"`            // in the period
	NetRevenueMinor int64   `json:"net_revenue_minor"` // in the main currency, in the period
	Currency        string  `json:"currency"`
	NewCustomers    []Point `json:"new_customers"`
	ActiveSeries    []Point `json:"active_customers_series"`
	OrdersSeries    []Point `json:"orders_series"`
	RevenueSeries   []Point `json:"revenue_series"` // minor units
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
