// Package jobs runs periodic background work so that, however many
// `kizuna serve` nodes share a database, each run of a job happens on
// exactly one node. A node runs a job only while it holds the job's lease,
// a row in job_leases claimed with one atomic conditional upsert; a node
// that dies simply lets its lease expire and another takes over.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Job is one periodic task.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// Runner owns the loops of a node's jobs; Stop ends them.
type Runner struct {
	db     *db.DB
	holder string
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	cancels []context.CancelFunc
	wg      sync.WaitGroup
}

// NewRunner returns a runner whose leases carry a holder id unique to this
// process (host name, pid and a random suffix).
func NewRunner(d *db.DB, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Runner{db: d, log: log, now: d.Now,
		holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))}
}

// Holder identifies this runner in job_leases.
func (r *Runner) Holder() string { return r.holder }

// Start runs each job every Every on whichever node holds its lease. It
// may be called several times; Stop ends the loops of every call.
func (r *Runner) Start(ctx context.Context, jobs ...Job) {
	ctx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	r.cancels = append(r.cancels, cancel)
	r.mu.Unlock()
	for _, j := range jobs {
		r.wg.Add(1)
		go r.loop(ctx, j)
	}
}

// Stop ends every loop and waits for a running job to return.
func (r *Runner) Stop() {
	r.mu.Lock()
	for _, cancel := range r.cancels {
		cancel()
	}
	r.cancels = nil
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Runner) loop(ctx context.Context, j Job) {
	defer r.wg.Done()
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		if _, err := r.RunOnce(ctx, j); err != nil && !errors.Is(err, context.Canceled) {
			r.log.Error("job failed", "job", j.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce runs j if this node can claim it for the current period. The
// lease is held for the whole period, so a job runs at most once per period
// across all nodes. It reports whether the job ran.
func (r *Runner) RunOnce(ctx context.Context, j Job) (bool, error) {
	ok, err := r.Claim(ctx, j.Name, j.Every)
	if err != nil || !ok {
		return false, err
	}
	ctx = auth.System(ctx, "job:"+j.Name)
	if err := j.Run(ctx); err != nil {
		return true, fmt.Errorf("job %s: %w", j.Name, err)
	}
	return true, nil
}

// Claim takes the lease on name for d if it is free or expired. One
// statement decides, so two nodes racing cannot both win.
func (r *Runner) Claim(ctx context.Context, name string, d time.Duration) (bool, error) {
	var won bool
	err := r.db.WriteTx(ctx, func(tx *db.Tx) error {
		now := tx.NowMS()
		res, err := tx.ExecContext(ctx, `INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE job_leases.expires_at <= $4`,
			name, r.holder, now+d.Milliseconds(), now)
		if err != nil {
			return fmt.Errorf("claim lease %s: %w", name, err)
		}
		n, err := res.RowsAffected()
		won = n == 1
		return err
	})
	return won, err
}
