package auth

import (
	"context"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// TestUnknownEmailCostsAHash checks the no-enumeration property
// structurally (tests never time things): a login with an unknown email
// verifies against the dummy hash, and one with a known email does not
// need it.
func TestUnknownEmailCostsAHash(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := NewService(d, Options{Hash: TestHashParams})
		ctx := System(context.Background(), "test")
		if _, err := s.CreateUser(ctx, "alice@example.com", "", "correct horse battery", RoleViewer); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.Login(context.Background(), "alice@example.com", "wrong password", "", ""); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
			t.Fatal(err)
		}
		if s.dummyHash != "" {
			t.Fatal("a known email used the dummy hash")
		}
		if _, _, _, err := s.Login(context.Background(), "nobody@example.com", "wrong password", "", ""); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
			t.Fatal(err)
		}
		if s.dummyHash == "" || needsRehash(s.dummyHash, TestHashParams) {
			t.Fatalf("unknown email did not verify against a dummy hash of the current cost (%q)", s.dummyHash)
		}
	})
}
