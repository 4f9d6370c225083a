package auth_test

import (
	"context"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// BenchmarkHashPasswordDefault measures one password hash with the
// production parameters (the login cost; aim: 50–100 ms).
func BenchmarkHashPasswordDefault(b *testing.B) {
	for b.Loop() {
		if _, err := auth.HashPassword("correct horse battery", auth.DefaultHashParams); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateWriteKeyCached measures the ingestion hot path once
// the key is in the cache.
func BenchmarkAuthenticateWriteKeyCached(b *testing.B) {
	d := dbtest.OpenSQLite(b)
	s := auth.NewService(d, auth.Options{Hash: auth.TestHashParams})
	_, secret, err := s.CreateKey(auth.System(context.Background(), "bench"), auth.KeyWrite, "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.AuthenticateWriteKey(ctx, secret); err != nil {
				b.Fatal(err)
			}
		}
	})
}
