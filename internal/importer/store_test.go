package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// newService is the customer service the store tests import through.
func newService(d *db.DB) Customers { return customer.NewService(d) }

func importCtx() context.Context { return auth.System(context.Background(), "import") }

// storeCounts reads what an import left in the store.
type storeCounts struct{ customers, identities, orders, lines, netMinor int64 }

func countStore(t *testing.T, d *db.DB) storeCounts {
	t.Helper()
	var c storeCounts
	for q, dst := range map[string]*int64{
		`SELECT COUNT(*) FROM customers`:                         &c.customers,
		`SELECT COUNT(*) FROM identities`:                        &c.identities,
		`SELECT COUNT(*) FROM orders`:                            &c.orders,
		`SELECT COUNT(*) FROM order_lines`:                       &c.lines,
		`SELECT COALESCE(SUM(amount_minor), 0) FROM order_lines`: &c.netMinor,
	} {
		if err := d.Reader().QueryRow(q).Scan(dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return c
}

// ordersFile has, by line: 2-6 good sales of three customers, 7 a bad
// quantity, 8 a cancellation, 9-10 guest orders (9 with a quoted comma),
// 11 a stock adjustment, 12 malformed CSV, 13 a bad date, 14 a good sale,
// 15 a late line of order 536365 (more than 3 rows after its others).
const ordersFile = `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047.0,United Kingdom
536367,22745,POPPY'S PLAYHOUSE BEDROOM,6,2010-12-01 08:34:00,2.10,13047.0,United Kingdom
536368,22960,JAM MAKING SET WITH JARS,bad,2010-12-01 08:34:00,4.25,13047.0,United Kingdom
C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527.0,United Kingdom
536414,22139,"RETROSPOT TEA SET, CERAMIC 11 PC",56,2010-12-01 11:52:00,0.85,,United Kingdom
536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,2010-12-01 14:32:00,2.51,,United Kingdom
536589,21777,damaged,-10,2010-12-01 16:50:00,0.00,,United Kingdom
536590,21777,"bad "quote",1,2010-12-01 16:50:00,1.00,12583.0,France
536591,21777,RECIPE BOX,1,2010-13-01 16:50:00,1.00,12583.0,France
536592,21777,RECIPE BOX,2,2010-12-01 17:00:00,7.95,12583.0,France
536365,22752,SET 7 BABUSHKA NESTING BOXES,2,2010-12-01 08:26:00,7.65,17850.0,United Kingdom
`

// wantRejected are the rejected lines of ordersFile and what each reason says.
var wantRejected = []struct {
	line  int64
	field string
	says  string
}{
	{7, "Quantity", "not a whole number"},
	{11, "Quantity", "stock adjustment"},
	{12, "", "malformed CSV"},
	{13, "InvoiceDate", "not a date"},
	{15, "", "order 536365 was already closed (it began on line 2)"},
}

func checkRejections(t *testing.T, s *Summary) {
	t.Helper()
	if s.Rejected != int64(len(wantRejected)) || len(s.Rejections) != len(wantRejected) {
		t.Fatalf("rejected %d %v, want %d", s.Rejected, s.Rejections, len(wantRejected))
	}
	for i, w := range wantRejected {
		r := s.Rejections[i]
		if r.Line != w.line || r.Field != w.field || !strings.Contains(r.Reason, w.says) {
			t.Errorf("rejection %d = %+v, want line %d field %q saying %q", i, r, w.line, w.field, w.says)
		}
	}
}

func TestImportOrdersStore(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := importCtx()
		var errs bytes.Buffer
		im := New(d, newService(d), Options{Window: 3, BatchRows: 2, Errors: &errs, Source: "import:test"})
		s, err := im.ImportOrders(ctx, strings.NewReader(ordersFile))
		if err != nil {
			t.Fatal(err)
		}
		want := Summary{Kind: "orders", Format: FormatOnlineRetail, Rows: 14, CustomersCreated: 6,
			Orders: 7, Cancellations: 1, Lines: 9, GuestOrders: 2, Rejected: 5}
		checkSummary(t, s, want)
		checkRejections(t, s)
		// 6·2.55+6·3.39 + 6·1.85 + 32·1.69+6·2.10 − 27.50 + 56·0.85 + 2.51 + 2·7.95
		const net = 1530 + 2034 + 1110 + 5408 + 1260 - 2750 + 4760 + 251 + 1590
		first := countStore(t, d)
		if first != (storeCounts{customers: 6, identities: 6, orders: 7, lines: 9, netMinor: net}) {
			t.Errorf("store after import: %+v (net want %d)", first, net)
		}

		// --errors holds every rejected row with its original fields.
		recs, err := csv.NewReader(&errs).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 6 || strings.Join(recs[0][:4], ",") != "line,field,reason,InvoiceNo" {
			t.Fatalf("errors file: %q", recs)
		}
		if r := recs[1]; r[0] != "7" || r[1] != "Quantity" || r[3] != "536368" || r[6] != "bad" {
			t.Errorf("errors file row: %q", r)
		}

		// The same file again, in other batch sizes: nothing new.
		for _, batch := range []int{1, 5000} {
			s, err := New(d, newService(d), Options{Window: 3, BatchRows: batch}).ImportOrders(ctx, strings.NewReader(ordersFile))
			if err != nil {
				t.Fatal(err)
			}
			checkSummary(t, s, Summary{Kind: "orders", Format: FormatOnlineRetail, Rows: 14, OrdersExisting: 7, Rejected: 5})
			checkRejections(t, s)
			if again := countStore(t, d); again != first {
				t.Errorf("re-import (batch %d) changed the store: %+v, was %+v", batch, again, first)
			}
		}
	})
}

func checkSummary(t *testing.T, got *Summary, want Summary) {
	t.Helper()
	g := *got
	g.Rejections, g.Duration = nil, 0
	if g.Kind != want.Kind || g.Format != want.Format || g.Rows != want.Rows ||
		g.CustomersCreated != want.CustomersCreated || g.CustomersUpdated != want.CustomersUpdated ||
		g.Orders != want.Orders || g.OrdersExisting != want.OrdersExisting || g.Cancellations != want.Cancellations ||
		g.Lines != want.Lines || g.GuestOrders != want.GuestOrders || g.GuestSkipped != want.GuestSkipped || g.Rejected != want.Rejected {
		t.Errorf("summary\n got  %+v\n want %+v", g, want)
	}
}

func TestImportOrdersGuestSkip(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, err := New(d, newService(d), Options{Guests: GuestSkip, Window: 3}).ImportOrders(importCtx(), strings.NewReader(ordersFile))
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, s, Summary{Kind: "orders", Format: FormatOnlineRetail, Rows: 14, CustomersCreated: 4,
			Orders: 5, Cancellations: 1, Lines: 7, GuestSkipped: 2, Rejected: 5})
		if c := countStore(t, d); c.orders != 5 || c.customers != 4 {
			t.Errorf("store: %+v", c)
		}
	})
}

// An order the service refuses costs its own lines only.
func TestImportOrdersServiceRefusesOne(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		svc := refusingCustomers{Customers: newService(d), refuseRef: "536367"}
		s, err := New(d, svc, Options{Window: 3}).ImportOrders(importCtx(), strings.NewReader(ordersFile))
		if err != nil {
			t.Fatal(err)
		}
		if s.Orders != 6 || s.Lines != 7 || s.Rejected != 7 {
			t.Fatalf("summary %+v", s)
		}
		var refused []int64
		for _, r := range s.Rejections {
			if strings.Contains(r.Reason, "refused by the test") {
				refused = append(refused, r.Line)
			}
		}
		if len(refused) != 2 || refused[0] != 5 || refused[1] != 6 {
			t.Errorf("refused lines %v, want [5 6]; all: %v", refused, s.Rejections)
		}
		if c := countStore(t, d); c.orders != 6 || c.lines != 7 {
			t.Errorf("store: %+v", c)
		}
	})
}

func TestImportGenericOrders(t *testing.T) {
	const file = `order_id,customer_email,placed_at,currency,sku,name,quantity,unit_price,status
W-1,hanako@example.jp,2024-05-01T09:30:00+09:00,JPY,TEA,緑茶,2,1500,
W-1,hanako@example.jp,2024-05-01T09:30:00+09:00,JPY,CUP,湯呑み,1,2200,
W-2,taro@example.jp,2024-05-02T10:00:00+09:00,JPY,TEA,緑茶,1,1500,
W-2,taro@example.jp,2024-05-02T10:00:00+09:00,USD,CUP,Cup,1,20,
R-1,hanako@example.jp,2024-05-03T10:00:00+09:00,JPY,TEA,緑茶,-1,1500,refunded
`
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, err := New(d, newService(d), Options{}).ImportOrders(importCtx(), strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, s, Summary{Kind: "orders", Format: FormatGenericOrder, Rows: 5, CustomersCreated: 2,
			Orders: 3, Cancellations: 1, Lines: 4, Rejected: 1})
		if r := s.Rejections[0]; r.Line != 5 || r.Field != "currency" || !strings.Contains(r.Reason, "order W-2 is in JPY (line 4)") {
			t.Errorf("rejection %+v", r)
		}
		if c := countStore(t, d); c.netMinor != 3000+2200+1500-1500 || c.orders != 3 {
			t.Errorf("store %+v", c)
		}

		// A later returns file refunds W-1's cup: an adjustment of the
		// stored order, applied once however often the file is imported.
		const returns = `order_id,customer_email,placed_at,currency,sku,name,quantity,unit_price,status
W-1,hanako@example.jp,2024-05-10T12:00:00+09:00,JPY,CUP,湯呑み,-1,2200,refunded
`
		for run, want := range []Summary{
			{Kind: "orders", Format: FormatGenericOrder, Rows: 1, CustomersUpdated: 1, Orders: 1, Cancellations: 1, Lines: 1},
			{Kind: "orders", Format: FormatGenericOrder, Rows: 1, OrdersExisting: 1},
		} {
			s, err := New(d, newService(d), Options{}).ImportOrders(importCtx(), strings.NewReader(returns))
			if err != nil {
				t.Fatal(err)
			}
			checkSummary(t, s, want)
			if c := countStore(t, d); c.netMinor != 3000+1500-1500 || c.orders != 3 || c.lines != 5 {
				t.Errorf("after returns run %d: %+v", run, c)
			}
		}
		var status string
		if err := d.Reader().QueryRow(`SELECT status FROM orders WHERE order_ref = 'W-1'`).Scan(&status); err != nil || status != "partially_refunded" {
			t.Errorf("W-1 status %q, %v", status, err)
		}

		// A refund listed before its sale, in another transaction: the
		// sale still joins the order the refund created.
		const refundFirst = `order_id,customer_id,placed_at,currency,sku,name,quantity,unit_price,status
W-9,c-9,2024-06-02T10:00:00+09:00,JPY,TEA,緑茶,-1,1500,refunded
W-8,c-8,2024-06-01T10:00:00+09:00,JPY,TEA,緑茶,1,1500,
W-9,c-9,2024-06-01T09:00:00+09:00,JPY,TEA,緑茶,3,1500,
`
		s, err = New(d, newService(d), Options{BatchRows: 1, Window: 1}).ImportOrders(importCtx(), strings.NewReader(refundFirst))
		if err != nil {
			t.Fatal(err)
		}
		if s.Orders != 3 || s.OrdersExisting != 0 || s.Rejected != 0 {
			t.Errorf("refund first: %+v", s)
		}
		var lines, net int64
		if err := d.Reader().QueryRow(`SELECT COUNT(*), SUM(l.amount_minor) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.order_ref = 'W-9'`).Scan(&lines, &net); err != nil || lines != 2 || net != 3000 {
			t.Errorf("W-9: %d lines, net %d, %v; want the sale and the refund, net 3000", lines, net, err)
		}
	})
}

func TestImportCustomersStore(t *testing.T) {
	const file = "customer_id,email,phone,family_name,given_name,family_name_kana,given_name_kana,locale,country,lifecycle_stage,company\n" +
		"12753,haruka.sato@example.jp,+81 90-2817-4410,佐藤,遥,サトウ,ハルカ,ja-JP,JP,loyal,株式会社さくら雑貨\n" +
		"12754,hiroto.suzuki@example.jp,,鈴木,大翔,スズキ,ヒロト,ja-JP,JP,vip,\n" + // bad stage
		",emily.foster@example.com,,Foster,Emily,,,en-US,US,prospect,Foster Crafts LLC\n" +
		"12799,,,,,,,,,,\n"
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := importCtx()
		s, err := New(d, newService(d), Options{}).ImportCustomers(ctx, strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, s, Summary{Kind: "customers", Format: FormatCustomers, Rows: 4, CustomersCreated: 3, Rejected: 1})
		if r := s.Rejections[0]; r.Line != 3 || r.Field != "lifecycle_stage" {
			t.Errorf("rejection %+v", r)
		}
		var name string
		if err := d.Reader().QueryRow(`SELECT c.family_name FROM customers c JOIN identities i ON i.customer_id = c.id WHERE i.kind = 'user_id' AND i.value = '12753'`).Scan(&name); err != nil || name != "佐藤" {
			t.Errorf("customer 12753 family name %q, %v", name, err)
		}
		first := countStore(t, d)
		s, err = New(d, newService(d), Options{}).ImportCustomers(ctx, strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, s, Summary{Kind: "customers", Format: FormatCustomers, Rows: 4, CustomersUpdated: 3, Rejected: 1})
		if again := countStore(t, d); again != first {
			t.Errorf("re-import changed the store: %+v, was %+v", again, first)
		}

		// A customer the service refuses costs its own row only.
		svc := refusingCustomers{Customers: newService(d), refuseUserID: "12753"}
		s, err = New(d, svc, Options{}).ImportCustomers(ctx, strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if s.CustomersUpdated != 2 || s.Rejected != 2 || s.Rejections[0].Line != 2 {
			t.Errorf("refusing service: %+v", s)
		}
	})
}

func TestImportNeedsPermission(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	im := New(d, newService(d), Options{})
	_, err := im.ImportOrders(context.Background(), strings.NewReader(ordersFile))
	if kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
		t.Errorf("no principal: %v", err)
	}
	viewer := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, Role: auth.RoleViewer})
	_, err = im.ImportCustomers(viewer, strings.NewReader("email\na@example.com\n"))
	if kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
		t.Errorf("viewer: %v", err)
	}
	if c := countStore(t, d); c != (storeCounts{}) {
		t.Errorf("a refused import wrote %+v", c)
	}
}

func TestImportBadFiles(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	im := New(d, newService(d), Options{})
	for _, f := range []string{"", "a,b,c\n1,2,3\n", "\"unterminated\n"} {
		if _, err := im.ImportOrders(importCtx(), strings.NewReader(f)); kizuna.ErrorCode(err) != kizuna.EINVALID {
			t.Errorf("%q: %v, want invalid", f, err)
		}
	}
}
