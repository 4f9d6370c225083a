package customer_test

import (
	"math"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

func record(t testing.TB, d *db.DB, s *customer.Service, orders ...customer.OrderInput) {
	t.Helper()
	if err := recordErr(d, s, orders...); err != nil {
		t.Fatalf("RecordOrdersTx: %v", err)
	}
}

func recordErr(d *db.DB, s *customer.Service, orders ...customer.OrderInput) error {
	return d.WriteTx(sysCtx(), func(tx *db.Tx) error { return s.RecordOrdersTx(sysCtx(), tx, orders) })
}

type orderRow struct {
	status  string
	total   int64
	hasSale int64
	lines   int64
}

func orderByRef(t testing.TB, d *db.DB, ref string) orderRow {
	t.Helper()
	var o orderRow
	if err := d.Reader().QueryRow(`SELECT status, total_minor, has_sale, (SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.id)
		FROM orders o WHERE order_ref = $1`, ref).Scan(&o.status, &o.total, &o.hasSale, &o.lines); err != nil {
		t.Fatalf("order %s: %v", ref, err)
	}
	if sum := count(t, d, `SELECT COALESCE(SUM(amount_minor), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.order_ref = $1`, ref); sum != o.total {
		t.Fatalf("order %s: total_minor %d != sum of lines %d", ref, o.total, sum)
	}
	return o
}

func TestRecordOrdersRefundsAndCancellations(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		cid := resolve(t, d, s, anon("buyer"))[0]
		sale := customer.OrderInput{CustomerID: cid, Ref: "536365", Source: "test", Currency: "gbp", Status: "completed", PlacedAt: t0,
			Lines: []customer.OrderLine{
				{SKU: "85123A", Name: "WHITE HANGING HEART T-LIGHT HOLDER", Quantity: 6, UnitPriceMinor: 255},
				{SKU: "71053", Name: "WHITE METAL LANTERN", Quantity: 6, UnitPriceMinor: 339},
			}}
		record(t, d, s, sale)
		if o := orderByRef(t, d, "536365"); o != (orderRow{"completed", 6*255 + 6*339, 1, 2}) {
			t.Fatalf("after sale: %+v", o)
		}
		// The same completed order again (a replayed import) adds nothing.
		record(t, d, s, sale)
		if o := orderByRef(t, d, "536365"); o.lines != 2 {
			t.Fatalf("duplicate completed added lines: %+v", o)
		}
		// A partial refund (positive amounts from the source become negative).
		refund := customer.OrderInput{CustomerID: cid, Ref: "536365", Currency: "GBP", Status: "refunded", PlacedAt: t0.Add(24 * time.Hour),
			AdjustmentKey: "msg-r1", Lines: []customer.OrderLine{{SKU: "71053", Quantity: 2, UnitPriceMinor: 339}}}
		record(t, d, s, refund)
		if o := orderByRef(t, d, "536365"); o != (orderRow{"partially_refunded", 6*255 + 4*339, 1, 3}) {
			t.Fatalf("after partial refund: %+v", o)
		}
		// The same refund again (same key) adds nothing.
		record(t, d, s, refund)
		if o := orderByRef(t, d, "536365"); o.lines != 3 {
			t.Fatalf("replayed refund added lines: %+v", o)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM order_lines WHERE kind = 'refund' AND quantity = -2 AND amount_minor = -678`); n != 1 {
			t.Fatalf("refund line not negative: %d", n)
		}
		// Refunding the rest makes the order refunded.
		record(t, d, s, customer.OrderInput{CustomerID: cid, Ref: "536365", Currency: "GBP", Status: "refunded", PlacedAt: t0.Add(48 * time.Hour),
			AdjustmentKey: "msg-r2", Lines: []customer.OrderLine{{AmountMinor: 6*255 + 4*339}}})
		if o := orderByRef(t, d, "536365"); o.status != "refunded" || o.total != 0 {
			t.Fatalf("after full refund: %+v", o)
		}
		// A cancellation invoice of an order we never saw (Online Retail
		// "C536379") becomes an order of its own holding negative lines.
		record(t, d, s, customer.OrderInput{CustomerID: cid, Ref: "C536379", Currency: "GBP", Status: "cancelled", PlacedAt: t0,
			AdjustmentKey: "C536379", Lines: []customer.OrderLine{{SKU: "D", Name: "Discount", Quantity: -1, UnitPriceMinor: 2750}}})
		if o := orderByRef(t, d, "C536379"); o != (orderRow{"cancelled", -2750, 0, 1}) {
			t.Fatalf("cancellation of an unknown order: %+v", o)
		}
		// Importing the same file again changes nothing.
		record(t, d, s, customer.OrderInput{CustomerID: cid, Ref: "C536379", Currency: "GBP", Status: "cancelled", PlacedAt: t0,
			AdjustmentKey: "C536379", Lines: []customer.OrderLine{{SKU: "D", Name: "Discount", Quantity: -1, UnitPriceMinor: 2750}}})
		if o := orderByRef(t, d, "C536379"); o.lines != 1 {
			t.Fatalf("re-import added lines: %+v", o)
		}
	})
}

func TestRecordOrdersInOneBatch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		cid := resolve(t, d, s, anon("batch-buyer"))[0]
		line := []customer.OrderLine{{SKU: "A", Quantity: 1, UnitPriceMinor: 1200}}
		record(t, d, s,
			// A refund that arrives before its order…
			customer.OrderInput{CustomerID: cid, Ref: "JP-1", Currency: "JPY", Status: "refunded", PlacedAt: t0.Add(time.Hour), AdjustmentKey: "r", Lines: line},
			// …then the order itself, the order again, and a cancellation.
			customer.OrderInput{CustomerID: cid, Ref: "JP-1", Currency: "JPY", Status: "completed", PlacedAt: t0, Lines: []customer.OrderLine{{SKU: "A", Quantity: 2, UnitPriceMinor: 1200}}},
			customer.OrderInput{CustomerID: cid, Ref: "JP-1", Currency: "JPY", Status: "completed", PlacedAt: t0, Lines: line},
			customer.OrderInput{CustomerID: cid, Ref: "JP-2", Currency: "JPY", Status: "completed", PlacedAt: t0, Lines: line},
			customer.OrderInput{CustomerID: cid, Ref: "JP-2", Currency: "JPY", Status: "cancelled", PlacedAt: t0, AdjustmentKey: "c", Lines: line},
		)
		if o := orderByRef(t, d, "JP-1"); o != (orderRow{"partially_refunded", 1200, 1, 2}) {
			t.Fatalf("JP-1: %+v", o)
		}
		if got := count(t, d, `SELECT placed_at FROM orders WHERE order_ref = 'JP-1'`); got != t0.UnixMilli() {
			t.Fatalf("JP-1 placed_at = %d, want the sale's time", got)
		}
		if o := orderByRef(t, d, "JP-2"); o != (orderRow{"cancelled", 0, 1, 2}) {
			t.Fatalf("JP-2: %+v", o)
		}
	})
}

func TestRecordOrdersRejectsBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		cid := resolve(t, d, s, anon("bad"))[0]
		good := customer.OrderInput{CustomerID: cid, Ref: "ok", Currency: "JPY", PlacedAt: t0, Lines: []customer.OrderLine{{Quantity: 1, UnitPriceMinor: 100}}}
		cases := []struct {
			name  string
			edit  func(o *customer.OrderInput)
			field string
		}{
			{"no ref", func(o *customer.OrderInput) { o.Ref = " " }, "order_id"},
			{"bad currency", func(o *customer.OrderInput) { o.Currency = "YEN" }, "currency"},
			{"bad status", func(o *customer.OrderInput) { o.Status = "shipped" }, "status"},
			{"no lines", func(o *customer.OrderInput) { o.Lines = nil }, "products"},
			{"no customer", func(o *customer.OrderInput) { o.CustomerID = 0 }, "customer_id"},
		}
		for _, c := range cases {
			o := good
			o.Lines = append([]customer.OrderLine(nil), good.Lines...)
			c.edit(&o)
			err := recordErr(d, s, good, o)
			if kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != c.field {
				t.Errorf("%s: err = %v (field %q), want EINVALID on %s", c.name, err, kizuna.ErrorField(err), c.field)
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM orders`); n != 0 {
			t.Fatalf("failed batches left %d orders", n)
		}
		// A refund in another currency than its order.
		record(t, d, s, good)
		bad := good
		bad.Status, bad.Currency = "refunded", "USD"
		if err := recordErr(d, s, bad); kizuna.ErrorField(err) != "currency" {
			t.Fatalf("currency mismatch: %v", err)
		}
	})
}

func TestToMinor(t *testing.T) {
	cases := []struct {
		amount float64
		cur    string
		want   int64
	}{
		{1200, "JPY", 1200},
		{1200.4, "jpy", 1200},
		{12.34, "GBP", 1234},
		{0.1 + 0.2, "USD", 30},
		{-2.55, "GBP", -255},
		{1.005, "GBP", 101}, // 1.005 is 1.00499… in binary; ×100 rounds to 100.5 → 101
		{1.2345, "BHD", 1235},
	}
	for _, c := range cases {
		got, err := customer.ToMinor(c.amount, c.cur)
		if err != nil || got != c.want {
			t.Errorf("ToMinor(%v, %s) = %d, %v; want %d", c.amount, c.cur, got, err, c.want)
		}
	}
	for _, bad := range []struct {
		amount float64
		cur    string
	}{{1, "XYZ1"}, {1, ""}, {math.NaN(), "JPY"}, {math.Inf(1), "USD"}} {
		if _, err := customer.ToMinor(bad.amount, bad.cur); kizuna.ErrorCode(err) != kizuna.EINVALID {
			t.Errorf("ToMinor(%v, %q) err = %v, want EINVALID", bad.amount, bad.cur, err)
		}
	}
}

// A free order (samples, gifts: every line priced 0) is completed, not
// refunded; refunding a paid order in full is refunded.
func TestRecordOrdersFreeOrderIsCompleted(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := customer.NewService(d)
		cid := resolve(t, d, s, anon("gift"))[0]
		record(t, d, s, customer.OrderInput{CustomerID: cid, Ref: "FREE-1", Currency: "GBP", Status: "completed", PlacedAt: t0,
			Lines: []customer.OrderLine{{SKU: "SAMPLE", Name: "sample", Quantity: 1, UnitPriceMinor: 0}}})
		if o := orderByRef(t, d, "FREE-1"); o.status != "completed" {
			t.Errorf("free order status = %q, want completed", o.status)
		}
		record(t, d, s, customer.OrderInput{CustomerID: cid, Ref: "PAID-1", Currency: "GBP", Status: "completed", PlacedAt: t0,
			Lines: []customer.OrderLine{{SKU: "A", Quantity: 2, UnitPriceMinor: 500}}})
		record(t, d, s, customer.OrderInput{CustomerID: cid, Ref: "PAID-1", Currency: "GBP", Status: "refunded", PlacedAt: t0.Add(time.Hour),
			Lines: []customer.OrderLine{{SKU: "A", Quantity: -2, UnitPriceMinor: 500}}})
		if o := orderByRef(t, d, "PAID-1"); o.status != "refunded" || o.total != 0 {
			t.Errorf("fully refunded order = %+v, want refunded with total 0", o)
		}
	})
}
