package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// TestTwoNodesOnePostgres runs two `kizuna serve` processes over one
// Postgres database and ingests through both at once — the same messages
// to both nodes, as a load balancer retrying on the other node would — and
// finds every message stored once and every user one customer.
func TestTwoNodesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("short: starts real processes")
	}
	dsn := dbtest.PostgresDSN(t) // skips without KIZUNA_TEST_POSTGRES_DSN
	key := lastLine(runCLI(t, "key", "create", "--db", dsn, "--kind", "write", "--name", "cluster test"))
	a, b := startNode(t, dsn), startNode(t, dsn)
	run := fmt.Sprintf("cluster-%d", time.Now().UnixNano())
	s := newSender(key, run)
	const batches, perBatch = 40, 50
	var wg sync.WaitGroup
	errs := make(chan error, 4*batches)
	for _, n := range []*node{a, b} {
		for c := 0; c < 2; c++ {
			wg.Add(1)
			go func(url string, c int) {
				defer wg.Done()
				for i := 0; i < batches; i++ {
					// Both nodes get every batch, in a different order.
					j := i
					if c == 1 {
						j = batches - 1 - i
					}
					if st, err := s.batch(url, j*perBatch, perBatch); err != nil || st != 200 {
						errs <- fmt.Errorf("%s batch %d: status %d, %v", url, j, st, err)
					}
				}
			}(n.url(), c)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	a.stop(t)
	b.stop(t)
	counts := storedCounts(t, dsn, run)
	if len(counts) != batches*perBatch {
		t.Fatalf("%d distinct messages stored, want %d", len(counts), batches*perBatch)
	}
	for id, c := range counts {
		if c != 1 {
			t.Fatalf("%s stored %d times", id, c)
		}
	}
	users := countUsers(t, dsn)
	if users != 97 {
		t.Errorf("%d customers own the users' identities, want 97 (one per userId)", users)
	}
}

func countUsers(t *testing.T, dsn string) int {
	t.Helper()
	counts := 0
	d := openForCheck(t, dsn)
	defer d.Close()
	if err := d.Reader().QueryRow(`SELECT COUNT(DISTINCT COALESCE(c.merged_into, c.id)) FROM identities i JOIN customers c ON c.id = i.customer_id WHERE i.kind = 'user_id' AND i.value LIKE 'crash-user-%'`).Scan(&counts); err != nil {
		t.Fatal(err)
	}
	return counts
}
