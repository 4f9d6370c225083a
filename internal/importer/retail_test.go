package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/sampledata"
)

// retailHead returns the header and the first n data lines of the shipped
// Online Retail file.
func retailHead(t testing.TB, n int) []byte {
	t.Helper()
	f, err := sampledata.Open(sampledata.OnlineRetail)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	sc := bufio.NewScanner(zr)
	for i := 0; i <= n && sc.Scan(); i++ {
		buf.Write(sc.Bytes())
		buf.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// retailExpectation is what importing some Online Retail lines must store,
// computed by a deliberately naive second pass that shares no code with
// the importer: the rules from docs/DATA.md applied line by line.
type retailExpectation struct {
	rows, rejected, orders, cancels, lines, guestOrders, customers, netMinor int64
}

func expectRetail(t testing.TB, data []byte) retailExpectation {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	invoice := regexp.MustCompile(`^C?\d+$`)
	var e retailExpectation
	orders := map[string]bool{}
	guests := map[string]bool{}
	buyers := map[string]bool{}
	for _, r := range recs[1:] {
		e.rows++
		inv, qtyS, date, priceS, cust := r[0], r[3], r[4], r[5], r[6]
		qty, qerr := strconv.Atoi(qtyS)
		price, perr := strconv.ParseFloat(priceS, 64)
		_, derr := time.Parse("2006-01-02 15:04:05", date)
		cancel := strings.HasPrefix(inv, "C")
		if !invoice.MatchString(inv) || qerr != nil || qty == 0 || cancel != (qty < 0) || perr != nil || price < 0 || derr != nil ||
			(price == 0 && cust == "") {
			e.rejected++
			continue
		}
		e.lines++
		e.netMinor += int64(math.Round(float64(qty) * price * 100))
		if !orders[inv] {
			orders[inv] = true
			if cancel {
				e.cancels++
			}
		}
		if cust == "" {
			guests[inv] = true
		} else {
			buyers[strings.TrimSuffix(cust, ".0")] = true
		}
	}
	e.orders = int64(len(orders))
	e.guestOrders = int64(len(guests))
	e.customers = int64(len(buyers)) + e.guestOrders
	return e
}

// The first 5,000 lines of the real file, on both engines, with exact
// counts from the independent pass; then again, adding nothing.
func TestImportOnlineRetailSlice(t *testing.T) {
	data := retailHead(t, 5000)
	want := expectRetail(t, data)
	if want.rows != 5000 || want.cancels == 0 || want.guestOrders == 0 || want.rejected == 0 {
		t.Fatalf("the slice no longer covers the cases it should: %+v", want)
	}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := importCtx()
		s, err := New(d, newService(d), Options{BatchRows: 1000}).ImportOrders(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, s, Summary{Kind: "orders", Format: FormatOnlineRetail, Rows: want.rows,
			CustomersCreated: want.customers, Orders: want.orders, Cancellations: want.cancels,
			Lines: want.lines, GuestOrders: want.guestOrders, Rejected: want.rejected})
		got := countStore(t, d)
		if got.orders != want.orders || got.lines != want.lines || got.customers != want.customers || got.netMinor != want.netMinor {
			t.Errorf("store %+v, want %+v", got, want)
		}
		s, err = New(d, newService(d), Options{BatchRows: 1000}).ImportOrders(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, s, Summary{Kind: "orders", Format: FormatOnlineRetail, Rows: want.rows,
			OrdersExisting: want.orders, Rejected: want.rejected})
		if again := countStore(t, d); again != got {
			t.Errorf("re-import changed the store: %+v, was %+v", again, got)
		}
	})
}

// The shipped demo customers parse without a single rejection.
func TestSampleCustomersFile(t *testing.T) {
	f, err := sampledata.Open(sampledata.Customers)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := newCSVSource(f)
	if err != nil {
		t.Fatal(err)
	}
	l, err := detectCustomerLayout(src.header)
	if err != nil {
		t.Fatal(err)
	}
	n, kana := 0, 0
	for {
		rec, line, rowErr, err := src.next()
		if err != nil {
			break
		}
		if rowErr != nil {
			t.Fatalf("line %d: %v", line, rowErr)
		}
		r, err := l.parse(rec, "t")
		if err != nil {
			t.Errorf("line %d: %v", line, err)
			continue
		}
		n++
		if r.Traits.FamilyNameKana != "" {
			kana++
		}
	}
	if n != 30 || kana != 21 {
		t.Errorf("%d customers, %d with kana readings; want 30 and 21", n, kana)
	}
}
