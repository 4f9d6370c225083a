package customer_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

func as(role auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, ID: 7, Role: role, Label: string(role) + "@example.com", IP: "192.0.2.1"})
}

var msgSeq int

func addEvent(t testing.TB, d *db.DB, profile int64, name string, at time.Time) int64 {
	t.Helper()
	msgSeq++
	var id int64
	err := d.WriteTx(context.Background(), func(tx *db.Tx) error {
		return tx.QueryRowContext(context.Background(), `INSERT INTO events (source_id, message_id, body_hash, type, name, customer_id, properties, context, occurred_at, received_at)
			VALUES (1, $1, 'h', 'track', $2, $3, '{"plan":"gold"}', '{}', $4, $4) RETURNING id`, fmt.Sprintf("m-%d", msgSeq), name, profile, at.UnixMilli()).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func timelineKeys(t testing.TB, s *customer.Service, id int64) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		page, err := s.Timeline(as(auth.RoleViewer), id, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			out = append(out, fmt.Sprintf("%s:%s@%d", it.Kind, it.Title, it.Profile))
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

func TestMergeThenUnmergeRestoresExactly(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		a := resolve(t, d, s, identify(customer.Keys{AnonymousID: "web-1"}, &customer.Traits{FamilyName: "山田", Attributes: map[string]any{"source": "web"}}))[0]
		b := resolve(t, d, s, identify(customer.Keys{UserID: "u-b"}, &customer.Traits{Email: "b@example.com", GivenName: "太郎", Phone: "090-1111-2222",
			Attributes: map[string]any{"plan": "gold", "source": "app"}}))[0]
		addEvent(t, d, a, "Page A", t0.Add(1*time.Minute))
		addEvent(t, d, b, "Page B", t0.Add(2*time.Minute))
		record(t, d, s, customer.OrderInput{CustomerID: b, Ref: "B-1", Currency: "JPY", PlacedAt: t0.Add(3 * time.Minute),
			Lines: []customer.OrderLine{{SKU: "x", Quantity: 1, UnitPriceMinor: 5000}}})
		before, err := s.Get(as(auth.RoleViewer), a)
		if err != nil {
			t.Fatal(err)
		}
		beforeB, err := s.Get(as(auth.RoleViewer), b)
		if err != nil {
			t.Fatal(err)
		}
		tlA, tlB := timelineKeys(t, s, a), timelineKeys(t, s, b)

		// identify links the two: b merges into a (older).
		resolve(t, d, s, identify(customer.Keys{UserID: "u-b", AnonymousID: "web-1"}, nil))
		merged, err := s.Get(as(auth.RoleViewer), b)
		if err != nil {
			t.Fatal(err)
		}
		if merged.ID != a || !slices.Equal(merged.MergedIDs, []int64{b}) {
			t.Fatalf("Get(b) = #%d merged %v, want #%d merged [%d]", merged.ID, merged.MergedIDs, a, b)
		}
		if merged.FamilyName != "山田" || merged.GivenName != "太郎" || merged.Email != "b@example.com" || merged.Attributes["source"] != "web" || merged.Attributes["plan"] != "gold" {
			t.Fatalf("merged profile = %+v", merged)
		}
		if len(merged.Identities) != 4 || merged.Identities[0].Kind != customer.KindUserID {
			t.Fatalf("identities = %+v", merged.Identities)
		}
		want := []string{fmt.Sprintf("order:B-1@%d", b), fmt.Sprintf("event:Page B@%d", b), fmt.Sprintf("event:Page A@%d", a)}
		if got := timelineKeys(t, s, a); !slices.Equal(got, want) {
			t.Fatalf("merged timeline = %v, want %v", got, want)
		}
		merges, err := s.Merges(as(auth.RoleViewer), b)
		if err != nil || len(merges) != 1 || merges[0].WinnerID != a || merges[0].LoserID != b || !strings.Contains(merges[0].Reason, "automatic") {
			t.Fatalf("Merges = %+v, %v", merges, err)
		}

		// An agent or manager may not undo it; an admin may.
		if err := s.Unmerge(as(auth.RoleManager), merges[0].ID); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("manager unmerge: %v", err)
		}
		if err := s.Unmerge(as(auth.RoleAdmin), merges[0].ID); err != nil {
			t.Fatal(err)
		}
		after, err := s.Get(as(auth.RoleViewer), a)
		if err != nil {
			t.Fatal(err)
		}
		afterB, err := s.Get(as(auth.RoleViewer), b)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*customer.Customer{before, beforeB, after, afterB} {
			c.UpdatedAt, c.LastSeenAt = time.Time{}, nil
		}
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("winner after unmerge:\n%+v\nbefore merge:\n%+v", after, before)
		}
		if fmt.Sprint(afterB) != fmt.Sprint(beforeB) {
			t.Fatalf("loser after unmerge:\n%+v\nbefore merge:\n%+v", afterB, beforeB)
		}
		if got := timelineKeys(t, s, a); !slices.Equal(got, tlA) {
			t.Fatalf("timeline of a = %v, want %v", got, tlA)
		}
		if got := timelineKeys(t, s, b); !slices.Equal(got, tlB) {
			t.Fatalf("timeline of b = %v, want %v", got, tlB)
		}
		if err := s.Unmerge(as(auth.RoleAdmin), merges[0].ID); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("second unmerge: %v", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'customer.unmerge' AND actor_label = 'admin@example.com' AND ip = '192.0.2.1'`); n != 1 {
			t.Fatalf("unmerge audit rows = %d", n)
		}
		ms, _ := s.Merges(as(auth.RoleViewer), a)
		if len(ms) != 1 || ms[0].UndoneAt == nil || ms[0].UndoneBy != "admin@example.com" {
			t.Fatalf("merge trail after unmerge = %+v", ms)
		}
	})
}

func TestChainedMerges(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		ids := resolve(t, d, s,
			identify(customer.Keys{UserID: "a"}, &customer.Traits{FamilyName: "A"}),
			identify(customer.Keys{UserID: "b"}, &customer.Traits{Email: "b@example.com"}),
			identify(customer.Keys{UserID: "c"}, &customer.Traits{FamilyName: "C"}),
		)
		a, b, c := ids[0], ids[1], ids[2]
		mgr := as(auth.RoleManager)
		if _, err := s.Merge(mgr, a, b, ""); kizuna.ErrorField(err) != "reason" {
			t.Fatalf("merge without reason: %v", err)
		}
		if _, err := s.Merge(as(auth.RoleAgent), a, b, "same person"); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("agent merge: %v", err)
		}
		m1, err := s.Merge(mgr, a, b, "same person (phone call)")
		if err != nil {
			t.Fatal(err)
		}
		// The manager keeps c, the newest: a and b move under c, flattened.
		m2, err := s.Merge(mgr, c, b, "same household account")
		if err != nil {
			t.Fatal(err)
		}
		if m2.LoserID != a {
			t.Fatalf("merging b (merged into a) should merge a; loser = %d", m2.LoserID)
		}
		for _, id := range []int64{a, b} {
			if got := count(t, d, `SELECT merged_into FROM customers WHERE id = $1`, id); got != c {
				t.Fatalf("profile %d merged_into %d, want %d (flattened)", id, got, c)
			}
		}
		if _, err := s.Merge(mgr, a, c, "again"); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("merging one customer with itself: %v", err)
		}
		got, _ := s.Get(as(auth.RoleViewer), a)
		if got.ID != c || got.FamilyName != "C" || got.Email != "b@example.com" {
			t.Fatalf("Get(a) = %+v", got)
		}
		// m1 is superseded: refused, naming m2.
		err = s.Unmerge(as(auth.RoleAdmin), m1.ID)
		if kizuna.ErrorCode(err) != kizuna.ECONFLICT || !strings.Contains(err.Error(), fmt.Sprintf("undo merge %d first", m2.ID)) {
			t.Fatalf("unmerge of superseded merge: %v", err)
		}
		if err := s.Unmerge(as(auth.RoleAdmin), m2.ID); err != nil {
			t.Fatal(err)
		}
		if got := count(t, d, `SELECT COALESCE(merged_into, 0) FROM customers WHERE id = $1`, a); got != 0 {
			t.Fatalf("a merged_into %d after undoing m2", got)
		}
		if got := count(t, d, `SELECT merged_into FROM customers WHERE id = $1`, b); got != a {
			t.Fatalf("b merged_into %d after undoing m2, want %d", got, a)
		}
		gc, _ := s.Get(as(auth.RoleViewer), c)
		if gc.Email != "" || len(gc.MergedIDs) != 0 {
			t.Fatalf("c after undoing m2 = %+v", gc)
		}
		if err := s.Unmerge(as(auth.RoleAdmin), m1.ID); err != nil {
			t.Fatal(err)
		}
		ga, _ := s.Get(as(auth.RoleViewer), a)
		gb, _ := s.Get(as(auth.RoleViewer), b)
		if ga.ID != a || ga.Email != "" || gb.ID != b || gb.Email != "b@example.com" {
			t.Fatalf("after undoing both: a=%+v b=%+v", ga, gb)
		}
	})
}

func TestUnmergeKeepsLaterEdits(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		ids := resolve(t, d, s,
			identify(customer.Keys{UserID: "w"}, nil),
			identify(customer.Keys{UserID: "l"}, &customer.Traits{Email: "l@example.com", Country: "jp"}),
		)
		m, err := s.Merge(as(auth.RoleManager), ids[0], ids[1], "duplicate")
		if err != nil {
			t.Fatal(err)
		}
		// After the merge an agent corrects the country the merge filled.
		us := "US"
		if _, err := s.Update(as(auth.RoleAgent), ids[0], customer.Patch{Country: &us}); err != nil {
			t.Fatal(err)
		}
		if err := s.Unmerge(as(auth.RoleAdmin), m.ID); err != nil {
			t.Fatal(err)
		}
		w, _ := s.Get(as(auth.RoleViewer), ids[0])
		if w.Email != "" || w.Country != "US" {
			t.Fatalf("after unmerge: email %q (want restored blank), country %q (want the later edit kept)", w.Email, w.Country)
		}
	})
}

func TestUpdate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		ids := resolve(t, d, s, anon("upd-1"), identify(customer.Keys{UserID: "other"}, &customer.Traits{Email: "taken@example.com"}))
		id := ids[0]
		str := func(v string) *string { return &v }
		got, err := s.Update(as(auth.RoleAgent), id, customer.Patch{
			FamilyName: str(" 鈴木 "), FamilyNameKana: str("ｽｽﾞｷ"), Email: str("Suzuki@Example.com"), Phone: str("080-1234-5678"),
			Locale: str("ja_JP"), TimeZone: str("Asia/Tokyo"), Country: str("jp"), LifecycleStage: str("customer"),
			Attributes: map[string]any{"tier": "vip"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.FamilyName != "鈴木" || got.FamilyNameKana != "スズキ" || got.Email != "suzuki@example.com" || got.Phone != "+818012345678" ||
			got.Locale != "ja-JP" || got.Country != "JP" || got.LifecycleStage != "customer" || got.Attributes["tier"] != "vip" {
			t.Fatalf("updated = %+v", got)
		}
		if owner(t, d, customer.KindEmail, "suzuki@example.com") != id || owner(t, d, customer.KindPhone, "+818012345678") != id {
			t.Fatal("email/phone not added as identities")
		}
		page, err := s.List(as(auth.RoleViewer), customer.Filter{Query: "すずき"})
		if err != nil || page.Total != 1 || page.Items[0].ID != id {
			t.Fatalf("search after update: %+v, %v", page, err)
		}
		bad := []struct {
			p     customer.Patch
			code  string
			field string
		}{
			{customer.Patch{Phone: str("12")}, kizuna.EINVALID, "phone"},
			{customer.Patch{Email: str("nope")}, kizuna.EINVALID, "email"},
			{customer.Patch{LifecycleStage: str("vip")}, kizuna.EINVALID, "lifecycle_stage"},
			{customer.Patch{TimeZone: str("Mars/Olympus")}, kizuna.EINVALID, "time_zone"},
			{customer.Patch{Country: str("Narnia")}, kizuna.EINVALID, "country"},
			{customer.Patch{FamilyName: str(strings.Repeat("長", 201))}, kizuna.EINVALID, "family_name"},
			{customer.Patch{Email: str("taken@example.com")}, kizuna.ECONFLICT, "email"},
		}
		for _, c := range bad {
			_, err := s.Update(as(auth.RoleAgent), id, c.p)
			if kizuna.ErrorCode(err) != c.code || kizuna.ErrorField(err) != c.field {
				t.Errorf("Update(%+v) = %v (field %q), want %s on %s", c.p, err, kizuna.ErrorField(err), c.code, c.field)
			}
		}
		again, _ := s.Get(as(auth.RoleViewer), id)
		if again.Email != "suzuki@example.com" || again.LifecycleStage != "customer" {
			t.Fatalf("a rejected update changed the profile: %+v", again)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'customer.update' AND target_id = $1 AND actor_type = 'user'`, itoa(id)); n != 1 {
			t.Fatalf("update audit rows = %d, want 1", n)
		}
		if _, err := s.Update(as(auth.RoleViewer), id, customer.Patch{FamilyName: str("x")}); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("viewer update: %v", err)
		}
		if _, err := s.Update(as(auth.RoleAgent), 999999, customer.Patch{FamilyName: str("x")}); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("update of a missing customer: %v", err)
		}
	})
}

func TestListSearch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		ids := resolve(t, d, s,
			identify(customer.Keys{UserID: "taro"}, &customer.Traits{FamilyName: "山田", GivenName: "太郎", FamilyNameKana: "やまだ", GivenNameKana: "たろう",
				Email: "taro@example.jp", Phone: "090-1234-5678", Country: "JP", LifecycleStage: "customer"}),
			identify(customer.Keys{UserID: "hanako"}, &customer.Traits{FamilyName: "佐藤", GivenName: "花子", FamilyNameKana: "サトウ", GivenNameKana: "ハナコ",
				Email: "hanako@example.jp", Country: "JP"}),
			identify(customer.Keys{UserID: "john"}, &customer.Traits{FamilyName: "Smith", GivenName: "John", Email: "john_smith@example.co.uk", Phone: "+44 20 7946 0958", Country: "GB"}),
			identify(customer.Keys{UserID: "pct"}, &customer.Traits{GivenName: "100% Organic"}),
		)
		taro, hanako, john, pct := ids[0], ids[1], ids[2], ids[3]
		cases := []struct {
			q    string
			want []int64
		}{
			{"山田", []int64{taro}},
			{"山田太郎", []int64{taro}},
			{"やまだ", []int64{taro}},
			{"ヤマダ", []int64{taro}},
			{"ﾔﾏﾀﾞ ﾀﾛｳ", []int64{taro}},
			{"さとう", []int64{hanako}},
			{"ハナコ", []int64{hanako}},
			{"TARO@EXAMPLE.JP", []int64{taro}},
			{"example.jp", []int64{hanako, taro}},
			{"090-1234-5678", []int64{taro}},
			{"09012345678", []int64{taro}},
			{"+81 90 1234 5678", []int64{taro}},
			{"020 7946 0958", []int64{john}},
			{"john smith", []int64{john}},
			{"john_smith", []int64{john}},
			{"john%smith", nil}, // % is a literal, not a wildcard
			{"100%", []int64{pct}},
			{"_", []int64{john}}, // only john's email has an underscore
			{"鈴木", nil},
			{"taro", []int64{taro}}, // user id (and email)
			{"pct", []int64{pct}},   // the exact user id, in no name or email
			{"pc", nil},             // identities match exactly, not by part
		}
		for _, c := range cases {
			page, err := s.List(as(auth.RoleViewer), customer.Filter{Query: c.q, Sort: "created_at"})
			if err != nil {
				t.Fatalf("List(%q): %v", c.q, err)
			}
			var got []int64
			for _, it := range page.Items {
				got = append(got, it.ID)
			}
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) || page.Total != int64(len(want)) {
				t.Errorf("List(%q) = %v (total %d), want %v", c.q, got, page.Total, want)
			}
		}
		page, err := s.List(as(auth.RoleViewer), customer.Filter{Country: "jp", LifecycleStage: "customer"})
		if err != nil || page.Total != 1 || page.Items[0].ID != taro {
			t.Fatalf("filters: %+v, %v", page, err)
		}
		for _, f := range []customer.Filter{{Sort: "email"}, {Sort: "name; DROP TABLE customers"}, {Limit: 201}, {LifecycleStage: "x"}, {Cursor: "!!"}} {
			if _, err := s.List(as(auth.RoleViewer), f); kizuna.ErrorCode(err) != kizuna.EINVALID {
				t.Errorf("List(%+v) = %v, want EINVALID", f, err)
			}
		}
	})
}

func TestListPaginationIsStable(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		var reqs []customer.Resolve
		kana := []string{"アイ", "かき", "サシ", "たち", "ナニ"}
		for i := 0; i < 57; i++ {
			r := identify(customer.Keys{UserID: fmt.Sprintf("p-%02d", i)}, &customer.Traits{FamilyNameKana: kana[i%len(kana)], GivenName: fmt.Sprint(i % 3)})
			// Many share a creation time and a last-seen time: ties must
			// be broken by id, or pages would repeat or skip rows.
			r.SeenAt = t0.Add(time.Duration(i%4) * time.Hour)
			reqs = append(reqs, r)
		}
		ids := resolve(t, d, s, reqs...)
		merged := resolve(t, d, s, anon("dup"))[0] // merged away: never listed
		if _, err := s.Merge(as(auth.RoleManager), ids[0], merged, "duplicate"); err != nil {
			t.Fatal(err)
		}
		for _, sort := range []string{"", "created_at", "-updated_at", "last_seen_at", "-last_seen_at", "name", "-name"} {
			var got []int64
			cursor := ""
			for pages := 0; ; pages++ {
				page, err := s.List(as(auth.RoleViewer), customer.Filter{Sort: sort, Limit: 10, Cursor: cursor})
				if err != nil {
					t.Fatalf("sort %q: %v", sort, err)
				}
				if page.Total != 57 {
					t.Fatalf("sort %q: total %d", sort, page.Total)
				}
				for _, c := range page.Items {
					got = append(got, c.ID)
				}
				if page.Next == "" {
					break
				}
				if pages > 10 {
					t.Fatalf("sort %q: pagination does not end", sort)
				}
				cursor = page.Next
			}
			sorted := slices.Clone(got)
			slices.Sort(sorted)
			want := slices.Clone(ids)
			slices.Sort(want)
			if !slices.Equal(sorted, want) {
				t.Fatalf("sort %q: pages hold %d ids (%v), want each of the %d exactly once", sort, len(got), got, len(ids))
			}
			if sort == "name" {
				first, _ := s.Get(as(auth.RoleViewer), got[0])
				last, _ := s.Get(as(auth.RoleViewer), got[len(got)-1])
				if first.FamilyNameKana != "アイ" || last.FamilyNameKana != "ナニ" {
					t.Fatalf("name sort is not in kana order: first %q last %q", first.FamilyNameKana, last.FamilyNameKana)
				}
			}
		}
		// A cursor from one sort is refused by another.
		page, _ := s.List(as(auth.RoleViewer), customer.Filter{Sort: "name", Limit: 5})
		if _, err := s.List(as(auth.RoleViewer), customer.Filter{Sort: "created_at", Cursor: page.Next}); kizuna.ErrorField(err) != "cursor" {
			t.Fatalf("cursor of another sort: %v", err)
		}
	})
}

func TestOrdersAndSummary(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		d2 := t0.Add(48 * time.Hour)
		ids := resolve(t, d, s, anon("buyer-1"), anon("buyer-1-phone"))
		record(t, d, s,
			customer.OrderInput{CustomerID: ids[0], Ref: "O1", Currency: "GBP", PlacedAt: t0, Lines: []customer.OrderLine{{SKU: "a", Quantity: 2, UnitPriceMinor: 1000}}},
			customer.OrderInput{CustomerID: ids[1], Ref: "O2", Currency: "GBP", PlacedAt: d2, Lines: []customer.OrderLine{{SKU: "b", Quantity: 1, UnitPriceMinor: 3000}}},
			customer.OrderInput{CustomerID: ids[1], Ref: "O2", Currency: "GBP", Status: "refunded", PlacedAt: d2, AdjustmentKey: "r", Lines: []customer.OrderLine{{SKU: "b", Quantity: 1, UnitPriceMinor: 1000}}},
			customer.OrderInput{CustomerID: ids[0], Ref: "C9", Currency: "GBP", Status: "cancelled", PlacedAt: d2, AdjustmentKey: "C9", Lines: []customer.OrderLine{{SKU: "c", Quantity: 1, UnitPriceMinor: 500}}},
			customer.OrderInput{CustomerID: ids[0], Ref: "J1", Currency: "JPY", PlacedAt: t0, Lines: []customer.OrderLine{{SKU: "j", Quantity: 1, UnitPriceMinor: 9999}}},
		)
		addEvent(t, d, ids[0], "Viewed", t0)
		addEvent(t, d, ids[1], "Viewed", d2)
		if _, err := s.Merge(as(auth.RoleManager), ids[0], ids[1], "same buyer"); err != nil {
			t.Fatal(err)
		}
		page, err := s.Orders(as(auth.RoleViewer), ids[1], 2, "")
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 4 || len(page.Items) != 2 || page.Next == "" {
			t.Fatalf("orders page 1 = %+v", page)
		}
		// Newest first; ties on placed_at broken by id, newest id first.
		if page.Items[0].Ref != "C9" || page.Items[1].Ref != "O2" || len(page.Items[1].Lines) != 2 || page.Items[1].Lines[1].AmountMinor != -1000 || page.Items[1].Status != "partially_refunded" {
			t.Fatalf("orders page 1 = %+v", page.Items)
		}
		page2, err := s.Orders(as(auth.RoleViewer), ids[0], 2, page.Next)
		if err != nil || len(page2.Items) != 2 || page2.Next != "" || page2.Items[0].Ref != "J1" || page2.Items[1].Ref != "O1" {
			t.Fatalf("orders page 2 = %+v, %v", page2, err)
		}
		sum, err := s.Summary(as(auth.RoleViewer), ids[1])
		if err != nil {
			t.Fatal(err)
		}
		// GBP: O1 2000 + O2 (3000 - 1000) + C9 -500 = 3500 over 2 orders with a sale.
		if sum.Orders != 3 || sum.Currency != "GBP" || sum.NetRevenueMinor != 3500 || sum.AvgOrderMinor != 1750 || sum.Events != 2 ||
			!sum.FirstOrderAt.Equal(t0) || !sum.LastOrderAt.Equal(d2) || sum.RecencyDays < 0 {
			t.Fatalf("summary = %+v", sum)
		}
		ev, err := s.Events(as(auth.RoleViewer), ids[0], 1, "")
		if err != nil || ev.Total != 2 || len(ev.Items) != 1 || ev.Items[0].CustomerID != ids[1] || string(ev.Items[0].Properties) != `{"plan":"gold"}` {
			t.Fatalf("events = %+v, %v", ev, err)
		}
		ev2, err := s.Events(as(auth.RoleViewer), ids[0], 1, ev.Next)
		if err != nil || len(ev2.Items) != 1 || ev2.Items[0].CustomerID != ids[0] || ev2.Next != "" {
			t.Fatalf("events page 2 = %+v, %v", ev2, err)
		}
		empty := resolve(t, d, s, anon("window-shopper"))[0]
		if sum, err := s.Summary(as(auth.RoleViewer), empty); err != nil || sum.Orders != 0 || sum.RecencyDays != -1 || sum.FirstOrderAt != nil {
			t.Fatalf("summary without orders = %+v, %v", sum, err)
		}
		if _, err := s.Summary(as(auth.RoleViewer), 424242); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("summary of a missing customer: %v", err)
		}
	})
}

func TestOverview(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		day := func(n int, h int) time.Time {
			return t0.Add(time.Duration(n)*24*time.Hour + time.Duration(h)*time.Hour)
		}
		at := func(r customer.Resolve, ts time.Time) customer.Resolve { r.SeenAt = ts; return r }
		ids := resolve(t, d, s,
			at(anon("c1"), day(0, 1)),
			at(anon("c2"), day(0, 2)),
			at(anon("c3"), day(2, 0)),
			at(anon("c4"), day(1, 0)), // merged into c1 below: not a customer of its own
			at(anon("old"), day(-5, 0)),
		)
		c1, c2, c3, c4 := ids[0], ids[1], ids[2], ids[3]
		if _, err := s.Merge(as(auth.RoleManager), c1, c4, "duplicate"); err != nil {
			t.Fatal(err)
		}
		addEvent(t, d, c1, "e", day(0, 3))
		addEvent(t, d, c1, "e", day(0, 4))
		addEvent(t, d, c2, "e", day(1, 5))
		addEvent(t, d, c4, "e", day(1, 6)) // counts for c1
		addEvent(t, d, c2, "e", day(3, 0)) // outside [from, to)
		record(t, d, s,
			customer.OrderInput{CustomerID: c1, Ref: "g1", Currency: "GBP", PlacedAt: day(0, 5), Lines: []customer.OrderLine{{Quantity: 1, UnitPriceMinor: 1000}}},
			customer.OrderInput{CustomerID: c3, Ref: "g2", Currency: "GBP", PlacedAt: day(2, 1), Lines: []customer.OrderLine{{Quantity: 1, UnitPriceMinor: 500}}},
			customer.OrderInput{CustomerID: c3, Ref: "g2", Currency: "GBP", Status: "refunded", PlacedAt: day(2, 2), AdjustmentKey: "r",
				Lines: []customer.OrderLine{{Quantity: 1, UnitPriceMinor: 200, OccurredAt: day(2, 2)}}},
			customer.OrderInput{CustomerID: c2, Ref: "j1", Currency: "JPY", PlacedAt: day(1, 1), Lines: []customer.OrderLine{{Quantity: 1, UnitPriceMinor: 5000}}},
			customer.OrderInput{CustomerID: c2, Ref: "g0", Currency: "GBP", PlacedAt: day(-3, 0), Lines: []customer.OrderLine{{Quantity: 1, UnitPriceMinor: 7}}},
		)
		ov, err := s.Overview(as(auth.RoleViewer), day(0, 0), day(3, 0), "day")
		if err != nil {
			t.Fatal(err)
		}
		vals := func(ps []customer.Point) []float64 {
			var v []float64
			for i, p := range ps {
				if !p.Start.Equal(day(i, 0)) {
					t.Fatalf("bucket %d starts %v", i, p.Start)
				}
				v = append(v, p.Value)
			}
			return v
		}
		// Hand-computed: customers c1, c2, c3, old (c4 merged) = 4; created
		// in the period: day0 c1 c2, day2 c3 (c4 is merged away).
		// Active: day0 c1 (events, g1); day1 c2 (event, j1), c1 (via c4);
		// day2 c3 (g2) → 3 distinct. Orders with a sale: day0 g1, day1 j1,
		// day2 g2. GBP is the main currency (3 orders): day0 1000, day2
		// 500 - 200 = 300.
		if ov.Customers != 4 || ov.ActiveCustomers != 3 || ov.Orders != 3 || ov.Currency != "GBP" || ov.NetRevenueMinor != 1300 {
			t.Fatalf("overview = %+v", ov)
		}
		for name, c := range map[string]struct{ got, want []float64 }{
			"new":     {vals(ov.NewCustomers), []float64{2, 0, 1}},
			"active":  {vals(ov.ActiveSeries), []float64{1, 2, 1}},
			"orders":  {vals(ov.OrdersSeries), []float64{1, 1, 1}},
			"revenue": {vals(ov.RevenueSeries), []float64{1000, 0, 300}},
		} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("%s series = %v, want %v", name, c.got, c.want)
			}
		}
		// Months: Feb has 28 days, so a month bucket is not a fixed width.
		mv, err := s.Overview(as(auth.RoleViewer), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), "month")
		if err != nil {
			t.Fatal(err)
		}
		if len(mv.OrdersSeries) != 3 || mv.OrdersSeries[1].Value != 1 || mv.OrdersSeries[2].Value != 3 || mv.RevenueSeries[1].Value != 7 || mv.RevenueSeries[2].Value != 1300 {
			t.Fatalf("month series: orders %+v revenue %+v", mv.OrdersSeries, mv.RevenueSeries)
		}
		wk, err := s.Overview(as(auth.RoleViewer), day(-7, 0), day(7, 0), "week")
		if err != nil || len(wk.OrdersSeries) != 2 || wk.OrdersSeries[0].Value != 1 || wk.OrdersSeries[1].Value != 3 {
			t.Fatalf("week series = %+v, %v", wk, err)
		}
		if _, err := s.Overview(as(auth.RoleViewer), day(3, 0), day(0, 0), "day"); kizuna.ErrorField(err) != "to" {
			t.Fatalf("reversed period: %v", err)
		}
		if _, err := s.Overview(as(auth.RoleViewer), day(0, 0), day(3, 0), "hour"); kizuna.ErrorField(err) != "bucket" {
			t.Fatalf("bad bucket: %v", err)
		}
	})
}

// TestPermissions calls every method as every role and as nobody: each is
// refused exactly when the role lacks the permission its doc names.
func TestPermissions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		ids := resolve(t, d, s, anon("perm-1"), anon("perm-2"))
		name := "x"
		methods := []struct {
			name string
			perm auth.Permission
			call func(ctx context.Context) error
		}{
			{"Get", auth.PermCustomersRead, func(ctx context.Context) error { _, err := s.Get(ctx, ids[0]); return err }},
			{"List", auth.PermCustomersRead, func(ctx context.Context) error { _, err := s.List(ctx, customer.Filter{}); return err }},
			{"Update", auth.PermCustomersWrite, func(ctx context.Context) error {
				_, err := s.Update(ctx, ids[0], customer.Patch{GivenName: &name})
				return err
			}},
			{"Timeline", auth.PermCustomersRead, func(ctx context.Context) error { _, err := s.Timeline(ctx, ids[0], 10, ""); return err }},
			{"Orders", auth.PermOrdersRead, func(ctx context.Context) error { _, err := s.Orders(ctx, ids[0], 10, ""); return err }},
			{"Events", auth.PermEventsRead, func(ctx context.Context) error { _, err := s.Events(ctx, ids[0], 10, ""); return err }},
			{"Summary", auth.PermCustomersRead, func(ctx context.Context) error { _, err := s.Summary(ctx, ids[0]); return err }},
			{"Merges", auth.PermCustomersRead, func(ctx context.Context) error { _, err := s.Merges(ctx, ids[0]); return err }},
			// Merge and Unmerge run with bad arguments, so that an allowed
			// call fails validation rather than changing the data.
			{"Merge", auth.PermCustomersMerge, func(ctx context.Context) error { _, err := s.Merge(ctx, ids[0], ids[1], ""); return err }},
			{"Unmerge", auth.PermCustomersUnmerge, func(ctx context.Context) error { return s.Unmerge(ctx, 987654) }},
			{"Overview", auth.PermDashboardRead, func(ctx context.Context) error {
				_, err := s.Overview(ctx, t0, t0.Add(24*time.Hour), "day")
				return err
			}},
		}
		for _, m := range methods {
			if err := m.call(context.Background()); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
				t.Errorf("%s without a principal: %v, want EUNAUTHORIZED", m.name, err)
			}
			wk := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalWriteKey, ID: 1, Label: "key"})
			if err := m.call(wk); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
				t.Errorf("%s with a write key: %v, want EFORBIDDEN", m.name, err)
			}
			for _, role := range auth.Roles {
				err := m.call(as(role))
				denied := kizuna.ErrorCode(err) == kizuna.EFORBIDDEN
				if allowed := auth.RoleCan(role, m.perm); denied == allowed {
					t.Errorf("%s as %s: err = %v; allowed by policy = %v", m.name, role, err, allowed)
				}
			}
		}
	})
}

func TestTimelineTiesAndCursor(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		id := resolve(t, d, s, anon("ties"))[0]
		// Three events and an order at the same millisecond, one earlier.
		for _, n := range []string{"a", "b", "c"} {
			addEvent(t, d, id, n, t0)
		}
		addEvent(t, d, id, "early", t0.Add(-time.Second))
		record(t, d, s, customer.OrderInput{CustomerID: id, Ref: "T1", Currency: "JPY", PlacedAt: t0, Lines: []customer.OrderLine{{Quantity: 1, UnitPriceMinor: 1}}})
		var got []string
		cursor := ""
		for i := 0; i < 10; i++ {
			page, err := s.Timeline(as(auth.RoleViewer), id, 1, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				got = append(got, it.Title)
				if it.Kind == "event" && it.Detail["type"] != "track" {
					t.Fatalf("event detail = %v", it.Detail)
				}
				if it.Kind == "order" && it.Detail["total_minor"] != int64(1) {
					t.Fatalf("order detail = %v", it.Detail)
				}
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		// Same time: orders before events (kind descending), newer ids first.
		if want := []string{"T1", "c", "b", "a", "early"}; !slices.Equal(got, want) {
			t.Fatalf("timeline = %v, want %v", got, want)
		}
		if _, err := s.Timeline(as(auth.RoleViewer), id, 1, "not-a-cursor"); kizuna.ErrorField(err) != "cursor" {
			t.Fatalf("bad cursor: %v", err)
		}
		if _, err := s.Timeline(as(auth.RoleViewer), 99999, 1, ""); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("missing customer: %v", err)
		}
	})
}
