package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeStartsAndStopsGracefully runs `kizuna serve` in-process on a
// random port, checks the health, readiness, login and metrics endpoints,
// then cancels the context (as SIGTERM does) and expects a clean return.
func TestServeStartsAndStopsGracefully(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "kizuna.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	env := map[string]string{"KIZUNA_DB": dsn, "KIZUNA_LOG_LEVEL": "warn"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"kizuna", "serve", "--addr", "127.0.0.1:0", "--timezone", "UTC"},
			func(k string) string { return env[k] }, strings.NewReader(""), outW, io.Discard)
		outW.Close()
	}()
	sc := bufio.NewScanner(outR)
	var url string
	for sc.Scan() {
		if i := strings.Index(sc.Text(), "http://"); i >= 0 {
			url = strings.TrimSpace(sc.Text()[i:])
			break
		}
	}
	go io.Copy(io.Discard, outR)
	if url == "" {
		t.Fatalf("no URL printed; serve returned %v", <-done)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/login": 200, "/metrics": 200, "/customers": 303, "/api/v1/customers": 401, "/v1/track": 401} {
		method := "GET"
		if strings.HasPrefix(path, "/v1/") {
			method = "POST"
		}
		req, _ := http.NewRequest(method, url+path, strings.NewReader(`{}`))
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s %s: %d, want %d", method, path, res.StatusCode, want)
		}
	}
	res, err := client.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, m := range []string{"kizuna_http_requests_total", "kizuna_ingest_queue_depth", "go_goroutines"} {
		if !strings.Contains(string(b), m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s")
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"kizuna", "serve", "--log-level", "loud"},
		{"kizuna", "serve", "--log-format", "xml"},
	} {
		err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
		if exitCode(err) != 2 {
			t.Errorf("%v: %v (exit %d), want a usage error", args, err, exitCode(err))
		}
	}
}
