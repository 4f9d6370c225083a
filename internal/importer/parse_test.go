package importer

import (
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

var retailHeader = strings.Split("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country", ",")

func mustLayout(t *testing.T, header []string) orderLayout {
	t.Helper()
	l, err := detectOrderLayout(header, Options{}.withDefaults())
	if err != nil {
		t.Fatalf("detect %v: %v", header, err)
	}
	return l
}

func TestRetailParse(t *testing.T) {
	l := mustLayout(t, retailHeader)
	london, _ := time.LoadLocation("Europe/London")
	tests := []struct {
		name   string
		row    string
		want   orderRow // compared when wantErr is empty
		field  string   // the column a rejection must name
		reason string   // a substring of the rejection
	}{
		{
			name: "sale with float customer id",
			row:  "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",
			want: orderRow{Ref: "536365", Key: customerKey{UserID: "17850"}, Country: "GB", Status: "completed", Currency: "GBP",
				PlacedAt: time.Date(2010, 12, 1, 8, 26, 0, 0, london),
				Line: customer.OrderLine{Kind: "sale", SKU: "85123A", Name: "WHITE HANGING HEART T-LIGHT HOLDER", Quantity: 6,
					UnitPriceMinor: 255, AmountMinor: 1530, OccurredAt: time.Date(2010, 12, 1, 8, 26, 0, 0, london)}},
		},
		{
			name: "summer time is BST",
			row:  "555000,22423,REGENCY CAKESTAND 3 TIER,1,2011-06-01 12:00:00,12.75,12748.0,EIRE",
			want: orderRow{Ref: "555000", Key: customerKey{UserID: "12748"}, Country: "IE", Status: "completed", Currency: "GBP",
				PlacedAt: time.Date(2011, 6, 1, 11, 0, 0, 0, time.UTC),
				Line: customer.OrderLine{Kind: "sale", SKU: "22423", Name: "REGENCY CAKESTAND 3 TIER", Quantity: 1,
					UnitPriceMinor: 1275, AmountMinor: 1275, OccurredAt: time.Date(2011, 6, 1, 11, 0, 0, 0, time.UTC)}},
		},
		{
			name: "cancellation",
			row:  "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom",
			want: orderRow{Ref: "C536379", Key: customerKey{UserID: "14527"}, Country: "GB", Status: "cancelled", Currency: "GBP",
				PlacedAt: time.Date(2010, 12, 1, 9, 41, 0, 0, london),
				Line: customer.OrderLine{Kind: "cancel", SKU: "D", Name: "Discount", Quantity: -1,
					UnitPriceMinor: 2750, AmountMinor: -2750, OccurredAt: time.Date(2010, 12, 1, 9, 41, 0, 0, london)}},
		},
		{
			name: "guest line, fractional penny price rounded on the amount",
			row:  "549999,PADS,PADS TO MATCH ALL CUSHIONS,100,2011-04-15 10:00:00,0.001,,Unspecified",
			want: orderRow{Ref: "549999", Status: "completed", Currency: "GBP",
				PlacedAt: time.Date(2011, 4, 15, 10, 0, 0, 0, london),
				Line: customer.OrderLine{Kind: "sale", SKU: "PADS", Name: "PADS TO MATCH ALL CUSHIONS", Quantity: 100,
					UnitPriceMinor: 0, AmountMinor: 10, OccurredAt: time.Date(2011, 4, 15, 10, 0, 0, 0, london)}},
		},
		{
			name: "unmapped country kept as written",
			row:  "550000,1,X,1,2011-04-15 10:00:00,1,12345,Channel Islands",
			want: orderRow{Ref: "550000", Key: customerKey{UserID: "12345"}, Country: "Channel Islands", Status: "completed", Currency: "GBP",
				PlacedAt: time.Date(2011, 4, 15, 10, 0, 0, 0, london),
				Line: customer.OrderLine{Kind: "sale", SKU: "1", Name: "X", Quantity: 1, UnitPriceMinor: 100, AmountMinor: 100,
					OccurredAt: time.Date(2011, 4, 15, 10, 0, 0, 0, london)}},
		},
		{name: "free line without a customer", row: "536414,22139,,56,2010-12-01 11:52:00,0.0,,United Kingdom", field: "UnitPrice", reason: "stock note"},
		{name: "bad-debt adjustment", row: "A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom", field: "InvoiceNo", reason: "neither a sales invoice"},
		{name: "empty invoice", row: ",B,x,1,2011-08-12 14:50:00,1,,United Kingdom", field: "InvoiceNo", reason: "is empty"},
		{name: "stock adjustment", row: "536589,21777,damaged,-10,2010-12-01 16:50:00,0.0,,United Kingdom", field: "Quantity", reason: "stock adjustment"},
		{name: "positive cancellation", row: "C536379,D,Discount,1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom", field: "Quantity", reason: "positive on cancellation"},
		{name: "zero quantity", row: "536365,1,X,0,2010-12-01 08:26:00,2.55,17850.0,United Kingdom", field: "Quantity", reason: "zero"},
		{name: "fractional quantity", row: "536365,1,X,1.5,2010-12-01 08:26:00,2.55,17850.0,United Kingdom", field: "Quantity", reason: "not a whole number"},
		{name: "text quantity", row: "536365,1,X,six,2010-12-01 08:26:00,2.55,17850.0,United Kingdom", field: "Quantity", reason: `"six"`},
		{name: "US date", row: "536365,1,X,6,12/1/2010 8:26,2.55,17850.0,United Kingdom", field: "InvoiceDate", reason: "not a date"},
		{name: "impossible date", row: "536365,1,X,6,2010-02-30 08:26:00,2.55,17850.0,United Kingdom", field: "InvoiceDate", reason: "not a date"},
		{name: "text price", row: "536365,1,X,6,2010-12-01 08:26:00,£2.55,17850.0,United Kingdom", field: "UnitPrice", reason: "not a price"},
		{name: "NaN price", row: "536365,1,X,6,2010-12-01 08:26:00,NaN,17850.0,United Kingdom", field: "UnitPrice", reason: "not a price"},
		{name: "negative price", row: "536365,1,X,6,2010-12-01 08:26:00,-2.55,17850.0,United Kingdom", field: "UnitPrice", reason: "negative"},
		{name: "fractional customer id", row: "536365,1,X,6,2010-12-01 08:26:00,2.55,17850.5,United Kingdom", field: "CustomerID", reason: "not a customer number"},
		{name: "short row", row: "536365,1,X,6", reason: "4 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.parse(strings.Split(tt.row, ","))
			if tt.reason != "" || tt.field != "" {
				if err == nil {
					t.Fatalf("parse accepted %q, want a rejection", tt.row)
				}
				if kizuna.ErrorCode(err) != kizuna.EINVALID {
					t.Errorf("code %q, want invalid", kizuna.ErrorCode(err))
				}
				if f := kizuna.ErrorField(err); f != tt.field {
					t.Errorf("field %q, want %q (%v)", f, tt.field, err)
				}
				if !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("reason %q does not say %q", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !got.PlacedAt.Equal(tt.want.PlacedAt) || !got.Line.OccurredAt.Equal(tt.want.Line.OccurredAt) {
				t.Errorf("time %v, want %v", got.PlacedAt, tt.want.PlacedAt)
			}
			got.PlacedAt, got.Line.OccurredAt = tt.want.PlacedAt, tt.want.Line.OccurredAt
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestGenericParse(t *testing.T) {
	l := mustLayout(t, strings.Split("order_id,customer_email,customer_id,phone,placed_at,currency,sku,name,quantity,unit_price,status", ","))
	if l.format() != FormatGenericOrder {
		t.Fatalf("format %q", l.format())
	}
	at := time.Date(2024, 5, 1, 9, 30, 0, 0, time.FixedZone("JST", 9*3600))
	tests := []struct {
		row          string
		want         orderRow
		field, wantE string
	}{
		{row: "A-1001,Hanako@Example.JP,,,2024-05-01T09:30:00+09:00,JPY,TEA-01,緑茶,2,1500,",
			want: orderRow{Ref: "A-1001", Key: customerKey{Email: "hanako@example.jp"}, Status: "completed", Currency: "JPY", PlacedAt: at,
				Line: customer.OrderLine{Kind: "sale", SKU: "TEA-01", Name: "緑茶", Quantity: 2, UnitPriceMinor: 1500, AmountMinor: 3000, OccurredAt: at}}},
		{row: "A-1002,,c-77,,2024-05-01T09:30:00+09:00,usd,S,Socks,-1,9.99,refunded",
			want: orderRow{Ref: "A-1002", Key: customerKey{UserID: "c-77"}, Status: "refunded", Currency: "USD", PlacedAt: at,
				Line: customer.OrderLine{Kind: "refund", SKU: "S", Name: "Socks", Quantity: -1, UnitPriceMinor: 999, AmountMinor: -999, OccurredAt: at}}},
		{row: "A-1003,,,+81 90-2817-4410,2024-05-01T09:30:00+09:00,,S,Socks,-1,9.99,",
			want: orderRow{Ref: "A-1003", Key: customerKey{Phone: "+819028174410"}, Status: "completed", Currency: "GBP", PlacedAt: at,
				Line: customer.OrderLine{Kind: "refund", SKU: "S", Name: "Socks", Quantity: -1, UnitPriceMinor: 999, AmountMinor: -999, OccurredAt: at}}},
		{row: "A-1004,a@b.jp,,,2024-05-01 09:30:00,JPY,S,x,1,1,", field: "placed_at", wantE: "RFC 3339"},
		{row: "A-1004,a@b.jp,,,2024-05-01T09:30:00Z,YEN,S,x,1,1,", field: "currency", wantE: "ISO 4217"},
		{row: "A-1004,not-an-email,,,2024-05-01T09:30:00Z,JPY,S,x,1,1,", field: "customer_email", wantE: "not an email"},
		{row: "A-1004,,,03-1234,2024-05-01T09:30:00Z,JPY,S,x,1,1,", field: "customer_phone", wantE: "not a valid phone"},
		{row: "A-1004,a@b.jp,,,2024-05-01T09:30:00Z,JPY,S,x,1,1,shipped", field: "status", wantE: "not completed"},
		{row: "A-1004,a@b.jp,,,2024-05-01T09:30:00Z,JPY,S,x,2,1,cancelled", field: "quantity", wantE: "positive on a cancelled"},
		{row: ",a@b.jp,,,2024-05-01T09:30:00Z,JPY,S,x,2,1,", field: "order_id", wantE: "empty"},
	}
	for _, tt := range tests {
		got, err := l.parse(strings.Split(tt.row, ","))
		if tt.wantE != "" {
			if err == nil || kizuna.ErrorField(err) != tt.field || !strings.Contains(err.Error(), tt.wantE) {
				t.Errorf("%s: err %v (field %q), want field %q and %q", tt.row, err, kizuna.ErrorField(err), tt.field, tt.wantE)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.row, err)
			continue
		}
		if !got.PlacedAt.Equal(tt.want.PlacedAt) {
			t.Errorf("%s: time %v", tt.row, got.PlacedAt)
		}
		got.PlacedAt, got.Line.OccurredAt = tt.want.PlacedAt, tt.want.Line.OccurredAt
		if got != tt.want {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.row, got, tt.want)
		}
	}
}

func TestDetectOrderLayout(t *testing.T) {
	tests := []struct {
		header string
		format string
		err    string
	}{
		{header: "\ufeffInvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country", format: FormatOnlineRetail},
		{header: "invoiceno,stockcode,description,quantity,invoicedate,unitprice,customerid,country", format: FormatOnlineRetail},
		{header: "Country,CustomerID,UnitPrice,InvoiceDate,Quantity,Description,StockCode,InvoiceNo", format: FormatOnlineRetail},
		{header: "order_id,customer_id,placed_at,quantity,unit_price", format: FormatGenericOrder},
		{header: "order_id,placed_at,quantity,unit_price,sku", err: "names no customer column"},
		{header: "id,date,amount", err: "unrecognised order file header"},
	}
	for _, tt := range tests {
		src, err := newCSVSource(strings.NewReader(tt.header + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		l, err := detectOrderLayout(src.header, Options{}.withDefaults())
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: err %v, want %q", tt.header, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.header, err)
		case tt.err == "" && l.format() != tt.format:
			t.Errorf("%s: format %q, want %q", tt.header, l.format(), tt.format)
		}
	}
	// Reordered columns are read by name, not position.
	src, _ := newCSVSource(strings.NewReader(tests[2].header + "\n"))
	l, _ := detectOrderLayout(src.header, Options{}.withDefaults())
	r, err := l.parse(strings.Split("United Kingdom,17850.0,2.55,2010-12-01 08:26:00,6,HEART,85123A,536365", ","))
	if err != nil || r.Ref != "536365" || r.Key.UserID != "17850" || r.Line.AmountMinor != 1530 {
		t.Errorf("reordered: %+v %v", r, err)
	}
}

func TestGrouper(t *testing.T) {
	l := mustLayout(t, retailHeader)
	rows := []string{
		"1001,A,a,1,2011-01-01 10:00:00,1,100.0,United Kingdom",
		"1001,B,b,2,2011-01-01 10:00:00,1,100.0,United Kingdom",
		"1002,A,a,1,2011-01-01 11:00:00,1,200.0,United Kingdom",
		"1001,C,c,3,2011-01-01 09:59:00,1,100.0,United Kingdom", // interleaved, earlier time
		"1002,B,b,1,2011-01-01 11:00:00,1,300.0,United Kingdom", // another customer: rejected
		"C1003,A,a,-1,2011-01-01 12:00:00,1,200.0,United Kingdom",
		"1004,A,a,1,2011-01-01 13:00:00,1,,United Kingdom",
	}
	g := newGrouper(2)
	var closed []*pendingOrder
	var rejected []error
	for i, s := range rows {
		r, err := l.parse(strings.Split(s, ","))
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if err := g.add(int64(i+1), int64(i+2), r, strings.Split(s, ",")); err != nil {
			rejected = append(rejected, err)
		}
		closed = append(closed, g.closed(int64(i+1), false)...)
	}
	if len(rejected) != 1 || !strings.Contains(rejected[0].Error(), "belongs to customer 200 (line 4) but this line names customer 300") {
		t.Fatalf("rejected %v", rejected)
	}
	if len(closed) == 0 || closed[0].Ref != "1001" {
		t.Fatalf("order 1001 should close first once 2 rows passed, closed %v", closed)
	}
	closed = append(closed, g.closed(int64(len(rows)), true)...)
	if len(g.open) != 0 || len(g.queue) != 0 {
		t.Errorf("grouper still holds %d orders", len(g.open))
	}
	byRef := map[string]*pendingOrder{}
	for _, o := range closed {
		if byRef[o.Ref] != nil {
			t.Fatalf("order %s closed twice", o.Ref)
		}
		byRef[o.Ref] = o
	}
	o := byRef["1001"]
	if len(o.Lines) != 3 || o.LineNos[2] != 5 || !o.PlacedAt.Equal(time.Date(2011, 1, 1, 9, 59, 0, 0, o.PlacedAt.Location())) {
		t.Errorf("1001: %d lines, lines %v, placed %v", len(o.Lines), o.LineNos, o.PlacedAt)
	}
	if o := byRef["1002"]; len(o.Lines) != 1 {
		t.Errorf("1002 has %d lines, want 1 (the other customer's line is rejected)", len(o.Lines))
	}
	if o := byRef["C1003"]; o.Status != "cancelled" || o.Lines[0].Kind != "cancel" {
		t.Errorf("C1003: %+v", o)
	}
	if o := byRef["1004"]; !o.Key.guest() {
		t.Errorf("1004 should be a guest order: %+v", o.Key)
	}
}

func TestCustomerParse(t *testing.T) {
	src, err := newCSVSource(strings.NewReader("customer_id,email,phone,family_name,given_name,family_name_kana,given_name_kana,locale,country,lifecycle_stage,company,Preferred Channel\n"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := detectCustomerLayout(src.header)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.parse(strings.Split("12753,Haruka.Sato@Example.JP,+81 90-2817-4410,佐藤,遥,サトウ,ハルカ,ja-jp,JP,Loyal,株式会社さくら雑貨,", ","), "import:test")
	if err != nil {
		t.Fatal(err)
	}
	if r.Keys != (customer.Keys{UserID: "12753", Email: "haruka.sato@example.jp", Phone: "+819028174410"}) || !r.Merge {
		t.Errorf("keys %+v merge %v", r.Keys, r.Merge)
	}
	tr := r.Traits
	// A national number is read in the row's country.
	uk, err := l.parse(strings.Split(",,020 7946 0118,Bennett,Oliver,,,en-GB,gb,loyal,,", ","), "t")
	if err != nil || uk.Keys.Phone != "+442079460118" || uk.Traits.Country != "GB" {
		t.Errorf("UK national number: %+v %v", uk.Keys, err)
	}
	if tr.FamilyName != "佐藤" || tr.GivenNameKana != "ハルカ" || tr.Locale != "ja-JP" || tr.LifecycleStage != "loyal" {
		t.Errorf("traits %+v", tr)
	}
	if len(tr.Attributes) != 1 || tr.Attributes["company"] != "株式会社さくら雑貨" {
		t.Errorf("attributes %v (an empty cell must not become an attribute)", tr.Attributes)
	}
	bad := []struct{ row, field, msg string }{
		{",,,佐藤,遥,,,,,,,", "", "no customer_id, email or phone"},
		{"1,not-mail,,,,,,,,,,", "email", "not an email"},
		{"1,,,,,,,japanese!!,,,,", "locale", "BCP 47"},
		{"1,,090-1234,,,,,,JP,,,", "phone", "not a valid phone number"},
		{"1,,7946 0118,,,,,,GB,,,", "phone", "not a valid phone number"},
		{"1,,,,,,,,,vip,,", "lifecycle_stage", "not one of"},
	}
	for _, b := range bad {
		_, err := l.parse(strings.Split(b.row, ","), "t")
		if err == nil || kizuna.ErrorField(err) != b.field || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%q: %v, want field %q %q", b.row, err, b.field, b.msg)
		}
	}
	if _, err := detectCustomerLayout([]string{"name", "city"}); err == nil {
		t.Error("a header without any identity column was accepted")
	}
	if _, err := detectCustomerLayout([]string{"email", "tier", "Tier"}); err == nil {
		t.Error("a duplicated attribute column was accepted")
	}
}

func TestToMinor(t *testing.T) {
	tests := []struct {
		amount float64
		cur    string
		want   int64
	}{
		{2.55, "GBP", 255}, {0.29, "GBP", 29}, {0.125, "GBP", 13}, {-27.5, "GBP", -2750},
		{1500, "JPY", 1500}, {1500.4, "JPY", 1500}, {9.999, "USD", 1000},
	}
	for _, tt := range tests {
		got, err := toMinor(tt.amount, tt.cur)
		if err != nil || got != tt.want {
			t.Errorf("toMinor(%v, %s) = %d, %v; want %d", tt.amount, tt.cur, got, err, tt.want)
		}
	}
	if _, err := toMinor(1, "XYZ1"); err == nil {
		t.Error("a bad currency was accepted")
	}
}
