//go:build unix

package importer

import (
	"syscall"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/sampledata"
)

// BenchmarkImportOnlineRetail imports the whole shipped Online Retail file
// into a fresh store per iteration (SQLite; Postgres too when configured):
//
//	go test -run '^$' -bench ImportOnlineRetail -benchtime 1x ./internal/importer/
//
// It reports rows/s and the process's peak RSS (which includes the test
// binary and, for SQLite, the page cache).
func BenchmarkImportOnlineRetail(b *testing.B) {
	for _, eng := range dbtest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			var rows int64
			for b.Loop() {
				b.StopTimer()
				d := eng.Open(b)
				f, err := sampledata.Open(sampledata.OnlineRetail)
				if err != nil {
					b.Fatal(err)
				}
				in, err := Decompress(f)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				s, err := New(d, newService(d), Options{MaxReasons: -1}).ImportOrders(importCtx(), in)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				f.Close()
				rows += s.Rows
				b.StartTimer()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
				b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB") // Linux reports KiB
			}
		})
	}
}
