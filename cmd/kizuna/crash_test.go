package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// TestCrashKeepsAcknowledgedEvents kills `kizuna serve` with SIGKILL while
// clients are sending, and checks after restart that every messageId that
// was acknowledged is stored exactly once; then it resends everything,
// acknowledged or not, and checks that nothing is stored twice.
//
// KIZUNA_CRASH_TRIALS sets the trials per engine (CI: 3; try 50 by hand).
func TestCrashKeepsAcknowledgedEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("short: the crash test builds and kills real processes")
	}
	trials := 3
	if v, err := strconv.Atoi(os.Getenv("KIZUNA_CRASH_TRIALS")); err == nil && v > 0 {
		trials = v
	}
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			dsn := e.DSN(t)
			key := lastLine(runCLI(t, "key", "create", "--db", dsn, "--kind", "write", "--name", "crash test"))
			for trial := 0; trial < trials; trial++ {
				crashTrial(t, dsn, key, fmt.Sprintf("crash%d-%d", trial, time.Now().UnixNano()))
			}
		})
	}
}

func crashTrial(t *testing.T, dsn, key, run string) {
	const perBatch = 50
	n := startNode(t, dsn)
	s := newSender(key, run)
	var next atomic.Int64
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				from := int(next.Add(perBatch)) - perBatch
				if _, err := s.batch(n.url(), from, perBatch); err != nil {
					return // the server died under us
				}
				sent.Add(perBatch)
			}
		}()
	}
	time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
	n.kill()
	close(stop)
	wg.Wait()
	acked := s.ackedIDs()
	if len(acked) == 0 {
		t.Fatalf("%s: nothing was acknowledged before the kill; the trial proves nothing (logs: %s)", run, n.logs.String())
	}
	total := int(next.Load())

	// Every acknowledged message survived the kill, once.
	counts := storedCounts(t, dsn, run)
	for _, id := range acked {
		if counts[id] != 1 {
			t.Fatalf("%s: acknowledged %s stored %d times after kill -9", run, id, counts[id])
		}
	}

	// The clients retry everything they sent; replays store nothing new.
	n2 := startNode(t, dsn)
	for from := 0; from < total; from += perBatch {
		if st, err := s.batch(n2.url(), from, perBatch); err != nil || st != 200 {
			t.Fatalf("%s: resend: status %d, %v", run, st, err)
		}
	}
	n2.stop(t)
	counts = storedCounts(t, dsn, run)
	for i := 0; i < total; i++ {
		if c := counts[fmt.Sprintf("%s-%d", run, i)]; c != 1 {
			t.Fatalf("%s: message %d stored %d times after resend", run, i, c)
		}
	}
	t.Logf("%s: %d acknowledged before kill -9, all present; %d sent in all, each stored once", run, len(acked), total)
}

func storedCounts(t *testing.T, dsn, run string) map[string]int {
	t.Helper()
	ctx := context.Background()
	d := openForCheck(t, dsn)
	defer d.Close()
	rows, err := d.Reader().QueryContext(ctx, `SELECT message_id, COUNT(*) FROM events WHERE message_id LIKE $1 GROUP BY message_id`, run+"-%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var id string
		var c int
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		counts[id] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}

func openForCheck(t *testing.T, dsn string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
