package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kizuna-oss/kizuna/internal/db"
	supportdemo "github.com/kizuna-oss/kizuna/internal/support/demo"
)

// loadDemoSupport loads the support desk's demo tickets into the demo
// database at path. It opens a second handle on the file whose clock the
// loader moves through the last 30 days, so the tickets' conversations,
// solves and CSAT answers happen at the times they tell; the handle is
// closed before the demo serves.
func loadDemoSupport(ctx context.Context, e *env, path string) error {
	start := time.Now()
	var mu sync.Mutex
	now := start
	d, err := db.Open(ctx, path, db.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		return fmt.Errorf("demo: support desk: %w", err)
	}
	defer d.Close()
	sum, err := supportdemo.Load(ctx, d, func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }, start)
	if err != nil {
		return fmt.Errorf("demo: support desk: %w", err)
	}
	fmt.Fprintf(e.stderr, "loaded %d support tickets (%d solved, %d rated) in %s\n", sum.Tickets, sum.Solved, sum.Rated,
		time.Since(start).Round(10*time.Millisecond))
	return nil
}
