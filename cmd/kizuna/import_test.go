package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

const cliOrders = `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom
C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527.0,United Kingdom
536414,22139,RETROSPOT TEA SET,56,2010-12-01 11:52:00,0.85,,United Kingdom
536589,21777,damaged,-10,2010-12-01 16:50:00,0.00,,United Kingdom
536592,21777,RECIPE BOX,2,2010-12-01 17:00:00,7.95,12583.0,France
536593,21777,RECIPE BOX,2,yesterday,7.95,12583.0,France
`

func runKizuna(t *testing.T, stdin string, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"kizuna"}, args...), func(k string) string { return env[k] },
		strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func queryInt(t *testing.T, dsn, q string) int64 {
	t.Helper()
	d, err := db.Open(context.Background(), dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int64
	if err := d.Reader().QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportOrdersCommand(t *testing.T) {
	for _, eng := range dbtest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			dsn := eng.DSN(t)
			dir := t.TempDir()
			file := filepath.Join(dir, "orders.csv")
			if err := os.WriteFile(file, []byte(cliOrders), 0o644); err != nil {
				t.Fatal(err)
			}
			errs := filepath.Join(dir, "rejected.csv")
			// Flags after the file, the database from the environment.
			out, stderr, err := runKizuna(t, "", map[string]string{"KIZUNA_DB": dsn}, "import", "orders", file, "--errors", errs, "--batch", "2")
			if err != nil {
				t.Fatalf("import: %v\n%s", err, stderr)
			}
			for _, want := range []string{
				"imported orders from orders.csv (online-retail layout)",
				"rows read                      8",
				"customers created              4",
				"orders recorded                5   (1 cancellations, 1 guest orders)",
				"order lines                    6",
				"rows rejected                  2",
				"line 7: Quantity: -10 is negative on sales invoice 536589",
				`line 9: InvoiceDate: "yesterday" is not a date`,
				"every rejected row is in " + errs,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("summary lacks %q:\n%s", want, out)
				}
			}
			f, err := os.Open(errs)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil || len(recs) != 3 || recs[2][0] != "9" || recs[2][3] != "536593" {
				t.Errorf("errors file %q, %v", recs, err)
			}
			if n := queryInt(t, dsn, `SELECT COUNT(*) FROM orders`); n != 5 {
				t.Errorf("%d orders stored", n)
			}

			// Again, gzip-compressed on standard input: nothing new.
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write([]byte(cliOrders))
			zw.Close()
			out, stderr, err = runKizuna(t, gz.String(), nil, "import", "orders", "--db", dsn, "-")
			if err != nil {
				t.Fatalf("re-import: %v\n%s", err, stderr)
			}
			for _, want := range []string{"imported orders from -", "orders recorded                0", "orders already there           5", "customers created              0"} {
				if !strings.Contains(out, want) {
					t.Errorf("re-import summary lacks %q:\n%s", want, out)
				}
			}
			if n := queryInt(t, dsn, `SELECT COUNT(*) FROM order_lines`); n != 6 {
				t.Errorf("%d order lines after re-import, want 6", n)
			}
		})
	}
}

func TestImportCommandUsage(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "k.db")
	for _, args := range [][]string{
		{"import"},
		{"import", "products", "x.csv"},
		{"import", "orders", "--db", dsn},
		{"import", "orders", "--db", dsn, "a.csv", "b.csv"},
		{"import", "orders", "--db", dsn, "--guests", "drop", "a.csv"},
		{"import", "orders", "--db", dsn, "--timezone", "Mars/Olympus", "a.csv"},
	} {
		_, _, err := runKizuna(t, "", nil, args...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("%q: %v (exit %d), want a usage error", args, err, exitCode(err))
		}
	}
	if _, _, err := runKizuna(t, "", nil, "import", "orders", "x.csv", "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help after the file: %v", err)
	}
	_, _, err := runKizuna(t, "", nil, "import", "orders", "--db", dsn, filepath.Join(t.TempDir(), "missing.csv"))
	if err == nil || !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func TestImportCustomersCommandSample(t *testing.T) {
	dsn := dbtest.SQLiteDSN(t)
	out, stderr, err := runKizuna(t, "", nil, "import", "customers", "--db", dsn, filepath.Join("..", "..", "sampledata", "customers.csv"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, "customers created             30") || !strings.Contains(out, "rows rejected                  0") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestDemoRefusesForeignDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "precious.db")
	if err := os.WriteFile(path, []byte("not a demo"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runKizuna(t, "", nil, "demo", "--db", path, "--serve=false")
	if err == nil || !strings.Contains(err.Error(), "not a Kizuna demo database") {
		t.Fatalf("demo over a foreign file: %v", err)
	}
	if _, _, err := runKizuna(t, "", nil, "demo", "--db", "postgres://localhost/x", "--serve=false"); exitCode(err) != 2 {
		t.Errorf("demo on Postgres: %v, want a usage error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "not a demo" {
		t.Error("demo touched a file it did not create")
	}
	// A database another kizuna made is not the demo's either.
	other := dbtest.SQLiteDSN(t)
	if err := removeOldDemoDB(other); err == nil {
		t.Error("demo would replace a regular kizuna database")
	}
}

// Off a terminal, progress is plain lines (here one per read).
func TestImportProgressLines(t *testing.T) {
	var w bytes.Buffer
	p := newProgress(&w, "orders.csv", 2000)
	p.every = 0
	p.rows, p.orders = 1500, 12
	p.add(1000)
	p.finish()
	if got := w.String(); got != "importing orders.csv: 1.0 kB of 2.0 kB (50%) read, 1,500 rows processed, 12 orders stored, 0s\n" {
		t.Errorf("progress line %q", got)
	}
}
