package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func batchBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"sentAt":"2026-11-23T10:00:01Z","batch":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"track","userId":"bench-user-%d","event":"Item Viewed","messageId":"m-%d","timestamp":"2026-11-23T10:00:00Z","properties":{"sku":"SKU-%d","price":1280,"currency":"JPY"},"context":{"library":{"name":"kizuna-bench"},"ip":"127.0.0.1"}}`, i, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkBatchDecode compares decoding a 500-message batch message by
// message (envelope, then each message) with the one-pass fast path.
func BenchmarkBatchDecode(b *testing.B) {
	body := batchBody(500)
	now := time.Now()
	b.Run("per-message", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			var env struct {
				Batch []json.RawMessage `json:"batch"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				b.Fatal(err)
			}
			for _, raw := range env.Batch {
				if _, err := ParseMessage(raw, "", time.Time{}, nil, now); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("one-pass", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			var env struct {
				Batch []map[string]json.RawMessage `json:"batch"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				b.Fatal(err)
			}
			for _, f := range env.Batch {
				if _, err := parseFields(f, "", time.Time{}, nil, now); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
