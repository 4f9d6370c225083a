package customer_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// BenchmarkResolveTx resolves batches of 1,000 requests shaped like an
// ingestion batch: 70% tracks of known devices, 10% tracks of known users,
// 15% new devices, 5% identifies linking a known device to a new user id
// with traits. One op is one batch in one transaction; the events/s metric
// is what ResolveTx alone would allow the ingest path.
//
//	go test -run '^$' -bench ResolveTx -benchtime 50x ./internal/customer/
func BenchmarkResolveTx(b *testing.B) {
	for _, e := range dbtest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			d := e.Open(b)
			s := customer.NewService(d)
			const known = 20000
			seed := make([]customer.Resolve, 0, 1000)
			for i := 0; i < known; i++ {
				r := customer.Resolve{Keys: customer.Keys{AnonymousID: "dev-" + strconv.Itoa(i)}, Source: "bench", SeenAt: t0}
				if i%2 == 0 {
					r.Keys.UserID = "user-" + strconv.Itoa(i)
				}
				seed = append(seed, r)
				if len(seed) == cap(seed) {
					resolve(b, d, s, seed...)
					seed = seed[:0]
				}
			}
			batch := make([]customer.Resolve, 1000)
			fresh := 0
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				at := t0.Add(time.Duration(n) * time.Second)
				for i := range batch {
					k := (n*7919 + i*104729) % known
					r := customer.Resolve{Source: "bench", SeenAt: at}
					switch m := i % 20; {
					case m < 14:
						r.Keys.AnonymousID = "dev-" + strconv.Itoa(k)
					case m < 16:
						r.Keys.UserID = "user-" + strconv.Itoa(k&^1)
					case m < 19:
						fresh++
						r.Keys.AnonymousID = "new-dev-" + strconv.Itoa(fresh)
					default:
						fresh++
						r.Keys = customer.Keys{AnonymousID: "dev-" + strconv.Itoa(k|1), UserID: "new-user-" + strconv.Itoa(fresh)}
						r.Traits = &customer.Traits{Email: "u" + strconv.Itoa(fresh) + "@example.com", FamilyName: "山田", FamilyNameKana: "ヤマダ"}
						r.Merge = true
					}
					batch[i] = r
				}
				err := d.WriteTx(sysCtx(), func(tx *db.Tx) error {
					_, err := s.ResolveTx(sysCtx(), tx, batch)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "requests/s")
		})
	}
}

// BenchmarkRecordOrdersTx records batches shaped like the Online Retail
// import: 500 invoices of 20 lines, one in ten a cancellation invoice of its
// own. One op is one batch; lines/s is the import's ceiling from this call.
func BenchmarkRecordOrdersTx(b *testing.B) {
	for _, e := range dbtest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			d := e.Open(b)
			s := customer.NewService(d)
			var reqs []customer.Resolve
			for i := 0; i < 1000; i++ {
				reqs = append(reqs, customer.Resolve{Keys: customer.Keys{UserID: strconv.Itoa(12000 + i)}, Source: "bench", SeenAt: t0})
			}
			cids := resolve(b, d, s, reqs...)
			const invoices, lines = 500, 20
			batch := make([]customer.OrderInput, invoices)
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				for i := range batch {
					ref := strconv.Itoa(536365 + n*invoices + i)
					o := customer.OrderInput{CustomerID: cids[(n*invoices+i)%len(cids)], Ref: ref, Source: "import:online-retail",
						Currency: "GBP", Status: "completed", PlacedAt: t0.Add(time.Duration(n*invoices+i) * time.Minute)}
					if i%10 == 9 {
						o.Ref, o.Status, o.AdjustmentKey = "C"+ref, "cancelled", "C"+ref
					}
					o.Lines = make([]customer.OrderLine, lines)
					for l := range o.Lines {
						o.Lines[l] = customer.OrderLine{SKU: "85123A", Name: "WHITE HANGING HEART T-LIGHT HOLDER", Quantity: 6, UnitPriceMinor: 255}
					}
					batch[i] = o
				}
				err := d.WriteTx(sysCtx(), func(tx *db.Tx) error { return s.RecordOrdersTx(sysCtx(), tx, batch) })
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*invoices*lines)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
