package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	analytics "gopkg.in/segmentio/analytics-go.v3"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/ingest"
)

const clientEvents = 10_000

// TestOfficialGoClient sends 10,000 messages through Segment's own Go
// library, changed only in its endpoint, and finds each stored exactly once.
func TestOfficialGoClient(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, ingest.WriterConfig{})
		var mu sync.Mutex
		var failures []error
		client, err := analytics.NewWithConfig(s.key, analytics.Config{
			Endpoint:  s.srv.URL,
			BatchSize: 250,
			Interval:  50 * time.Millisecond,
			Callback: callback{failure: func(m analytics.Message, err error) {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
			}},
			Logger: analytics.StdLogger(log.New(io.Discard, "", 0)),
		})
		if err != nil {
			t.Fatal(err)
		}
		run := fmt.Sprintf("go-%d", time.Now().UnixNano())
		for i := 0; i < clientEvents; i++ {
			var m analytics.Message
			user := fmt.Sprintf("go-user-%d", i%500)
			switch {
			case i%100 == 0:
				m = analytics.Identify{MessageId: fmt.Sprintf("%s-%d", run, i), UserId: user,
					Traits: analytics.NewTraits().SetEmail(fmt.Sprintf("%s@example.com", user)).SetLastName("鈴木")}
			case i%50 == 0:
				m = analytics.Page{MessageId: fmt.Sprintf("%s-%d", run, i), UserId: user, Name: "Pricing"}
			default:
				m = analytics.Track{MessageId: fmt.Sprintf("%s-%d", run, i), UserId: user, Event: "Item Viewed",
					Properties: analytics.NewProperties().Set("run", run).Set("i", i)}
			}
			if err := client.Enqueue(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := client.Close(); err != nil {
			t.Fatal(err)
		}
		if len(failures) > 0 {
			t.Fatalf("%d messages failed, first: %v", len(failures), failures[0])
		}
		assertExactlyOnce(t, d, run, clientEvents)
		if n := count(t, d, `SELECT COUNT(*) FROM customers WHERE merged_into IS NULL`); n != 500 {
			t.Errorf("customers = %d, want 500 (one per userId)", n)
		}
	})
}

// assertExactlyOnce checks that messages <run>-0 … <run>-(n-1) are each
// stored once and nothing else with that prefix is.
func assertExactlyOnce(t *testing.T, d *db.DB, run string, n int) {
	t.Helper()
	rows, err := d.Reader().Query(`SELECT message_id, COUNT(*) FROM events WHERE message_id LIKE $1 GROUP BY message_id`, run+"-%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := make(map[string]int, n)
	for rows.Next() {
		var id string
		var c int
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		seen[id] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	missing, dup := 0, 0
	for i := 0; i < n; i++ {
		switch seen[fmt.Sprintf("%s-%d", run, i)] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing > 0 || dup > 0 || len(seen) != n {
		t.Fatalf("%d distinct stored, %d missing, %d duplicated; want exactly %d once each", len(seen), missing, dup, n)
	}
}

type callback struct {
	failure func(analytics.Message, error)
}

func (c callback) Success(analytics.Message)              {}
func (c callback) Failure(m analytics.Message, err error) { c.failure(m, err) }

// TestOfficialNodeClient does the same through @segment/analytics-node,
// installed from npm by scripts/test into testdata/node.
func TestOfficialNodeClient(t *testing.T) {
	dir, _ := filepath.Abs("testdata/node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@segment", "analytics-node")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI: @segment/analytics-node is not installed in %s (scripts/test runs npm ci)", dir)
		}
		t.Skip("node client: run `npm ci` in internal/ingest/testdata/node (scripts/test does) to enable this test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node client: node is not installed")
	}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, ingest.WriterConfig{})
		run := fmt.Sprintf("node-%d", time.Now().UnixNano())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "send.mjs"))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "KIZUNA_HOST="+s.srv.URL, "KIZUNA_WRITE_KEY="+s.key, "KIZUNA_RUN="+run, fmt.Sprintf("KIZUNA_EVENTS=%d", clientEvents))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node client: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "sent") {
			t.Fatalf("node client said: %s", out)
		}
		assertExactlyOnce(t, d, run, clientEvents)
	})
}
