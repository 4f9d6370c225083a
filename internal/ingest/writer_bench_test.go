package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/ingest"
)

// BenchmarkWriter measures the group-commit writer alone (no HTTP): one op
// is one event of a known user, submitted in batches of 500 by 8 clients.
func BenchmarkWriter(b *testing.B) {
	for _, e := range dbtest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			d := e.Open(b)
			benchWriter(b, d)
		})
	}
}

func benchWriter(b *testing.B, d *db.DB) {
	w := ingest.NewWriter(d, customer.NewService(d), ingest.WriterConfig{})
	defer w.Close()
	ctx := context.Background()
	now := time.Now()
	const users, batch = 2000, 500
	parse := func(body string) *ingest.Message {
		m, err := ingest.ParseMessage([]byte(body), "", time.Time{}, nil, now)
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	var seed []*ingest.Message
	for i := 0; i < users; i++ {
		seed = append(seed, parse(fmt.Sprintf(`{"type":"identify","userId":"u-%d","messageId":"seed-%d","traits":{"email":"u%d@example.com"}}`, i, i, i)))
	}
	if _, err := w.Submit(ctx, 1, seed, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.SetParallelism(4)
	var n int64
	b.RunParallel(func(pb *testing.PB) {
		var msgs []*ingest.Message
		for pb.Next() {
			i := n
			n++ // races are harmless: ids only need to be mostly unique
			msgs = append(msgs, parse(fmt.Sprintf(`{"type":"track","userId":"u-%d","event":"Item Viewed","messageId":"%p-%d","properties":{"sku":"S-%d"}}`, i%users, &msgs, len(msgs), i)))
			if len(msgs) == batch {
				if _, err := w.Submit(ctx, 1, msgs, nil); err != nil {
					b.Error(err)
				}
				msgs = nil
			}
		}
		if len(msgs) > 0 {
			if _, err := w.Submit(ctx, 1, msgs, nil); err != nil {
				b.Error(err)
			}
		}
	})
}
