package demo

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// TestLoad loads the demo desk on both engines and reads it back through
// the report and the search.
func TestLoad(t *testing.T) {
	for _, eng := range dbtest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			var mu sync.Mutex
			now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			cur := now
			d, err := db.Open(context.Background(), eng.DSN(t), db.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return cur }})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			sum, err := Load(context.Background(), d, func(t time.Time) { mu.Lock(); cur = t; mu.Unlock() }, now)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Tickets != 64 || sum.Solved < 40 || sum.Rated < 20 {
				t.Fatalf("loaded %+v", sum)
			}
			desk := support.NewService(d, customer.NewService(d))
			sys := auth.System(context.Background(), "test")
			rep, err := desk.Report(sys, now.AddDate(0, 0, -31), now)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Created != 64 || len(rep.ByCategory) < 8 || len(rep.ByChannel) < 4 || rep.FirstResponse.N < 50 ||
				rep.FirstResponse.Median <= 0 || len(rep.Backlog) != 4 {
				t.Fatalf("report: %+v", rep)
			}
			cs, err := desk.CSATReport(sys, now.AddDate(0, 0, -31), now)
			if err != nil {
				t.Fatal(err)
			}
			if cs.Overall.TopBox.N != sum.Rated || len(cs.ByAgent) != 4 || len(cs.ByTeam) != 3 {
				t.Fatalf("csat: %+v", cs)
			}
			p, err := desk.Tickets(sys, support.Filter{Query: "返品"})
			if err != nil || len(p.Items) < 2 {
				t.Fatalf("search 返品: %v %v", p, err)
			}
		})
	}
}
