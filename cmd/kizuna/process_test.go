package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run the real binary as separate processes: kill -9 in the
// middle of ingestion, and two nodes over one Postgres.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// kizunaBinary builds cmd/kizuna once per test run.
func kizunaBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kizuna-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "kizuna")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// runCLI runs the binary to completion and returns its stdout.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(kizunaBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kizuna %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// node is one `kizuna serve` process.
type node struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
	done chan struct{}
}

func startNode(t *testing.T, dsn string) *node {
	t.Helper()
	addr := freePort(t)
	n := &node{addr: addr, logs: &bytes.Buffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(kizunaBinary(t), "serve", "--db", dsn, "--addr", addr)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	n.cmd.Env = append(os.Environ(), "KIZUNA_LOG_LEVEL=warn")
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() { n.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return n
			}
		}
		select {
		case <-n.done:
			t.Fatalf("kizuna serve exited: %s", n.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("kizuna serve not ready after 60s: %s", n.logs.String())
	return nil
}

// kill sends SIGKILL: no shutdown code runs.
func (n *node) kill() {
	if n.cmd.Process != nil {
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// stop asks for a graceful shutdown and waits for it.
func (n *node) stop(t *testing.T) {
	_ = n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		t.Errorf("graceful shutdown took over 30s")
		n.kill()
	}
}

func (n *node) url() string { return "http://" + n.addr }

// sender posts batches of messages <run>-<i> and remembers which were
// acknowledged with a 2xx.
type sender struct {
	key    string
	run    string
	client *http.Client
	mu     sync.Mutex
	acked  map[string]bool
}

func newSender(key, run string) *sender {
	return &sender{key: key, run: run, acked: map[string]bool{}, client: &http.Client{Timeout: 30 * time.Second}}
}

func (s *sender) batch(url string, from, n int) (int, error) {
	var b bytes.Buffer
	b.WriteString(`{"batch":[`)
	for i := from; i < from+n; i++ {
		if i > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"track","userId":"crash-user-%d","event":"Crash Test","messageId":"%s-%d","properties":{"i":%d}}`, i%97, s.run, i, i)
	}
	b.WriteString(`]}`)
	req, _ := http.NewRequest("POST", url+"/v1/batch", &b)
	req.SetBasicAuth(s.key, "")
	res, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	if res.StatusCode == 200 {
		s.mu.Lock()
		for i := from; i < from+n; i++ {
			s.acked[fmt.Sprintf("%s-%d", s.run, i)] = true
		}
		s.mu.Unlock()
	}
	return res.StatusCode, nil
}

func (s *sender) ackedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.acked))
	for id := range s.acked {
		ids = append(ids, id)
	}
	return ids
}

var _ = context.Background
