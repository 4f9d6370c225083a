package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback/reviews"
	"github.com/kizuna-oss/kizuna/internal/importer"
	"github.com/kizuna-oss/kizuna/internal/kb"
	"github.com/kizuna-oss/kizuna/sampledata"
)

// demoApplicationID marks a SQLite file as a Kizuna demo database ("KZDM"
// in PRAGMA application_id), so `kizuna demo` may replace its own previous
// database but never a file it did not create.
const demoApplicationID = 0x4B5A444D

const defaultDemoDB = "kizuna-demo.db"

// demoAdminEmail is the demo's login. example.com is reserved for examples.
const demoAdminEmail = "admin@example.com"

func cmdDemo(ctx context.Context, e *env, args []string) error {
	flags := e.flags("demo")
	addr := flags.String("addr", "127.0.0.1:8080", "address to serve on")
	path := flags.String("db", defaultDemoDB, "SQLite file for the demo (replaced if it is an earlier demo database)")
	andServe := flags.Bool("serve", true, "serve after loading (false: load, print the login and exit)")
	opts := addServeFlags(flags)
	if err := e.parse(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usageError{fmt.Sprintf("demo takes no arguments (got %q)", flags.Args())}
	}
	if db.IsPostgresDSN(*path) {
		return usageError{"the demo runs on a fresh SQLite file; give --db a file path"}
	}
	if !*andServe {
		return runDemo(ctx, e, *path, *addr, nil, sampledata.FS())
	}
	log, err := newLogger(e.stderr, opts.logLevel, opts.logFormat)
	if err != nil {
		return err
	}
	// Listen before the import, so a busy port fails at once rather than
	// after the sample data has loaded.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	return runDemo(ctx, e, *path, displayAddr(ln.Addr()), func(d *db.DB) error {
		return serve(ctx, e, d, ln, log, opts)
	}, sampledata.FS())
}

// runDemo loads samples (the embedded sample files, or a test's) into a
// fresh database at path, prints the login and then, if serveFn is not
// nil, serves with it.
func runDemo(ctx context.Context, e *env, path, addr string, serveFn func(*db.DB) error, samples fs.FS) error {
	d, err := loadDemo(ctx, e, path, samples)
	if err != nil {
		return err
	}
	defer d.Close()

	password, err := randomPassword()
	if err != nil {
		return err
	}
	writeKey, err := createDemoAccounts(auth.System(ctx, "demo"), d, demoAdminEmail, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nKizuna demo is ready.\n\n")
	fmt.Fprintf(e.stdout, "  URL:        http://%s/\n", addr)
	fmt.Fprintf(e.stdout, "  login:      %s\n", demoAdminEmail)
	fmt.Fprintf(e.stdout, "  password:   %s\n", password)
	fmt.Fprintf(e.stdout, "  write key:  %s\n", writeKey)
	fmt.Fprintf(e.stdout, "  database:   %s\n\n", path)
	fmt.Fprintf(e.stdout, "Send an event:\n  curl -u %s: -H 'Content-Type: application/json' \\\n    -d '{\"userId\":\"17850\",\"event\":\"Demo Viewed\"}' http://%s/v1/track\n\n", writeKey, addr)
	if serveFn == nil {
		return nil
	}
	return serveFn(d)
}

// loadDemo creates a fresh demo database at path (replacing an earlier
// demo database there), migrates it and imports the embedded sample
// customers and the whole Online Retail file.
func loadDemo(ctx context.Context, e *env, path string, samples fs.FS) (*db.DB, error) {
	if err := removeOldDemoDB(path); err != nil {
		return nil, err
	}
	d, err := openDB(ctx, path, db.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := d.Writer().ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", demoApplicationID)); err != nil {
		d.Close()
		return nil, fmt.Errorf("demo: mark database: %w", err)
	}
	ctx = auth.System(ctx, "demo")
	for _, step := range []struct{ kind, file string }{
		{"customers", sampledata.Customers},
		{"orders", sampledata.OnlineRetail},
	} {
		if err := importSample(ctx, e, d, samples, step.kind, step.file); err != nil {
			d.Close()
			return nil, err
		}
	}
	if err := loadDemoReviews(ctx, e, d, samples); err != nil {
		d.Close()
		return nil, err
	}
	// The help center: a shop's common questions in Japanese and English.
	if err := kb.NewService(d).LoadDemo(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("demo: help articles: %w", err)
	}
	if err := loadDemoSupport(ctx, e, path); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func importSample(ctx context.Context, e *env, d *db.DB, samples fs.FS, kind, name string) error {
	f, err := samples.Open(name)
	if err != nil {
		return fmt.Errorf("demo: open sample %s: %w", name, err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	opts := importer.Options{Source: "demo:" + sourceName(name), MaxReasons: 3}
	sum, err := runImport(ctx, e, d, kind, name, f, size, opts)
	if sum != nil {
		printSummary(e.stderr, sum, name, "")
	}
	if err != nil {
		return fmt.Errorf("demo: import %s: %w", name, err)
	}
	return nil
}

// loadDemoReviews imports the Women's Clothing Reviews sample as past
// feedback (rating as CSAT, "Recommended IND" as a yes/no question, title
// and text as the verbatim, department as an attribute), so the survey
// dashboards show real data. A sample set without the file (tests) skips it.
func loadDemoReviews(ctx context.Context, e *env, d *db.DB, samples fs.FS) error {
	f, err := samples.Open(sampledata.WomensClothingReviews)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo: open sample %s: %w", sampledata.WomensClothingReviews, err)
	}
	defer f.Close()
	fmt.Fprintf(e.stderr, "importing %s as survey responses …\n", sampledata.WomensClothingReviews)
	sum, err := reviews.LoadDemo(ctx, d, customer.NewService(d), f)
	if err != nil {
		return fmt.Errorf("demo: import %s: %w", sampledata.WomensClothingReviews, err)
	}
	fmt.Fprintf(e.stderr, "imported %d reviews as responses (%d rejected) in %s\n", sum.Imported, sum.Rejected,
		sum.Duration.Round(10*time.Millisecond))
	return nil
}

// removeOldDemoDB deletes path and its WAL files if it is a database an
// earlier `kizuna demo` made, and refuses to touch any other file.
func removeOldDemoDB(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("demo: %s is not a regular file", path)
	}
	id, err := sqliteApplicationID(path)
	if err != nil || id != demoApplicationID {
		return fmt.Errorf("demo: %s exists and is not a Kizuna demo database; refusing to replace it (choose another --db)", path)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func sqliteApplicationID(path string) (int64, error) {
	c, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var id int64
	err = c.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id)
	return id, err
}

// randomPassword returns a fresh password: 26 base32 characters from
// crypto/rand, 128 bits.
func randomPassword() (string, error) { return rand.Text(), nil }

// createDemoAccounts creates the demo's admin user with password and a
// write key, and returns the key's secret. Both go through the auth
// service, so they are hashed and audited like any others.
func createDemoAccounts(ctx context.Context, d *db.DB, email, password string) (string, error) {
	svc := auth.NewService(d, auth.Options{})
	if _, err := svc.CreateUser(ctx, email, "Demo Admin", password, auth.RoleAdmin); err != nil {
		return "", fmt.Errorf("demo: create admin user: %w", err)
	}
	_, secret, err := svc.CreateKey(ctx, auth.KeyWrite, "demo", "")
	if err != nil {
		return "", fmt.Errorf("demo: create write key: %w", err)
	}
	return secret, nil
}
