package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// The fakes stand in for the auth and customer services in handler tests.
// Like the real services they check permissions with auth.Require first,
// so the route × role test exercises the same decisions.

var testNow = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

type fakeUser struct {
	User
	password string
}

type fakeSession struct {
	userID int64
	csrf   string
}

type fakeKey struct {
	Key
	secret string
}

type fakeAccounts struct {
	mu       sync.Mutex
	users    map[int64]*fakeUser
	sessions map[string]*fakeSession
	keys     map[int64]*fakeKey
	audit    []AuditEntry
	failures map[string]int
	nextID   int64
}

func newFakeAccounts() *fakeAccounts {
	return &fakeAccounts{users: map[int64]*fakeUser{}, sessions: map[string]*fakeSession{}, keys: map[int64]*fakeKey{}, failures: map[string]int{}}
}

func (a *fakeAccounts) id() int64 { a.nextID++; return a.nextID }

func (a *fakeAccounts) addUser(email, password string, role auth.Role, locale string) *fakeUser {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := &fakeUser{User: User{ID: a.id(), Email: email, Name: strings.Split(email, "@")[0], Role: role, Locale: locale, CreatedAt: testNow}, password: password}
	a.users[u.ID] = u
	return u
}

// session starts a session directly (tests that are not about login).
func (a *fakeAccounts) session(userID int64) (token, csrf string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	token, csrf = randomToken(), randomToken()
	a.sessions[token] = &fakeSession{userID: userID, csrf: csrf}
	return token, csrf
}

func (a *fakeAccounts) addKey(kind, name string, role auth.Role) (*fakeKey, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.id()
	secret := fmt.Sprintf("kz_%s_%d_%s", kind, id, randomToken())
	k := &fakeKey{Key: Key{ID: id, Kind: kind, Name: name, Prefix: secret[:10], Role: role, CreatedAt: testNow}, secret: secret}
	a.keys[id] = k
	return k, secret
}

func (a *fakeAccounts) log(ctx context.Context, action, target string) {
	p, _ := auth.PrincipalFrom(ctx)
	a.audit = append(a.audit, AuditEntry{ID: int64(len(a.audit) + 1), At: testNow, ActorType: string(p.Kind), ActorLabel: p.Label, Action: action, TargetID: target, Detail: "{}", IP: p.IP})
}

func (a *fakeAccounts) Login(ctx context.Context, email, password, ip, ua string) (string, *Session, *User, error) {
	a.mu.Lock()
	if a.failures[email] >= 5 {
		a.mu.Unlock()
		return "", nil, nil, kizuna.Errorf(kizuna.ETOOMANY, "too many failed logins; try again later")
	}
	var found *fakeUser
	for _, u := range a.users {
		if strings.EqualFold(u.Email, email) {
			found = u
		}
	}
	if found == nil || found.DisabledAt != nil || subtle.ConstantTimeCompare([]byte(found.password), []byte(password)) != 1 {
		a.failures[email]++
		a.mu.Unlock()
		return "", nil, nil, kizuna.Errorf(kizuna.EUNAUTHORIZED, "wrong email or password")
	}
	a.mu.Unlock()
	tok, csrf := a.session(found.ID)
	u := found.User
	return tok, &Session{CSRFToken: csrf, ExpiresAt: time.Now().Add(12 * time.Hour)}, &u, nil
}

func (a *fakeAccounts) LookupSession(ctx context.Context, token string) (*Session, auth.Principal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[token]
	if !ok {
		return nil, auth.Principal{}, kizuna.Errorf(kizuna.EUNAUTHORIZED, "session expired")
	}
	u := a.users[s.userID]
	if u.DisabledAt != nil {
		return nil, auth.Principal{}, kizuna.Errorf(kizuna.EUNAUTHORIZED, "session expired")
	}
	return &Session{CSRFToken: s.csrf}, auth.Principal{Kind: auth.PrincipalUser, ID: u.ID, Role: u.Role, Label: u.Email, Locale: u.Locale}, nil
}

func (a *fakeAccounts) Logout(ctx context.Context, token string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, token)
	return nil
}

func (a *fakeAccounts) AuthenticateAPIKey(ctx context.Context, secret string) (auth.Principal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range a.keys {
		if k.secret == secret && k.Kind == KeyKindAPI && k.RevokedAt == nil {
			return auth.Principal{Kind: auth.PrincipalAPIKey, ID: k.ID, Role: k.Role, Label: k.Name}, nil
		}
	}
	return auth.Principal{}, kizuna.Errorf(kizuna.EUNAUTHORIZED, "unknown or revoked API key")
}

func (a *fakeAccounts) SetLocale(ctx context.Context, userID int64, locale string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, ok := a.users[userID]; ok {
		u.Locale = locale
	}
	return nil
}

func (a *fakeAccounts) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	if err := auth.Require(ctx, auth.PermUsersManage); err != nil {
		return nil, err
	}
	if !strings.Contains(in.Email, "@") {
		return nil, kizuna.FieldError("email", "not an email address")
	}
	if len(in.Password) < 12 {
		return nil, kizuna.FieldError("password", "password must have at least 12 characters")
	}
	if _, err := auth.ParseRole(string(in.Role)); err != nil {
		return nil, err
	}
	a.mu.Lock()
	for _, u := range a.users {
		if u.Email == in.Email {
			a.mu.Unlock()
			return nil, &kizuna.Error{Code: kizuna.ECONFLICT, Field: "email", Message: "a user with this email exists"}
		}
	}
	a.mu.Unlock()
	u := a.addUser(in.Email, in.Password, in.Role, in.Locale)
	a.mu.Lock()
	a.log(ctx, "user.create", strconv.FormatInt(u.ID, 10))
	a.mu.Unlock()
	out := u.User
	return &out, nil
}

func (a *fakeAccounts) ListUsers(ctx context.Context) ([]User, error) {
	if err := auth.Require(ctx, auth.PermUsersManage); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []User
	for _, u := range a.users {
		out = append(out, u.User)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (a *fakeAccounts) SetRole(ctx context.Context, id int64, role auth.Role) error {
	if err := auth.Require(ctx, auth.PermUsersManage); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[id]
	if !ok {
		return kizuna.Errorf(kizuna.ENOTFOUND, "no user %d", id)
	}
	u.Role = role
	a.log(ctx, "user.role", strconv.FormatInt(id, 10))
	return nil
}

func (a *fakeAccounts) DisableUser(ctx context.Context, id int64) error {
	if err := auth.Require(ctx, auth.PermUsersManage); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[id]
	if !ok {
		return kizuna.Errorf(kizuna.ENOTFOUND, "no user %d", id)
	}
	t := testNow
	u.DisabledAt = &t
	a.log(ctx, "user.disable", strconv.FormatInt(id, 10))
	return nil
}

func (a *fakeAccounts) CreateKey(ctx context.Context, in NewKey) (*Key, string, error) {
	if err := auth.Require(ctx, auth.PermKeysManage); err != nil {
		return nil, "", err
	}
	if in.Name == "" {
		return nil, "", kizuna.FieldError("name", "a key needs a name")
	}
	if in.Kind != KeyKindAPI && in.Kind != KeyKindWrite {
		return nil, "", kizuna.FieldError("kind", "kind must be api or write")
	}
	if in.Kind == KeyKindAPI {
		if _, err := auth.ParseRole(string(in.Role)); err != nil {
			return nil, "", err
		}
	}
	k, secret := a.addKey(in.Kind, in.Name, in.Role)
	a.mu.Lock()
	a.log(ctx, "key.create", strconv.FormatInt(k.ID, 10))
	a.mu.Unlock()
	out := k.Key
	return &out, secret, nil
}

func (a *fakeAccounts) ListKeys(ctx context.Context) ([]Key, error) {
	if err := auth.Require(ctx, auth.PermKeysManage); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Key
	for _, k := range a.keys {
		out = append(out, k.Key)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (a *fakeAccounts) RevokeKey(ctx context.Context, id int64) error {
	if err := auth.Require(ctx, auth.PermKeysManage); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	k, ok := a.keys[id]
	if !ok {
		return kizuna.Errorf(kizuna.ENOTFOUND, "no key %d", id)
	}
	t := testNow
	k.RevokedAt = &t
	a.log(ctx, "key.revoke", strconv.FormatInt(id, 10))
	return nil
}

func (a *fakeAccounts) ListAudit(ctx context.Context, limit int, cursor string) (*customer.Page[AuditEntry], error) {
	if err := auth.Require(ctx, auth.PermAuditRead); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := append([]AuditEntry(nil), a.audit...)
	return &customer.Page[AuditEntry]{Items: out, Total: int64(len(out))}, nil
}

// fakeCustomers is an in-memory customer service.
type fakeCustomers struct {
	mu        sync.Mutex
	customers map[int64]*customer.Customer
	timeline  map[int64][]customer.TimelineItem
	orders    map[int64][]customer.Order
	events    map[int64][]customer.Event
	merges    []customer.Merge
}

func newFakeCustomers() *fakeCustomers {
	f := &fakeCustomers{customers: map[int64]*customer.Customer{}, timeline: map[int64][]customer.TimelineItem{}, orders: map[int64][]customer.Order{}, events: map[int64][]customer.Event{}}
	seen := testNow.Add(-2 * time.Hour)
	f.customers[1] = &customer.Customer{ID: 1, FamilyName: "山田", GivenName: "花子", FamilyNameKana: "ヤマダ", GivenNameKana: "ハナコ", Email: "hanako@example.jp",
		Phone: "+819012345678", Locale: "ja", TimeZone: "Asia/Tokyo", Country: "JP", LifecycleStage: "repeat", Attributes: map[string]any{"plan": "gold"},
		CreatedAt: testNow.Add(-90 * 24 * time.Hour), UpdatedAt: testNow.Add(-24 * time.Hour), LastSeenAt: &seen,
		Identities: []customer.Identity{{Kind: customer.KindEmail, Value: "hanako@example.jp", CustomerID: 1, CreatedAt: testNow}, {Kind: customer.KindUserID, Value: "u-1001", CustomerID: 1, CreatedAt: testNow}}}
	f.customers[2] = &customer.Customer{ID: 2, FamilyName: "Smith", GivenName: "John", Email: "john@example.co.uk", Country: "GB", LifecycleStage: "customer",
		Attributes: map[string]any{}, CreatedAt: testNow.Add(-30 * 24 * time.Hour), UpdatedAt: testNow.Add(-30 * 24 * time.Hour)}
	f.customers[3] = &customer.Customer{ID: 3, Email: "dup@example.jp", Country: "JP", LifecycleStage: "lead", Attributes: map[string]any{}, CreatedAt: testNow, UpdatedAt: testNow}
	f.timeline[1] = []customer.TimelineItem{
		{Kind: "order", ID: 10, At: testNow.Add(-3 * time.Hour), Title: "ORD-536365", Profile: 1},
		{Kind: "event", ID: 11, At: testNow.Add(-4 * time.Hour), Title: "Product Viewed <Teapot>", Profile: 1},
	}
	f.orders[1] = []customer.Order{{ID: 10, CustomerID: 1, Ref: "ORD-536365", Source: "segment", Currency: "GBP", TotalMinor: 123450, Status: "completed", PlacedAt: testNow.Add(-3 * time.Hour),
		Lines: []customer.OrderLine{{Kind: "sale", SKU: "85123A", Name: "WHITE HANGING HEART T-LIGHT HOLDER", Quantity: 6, UnitPriceMinor: 255, AmountMinor: 1530, OccurredAt: testNow.Add(-3 * time.Hour)}}}}
	f.events[1] = []customer.Event{{ID: 11, CustomerID: 1, MessageID: "m-1", Type: "track", Name: "Product Viewed", Properties: []byte(`{"sku":"85123A"}`), Context: []byte(`{}`), OccurredAt: testNow.Add(-4 * time.Hour), ReceivedAt: testNow.Add(-4 * time.Hour)}}
	f.merges = []customer.Merge{{ID: 7, WinnerID: 1, LoserID: 4, Reason: "same person", Actor: "admin@example.com", CreatedAt: testNow.Add(-48 * time.Hour)}}
	return f
}

func (f *fakeCustomers) get(id int64) (*customer.Customer, error) {
	c, ok := f.customers[id]
	if !ok {
		return nil, kizuna.Errorf(kizuna.ENOTFOUND, "no customer %d", id)
	}
	return c, nil
}

func (f *fakeCustomers) Get(ctx context.Context, id int64) (*customer.Customer, error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(id)
	if err != nil {
		return nil, err
	}
	out := *c
	return &out, nil
}

func (f *fakeCustomers) List(ctx context.Context, flt customer.Filter) (*customer.Page[customer.Customer], error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []customer.Customer
	q := strings.ToLower(flt.Query)
	for _, c := range f.customers {
		hay := strings.ToLower(strings.Join([]string{c.FamilyName, c.GivenName, c.FamilyNameKana, c.GivenNameKana, c.Email, c.Phone}, " "))
		if q != "" && !strings.Contains(hay, q) {
			continue
		}
		if flt.LifecycleStage != "" && c.LifecycleStage != flt.LifecycleStage {
			continue
		}
		if flt.Country != "" && c.Country != flt.Country {
			continue
		}
		all = append(all, *c)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	start := 0
	if flt.Cursor != "" {
		n, err := strconv.Atoi(flt.Cursor)
		if err != nil {
			return nil, kizuna.FieldError("cursor", "bad cursor")
		}
		start = n
	}
	limit := flt.Limit
	if limit == 0 {
		limit = 50
	}
	page := &customer.Page[customer.Customer]{Total: int64(len(all))}
	end := min(start+limit, len(all))
	if start < len(all) {
		page.Items = all[start:end]
	}
	if end < len(all) {
		page.Next = strconv.Itoa(end)
	}
	return page, nil
}

func (f *fakeCustomers) Update(ctx context.Context, id int64, p customer.Patch) (*customer.Customer, error) {
	if err := auth.Require(ctx, auth.PermCustomersWrite); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(id)
	if err != nil {
		return nil, err
	}
	if p.Email != nil && *p.Email != "" && !strings.Contains(*p.Email, "@") {
		return nil, kizuna.FieldError("email", "%q is not an email address", *p.Email)
	}
	if p.LifecycleStage != nil && !validStage(*p.LifecycleStage) {
		return nil, kizuna.FieldError("lifecycle_stage", "unknown lifecycle stage")
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.FamilyName, p.FamilyName)
	set(&c.GivenName, p.GivenName)
	set(&c.FamilyNameKana, p.FamilyNameKana)
	set(&c.GivenNameKana, p.GivenNameKana)
	set(&c.Email, p.Email)
	set(&c.Phone, p.Phone)
	set(&c.Locale, p.Locale)
	set(&c.TimeZone, p.TimeZone)
	set(&c.Country, p.Country)
	set(&c.LifecycleStage, p.LifecycleStage)
	out := *c
	return &out, nil
}

func fakePage[T any](items []T) *customer.Page[T] {
	return &customer.Page[T]{Items: append([]T(nil), items...), Total: int64(len(items))}
}

func (f *fakeCustomers) Timeline(ctx context.Context, id int64, limit int, cursor string) (*customer.Page[customer.TimelineItem], error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return nil, err
	}
	return fakePage(f.timeline[id]), nil
}

func (f *fakeCustomers) Orders(ctx context.Context, id int64, limit int, cursor string) (*customer.Page[customer.Order], error) {
	if err := auth.Require(ctx, auth.PermOrdersRead); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return nil, err
	}
	return fakePage(f.orders[id]), nil
}

func (f *fakeCustomers) Events(ctx context.Context, id int64, limit int, cursor string) (*customer.Page[customer.Event], error) {
	if err := auth.Require(ctx, auth.PermEventsRead); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return nil, err
	}
	return fakePage(f.events[id]), nil
}

func (f *fakeCustomers) Summary(ctx context.Context, id int64) (*customer.Summary, error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return nil, err
	}
	s := &customer.Summary{RecencyDays: -1, Currency: "GBP"}
	for _, o := range f.orders[id] {
		s.Orders++
		s.NetRevenueMinor += o.TotalMinor
		at := o.PlacedAt
		s.LastOrderAt, s.FirstOrderAt = &at, &at
		s.RecencyDays = 0
	}
	if s.Orders > 0 {
		s.AvgOrderMinor = s.NetRevenueMinor / s.Orders
	}
	s.Events = int64(len(f.events[id]))
	return s, nil
}

func (f *fakeCustomers) Merge(ctx context.Context, winnerID, loserID int64, reason string) (*customer.Merge, error) {
	if err := auth.Require(ctx, auth.PermCustomersMerge); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if winnerID == loserID {
		return nil, kizuna.FieldError("loser_id", "a customer cannot be merged into itself")
	}
	if strings.TrimSpace(reason) == "" {
		return nil, kizuna.FieldError("reason", "give a reason for the merge")
	}
	if _, err := f.get(winnerID); err != nil {
		return nil, err
	}
	if _, err := f.get(loserID); err != nil {
		return nil, kizuna.FieldError("loser_id", "no customer %d", loserID)
	}
	p, _ := auth.PrincipalFrom(ctx)
	m := customer.Merge{ID: int64(len(f.merges) + 100), WinnerID: winnerID, LoserID: loserID, Reason: reason, Actor: p.Label, CreatedAt: testNow}
	f.merges = append(f.merges, m)
	delete(f.customers, loserID)
	return &m, nil
}

func (f *fakeCustomers) Unmerge(ctx context.Context, mergeID int64) error {
	if err := auth.Require(ctx, auth.PermCustomersUnmerge); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.merges {
		if f.merges[i].ID == mergeID {
			if f.merges[i].UndoneAt != nil {
				return kizuna.Errorf(kizuna.ECONFLICT, "merge %d is already undone", mergeID)
			}
			t := testNow
			f.merges[i].UndoneAt = &t
			return nil
		}
	}
	return kizuna.Errorf(kizuna.ENOTFOUND, "no merge %d", mergeID)
}

func (f *fakeCustomers) Merges(ctx context.Context, customerID int64) ([]customer.Merge, error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(customerID); err != nil {
		return nil, err
	}
	var out []customer.Merge
	for _, m := range f.merges {
		if m.WinnerID == customerID || m.LoserID == customerID {
			out = append(out, m)
		}
	}
	return out, nil
}

func (f *fakeCustomers) Overview(ctx context.Context, from, to time.Time, bucket string) (*customer.Overview, error) {
	if err := auth.Require(ctx, auth.PermDashboardRead); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ov := &customer.Overview{Customers: int64(len(f.customers)), ActiveCustomers: 1, Orders: 1, NetRevenueMinor: 123450, Currency: "GBP"}
	for d := from.Truncate(24 * time.Hour); d.Before(to); d = d.Add(24 * time.Hour) {
		ov.NewCustomers = append(ov.NewCustomers, customer.Point{Start: d, Value: float64(d.Day() % 3)})
		ov.ActiveSeries = append(ov.ActiveSeries, customer.Point{Start: d, Value: float64(d.Day() % 5)})
		ov.OrdersSeries = append(ov.OrdersSeries, customer.Point{Start: d, Value: float64(d.Day() % 4)})
		ov.RevenueSeries = append(ov.RevenueSeries, customer.Point{Start: d, Value: float64(d.Day() * 1000)})
	}
	return ov, nil
}
