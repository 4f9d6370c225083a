package importer

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// Order file layouts, detected from the header.
const (
	FormatOnlineRetail = "online-retail" // the UCI Online Retail columns
	FormatGenericOrder = "orders"        // Kizuna's documented order layout
)

// customerKey is who an order line names. All empty: a guest.
type customerKey struct {
	UserID string
	Email  string
	Phone  string
}

func (k customerKey) guest() bool { return k == customerKey{} }

func (k customerKey) String() string {
	var parts []string
	if k.UserID != "" {
		parts = append(parts, "customer "+k.UserID)
	}
	if k.Email != "" {
		parts = append(parts, "email "+k.Email)
	}
	if k.Phone != "" {
		parts = append(parts, "phone "+k.Phone)
	}
	if len(parts) == 0 {
		return "a guest"
	}
	return strings.Join(parts, ", ")
}

// orderRow is one parsed line of an order file.
type orderRow struct {
	Ref      string
	Key      customerKey
	Country  string
	Status   string // completed, refunded, cancelled
	Currency string
	PlacedAt time.Time
	Line     customer.OrderLine
}

// orderLayout parses the rows of one file layout.
type orderLayout interface {
	format() string
	parse(rec []string) (orderRow, error)
}

// detectOrderLayout picks the layout from the header row.
func detectOrderLayout(header []string, opts Options) (orderLayout, error) {
	idx := headerIndex(header)
	has := func(cols ...string) bool {
		for _, c := range cols {
			if _, ok := idx[strings.ToLower(c)]; !ok {
				return false
			}
		}
		return true
	}
	col := func(names ...string) int {
		for _, n := range names {
			if i, ok := idx[n]; ok {
				return i
			}
		}
		return -1
	}
	switch {
	case has("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"):
		return &retailLayout{
			invoice: col("invoiceno"), sku: col("stockcode"), desc: col("description"),
			qty: col("quantity"), date: col("invoicedate"), price: col("unitprice"),
			customer: col("customerid"), country: col("country"),
			currency: opts.Currency, loc: opts.Location,
		}, nil
	case has("order_id", "placed_at", "quantity", "unit_price"):
		l := &genericLayout{
			ref: col("order_id"), at: col("placed_at"), qty: col("quantity"), price: col("unit_price"),
			userID:   col("customer_id", "user_id"),
			email:    col("customer_email", "email"),
			phone:    col("customer_phone", "phone"),
			currency: col("currency"), sku: col("sku"), name: col("name", "product_name"),
			status: col("status"), country: col("country"),
			defCurrency: opts.Currency,
		}
		if l.userID < 0 && l.email < 0 && l.phone < 0 {
			return nil, kizuna.Errorf(kizuna.EINVALID,
				"the order file names no customer column: add customer_id, customer_email or customer_phone")
		}
		return l, nil
	}
	return nil, kizuna.Errorf(kizuna.EINVALID,
		"unrecognised order file header %q: expected the Online Retail columns (InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country) or order_id, customer_id|customer_email|customer_phone, placed_at, currency, sku, name, quantity, unit_price (see docs/DATA.md)",
		strings.Join(header, ","))
}

// retailLayout reads the UCI Online Retail export.
type retailLayout struct {
	invoice, sku, desc, qty, date, price, customer, country int
	currency                                                string
	loc                                                     *time.Location
}

func (l *retailLayout) format() string { return FormatOnlineRetail }

// retailInvoice is a sales invoice (6 digits) or a cancellation ("C" and 6
// digits). The file also holds three "A" bad-debt adjustments, which are
// bookkeeping, not anything a customer did.
var retailInvoice = regexp.MustCompile(`^C?[0-9]+$`)

// retailCustomerID is how the export writes CustomerID: a float ("17850.0").
var retailCustomerID = regexp.MustCompile(`^([0-9]+)(\.0*)?$`)

func (l *retailLayout) parse(rec []string) (orderRow, error) {
	var r orderRow
	if len(rec) < 8 {
		return r, kizuna.Errorf(kizuna.EINVALID, "the row has %d fields, the header 8", len(rec))
	}
	inv := field(rec, l.invoice)
	switch {
	case inv == "":
		return r, kizuna.FieldError("InvoiceNo", "is empty")
	case !retailInvoice.MatchString(inv):
		return r, kizuna.FieldError("InvoiceNo", "%q is neither a sales invoice (digits) nor a cancellation (C and digits); adjustments are not orders", inv)
	}
	r.Ref = inv
	cancel := strings.HasPrefix(inv, "C")

	qty, err := strconv.ParseInt(field(rec, l.qty), 10, 64)
	switch {
	case err != nil:
		return r, kizuna.FieldError("Quantity", "%q is not a whole number", field(rec, l.qty))
	case qty == 0:
		return r, kizuna.FieldError("Quantity", "is zero")
	case cancel && qty > 0:
		return r, kizuna.FieldError("Quantity", "%d is positive on cancellation %s (cancelled quantities are negative)", qty, inv)
	case !cancel && qty < 0:
		// In this export a negative quantity on a sales invoice is a stock
		// correction (damaged, lost, found), with no customer and no price.
		return r, kizuna.FieldError("Quantity", "%d is negative on sales invoice %s: a stock adjustment, not a purchase", qty, inv)
	}

	at, err := time.ParseInLocation("2006-01-02 15:04:05", field(rec, l.date), l.loc)
	if err != nil {
		return r, kizuna.FieldError("InvoiceDate", "%q is not a date like 2010-12-01 08:26:00", field(rec, l.date))
	}
	r.PlacedAt = at

	price, err := parsePrice("UnitPrice", field(rec, l.price))
	if err != nil {
		return r, err
	}

	if c := field(rec, l.customer); c != "" {
		m := retailCustomerID.FindStringSubmatch(c)
		if m == nil {
			return r, kizuna.FieldError("CustomerID", "%q is not a customer number", c)
		}
		r.Key.UserID = strings.TrimLeft(m[1], "0")
		if r.Key.UserID == "" {
			r.Key.UserID = "0"
		}
	} else if price == 0 {
		// Free lines with no customer are the shop's stock notes ("check",
		// "found", "amazon", or no description): the positive twins of
		// the negative stock adjustments. Free items sent to a known
		// customer are kept.
		return r, kizuna.FieldError("UnitPrice", "a zero-priced line without a customer on invoice %s: a stock note, not a purchase", inv)
	}
	r.Country = retailCountry(field(rec, l.country))
	r.Currency = l.currency
	r.Status = "completed"
	kind := "sale"
	if cancel {
		r.Status, kind = "cancelled", "cancel"
	}
	r.Line, err = makeLine(kind, field(rec, l.sku), field(rec, l.desc), qty, price, r.Currency, at)
	return r, err
}

// genericLayout reads Kizuna's own order layout (docs/DATA.md).
type genericLayout struct {
	ref, at, qty, price, userID, email, phone, currency, sku, name, status, country int
	defCurrency                                                                     string
}

func (l *genericLayout) format() string { return FormatGenericOrder }

func (l *genericLayout) parse(rec []string) (orderRow, error) {
	var r orderRow
	r.Ref = field(rec, l.ref)
	if r.Ref == "" {
		return r, kizuna.FieldError("order_id", "is empty")
	}
	if len(r.Ref) > 200 {
		return r, kizuna.FieldError("order_id", "is longer than 200 characters")
	}
	r.Key = customerKey{UserID: field(rec, l.userID), Email: strings.ToLower(field(rec, l.email)), Phone: field(rec, l.phone)}
	var err error
	if r.Key.Email != "" {
		if r.Key.Email, err = customer.NormalizeEmail(r.Key.Email); err != nil {
			return r, kizuna.FieldError("customer_email", "%s", kizuna.ErrorMessage(err))
		}
	}
	r.Country = field(rec, l.country)
	if r.Key.Phone != "" {
		if r.Key.Phone, err = customer.NormalizePhone(r.Key.Phone, phoneRegion(r.Country)); err != nil {
			return r, kizuna.FieldError("customer_phone", "%s", kizuna.ErrorMessage(err))
		}
	}
	at, err := time.Parse(time.RFC3339, field(rec, l.at))
	if err != nil {
		return r, kizuna.FieldError("placed_at", "%q is not an RFC 3339 time like 2024-05-01T09:30:00+09:00", field(rec, l.at))
	}
	r.PlacedAt = at
	r.Currency = l.defCurrency
	if c := field(rec, l.currency); c != "" {
		if r.Currency, err = parseCurrency("currency", c); err != nil {
			return r, err
		}
	}
	qty, err := strconv.ParseInt(field(rec, l.qty), 10, 64)
	switch {
	case err != nil:
		return r, kizuna.FieldError("quantity", "%q is not a whole number", field(rec, l.qty))
	case qty == 0:
		return r, kizuna.FieldError("quantity", "is zero")
	}
	price, err := parsePrice("unit_price", field(rec, l.price))
	if err != nil {
		return r, err
	}
	r.Status = strings.ToLower(field(rec, l.status))
	kind := "sale"
	switch r.Status {
	case "", "completed":
		r.Status = "completed"
		if qty < 0 {
			kind = "refund" // a returned item on an otherwise completed order
		}
	case "refunded", "cancelled":
		if qty > 0 {
			return r, kizuna.FieldError("quantity", "%d is positive on a %s order (refunded and cancelled quantities are negative)", qty, r.Status)
		}
		kind = map[string]string{"refunded": "refund", "cancelled": "cancel"}[r.Status]
	default:
		return r, kizuna.FieldError("status", "%q is not completed, refunded or cancelled", r.Status)
	}
	r.Line, err = makeLine(kind, field(rec, l.sku), field(rec, l.name), qty, price, r.Currency, at)
	return r, err
}

// parsePrice reads a unit price: a finite, non-negative decimal.
func parsePrice(col, s string) (float64, error) {
	p, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || math.IsInf(p, 0) || math.IsNaN(p):
		return 0, kizuna.FieldError(col, "%q is not a price", s)
	case p < 0:
		return 0, kizuna.FieldError(col, "%s is negative (a price is never below zero; returns are negative quantities)", s)
	}
	return p, nil
}

func makeLine(kind, sku, name string, qty int64, price float64, cur string, at time.Time) (customer.OrderLine, error) {
	unit, err := toMinor(price, cur)
	if err != nil {
		return customer.OrderLine{}, err
	}
	// The amount is rounded once from the exact product, so 100 × £0.001
	// is 10p rather than 100 × 0p.
	amount, err := toMinor(float64(qty)*price, cur)
	if err != nil {
		return customer.OrderLine{}, err
	}
	return customer.OrderLine{
		Kind: kind, SKU: sku, Name: name, Quantity: qty,
		UnitPriceMinor: unit, AmountMinor: amount, OccurredAt: at,
	}, nil
}
