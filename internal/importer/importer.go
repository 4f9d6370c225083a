// Package importer loads customers and orders from CSV files (plain or
// gzip-compressed) through the customer service's transaction APIs, so an
// import resolves identities and records orders exactly as live ingestion
// does.
//
// Guarantees:
//   - Streaming: a file is read once, record by record; memory is bounded by
//     the grouping window and one transaction batch (plus a map entry per
//     order reference and per profile touched), never by the file's bytes.
//   - A bad row never aborts the import and never costs a good row: it is
//     rejected with its line number and reason (Summary.Rejections, and
//     every one of them in Options.Errors) and the import goes on.
//   - Idempotent: orders are keyed by their reference (an order already in
//     the store is skipped), customers by their identities (a known
//     customer_id, email or phone finds its profile), so running the same
//     import twice adds nothing.
//
// The file formats are documented in docs/DATA.md.
package importer

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// GuestPolicy says what happens to an order line that names no customer.
type GuestPolicy string

const (
	// GuestProfile records each guest order under an anonymous profile of
	// its own, keyed by the order reference (the default; see docs/DATA.md
	// for why).
	GuestProfile GuestPolicy = "profile"
	// GuestSkip leaves guest orders out and counts them.
	GuestSkip GuestPolicy = "skip"
)

// ParseGuestPolicy validates a --guests value.
func ParseGuestPolicy(s string) (GuestPolicy, error) {
	switch GuestPolicy(s) {
	case GuestProfile, GuestSkip:
		return GuestPolicy(s), nil
	}
	return "", kizuna.FieldError("guests", "unknown guest policy %q (want profile or skip)", s)
}

// Options tune an import. The zero value is usable.
type Options struct {
	// Currency is the ISO 4217 currency of files that do not name one (the
	// Online Retail layout; generic rows without a currency column).
	// Default GBP, the Online Retail sample's currency.
	Currency string
	// Location is the time zone of timestamps written without an offset
	// (the Online Retail layout's InvoiceDate). Default Europe/London, where
	// the Online Retail shop kept its books.
	Location *time.Location
	// Guests is the guest-order policy. Default GuestProfile.
	Guests GuestPolicy
	// Source labels the identities and orders an import creates, e.g.
	// "import:online-retail". Default "import".
	Source string
	// BatchRows is how many CSV rows go into one transaction. Default 5000.
	BatchRows int
	// Window is how many rows an order may stay open waiting for more of
	// its lines before it is written. Files list an order's lines together;
	// the window tolerates small interleavings. Default 10000.
	Window int
	// MaxReasons is how many rejections Summary.Rejections keeps (all are
	// counted and all go to Errors). Default 20; negative keeps none.
	MaxReasons int
	// Errors, when set, receives every rejected row as CSV: line, field,
	// reason, then the row's own fields.
	Errors io.Writer
	// Progress, when set, is called after each committed batch.
	Progress func(Summary)
}

func (o Options) withDefaults() Options {
	if o.Currency == "" {
		o.Currency = "GBP"
	}
	o.Currency = strings.ToUpper(o.Currency)
	if o.Location == nil {
		loc, err := time.LoadLocation("Europe/London")
		if err != nil {
			loc = time.UTC
		}
		o.Location = loc
	}
	if o.Guests == "" {
		o.Guests = GuestProfile
	}
	if o.Source == "" {
		o.Source = "import"
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 5000
	}
	if o.Window <= 0 {
		o.Window = 10000
	}
	switch {
	case o.MaxReasons == 0:
		o.MaxReasons = 20
	case o.MaxReasons < 0:
		o.MaxReasons = 0 // count them, list none
	}
	return o
}

// Summary reports an import.
type Summary struct {
	Kind   string // "customers" or "orders"
	Format string // the layout detected from the header
	Rows   int64  // data rows read (the header excluded)

	CustomersCreated int64 // profiles this import created
	CustomersUpdated int64 // existing profiles this import matched and updated

	Orders         int64 // orders recorded
	OrdersExisting int64 // orders skipped because their reference was already stored
	Cancellations  int64 // of Orders, those with status cancelled or refunded
	Lines          int64 // order lines recorded
	GuestOrders    int64 // of Orders, recorded under a guest profile
	GuestSkipped   int64 // guest orders left out (GuestSkip)

	Rejected   int64       // rows rejected
	Rejections []Rejection // the first Options.MaxReasons of them

	Duration time.Duration
}

// Rejection is one row an import refused.
type Rejection struct {
	Line   int64  // 1-based line in the file where the row starts
	Field  string // the column at fault, if one is
	Reason string
}

func (r Rejection) String() string {
	if r.Field != "" {
		return fmt.Sprintf("line %d: %s: %s", r.Line, r.Field, r.Reason)
	}
	return fmt.Sprintf("line %d: %s", r.Line, r.Reason)
}

// Customers is what an import needs of the customer service
// (*customer.Service): identity resolution and order recording inside a
// transaction the importer owns.
type Customers interface {
	ResolveTx(ctx context.Context, tx *db.Tx, reqs []customer.Resolve) ([]int64, error)
	RecordOrdersTx(ctx context.Context, tx *db.Tx, orders []customer.OrderInput) error
}

// Importer imports CSV files into one store.
type Importer struct {
	db        *db.DB
	customers Customers
	opts      Options
}

// New returns an importer writing to d through svc (the customer service).
// The context passed to its methods must carry a principal allowed to
// import (auth.System(ctx, "import") for the CLI).
func New(d *db.DB, svc Customers, opts Options) *Importer {
	return &Importer{db: d, customers: svc, opts: opts.withDefaults()}
}

// Decompress returns r itself, or a gzip reader over it when r starts with
// the gzip magic number, so "FILE.csv", "FILE.csv.gz" and a compressed
// stdin are all accepted whatever their names say.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, kizuna.Errorf(kizuna.EINVALID, "bad gzip stream: %v", err)
		}
		return zr, nil
	}
	return br, nil
}

// csvSource reads records with their line numbers and reports the ones it
// cannot parse.
type csvSource struct {
	r      *csv.Reader
	header []string
}

func newCSVSource(r io.Reader) (*csvSource, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // counted per row, so a short row is rejected, not fatal
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, kizuna.Errorf(kizuna.EINVALID, "the file is empty (a header row is required)")
	}
	if err != nil {
		return nil, kizuna.Errorf(kizuna.EINVALID, "cannot read the header row: %v", err)
	}
	h := make([]string, len(header))
	for i, f := range header {
		f = strings.TrimSpace(f)
		if i == 0 {
			f = strings.TrimPrefix(f, "\ufeff") // Excel writes a byte-order mark
		}
		h[i] = f
	}
	return &csvSource{r: cr, header: h}, nil
}

// next returns the next record and the line it starts on. A record the
// CSV reader cannot parse comes back as a non-nil rowErr with a nil
// record; err is io.EOF at the end or a read failure.
func (s *csvSource) next() (rec []string, line int64, rowErr, err error) {
	rec, err = s.r.Read()
	if err == nil {
		l, _ := s.r.FieldPos(0)
		return rec, int64(l), nil, nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, int64(pe.StartLine), fmt.Errorf("malformed CSV: %v", pe.Err), nil
	}
	return nil, 0, nil, err
}

// rejector counts rejections, keeps the first few, and writes all of them
// to Options.Errors.
type rejector struct {
	sum    *Summary
	max    int
	w      *csv.Writer
	header []string
	wrote  bool
}

func (r *rejector) reject(line int64, err error, rec []string) error {
	rej := Rejection{Line: line, Reason: err.Error()}
	var ke *kizuna.Error
	if errors.As(err, &ke) {
		rej.Field, rej.Reason = ke.Field, ke.Message
	}
	r.sum.Rejected++
	if len(r.sum.Rejections) < r.max {
		r.sum.Rejections = append(r.sum.Rejections, rej)
	}
	if r.w == nil {
		return nil
	}
	if !r.wrote {
		r.wrote = true
		if err := r.w.Write(append([]string{"line", "field", "reason"}, r.header...)); err != nil {
			return err
		}
	}
	row := append([]string{strconv.FormatInt(line, 10), rej.Field, rej.Reason}, rec...)
	for len(row) < 3+len(r.header) {
		row = append(row, "") // every row as wide as the header, for spreadsheets
	}
	if err := r.w.Write(row); err != nil {
		return fmt.Errorf("importer: write rejected rows: %w", err)
	}
	return nil
}

// flush writes out the rejected rows and orders the kept reasons by line
// (rows refused by the store are found after later rows failed parsing).
func (r *rejector) flush() error {
	slices.SortStableFunc(r.sum.Rejections, func(a, b Rejection) int { return cmp.Compare(a.Line, b.Line) })
	if r.w == nil {
		return nil
	}
	r.w.Flush()
	return r.w.Error()
}

func newRejector(sum *Summary, opts Options, header []string) *rejector {
	r := &rejector{sum: sum, max: opts.MaxReasons, header: header}
	if opts.Errors != nil {
		r.w = csv.NewWriter(opts.Errors)
	}
	return r
}

// headerIndex maps lower-cased column names to their positions.
func headerIndex(header []string) map[string]int {
	m := make(map[string]int, len(header))
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := m[k]; !dup {
			m[k] = i
		}
	}
	return m
}

// field returns column i of rec trimmed, or "" when the row is too short
// or the column absent (i < 0).
func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// maxCustomerID is the largest profile id in the store: profiles created by
// a transaction get larger ids, which is how an import tells the profiles
// it created from those it found (ids are assigned in increasing order on
// both engines).
func maxCustomerID(ctx context.Context, tx *db.Tx) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM customers`).Scan(&id); err != nil {
		return 0, fmt.Errorf("importer: read max customer id: %w", err)
	}
	return id, nil
}

// isInvalid reports whether err is the service refusing one input (as
// opposed to the store failing): the import then retries row by row to
// find the culprit instead of stopping.
func isInvalid(err error) bool {
	return kizuna.ErrorCode(err) == kizuna.EINVALID
}
