package auth_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// fixture is what one authorization case acts on, made fresh per case so
// that allowed calls (disable, revoke, …) cannot affect the next case.
type fixture struct {
	user   *auth.User
	keyID  int64
	secret string
}

// TestRequireEveryMethod enumerates every Service method × every kind of
// principal. Expectations are written out, not derived from the policy, so
// a change to the policy must change this table too.
func TestRequireEveryMethod(t *testing.T) {
	principals := map[string]*auth.Principal{
		"none":        nil,
		"viewer":      {Kind: auth.PrincipalUser, ID: 9001, Role: auth.RoleViewer, Label: "v@example.com"},
		"agent":       {Kind: auth.PrincipalUser, ID: 9002, Role: auth.RoleAgent, Label: "ag@example.com"},
		"manager":     {Kind: auth.PrincipalUser, ID: 9003, Role: auth.RoleManager, Label: "m@example.com"},
		"admin":       {Kind: auth.PrincipalUser, ID: 9004, Role: auth.RoleAdmin, Label: "ad@example.com"},
		"api:viewer":  {Kind: auth.PrincipalAPIKey, ID: 9005, Role: auth.RoleViewer, Label: "bi"},
		"api:manager": {Kind: auth.PrincipalAPIKey, ID: 9006, Role: auth.RoleManager, Label: "crm"},
		"api:admin":   {Kind: auth.PrincipalAPIKey, ID: 9007, Role: auth.RoleAdmin, Label: "ops"},
		"write":       {Kind: auth.PrincipalWriteKey, ID: 9008, Label: "site"},
		"system":      {Kind: auth.PrincipalSystem, Label: "cli"},
	}
	var (
		admins   = []string{"admin", "api:admin", "system"}
		auditors = []string{"manager", "admin", "api:manager", "api:admin", "system"}
		everyone = []string{"none", "viewer", "agent", "manager", "admin", "api:viewer", "api:manager", "api:admin", "write", "system"}
		nobody   = []string{}
	)
	methods := []struct {
		name    string
		allowed []string
		call    func(ctx context.Context, s *auth.Service, f fixture) error
	}{
		{"CreateUser", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, err := s.CreateUser(ctx, fmt.Sprintf("new%d@example.com", f.user.ID), "", pw, auth.RoleViewer)
			return err
		}},
		{"GetUser", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, err := s.GetUser(ctx, f.user.ID)
			return err
		}},
		{"UserByEmail", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, err := s.UserByEmail(ctx, f.user.Email)
			return err
		}},
		{"ListUsers", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, err := s.ListUsers(ctx)
			return err
		}},
		{"SetRole", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, err := s.SetRole(ctx, f.user.ID, auth.RoleAgent)
			return err
		}},
		{"DisableUser", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			return s.DisableUser(ctx, f.user.ID)
		}},
		{"EnableUser", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			return s.EnableUser(ctx, f.user.ID)
		}},
		{"SetPassword", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			return s.SetPassword(ctx, f.user.ID, "a new pass phrase")
		}},
		{"SetLocale of another user", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			return s.SetLocale(ctx, f.user.ID, "ja")
		}},
		// Only the user themself may; see TestChangePassword.
		{"ChangePassword of another user", nobody, func(ctx context.Context, s *auth.Service, f fixture) error {
			return s.ChangePassword(ctx, f.user.ID, pw, "a new pass phrase")
		}},
		{"CreateKey", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, _, err := s.CreateKey(ctx, auth.KeyAPI, "k", auth.RoleViewer)
			return err
		}},
		{"ListKeys", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, err := s.ListKeys(ctx)
			return err
		}},
		{"RevokeKey", admins, func(ctx context.Context, s *auth.Service, f fixture) error {
			return s.RevokeKey(ctx, f.keyID)
		}},
		{"ListAudit", auditors, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, err := s.ListAudit(ctx, auth.AuditFilter{})
			return err
		}},
		// The ways in need no principal: they are how one is obtained.
		{"Login", everyone, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, _, _, err := s.Login(ctx, f.user.Email, pw, "", "")
			return err
		}},
		{"LookupSession+Logout", everyone, func(ctx context.Context, s *auth.Service, f fixture) error {
			tok, _, _, err := s.Login(context.Background(), f.user.Email, pw, "", "")
			if err != nil {
				return err
			}
			if _, _, _, err := s.LookupSession(ctx, tok); err != nil {
				return err
			}
			return s.Logout(ctx, tok)
		}},
		{"AuthenticateAPIKey", everyone, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, err := s.AuthenticateAPIKey(ctx, f.secret)
			return err
		}},
		{"AuthenticateWriteKey", everyone, func(ctx context.Context, s *auth.Service, f fixture) error {
			_, secret, err := s.CreateKey(sys, auth.KeyWrite, "w", "")
			if err != nil {
				return err
			}
			_, err = s.AuthenticateWriteKey(ctx, secret)
			return err
		}},
		// Recording is not gated: every capability's actions are audited.
		{"Audit", everyone, func(ctx context.Context, s *auth.Service, f fixture) error {
			return s.Audit(ctx, auth.ActionDataExported, "", "", nil)
		}},
	}

	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newService(d, newClock())
		mustUser(t, s, "root@example.com", auth.RoleAdmin)
		// User principals must be real users: keys they create name them.
		real := map[string]*auth.Principal{}
		for name, p := range principals {
			if p != nil && p.Kind == auth.PrincipalUser {
				u := mustUser(t, s, p.Label, p.Role)
				q := u.Principal()
				real[name] = &q
			} else {
				real[name] = p
			}
		}
		n := 0
		for _, m := range methods {
			for _, name := range everyone {
				t.Run(m.name+"/"+name, func(t *testing.T) {
					n++
					u := mustUser(t, s, fmt.Sprintf("target%d@example.com", n), auth.RoleViewer)
					k, secret, err := s.CreateKey(sys, auth.KeyAPI, "target", auth.RoleViewer)
					if err != nil {
						t.Fatal(err)
					}
					ctx := context.Background()
					if p := real[name]; p != nil {
						ctx = auth.WithPrincipal(ctx, *p)
					}
					before := auditCount(t, d)
					err = m.call(ctx, s, fixture{user: u, keyID: k.ID, secret: secret})
					if slices.Contains(m.allowed, name) {
						if err != nil {
							t.Fatalf("allowed, but: %v", err)
						}
						return
					}
					want := kizuna.EFORBIDDEN
					if name == "none" {
						want = kizuna.EUNAUTHORIZED
					}
					if got := kizuna.ErrorCode(err); got != want {
						t.Fatalf("error %v: code %q, want %q", err, got, want)
					}
					if after := auditCount(t, d); after != before {
						t.Fatalf("a denied call changed the audit log (%d → %d rows)", before, after)
					}
				})
			}
		}
	})
}

func auditCount(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
