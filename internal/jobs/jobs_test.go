package jobs

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

func TestClaimIsExclusiveAndExpires(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		a, b := NewRunner(d, nil), NewRunner(d, nil)
		ok, err := a.Claim(ctx, "prune", time.Hour)
		if err != nil || !ok {
			t.Fatalf("first claim: %v %v", ok, err)
		}
		if ok, _ := b.Claim(ctx, "prune", time.Hour); ok {
			t.Fatal("a held lease was claimed by another node")
		}
		if ok, _ := a.Claim(ctx, "prune", time.Hour); ok {
			t.Fatal("the holder re-claimed within its period; the job would run twice")
		}
		if ok, _ := b.Claim(ctx, "other", time.Hour); !ok {
			t.Fatal("leases of different jobs must be independent")
		}
		// Expire it.
		if _, err := d.Writer().ExecContext(ctx, `UPDATE job_leases SET expires_at = 0 WHERE name = 'prune'`); err != nil {
			t.Fatal(err)
		}
		if ok, _ := b.Claim(ctx, "prune", time.Hour); !ok {
			t.Fatal("an expired lease was not taken over")
		}
	})
}

// Many runners race for the same job many times: each period runs once.
func TestRunOnceExactlyOnceAcrossNodes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var runs atomic.Int64
		job := Job{Name: "rollup", Every: time.Hour, Run: func(context.Context) error { runs.Add(1); return nil }}
		for period := 0; period < 5; period++ {
			var wg sync.WaitGroup
			for n := 0; n < 6; n++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := NewRunner(d, nil)
					if _, err := r.RunOnce(ctx, job); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if got := runs.Load(); got != int64(period+1) {
				t.Fatalf("period %d: job ran %d times in all, want %d", period, got, period+1)
			}
			if _, err := d.Writer().ExecContext(ctx, `UPDATE job_leases SET expires_at = 0`); err != nil {
				t.Fatal(err)
			}
		}
	})
}
