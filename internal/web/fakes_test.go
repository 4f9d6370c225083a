package web

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// fakeCustomers stands in for the customer service's read side until it
// is implemented. Like the real service it checks permissions with
// auth.Require first, so the route × role test exercises the same
// decisions.

var testNow = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

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
