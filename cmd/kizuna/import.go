package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/importer"

	_ "time/tzdata" // --timezone must work on hosts without a zoneinfo database
)

const importUsage = `Usage: kizuna import customers|orders [flags] FILE
       kizuna import feedback --survey SLUG --map MAPPING.json [flags] FILE

FILE is a CSV file, optionally gzip-compressed, or - for standard input.
Order files are recognised by their header: the UCI Online Retail columns,
or order_id, customer_id|customer_email|customer_phone, placed_at, currency,
sku, name, quantity, unit_price. Customer files have customer_id, email,
phone, family_name, given_name, family_name_kana, given_name_kana, locale,
country, lifecycle_stage; other columns become attributes. See docs/DATA.md.

Bad rows are rejected with their line number and never stop the import;
importing the same file again adds nothing.

Flags:
`

// parseInterspersed parses flags that may come before or after the
// positional arguments ("import orders FILE --db x" as well as
// "import orders --db x FILE") and returns the positional ones.
func (e *env) parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	var pos []string
	for fs.NArg() > 0 {
		rest := fs.Args()
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
	}
	return pos, nil
}

func cmdImport(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "feedback" {
		return cmdImportFeedback(ctx, e, args[1:])
	}
	if len(args) == 0 || (args[0] != "customers" && args[0] != "orders") {
		fmt.Fprint(e.stderr, importUsage)
		return usageError{"import what? (customers, orders or feedback)"}
	}
	kind := args[0]
	fs := e.flags("import " + kind)
	fs.Usage = func() { fmt.Fprint(e.stderr, importUsage); fs.PrintDefaults() }
	dsn := fs.String("db", defaultDB, "SQLite file or postgres:// URL")
	cur := fs.String("currency", "GBP", "currency of amounts when the file names none (ISO 4217)")
	tz := fs.String("timezone", "Europe/London", "time zone of timestamps written without an offset (Online Retail InvoiceDate)")
	guests := fs.String("guests", string(importer.GuestProfile), "orders without a customer: profile (one anonymous profile per order) or skip")
	errorsPath := fs.String("errors", "", "write every rejected row, with its line and reason, to this CSV file")
	source := fs.String("source", "", "source label of what the import creates (default import:<file name>)")
	batch := fs.Int("batch", 5000, "rows per transaction")
	show := fs.Int("show", 10, "how many rejection reasons the summary lists")
	pos, err := e.parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{"give exactly one FILE (or - for standard input)"}
	}
	path := pos[0]
	opts := importer.Options{Currency: *cur, BatchRows: *batch, MaxReasons: *show, Source: *source}
	if *show == 0 {
		opts.MaxReasons = -1
	}
	if opts.Guests, err = importer.ParseGuestPolicy(*guests); err != nil {
		return usageError{err.Error()}
	}
	if opts.Location, err = time.LoadLocation(*tz); err != nil {
		return usageError{fmt.Sprintf("--timezone %q: %v", *tz, err)}
	}
	if opts.Source == "" {
		opts.Source = "import:" + sourceName(path)
	}
	var errFile *os.File
	if *errorsPath != "" {
		if errFile, err = os.Create(*errorsPath); err != nil {
			return err
		}
		defer errFile.Close()
		opts.Errors = errFile
	}

	in, size, closeIn, err := openImportFile(e, path)
	if err != nil {
		return err
	}
	defer closeIn()

	d, err := openDB(ctx, *dsn, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()

	sum, err := runImport(auth.System(ctx, "import"), e, d, kind, filepath.Base(path), in, size, opts)
	if sum != nil {
		printSummary(e.stdout, sum, filepath.Base(path), *errorsPath)
	}
	if err != nil {
		return err
	}
	if errFile != nil {
		return errFile.Close()
	}
	return nil
}

// sourceName is a file's name without directories and extensions.
func sourceName(path string) string {
	if path == "-" {
		return "stdin"
	}
	name := filepath.Base(path)
	for _, ext := range []string{".gz", ".csv", ".tsv"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

// openImportFile opens FILE or standard input and tells its size (-1 if
// unknown), for the progress bar.
func openImportFile(e *env, path string) (io.Reader, int64, func(), error) {
	if path == "-" {
		return e.stdin, -1, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// runImport imports r (size bytes, -1 if unknown) showing progress on
// stderr: a bar of bytes read on a terminal, otherwise a line every few
// seconds.
func runImport(ctx context.Context, e *env, d *db.DB, kind, label string, r io.Reader, size int64, opts importer.Options) (*importer.Summary, error) {
	prog := newProgress(e.stderr, label, size)
	defer prog.finish()
	opts.Progress = func(s importer.Summary) { prog.rows, prog.orders = s.Rows, s.Orders }
	in, err := importer.Decompress(&countingReader{r: r, prog: prog})
	if err != nil {
		return nil, err
	}
	im := importer.New(d, customer.NewService(d), opts)
	if kind == "customers" {
		return im.ImportCustomers(ctx, in)
	}
	return im.ImportOrders(ctx, in)
}

// progress reports bytes read of the input.
type progress struct {
	bar     *progressbar.ProgressBar // on a terminal
	w       io.Writer                // otherwise, lines here
	every   time.Duration            // between two plain lines
	label   string
	size    int64
	read    int64
	rows    int64 // processed as of the last commit
	orders  int64
	started time.Time
	last    time.Time
}

// plainProgressEvery spaces the progress lines written to a pipe or a log.
const plainProgressEvery = 5 * time.Second

func newProgress(w io.Writer, label string, size int64) *progress {
	p := &progress{w: w, every: plainProgressEvery, label: label, size: size, started: time.Now()}
	p.last = p.started
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing "+label),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			progressbar.OptionSpinnerType(14),
		)
	}
	return p
}

func (p *progress) add(n int) {
	p.read += int64(n)
	if p.bar != nil {
		_ = p.bar.Add(n)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		read := humanize.Bytes(uint64(p.read))
		if p.size > 0 {
			read = fmt.Sprintf("%s of %s (%.0f%%)", read, humanize.Bytes(uint64(p.size)), 100*float64(p.read)/float64(p.size))
		}
		fmt.Fprintf(p.w, "importing %s: %s read, %s rows processed, %s orders stored, %s\n", p.label, read,
			humanize.Comma(p.rows), humanize.Comma(p.orders), now.Sub(p.started).Round(time.Second))
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

type countingReader struct {
	r    io.Reader
	prog *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.prog.add(n)
	return n, err
}

func printSummary(w io.Writer, s *importer.Summary, label, errorsPath string) {
	n := func(v int64) string { return humanize.Comma(v) }
	fmt.Fprintf(w, "imported %s from %s", s.Kind, label)
	if s.Format != "" {
		fmt.Fprintf(w, " (%s layout)", s.Format)
	}
	fmt.Fprintf(w, " in %s\n", s.Duration.Round(10*time.Millisecond))
	fmt.Fprintf(w, "  rows read           %12s\n", n(s.Rows))
	fmt.Fprintf(w, "  customers created   %12s\n", n(s.CustomersCreated))
	fmt.Fprintf(w, "  customers updated   %12s\n", n(s.CustomersUpdated))
	if s.Kind == "orders" {
		fmt.Fprintf(w, "  orders recorded     %12s   (%s cancellations, %s guest orders)\n", n(s.Orders), n(s.Cancellations), n(s.GuestOrders))
		fmt.Fprintf(w, "  order lines         %12s\n", n(s.Lines))
		fmt.Fprintf(w, "  orders already there%12s   (skipped: imported before)\n", n(s.OrdersExisting))
		if s.GuestSkipped > 0 {
			fmt.Fprintf(w, "  guest orders skipped%12s\n", n(s.GuestSkipped))
		}
	}
	fmt.Fprintf(w, "  rows rejected       %12s\n", n(s.Rejected))
	for _, r := range s.Rejections {
		fmt.Fprintf(w, "    %s\n", r)
	}
	switch {
	case s.Rejected > int64(len(s.Rejections)) && errorsPath == "":
		fmt.Fprintf(w, "    … and %s more; --errors FILE writes every rejected row\n", n(s.Rejected-int64(len(s.Rejections))))
	case s.Rejected > 0 && errorsPath != "":
		fmt.Fprintf(w, "  every rejected row is in %s\n", errorsPath)
	}
}
