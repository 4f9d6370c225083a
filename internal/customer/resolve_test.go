package customer_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func sysCtx() context.Context { return auth.System(context.Background(), "test") }

func resolve(t testing.TB, d *db.DB, s *customer.Service, reqs ...customer.Resolve) []int64 {
	t.Helper()
	var ids []int64
	err := d.WriteTx(sysCtx(), func(tx *db.Tx) error {
		var err error
		ids, err = s.ResolveTx(sysCtx(), tx, reqs)
		return err
	})
	if err != nil {
		t.Fatalf("ResolveTx: %v", err)
	}
	if len(ids) != len(reqs) {
		t.Fatalf("ResolveTx returned %d ids for %d requests", len(ids), len(reqs))
	}
	return ids
}

func anon(a string) customer.Resolve {
	return customer.Resolve{Keys: customer.Keys{AnonymousID: a}, Source: "test", SeenAt: t0}
}

func identify(keys customer.Keys, traits *customer.Traits) customer.Resolve {
	return customer.Resolve{Keys: keys, Traits: traits, Merge: true, Source: "test", SeenAt: t0}
}

func count(t testing.TB, d *db.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := d.Reader().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func canonical(t testing.TB, d *db.DB, id int64) int64 {
	return count(t, d, `SELECT COALESCE(merged_into, id) FROM customers WHERE id = $1`, id)
}

func owner(t testing.TB, d *db.DB, kind, value string) int64 {
	return count(t, d, `SELECT customer_id FROM identities WHERE kind = $1 AND value = $2`, kind, value)
}

func TestResolveNewAnonymousCreatesProfile(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		ids := resolve(t, d, s, anon("a-1"))
		if ids[0] <= 0 {
			t.Fatalf("id = %d", ids[0])
		}
		if got := owner(t, d, customer.KindAnonymousID, "a-1"); got != ids[0] {
			t.Fatalf("identity owner = %d, want %d", got, ids[0])
		}
		if got := count(t, d, `SELECT last_seen_at FROM customers WHERE id = $1`, ids[0]); got != t0.UnixMilli() {
			t.Fatalf("last_seen_at = %d, want %d", got, t0.UnixMilli())
		}
		// The same anonymous id again finds it; last_seen only moves forward.
		r := anon("a-1")
		r.SeenAt = t0.Add(-time.Hour)
		if again := resolve(t, d, s, r); again[0] != ids[0] {
			t.Fatalf("second resolve = %d, want %d", again[0], ids[0])
		}
		if got := count(t, d, `SELECT last_seen_at FROM customers WHERE id = $1`, ids[0]); got != t0.UnixMilli() {
			t.Fatalf("last_seen_at moved back to %d", got)
		}
		r.SeenAt = t0.Add(time.Hour)
		resolve(t, d, s, r)
		if got := count(t, d, `SELECT last_seen_at FROM customers WHERE id = $1`, ids[0]); got != t0.Add(time.Hour).UnixMilli() {
			t.Fatalf("last_seen_at = %d, want forward", got)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM customers`); n != 1 {
			t.Fatalf("customers = %d, want 1", n)
		}
	})
}

func TestResolveIdentifyLinksDevices(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		p := resolve(t, d, s, anon("dev-1"))[0]
		// identify on the same device: userId and email join the profile.
		got := resolve(t, d, s, identify(customer.Keys{UserID: "u-42", AnonymousID: "dev-1"},
			&customer.Traits{Email: " Taro.Yamada@Example.JP ", FamilyName: "山田", GivenName: "太郎",
				FamilyNameKana: "ﾔﾏﾀﾞ", GivenNameKana: "タロウ", Phone: "090-1234-5678",
				Attributes: map[string]any{"plan": "gold"}}))[0]
		if got != p {
			t.Fatalf("identify resolved to %d, want %d", got, p)
		}
		for _, k := range [][2]string{{customer.KindUserID, "u-42"}, {customer.KindEmail, "taro.yamada@example.jp"}, {customer.KindPhone, "+819012345678"}} {
			if o := owner(t, d, k[0], k[1]); o != p {
				t.Fatalf("%s %s owned by %d, want %d", k[0], k[1], o, p)
			}
		}
		var family, kana, email, phone, attrs, search string
		if err := d.Reader().QueryRow(`SELECT family_name, family_name_kana, email, phone, attributes, search_text FROM customers WHERE id = $1`, p).
			Scan(&family, &kana, &email, &phone, &attrs, &search); err != nil {
			t.Fatal(err)
		}
		if family != "山田" || kana != "ヤマダ" || email != "taro.yamada@example.jp" || phone != "+819012345678" || !strings.Contains(attrs, `"plan":"gold"`) {
			t.Fatalf("profile = %q %q %q %q %s", family, kana, email, phone, attrs)
		}
		for _, want := range []string{"山田 太郎", "やまだ たろう", "ヤマダタロウ", "09012345678", "819012345678", "taro.yamada@example.jp"} {
			if !strings.Contains(search, want) {
				t.Errorf("search_text %q lacks %q", search, want)
			}
		}
		// A second device: a track carrying the known userId and a new
		// anonymousId lands on the same profile and links the device.
		tr := customer.Resolve{Keys: customer.Keys{UserID: "u-42", AnonymousID: "dev-2"}, Source: "test", SeenAt: t0}
		if got := resolve(t, d, s, tr)[0]; got != p {
			t.Fatalf("second device resolved to %d, want %d", got, p)
		}
		if o := owner(t, d, customer.KindAnonymousID, "dev-2"); o != p {
			t.Fatalf("dev-2 owned by %d", o)
		}
		// Tracks read profiles light; none of their fields may be lost.
		later := tr
		later.SeenAt = t0.Add(time.Hour)
		resolve(t, d, s, later, anon("dev-1"))
		if err := d.Reader().QueryRow(`SELECT family_name, email, attributes FROM customers WHERE id = $1`, p).Scan(&family, &email, &attrs); err != nil ||
			family != "山田" || email != "taro.yamada@example.jp" || !strings.Contains(attrs, "gold") {
			t.Fatalf("after tracks: %q %q %s %v", family, email, attrs, err)
		}
		if got := count(t, d, `SELECT last_seen_at FROM customers WHERE id = $1`, p); got != later.SeenAt.UnixMilli() {
			t.Fatalf("last_seen_at = %d", got)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM customers`); n != 1 {
			t.Fatalf("customers = %d, want 1", n)
		}
	})
}

func TestResolveIdentifyMergesKnownProfiles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		older := resolve(t, d, s, anon("phone-app"))[0]
		newer := resolve(t, d, s, identify(customer.Keys{UserID: "u-7"}, &customer.Traits{Email: "hanako@example.com", GivenName: "花子"}))[0]
		if older == newer {
			t.Fatal("expected two profiles")
		}
		// A track linking them does not merge.
		tr := customer.Resolve{Keys: customer.Keys{UserID: "u-7", AnonymousID: "phone-app"}, Source: "test", SeenAt: t0}
		if got := resolve(t, d, s, tr)[0]; got != newer {
			t.Fatalf("track resolved to %d, want the user id's profile %d", got, newer)
		}
		if canonical(t, d, newer) != newer || canonical(t, d, older) != older {
			t.Fatal("a track merged profiles")
		}
		// identify links them: the older profile survives.
		got := resolve(t, d, s, identify(customer.Keys{UserID: "u-7", AnonymousID: "phone-app"}, nil))[0]
		if got != newer {
			t.Fatalf("identify resolved to %d, want %d (owner of the user id)", got, newer)
		}
		if c := canonical(t, d, newer); c != older {
			t.Fatalf("canonical of newer = %d, want %d", c, older)
		}
		var given, email string
		if err := d.Reader().QueryRow(`SELECT given_name, email FROM customers WHERE id = $1`, older).Scan(&given, &email); err != nil {
			t.Fatal(err)
		}
		if given != "花子" || email != "hanako@example.com" {
			t.Fatalf("winner fields not filled: %q %q", given, email)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM customer_merges WHERE winner_id = $1 AND loser_id = $2`, older, newer); n != 1 {
			t.Fatalf("merges = %d", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'customer.merge' AND target_id = $1`, itoa(older)); n != 1 {
			t.Fatalf("audit rows = %d", n)
		}
		// Identities never move.
		if o := owner(t, d, customer.KindUserID, "u-7"); o != newer {
			t.Fatalf("user id moved to %d", o)
		}
	})
}

func TestResolveNeverMergesDifferentUserIDs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		a := resolve(t, d, s, identify(customer.Keys{UserID: "alice", AnonymousID: "shared-tablet", Email: "family@example.com"}, nil))[0]
		b := resolve(t, d, s, identify(customer.Keys{UserID: "bob"}, nil))[0]
		// Bob logs in on the family tablet: the identify links bob to
		// alice's device and email, but they are different people.
		got := resolve(t, d, s, identify(customer.Keys{UserID: "bob", AnonymousID: "shared-tablet", Email: "family@example.com"}, nil))[0]
		if got != b {
			t.Fatalf("resolved to %d, want bob's profile %d", got, b)
		}
		if canonical(t, d, a) != a || canonical(t, d, b) != b {
			t.Fatal("two user ids were merged")
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'customer.merge_skipped'`); n != 1 {
			t.Fatalf("skipped-merge audit rows = %d, want 1", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM customer_merges`); n != 0 {
			t.Fatalf("merges = %d", n)
		}
		// A new user id arriving with alice's email gets its own profile.
		c := resolve(t, d, s, identify(customer.Keys{UserID: "carol", Email: "family@example.com"}, nil))[0]
		if c == a || canonical(t, d, c) == a {
			t.Fatalf("carol joined alice's profile")
		}
		if o := owner(t, d, customer.KindUserID, "carol"); o != c {
			t.Fatalf("carol's user id owned by %d, want %d", o, c)
		}
	})
}

func TestResolveBatchSeesEarlierRequests(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		ids := resolve(t, d, s,
			anon("x"),
			anon("x"),
			anon("y"),
			identify(customer.Keys{UserID: "u-y", AnonymousID: "y"}, &customer.Traits{FamilyName: "佐藤"}),
			customer.Resolve{Keys: customer.Keys{UserID: "u-y"}, Source: "test", SeenAt: t0},
			// z is new and identifies with x's device: x (older) survives.
			anon("z"),
			identify(customer.Keys{AnonymousID: "x", Email: "x@example.com"}, nil),
			identify(customer.Keys{AnonymousID: "z", Email: "x@example.com"}, nil),
		)
		if ids[0] != ids[1] {
			t.Fatalf("same new anonymous id got %d and %d", ids[0], ids[1])
		}
		if ids[2] != ids[3] || ids[3] != ids[4] {
			t.Fatalf("y → %v, want one profile", ids[2:5])
		}
		if canonical(t, d, ids[5]) != ids[0] {
			t.Fatalf("z's profile %d not merged into x's %d", ids[5], ids[0])
		}
		if n := count(t, d, `SELECT COUNT(*) FROM customers`); n != 3 {
			t.Fatalf("customers = %d, want 3", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM customers WHERE merged_into IS NULL`); n != 2 {
			t.Fatalf("canonical customers = %d, want 2", n)
		}
		var family string
		if err := d.Reader().QueryRow(`SELECT family_name FROM customers WHERE id = $1`, ids[4]).Scan(&family); err != nil || family != "佐藤" {
			t.Fatalf("traits of a batch-created profile: %q %v", family, err)
		}
	})
}

func TestResolveIsIdempotent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		batch := []customer.Resolve{
			anon("p"), identify(customer.Keys{UserID: "u-p", AnonymousID: "p"}, &customer.Traits{Email: "p@example.com"}),
			anon("q"), identify(customer.Keys{UserID: "u-p", AnonymousID: "q"}, nil),
		}
		first := resolve(t, d, s, batch...)
		counts := func() [4]int64 {
			return [4]int64{
				count(t, d, `SELECT COUNT(*) FROM customers`), count(t, d, `SELECT COUNT(*) FROM identities`),
				count(t, d, `SELECT COUNT(*) FROM customer_merges`), count(t, d, `SELECT COUNT(*) FROM audit_log`),
			}
		}
		before := counts()
		second := resolve(t, d, s, batch...)
		if !slices.Equal(first, second) {
			t.Fatalf("re-run resolved %v, first run %v", second, first)
		}
		if after := counts(); after != before {
			t.Fatalf("re-run wrote rows: %v → %v", before, after)
		}
	})
}

func TestResolvePhoneRegionFromCountry(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		ids := resolve(t, d, s,
			identify(customer.Keys{UserID: "uk"}, &customer.Traits{Phone: "020 7946 0958", Country: "United Kingdom"}),
			identify(customer.Keys{UserID: "jp"}, &customer.Traits{Phone: "03-1234-5678"}),
		)
		if o := owner(t, d, customer.KindPhone, "+442079460958"); o != ids[0] {
			t.Fatalf("UK phone owned by %d, want %d", o, ids[0])
		}
		if o := owner(t, d, customer.KindPhone, "+81312345678"); o != ids[1] {
			t.Fatalf("JP phone owned by %d, want %d", o, ids[1])
		}
	})
}

func TestResolveRejectsRequestWithoutKeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		err := d.WriteTx(sysCtx(), func(tx *db.Tx) error {
			_, err := s.ResolveTx(sysCtx(), tx, []customer.Resolve{anon("ok"), {Keys: customer.Keys{Email: "not an email"}}})
			return err
		})
		if kizuna.ErrorCode(err) != kizuna.EINVALID || !strings.Contains(err.Error(), "request 1") {
			t.Fatalf("err = %v, want EINVALID naming request 1", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM customers`); n != 0 {
			t.Fatalf("a failed batch left %d customers", n)
		}
	})
}

// Two nodes resolving the same new identities at the same moment, each in its
// own transaction, must end with one profile: the second waits on the
// first's identity rows, then re-resolves and finds them.
func TestResolveConcurrentNodesPostgres(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		if e.Name != "postgres" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			dsn := e.DSN(t)
			ctx := sysCtx()
			var nodes [2]*db.DB
			for i := range nodes {
				n, err := db.Open(ctx, dsn, db.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { n.Close() })
				nodes[i] = n
			}
			req := identify(customer.Keys{UserID: "same-user", AnonymousID: "same-device", Email: "same@example.com"}, &customer.Traits{FamilyName: "同時"})
			begin := func(d *db.DB) *db.Tx {
				sqlTx, err := d.Writer().BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				return &db.Tx{Tx: sqlTx, Dialect: d.Dialect, Now: time.Now()}
			}
			retries := customer.ResolveRetries()
			txA := begin(nodes[0])
			idsA, err := customer.NewService(nodes[0]).ResolveTx(ctx, txA, []customer.Resolve{req})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var idsB []int64
			var errB error
			wg.Add(1)
			go func() {
				defer wg.Done()
				txB := begin(nodes[1])
				idsB, errB = customer.NewService(nodes[1]).ResolveTx(ctx, txB, []customer.Resolve{req})
				if errB == nil {
					errB = txB.Commit()
				} else {
					_ = txB.Rollback()
				}
			}()
			// B now blocks on A's uncommitted identity rows.
			time.Sleep(300 * time.Millisecond)
			if err := txA.Commit(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if errB != nil {
				t.Fatalf("node B: %v", errB)
			}
			if customer.ResolveRetries() == retries {
				t.Fatal("node B never collided with node A: the test did not exercise the race")
			}
			if idsA[0] != idsB[0] {
				t.Fatalf("node A resolved %d, node B %d", idsA[0], idsB[0])
			}
			if n := count(t, nodes[0], `SELECT COUNT(*) FROM customers`); n != 1 {
				t.Fatalf("customers = %d, want 1", n)
			}
			if n := count(t, nodes[0], `SELECT COUNT(*) FROM identities`); n != 3 {
				t.Fatalf("identities = %d, want 3", n)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Two nodes recording the same new order at once: the second waits on the
// first's order_ref, re-reads it and records nothing twice.
func TestRecordOrdersConcurrentNodesPostgres(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		if e.Name != "postgres" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			dsn := e.DSN(t)
			ctx := sysCtx()
			var nodes [2]*db.DB
			for i := range nodes {
				n, err := db.Open(ctx, dsn, db.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { n.Close() })
				nodes[i] = n
			}
			cid := resolve(t, nodes[0], customer.NewService(nodes[0]), anon("racer"))[0]
			order := customer.OrderInput{CustomerID: cid, Ref: "RACE-1", Currency: "JPY", PlacedAt: t0,
				Lines: []customer.OrderLine{{SKU: "a", Quantity: 1, UnitPriceMinor: 1000}}}
			begin := func(d *db.DB) *db.Tx {
				sqlTx, err := d.Writer().BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				return &db.Tx{Tx: sqlTx, Dialect: d.Dialect, Now: time.Now()}
			}
			txA := begin(nodes[0])
			if err := customer.NewService(nodes[0]).RecordOrdersTx(ctx, txA, []customer.OrderInput{order}); err != nil {
				t.Fatal(err)
			}
			errB := make(chan error, 1)
			go func() {
				txB := begin(nodes[1])
				err := customer.NewService(nodes[1]).RecordOrdersTx(ctx, txB, []customer.OrderInput{order})
				if err == nil {
					err = txB.Commit()
				} else {
					_ = txB.Rollback()
				}
				errB <- err
			}()
			time.Sleep(300 * time.Millisecond)
			if err := txA.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := <-errB; err != nil {
				t.Fatalf("node B: %v", err)
			}
			if n := count(t, nodes[0], `SELECT COUNT(*) FROM order_lines`); n != 1 {
				t.Fatalf("order lines = %d, want 1", n)
			}
			if n := count(t, nodes[0], `SELECT total_minor FROM orders WHERE order_ref = 'RACE-1'`); n != 1000 {
				t.Fatalf("total = %d", n)
			}
		})
	}
}

func TestResolveChainedMergesInOneBatch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		ids := resolve(t, d, s, anon("a"), anon("b"), anon("c"))
		a, b, c := ids[0], ids[1], ids[2]
		resolve(t, d, s,
			identify(customer.Keys{AnonymousID: "c", Email: "chain@example.com"}, nil),
			identify(customer.Keys{AnonymousID: "b", Email: "chain@example.com"}, nil), // c into b
			identify(customer.Keys{AnonymousID: "a", Email: "chain@example.com"}, nil), // b (with c) into a
		)
		for _, id := range []int64{b, c} {
			if got := count(t, d, `SELECT merged_into FROM customers WHERE id = $1`, id); got != a {
				t.Fatalf("profile %d merged_into %d, want %d (flattened)", id, got, a)
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM customer_merges`); n != 2 {
			t.Fatalf("merges = %d, want 2", n)
		}
		// Undo the later merge first, then the earlier: each restores its part.
		var m1, m2 int64
		if err := d.Reader().QueryRow(`SELECT MIN(id), MAX(id) FROM customer_merges`).Scan(&m1, &m2); err != nil {
			t.Fatal(err)
		}
		if err := s.Unmerge(as(auth.RoleAdmin), m2); err != nil {
			t.Fatal(err)
		}
		if canonical(t, d, c) != b || canonical(t, d, b) != b || canonical(t, d, a) != a {
			t.Fatalf("after undoing the second merge: a→%d b→%d c→%d", canonical(t, d, a), canonical(t, d, b), canonical(t, d, c))
		}
		if err := s.Unmerge(as(auth.RoleAdmin), m1); err != nil {
			t.Fatal(err)
		}
		if canonical(t, d, c) != c || canonical(t, d, b) != b {
			t.Fatal("after undoing both merges the three profiles are not separate")
		}
	})
}
