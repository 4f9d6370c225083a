package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/sampledata"
)

// demoSamples is the shipped customers file and the first n lines of the
// shipped Online Retail file: the demo's real inputs, cut to test size.
func demoSamples(t *testing.T, n int) fstest.MapFS {
	t.Helper()
	customers, err := os.ReadFile(filepath.Join("..", "..", "sampledata", sampledata.Customers))
	if err != nil {
		t.Fatal(err)
	}
	f, err := sampledata.Open(sampledata.OnlineRetail)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	sc := bufio.NewScanner(zr)
	for i := 0; i <= n && sc.Scan(); i++ {
		zw.Write(append(sc.Bytes(), '\n'))
	}
	zw.Close()
	return fstest.MapFS{
		sampledata.Customers:    {Data: customers},
		sampledata.OnlineRetail: {Data: gz.Bytes()},
	}
}

var (
	demoPassword = regexp.MustCompile(`(?m)^  password:   (\S+)$`)
	demoWriteKey = regexp.MustCompile(`(?m)^  write key:  (\S+)$`)
)

func TestDemoLoadsAndPrintsLogin(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "demo.db")
	samples := demoSamples(t, 3000)

	var firstPassword string
	for run := 0; run < 2; run++ { // the second run replaces the first's database
		var out, errOut bytes.Buffer
		e := &env{getenv: func(string) string { return "" }, stdout: &out, stderr: &errOut}
		if err := runDemo(ctx, e, path, "127.0.0.1:8089", nil, samples); err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, errOut.String())
		}
		pw, key := demoPassword.FindStringSubmatch(out.String()), demoWriteKey.FindStringSubmatch(out.String())
		if pw == nil || key == nil || !bytes.Contains(out.Bytes(), []byte("URL:        http://127.0.0.1:8089/")) {
			t.Fatalf("stdout lacks the URL, password or write key:\n%s", out.String())
		}

		d, err := db.Open(ctx, path, db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		svc := auth.NewService(d, auth.Options{})
		if _, _, _, err := svc.Login(ctx, demoAdminEmail, pw[1], "127.0.0.1", "test"); err != nil {
			t.Errorf("run %d: the printed login does not work: %v", run, err)
		}
		if run == 1 {
			if _, _, _, err := svc.Login(ctx, demoAdminEmail, firstPassword, "127.0.0.1", "test"); err == nil {
				t.Error("the first demo's password still works: the old database was not replaced")
			}
		}
		firstPassword = pw[1]
		if _, err := svc.AuthenticateWriteKey(ctx, key[1]); err != nil {
			t.Errorf("run %d: the printed write key does not authenticate: %v", run, err)
		}

		// Japanese names sit on real purchase histories: customer 17850
		// (the file's first buyer) is 小林 美穂 in the sample customers.
		var family, kana string
		var orders, users int64
		err = d.Reader().QueryRow(`SELECT c.family_name, c.family_name_kana,
			(SELECT COUNT(*) FROM orders o WHERE o.customer_id = c.id)
			FROM customers c JOIN identities i ON i.customer_id = c.id
			WHERE i.kind = 'user_id' AND i.value = '17850'`).Scan(&family, &kana, &orders)
		if err != nil || family != "小林" || kana != "コバヤシ" || orders == 0 {
			t.Errorf("run %d: customer 17850: %q %q with %d orders, %v", run, family, kana, orders, err)
		}
		// Exactly the demo admin, and the support demo's four agents.
		if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM users WHERE role <> 'agent'`).Scan(&users); err != nil || users != 1 {
			t.Errorf("run %d: %d users besides agents, %v (a fresh database has exactly the demo admin)", run, users, err)
		}
		var tickets, rated int64
		if err := d.Reader().QueryRow(`SELECT (SELECT COUNT(*) FROM support_tickets), (SELECT COUNT(*) FROM support_csat WHERE score IS NOT NULL)`).
			Scan(&tickets, &rated); err != nil || tickets != 64 || rated < 20 {
			t.Errorf("run %d: %d support tickets, %d rated, %v", run, tickets, rated, err)
		}
		d.Close()
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a server writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The demo serves what it loaded: the printed URL answers, the printed
// write key ingests, and cancelling the context stops it cleanly.
func TestDemoServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	e := &env{getenv: func(string) string { return "" }, stdout: &out, stderr: &errOut}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	log, err := newLogger(&errOut, "warn", "text")
	if err != nil {
		t.Fatal(err)
	}
	samples := demoSamples(t, 500)
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, e, filepath.Join(t.TempDir(), "demo.db"), displayAddr(ln.Addr()), func(d *db.DB) error {
			return serve(ctx, e, d, ln, log, &serveOptions{logLevel: "warn", logFormat: "text"})
		}, samples)
	}()
	urlRe := regexp.MustCompile(`(?m)^  URL:        (http://\S+)/$`)
	var base, key string
	for deadline := time.Now().Add(60 * time.Second); base == "" || !strings.Contains(out.String(), "Kizuna is running at"); {
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not start:\n%s\n%s", out.String(), errOut.String())
		}
		select {
		case err := <-done:
			t.Fatalf("the demo stopped: %v\n%s", err, errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
	}
	key = demoWriteKey.FindStringSubmatch(out.String())[1]
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("POST", base+"/v1/track", strings.NewReader(`{"userId":"17850","event":"Demo Viewed"}`))
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("track with the printed write key: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop")
	}
}
