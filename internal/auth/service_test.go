package auth_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newService(d *db.DB, c *clock) *auth.Service {
	return auth.NewService(d, auth.Options{Hash: auth.TestHashParams, Now: c.Now})
}

var sys = auth.System(context.Background(), "test")

const pw = "correct horse battery"

func mustUser(t *testing.T, s *auth.Service, email string, role auth.Role) *auth.User {
	t.Helper()
	u, err := s.CreateUser(sys, email, "", pw, role)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func mustLogin(t *testing.T, s *auth.Service, email, password string) (string, *auth.Session) {
	t.Helper()
	tok, sess, _, err := s.Login(context.Background(), email, password, "192.0.2.1", "test-agent")
	if err != nil {
		t.Fatalf("Login(%s): %v", email, err)
	}
	return tok, sess
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := kizuna.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// auditActions returns the actions of the audit log, oldest first.
func auditActions(t *testing.T, s *auth.Service) []string {
	t.Helper()
	page, err := s.ListAudit(sys, auth.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		out = append(out, page.Items[i].Action)
	}
	return out
}

func lastAudit(t *testing.T, s *auth.Service) auth.AuditEntry {
	t.Helper()
	page, err := s.ListAudit(sys, auth.AuditFilter{Limit: 1})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("ListAudit: %v, %d items", err, len(page.Items))
	}
	return page.Items[0]
}

func TestCreateUser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newService(d, newClock())
		u, err := s.CreateUser(sys, "  Alice@Example.COM ", " Alice 山田 ", pw, auth.RoleManager)
		if err != nil {
			t.Fatal(err)
		}
		if u.ID == 0 || u.Email != "alice@example.com" || u.Name != "Alice 山田" || u.Role != auth.RoleManager || u.Disabled() {
			t.Fatalf("user = %+v", u)
		}
		got, err := s.GetUser(sys, u.ID)
		if err != nil || got.Email != u.Email || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("GetUser = %+v, %v", got, err)
		}
		e := lastAudit(t, s)
		if e.Action != auth.ActionUserCreated || e.TargetID != strconv.FormatInt(u.ID, 10) ||
			e.ActorType != "system" || e.ActorLabel != "test" || e.Detail["role"] != "manager" {
			t.Fatalf("audit = %+v", e)
		}

		for _, tc := range []struct {
			name, email, uname, password string
			role                         auth.Role
			code, field                  string
		}{
			{"duplicate email, other case", "ALICE@example.com", "", pw, auth.RoleViewer, kizuna.ECONFLICT, "email"},
			{"bad email", "alice", "", pw, auth.RoleViewer, kizuna.EINVALID, "email"},
			{"empty email", "", "", pw, auth.RoleViewer, kizuna.EINVALID, "email"},
			{"short password", "bob@example.com", "", "short", auth.RoleViewer, kizuna.EINVALID, "password"},
			{"password is email", "bob@example.com", "", "bob@example.com", auth.RoleViewer, kizuna.EINVALID, "password"},
			{"unknown role", "bob@example.com", "", pw, "root", kizuna.EINVALID, "role"},
			{"empty role", "bob@example.com", "", pw, "", kizuna.EINVALID, "role"},
			{"long name", "bob@example.com", strings.Repeat("名", 201), pw, auth.RoleViewer, kizuna.EINVALID, "name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateUser(sys, tc.email, tc.uname, tc.password, tc.role)
				wantCode(t, err, tc.code)
				if f := kizuna.ErrorField(err); f != tc.field {
					t.Fatalf("field %q, want %q", f, tc.field)
				}
			})
		}
		users, err := s.ListUsers(sys)
		if err != nil || len(users) != 1 {
			t.Fatalf("ListUsers = %d users, %v; failed creates must leave nothing", len(users), err)
		}
		if _, err := s.GetUser(sys, 999); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("GetUser(999): %v", err)
		}
	})
}

func TestLogin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newService(d, newClock())
		u := mustUser(t, s, "alice@example.com", auth.RoleAgent)
		ctx := context.Background()

		tok, sess, lu, err := s.Login(ctx, "ALICE@example.com", pw, "192.0.2.1", "Firefox")
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
			t.Fatalf("token %q is not 32 bytes of unpadded base64url", tok)
		}
		if sess.ID == tok || len(sess.ID) != 64 || sess.UserID != u.ID || len(sess.CSRFToken) != 43 || lu.ID != u.ID {
			t.Fatalf("session = %+v", sess)
		}
		// Only the hash of the token is stored.
		var stored int
		if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM sessions WHERE id_hash = $1`, tok).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("the raw token is stored (%d rows, %v)", stored, err)
		}
		ls, lu2, p, err := s.LookupSession(ctx, tok)
		if err != nil || ls.ID != sess.ID || ls.CSRFToken != sess.CSRFToken || lu2.ID != u.ID {
			t.Fatalf("LookupSession = %+v, %+v, %v", ls, lu2, err)
		}
		if p.Kind != auth.PrincipalUser || p.ID != u.ID || p.Role != auth.RoleAgent || p.Label != u.Email {
			t.Fatalf("principal = %+v", p)
		}
		tok2, sess2 := mustLogin(t, s, "alice@example.com", pw)
		if tok2 == tok || sess2.ID == sess.ID || sess2.CSRFToken == sess.CSRFToken {
			t.Fatal("a second login reused the session id or CSRF token")
		}

		for _, tc := range []struct {
			name, email, password string
			code, message         string
		}{
			{"wrong password", "alice@example.com", "wrong password!", kizuna.EUNAUTHORIZED, "email or password is wrong"},
			{"unknown email", "nobody@example.com", pw, kizuna.EUNAUTHORIZED, "email or password is wrong"},
			{"over-long password", "alice@example.com", strings.Repeat("x", 5000), kizuna.EUNAUTHORIZED, "email or password is wrong"},
			{"empty email", "", pw, kizuna.EINVALID, "enter your email address"},
			{"empty password", "alice@example.com", "", kizuna.EINVALID, "enter your password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tok, sess, u, err := s.Login(ctx, tc.email, tc.password, "192.0.2.9", "")
				wantCode(t, err, tc.code)
				if kizuna.ErrorMessage(err) != tc.message || tok != "" || sess != nil || u != nil {
					t.Fatalf("Login = %q, %v, %v, %v", tok, sess, u, err)
				}
			})
		}
		for _, bad := range []string{"", "x", tok + "x", strings.Repeat("A", 43)} {
			if _, _, _, err := s.LookupSession(ctx, bad); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
				t.Fatalf("LookupSession(%q): %v", bad, err)
			}
		}

		got := auditActions(t, s)
		want := []string{auth.ActionUserCreated, auth.ActionLoginOK, auth.ActionLoginOK,
			auth.ActionLoginFailed, auth.ActionLoginFailed, auth.ActionLoginFailed}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("audit actions %v, want %v", got, want)
		}
		fails, err := s.ListAudit(sys, auth.AuditFilter{Action: auth.ActionLoginFailed})
		if err != nil || len(fails.Items) != 3 {
			t.Fatalf("failed-login entries: %v, %v", fails, err)
		}
		reasons := map[string]bool{}
		for _, e := range fails.Items {
			reasons[e.Detail["reason"].(string)] = true
			if e.ActorType != auth.ActorAnonymous || e.IP != "192.0.2.9" {
				t.Fatalf("failed-login entry %+v", e)
			}
		}
		if !reasons["wrong_password"] || !reasons["unknown_email"] {
			t.Fatalf("reasons %v", reasons)
		}
		ok, _ := s.ListAudit(sys, auth.AuditFilter{Action: auth.ActionLoginOK, Limit: 1})
		if e := ok.Items[0]; e.ActorType != "user" || e.ActorID != u.ID || e.ActorLabel != u.Email || e.IP != "192.0.2.1" {
			t.Fatalf("login.ok entry %+v", e)
		}
	})
}

func TestLoginDisabledUser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newService(d, newClock())
		mustUser(t, s, "root@example.com", auth.RoleAdmin)
		u := mustUser(t, s, "bob@example.com", auth.RoleViewer)
		if err := s.DisableUser(sys, u.ID); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := s.Login(context.Background(), "bob@example.com", pw, "", "")
		wantCode(t, err, kizuna.EUNAUTHORIZED)
		if !strings.Contains(kizuna.ErrorMessage(err), "disabled") {
			t.Fatalf("message %q", kizuna.ErrorMessage(err))
		}
		// The wrong password does not learn that the account is disabled.
		_, _, _, err = s.Login(context.Background(), "bob@example.com", "wrong password", "", "")
		if kizuna.ErrorMessage(err) != "email or password is wrong" {
			t.Fatalf("wrong password on a disabled account: %v", err)
		}
		if err := s.EnableUser(sys, u.ID); err != nil {
			t.Fatal(err)
		}
		mustLogin(t, s, "bob@example.com", pw)
	})
}

func TestLoginRehashesOldParameters(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		old := auth.NewService(d, auth.Options{Hash: auth.TestHashParams, Now: c.Now})
		mustUser(t, old, "alice@example.com", auth.RoleViewer)
		stronger := auth.TestHashParams
		stronger.Memory *= 2
		s := auth.NewService(d, auth.Options{Hash: stronger, Now: c.Now})
		mustLogin(t, s, "alice@example.com", pw)
		var h string
		if err := d.Reader().QueryRow(`SELECT password_hash FROM users`).Scan(&h); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(h, "m=128,") {
			t.Fatalf("hash %q was not upgraded", h)
		}
		mustLogin(t, s, "alice@example.com", pw)
	})
}

func TestLoginThrottling(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		s := newService(d, c)
		mustUser(t, s, "alice@example.com", auth.RoleViewer)
		ctx := context.Background()
		login := func(email, password, ip string) error {
			_, _, _, err := s.Login(ctx, email, password, ip, "")
			return err
		}

		// Five failures per email within 15 minutes, from different IPs.
		for i := range 5 {
			c.Advance(time.Minute)
			wantCode(t, login("alice@example.com", "wrong password", "198.51.100."+strconv.Itoa(i)), kizuna.EUNAUTHORIZED)
		}
		// The sixth attempt is refused even with the right password.
		err := login("alice@example.com", pw, "203.0.113.1")
		wantCode(t, err, kizuna.ETOOMANY)
		retry, ok := auth.RetryAt(err)
		first := newClock().Now().Add(time.Minute)
		if !ok || !retry.Equal(first.Add(15*time.Minute)) {
			t.Fatalf("RetryAt = %v, %v; want %v", retry, ok, first.Add(15*time.Minute))
		}
		if msg := kizuna.ErrorMessage(err); !strings.Contains(msg, "try again in 11 minutes") {
			t.Fatalf("message %q does not say when to retry", msg)
		}
		if e := lastAudit(t, s); e.Action != auth.ActionLoginThrottled {
			t.Fatalf("last audit %+v", e)
		}
		// Unknown emails are throttled the same way (no enumeration).
		for range 5 {
			wantCode(t, login("ghost@example.com", "wrong password", ""), kizuna.EUNAUTHORIZED)
		}
		wantCode(t, login("ghost@example.com", "wrong password", ""), kizuna.ETOOMANY)

		// When the oldest failure leaves the window, one attempt is allowed.
		c.Advance(11 * time.Minute)
		mustLogin(t, s, "alice@example.com", pw)
		// A success clears the email's failures.
		for range 4 {
			wantCode(t, login("alice@example.com", "wrong password", ""), kizuna.EUNAUTHORIZED)
		}
		mustLogin(t, s, "alice@example.com", pw)

		// Twenty failures per IP across any emails block that IP only.
		c.Advance(time.Hour)
		for i := range 20 {
			wantCode(t, login("user"+strconv.Itoa(i)+"@example.com", "wrong password", "192.0.2.66"), kizuna.EUNAUTHORIZED)
		}
		wantCode(t, login("alice@example.com", pw, "192.0.2.66"), kizuna.ETOOMANY)
		mustLogin(t, s, "alice@example.com", pw)
		c.Advance(15 * time.Minute)
		if _, _, _, err := s.Login(ctx, "alice@example.com", pw, "192.0.2.66", ""); err != nil {
			t.Fatalf("after the window: %v", err)
		}

		// Prune forgets failures older than the window.
		c.Advance(16 * time.Minute)
		if err := s.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM login_failures`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("login_failures after prune: %d, %v", n, err)
		}
	})
}

func TestConcurrentGuessesAreBounded(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newService(d, newClock())
		mustUser(t, s, "alice@example.com", auth.RoleViewer)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for range 30 {
			wg.Go(func() {
				_, _, _, err := s.Login(context.Background(), "alice@example.com", "wrong password", "", "")
				mu.Lock()
				codes[kizuna.ErrorCode(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		// SQLite serialises the check and the insert exactly; Postgres may
		// overshoot by the attempts racing at one instant.
		limit := 5
		if d.Dialect == db.Postgres {
			limit = 30
		}
		if codes[kizuna.EUNAUTHORIZED] > limit || codes[kizuna.EUNAUTHORIZED]+codes[kizuna.ETOOMANY] != 30 {
			t.Fatalf("outcomes %v", codes)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		s := newService(d, c)
		mustUser(t, s, "alice@example.com", auth.RoleViewer)
		ctx := context.Background()
		lastSeen := func(id string) int64 {
			var v int64
			if err := d.Reader().QueryRow(`SELECT last_seen_at FROM sessions WHERE id_hash = $1`, id).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}

		t.Run("idle", func(t *testing.T) {
			tok, sess := mustLogin(t, s, "alice@example.com", pw)
			c.Advance(2*time.Hour - time.Second)
			if _, _, _, err := s.LookupSession(ctx, tok); err != nil {
				t.Fatalf("just before the idle limit: %v", err)
			}
			c.Advance(2*time.Hour - time.Second)
			if _, _, _, err := s.LookupSession(ctx, tok); err != nil {
				t.Fatalf("use renews the idle limit: %v", err)
			}
			c.Advance(2 * time.Hour)
			_, _, _, err := s.LookupSession(ctx, tok)
			wantCode(t, err, kizuna.EUNAUTHORIZED)
			if !strings.Contains(kizuna.ErrorMessage(err), "expired") {
				t.Fatalf("message %q", kizuna.ErrorMessage(err))
			}
			var n int
			if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM sessions WHERE id_hash = $1`, sess.ID).Scan(&n); err != nil || n != 0 {
				t.Fatalf("expired session still stored (%d, %v)", n, err)
			}
		})

		t.Run("last_seen written at most once a minute", func(t *testing.T) {
			tok, sess := mustLogin(t, s, "alice@example.com", pw)
			start := lastSeen(sess.ID)
			c.Advance(30 * time.Second)
			s.LookupSession(ctx, tok)
			if got := lastSeen(sess.ID); got != start {
				t.Fatalf("last_seen_at written after 30s: %d → %d", start, got)
			}
			c.Advance(30 * time.Second)
			ls, _, _, _ := s.LookupSession(ctx, tok)
			if got := lastSeen(sess.ID); got != start+60_000 || !ls.LastSeenAt.Equal(c.Now()) {
				t.Fatalf("last_seen_at = %d, want %d", got, start+60_000)
			}
		})

		t.Run("absolute", func(t *testing.T) {
			tok, sess := mustLogin(t, s, "alice@example.com", pw)
			if !sess.ExpiresAt.Equal(c.Now().Add(12 * time.Hour)) {
				t.Fatalf("ExpiresAt %v", sess.ExpiresAt)
			}
			for elapsed := time.Duration(0); elapsed < 12*time.Hour-time.Hour; elapsed += time.Hour {
				c.Advance(time.Hour)
				if _, _, _, err := s.LookupSession(ctx, tok); err != nil {
					t.Fatalf("active session ended after %v: %v", elapsed+time.Hour, err)
				}
			}
			c.Advance(time.Hour)
			_, _, _, err := s.LookupSession(ctx, tok)
			wantCode(t, err, kizuna.EUNAUTHORIZED)
		})

		t.Run("prune", func(t *testing.T) {
			mustLogin(t, s, "alice@example.com", pw)
			c.Advance(3 * time.Hour)
			if err := s.Prune(ctx); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("sessions after prune: %d, %v", n, err)
			}
		})
	})
}

func TestSessionsEnd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action func(t *testing.T, s *auth.Service, u *auth.User, token string) error
		audit  string
	}{
		{"logout", func(t *testing.T, s *auth.Service, u *auth.User, token string) error {
			return s.Logout(context.Background(), token)
		}, auth.ActionLogout},
		{"own password change", func(t *testing.T, s *auth.Service, u *auth.User, token string) error {
			return s.ChangePassword(auth.WithPrincipal(context.Background(), u.Principal()), u.ID, pw, "a new pass phrase")
		}, auth.ActionPasswordChanged},
		{"admin sets password", func(t *testing.T, s *auth.Service, u *auth.User, token string) error {
			return s.SetPassword(sys, u.ID, "a new pass phrase")
		}, auth.ActionPasswordChanged},
		{"disable", func(t *testing.T, s *auth.Service, u *auth.User, token string) error {
			return s.DisableUser(sys, u.ID)
		}, auth.ActionUserDisabled},
		{"role change", func(t *testing.T, s *auth.Service, u *auth.User, token string) error {
			_, err := s.SetRole(sys, u.ID, auth.RoleManager)
			return err
		}, auth.ActionUserRoleChanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, d *db.DB) {
				s := newService(d, newClock())
				mustUser(t, s, "root@example.com", auth.RoleAdmin)
				other := mustUser(t, s, "other@example.com", auth.RoleViewer)
				u := mustUser(t, s, "alice@example.com", auth.RoleViewer)
				tok1, _ := mustLogin(t, s, u.Email, pw)
				tok2, _ := mustLogin(t, s, u.Email, pw)
				otherTok, _ := mustLogin(t, s, other.Email, pw)
				if err := tc.action(t, s, u, tok1); err != nil {
					t.Fatal(err)
				}
				for _, tok := range []string{tok1, tok2} {
					if tok == tok2 && tc.name == "logout" {
						continue // logout ends one session only
					}
					if _, _, _, err := s.LookupSession(context.Background(), tok); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
						t.Fatalf("session still valid after %s: %v", tc.name, err)
					}
				}
				if tc.name == "logout" {
					if _, _, _, err := s.LookupSession(context.Background(), tok2); err != nil {
						t.Fatalf("logout ended another session: %v", err)
					}
					if err := s.Logout(context.Background(), tok1); err != nil {
						t.Fatalf("second logout: %v", err)
					}
				}
				if _, _, _, err := s.LookupSession(context.Background(), otherTok); err != nil {
					t.Fatalf("%s ended another user's session: %v", tc.name, err)
				}
				e := lastAudit(t, s)
				if e.Action != tc.audit {
					t.Fatalf("last audit %+v, want %s", e, tc.audit)
				}
				if tc.name == "logout" && (e.ActorID != u.ID || e.ActorLabel != u.Email) {
					t.Fatalf("logout audit %+v", e)
				}
			})
		})
	}
}

func TestChangePassword(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		s := newService(d, c)
		u := mustUser(t, s, "alice@example.com", auth.RoleAdmin)
		other := mustUser(t, s, "bob@example.com", auth.RoleViewer)
		self := auth.WithPrincipal(context.Background(), u.Principal())

		for _, tc := range []struct {
			name          string
			ctx           context.Context
			id            int64
			current, next string
			code, field   string
		}{
			{"someone else's", self, other.ID, pw, "a new pass phrase", kizuna.EFORBIDDEN, ""},
			{"system", sys, u.ID, pw, "a new pass phrase", kizuna.EFORBIDDEN, ""},
			{"anonymous", context.Background(), u.ID, pw, "a new pass phrase", kizuna.EUNAUTHORIZED, ""},
			{"wrong current", self, u.ID, "not my password", "a new pass phrase", kizuna.EINVALID, "current_password"},
			{"too short", self, u.ID, pw, "short", kizuna.EINVALID, "new_password"},
			{"same as email", self, u.ID, pw, "alice@example.com", kizuna.EINVALID, "new_password"},
			{"unchanged", self, u.ID, pw, pw, kizuna.EINVALID, "new_password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.ChangePassword(tc.ctx, tc.id, tc.current, tc.next)
				wantCode(t, err, tc.code)
				if kizuna.ErrorField(err) != tc.field {
					t.Fatalf("field %q, want %q", kizuna.ErrorField(err), tc.field)
				}
			})
		}
		mustLogin(t, s, u.Email, pw) // nothing changed so far
		if err := s.ChangePassword(self, u.ID, pw, "a new pass phrase"); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.Login(context.Background(), u.Email, pw, "", ""); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("old password still works: %v", err)
		}
		mustLogin(t, s, u.Email, "a new pass phrase")
		got, _ := s.GetUser(self, u.ID) // a user may read themselves
		if !got.PasswordChangedAt.Equal(c.Now()) {
			t.Fatalf("PasswordChangedAt = %v", got.PasswordChangedAt)
		}

		// Wrong current passwords count as failed logins.
		for range 5 {
			s.ChangePassword(self, u.ID, "not my password", "another pass phrase")
		}
		wantCode(t, s.ChangePassword(self, u.ID, "a new pass phrase", "another pass phrase"), kizuna.ETOOMANY)
	})
}

func TestLastAdminIsKept(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newService(d, newClock())
		a := mustUser(t, s, "a@example.com", auth.RoleAdmin)
		_, err := s.SetRole(sys, a.ID, auth.RoleViewer)
		wantCode(t, err, kizuna.ECONFLICT)
		wantCode(t, s.DisableUser(sys, a.ID), kizuna.ECONFLICT)
		b := mustUser(t, s, "b@example.com", auth.RoleAdmin)
		if _, err := s.SetRole(sys, a.ID, auth.RoleViewer); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DisableUser(sys, b.ID), kizuna.ECONFLICT)
		got, _ := s.GetUser(sys, a.ID)
		if got.Role != auth.RoleViewer {
			t.Fatalf("role %s", got.Role)
		}
		e := lastAudit(t, s)
		if e.Action != auth.ActionUserRoleChanged || e.Detail["from"] != "admin" || e.Detail["to"] != "viewer" {
			t.Fatalf("audit %+v", e)
		}
		_, err = s.SetRole(sys, 999, auth.RoleViewer)
		wantCode(t, err, kizuna.ENOTFOUND)
		_, err = s.SetRole(sys, a.ID, "owner")
		wantCode(t, err, kizuna.EINVALID)
	})
}

func TestKeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		s := newService(d, c)
		node2 := newService(d, c) // another process over the same database
		ctx := context.Background()

		wk, wsecret, err := s.CreateKey(sys, auth.KeyWrite, " website ", "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(wsecret, wk.Prefix+"_") || !strings.HasPrefix(wk.Prefix, "kzw_") || len(wk.Prefix) != 12 ||
			len(wsecret) != 45 || wk.Name != "website" || wk.Role != "" {
			t.Fatalf("write key %+v, secret %q", wk, wsecret)
		}
		ak, asecret, err := s.CreateKey(sys, auth.KeyAPI, "BI export", auth.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(asecret, "kza_") || ak.Role != auth.RoleViewer {
			t.Fatalf("api key %+v, secret %q", ak, asecret)
		}
		var stored int
		if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM api_keys WHERE secret_hash = $1 OR prefix = $1`, wsecret).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("secret stored in clear (%d, %v)", stored, err)
		}

		if id, err := s.AuthenticateWriteKey(ctx, wsecret); err != nil || id != wk.ID {
			t.Fatalf("AuthenticateWriteKey = %d, %v", id, err)
		}
		p, err := s.AuthenticateAPIKey(ctx, asecret)
		if err != nil || p.Kind != auth.PrincipalAPIKey || p.ID != ak.ID || p.Role != auth.RoleViewer || p.Label != "BI export" {
			t.Fatalf("AuthenticateAPIKey = %+v, %v", p, err)
		}
		if !p.Can(auth.PermCustomersRead) || p.Can(auth.PermCustomersWrite) {
			t.Fatal("API key principal does not carry its role")
		}
		tampered := wsecret[:len(wsecret)-1] + "a"
		if strings.HasSuffix(wsecret, "a") {
			tampered = wsecret[:len(wsecret)-1] + "b"
		}
		for _, tc := range []struct {
			name   string
			secret string
			api    bool
		}{
			{"api key as write key", asecret, false},
			{"write key as api key", wsecret, true},
			{"tampered", tampered, false},
			{"unknown prefix", "kzw_aaaaaaaa_" + strings.Repeat("a", 32), false},
			{"garbage", "Basic Zm9vOg==", false},
			{"empty", "", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var err error
				if tc.api {
					_, err = s.AuthenticateAPIKey(ctx, tc.secret)
				} else {
					_, err = s.AuthenticateWriteKey(ctx, tc.secret)
				}
				wantCode(t, err, kizuna.EUNAUTHORIZED)
			})
		}

		// node2 verifies and caches the key; then node1 revokes it.
		if _, err := node2.AuthenticateWriteKey(ctx, wsecret); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeKey(sys, wk.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AuthenticateWriteKey(ctx, wsecret); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("revoking node still accepts the key: %v", err)
		}
		c.Advance(29 * time.Second)
		if _, err := node2.AuthenticateWriteKey(ctx, wsecret); err != nil {
			t.Fatalf("within the cache TTL the other node still trusts the key: %v", err)
		}
		c.Advance(time.Second)
		_, err = node2.AuthenticateWriteKey(ctx, wsecret)
		wantCode(t, err, kizuna.EUNAUTHORIZED)
		if kizuna.ErrorMessage(err) != "this key has been revoked" {
			t.Fatalf("message %q", kizuna.ErrorMessage(err))
		}
		if err := s.RevokeKey(sys, wk.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		wantCode(t, s.RevokeKey(sys, 999), kizuna.ENOTFOUND)

		keys, err := s.ListKeys(sys)
		if err != nil || len(keys) != 2 || keys[0].ID != ak.ID || !keys[1].Revoked() || keys[0].Revoked() {
			t.Fatalf("ListKeys = %+v, %v", keys, err)
		}
		actions := auditActions(t, s)
		if strings.Join(actions, ",") != "key.created,key.created,key.revoked" {
			t.Fatalf("audit %v", actions)
		}
		if e := lastAudit(t, s); e.Detail["prefix"] != wk.Prefix || strings.Contains(strings.Join(actions, ""), wsecret) {
			t.Fatalf("revoke audit %+v", e)
		}
	})
}

func TestKeyLastUsed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		s := newService(d, c)
		ctx := context.Background()
		k, secret, err := s.CreateKey(sys, auth.KeyWrite, "site", "")
		if err != nil {
			t.Fatal(err)
		}
		lastUsed := func() time.Time {
			keys, err := s.ListKeys(sys)
			if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
				t.Fatalf("ListKeys: %v", err)
			}
			if keys[0].LastUsedAt == nil {
				return time.Time{}
			}
			return *keys[0].LastUsedAt
		}
		if !lastUsed().IsZero() {
			t.Fatal("new key has last_used_at")
		}
		start := c.Now()
		for range 100 {
			if _, err := s.AuthenticateWriteKey(ctx, secret); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Second)
		}
		// 100 requests over 100 seconds: written at 0s and 60s only.
		if got := lastUsed(); !got.Equal(start.Add(60 * time.Second)) {
			t.Fatalf("last_used_at = %v, want %v", got, start.Add(60*time.Second))
		}
	})
}

func TestCreateKeyValidation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newService(d, newClock())
		for _, tc := range []struct {
			name  string
			kind  auth.KeyKind
			kname string
			role  auth.Role
			field string
		}{
			{"unknown kind", "read", "x", "", "kind"},
			{"empty name", auth.KeyWrite, "  ", "", "name"},
			{"long name", auth.KeyWrite, strings.Repeat("k", 101), "", "name"},
			{"write key with role", auth.KeyWrite, "x", auth.RoleAdmin, "role"},
			{"api key without role", auth.KeyAPI, "x", "", "role"},
			{"api key bad role", auth.KeyAPI, "x", "superuser", "role"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, secret, err := s.CreateKey(sys, tc.kind, tc.kname, tc.role)
				wantCode(t, err, kizuna.EINVALID)
				if kizuna.ErrorField(err) != tc.field || secret != "" {
					t.Fatalf("field %q, secret %q", kizuna.ErrorField(err), secret)
				}
			})
		}
		keys, _ := s.ListKeys(sys)
		if len(keys) != 0 {
			t.Fatalf("%d keys after failed creates", len(keys))
		}
	})
}

func TestAuditTxAndListing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		s := newService(d, c)
		agent := auth.WithPrincipal(context.Background(), auth.Principal{
			Kind: auth.PrincipalUser, ID: 7, Role: auth.RoleManager, Label: "mgr@example.com", IP: "192.0.2.7"})

		// AuditTx commits and rolls back with its transaction.
		if err := d.WriteTx(agent, func(tx *db.Tx) error {
			return auth.AuditTx(agent, tx, auth.ActionCustomerMerge, auth.TargetCustomer, "42", map[string]any{"loser": 43})
		}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if err := d.WriteTx(agent, func(tx *db.Tx) error {
			if err := auth.AuditTx(agent, tx, auth.ActionCustomerUnmerge, auth.TargetMerge, "1", nil); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		for i := range 7 {
			c.Advance(time.Second)
			if err := s.Audit(agent, auth.ActionDataExported, auth.TargetCustomer, "", map[string]any{"rows": i}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Audit(sys, auth.ActionDataImported, "", "", nil); err != nil {
			t.Fatal(err)
		}

		page, err := s.ListAudit(agent, auth.AuditFilter{Action: auth.ActionCustomerMerge})
		if err != nil || len(page.Items) != 1 || page.Next != "" {
			t.Fatalf("merged entries %+v, %v", page, err)
		}
		e := page.Items[0]
		if e.ActorType != "user" || e.ActorID != 7 || e.ActorLabel != "mgr@example.com" || e.IP != "192.0.2.7" ||
			e.TargetType != auth.TargetCustomer || e.TargetID != "42" || e.Detail["loser"] != float64(43) {
			t.Fatalf("entry %+v", e)
		}
		if p, _ := s.ListAudit(agent, auth.AuditFilter{Action: auth.ActionCustomerUnmerge}); len(p.Items) != 0 {
			t.Fatal("a rolled-back AuditTx left an entry")
		}

		// Pages of 3 by actor, newest first, without gaps or repeats.
		var seen []float64
		cursor := ""
		for pages := 0; ; pages++ {
			p, err := s.ListAudit(agent, auth.AuditFilter{Actor: "mgr@example.com", Action: auth.ActionDataExported, Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Items {
				seen = append(seen, e.Detail["rows"].(float64))
			}
			if cursor = p.Next; cursor == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
		}
		if len(seen) != 7 || seen[0] != 6 || seen[6] != 0 {
			t.Fatalf("paged rows %v", seen)
		}
		if p, _ := s.ListAudit(sys, auth.AuditFilter{Actor: "test"}); len(p.Items) != 1 || p.Items[0].ActorType != "system" {
			t.Fatalf("system entries %+v", p)
		}
		if p, err := s.ListAudit(agent, auth.AuditFilter{TargetType: auth.TargetCustomer, TargetID: "42"}); err != nil ||
			len(p.Items) != 1 || p.Items[0].Action != auth.ActionCustomerMerge {
			t.Fatalf("by target: %+v, %v", p, err)
		}
		if p, _ := s.ListAudit(agent, auth.AuditFilter{TargetType: auth.TargetCustomer}); len(p.Items) != 8 {
			t.Fatalf("by target type: %d entries, want 8", len(p.Items))
		}
		for _, f := range []auth.AuditFilter{{Limit: -1}, {Limit: 501}, {Cursor: "abc"}, {Cursor: "-5"}, {TargetID: "42"}} {
			if _, err := s.ListAudit(sys, f); kizuna.ErrorCode(err) != kizuna.EINVALID {
				t.Fatalf("ListAudit(%+v): %v", f, err)
			}
		}
	})
}

func TestValidCSRF(t *testing.T) {
	sess := &auth.Session{CSRFToken: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}
	for _, tc := range []struct {
		sess  *auth.Session
		token string
		ok    bool
	}{
		{sess, sess.CSRFToken, true},
		{sess, sess.CSRFToken[:42], false},
		{sess, sess.CSRFToken + "x", false},
		{sess, "", false},
		{sess, strings.ToUpper(sess.CSRFToken), false},
		{nil, sess.CSRFToken, false},
		{&auth.Session{}, "", false},
	} {
		if got := auth.ValidCSRF(tc.sess, tc.token); got != tc.ok {
			t.Errorf("ValidCSRF(%v, %q) = %v", tc.sess, tc.token, got)
		}
	}
}

func TestSetLocale(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newService(d, newClock())
		u := mustUser(t, s, "alice@example.com", auth.RoleViewer)
		self := auth.WithPrincipal(context.Background(), u.Principal())
		for _, tc := range []struct {
			in, want, code string
		}{
			{"ja", "ja", ""},
			{" EN-us ", "en-US", ""},
			{"ja-JP", "ja-JP", ""},
			{"", "", ""},
			{"japanese!", "", kizuna.EINVALID},
			{"x-" + strings.Repeat("a", 40), "", kizuna.EINVALID},
		} {
			err := s.SetLocale(self, u.ID, tc.in)
			if kizuna.ErrorCode(err) != tc.code {
				t.Fatalf("SetLocale(%q): %v", tc.in, err)
			}
			if got, _ := s.GetUser(self, u.ID); err == nil && got.Locale != tc.want {
				t.Fatalf("SetLocale(%q) stored %q, want %q", tc.in, got.Locale, tc.want)
			}
		}
		if err := s.SetLocale(self, u.ID, "ja"); err != nil {
			t.Fatal(err)
		}
		tok, _ := mustLogin(t, s, u.Email, pw)
		if _, _, p, err := s.LookupSession(context.Background(), tok); err != nil || p.Locale != "ja" {
			t.Fatalf("principal locale %q, %v", p.Locale, err)
		}
		wantCode(t, s.SetLocale(sys, 999, "ja"), kizuna.ENOTFOUND)
	})
}

// TestAuditEverySecurityEvent walks through every security event once and
// checks the log holds exactly those entries, in order, with their actors.
func TestAuditEverySecurityEvent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		s := auth.NewService(d, auth.Options{Hash: auth.TestHashParams, Now: c.Now, MaxFailuresPerEmail: 1})
		ctx := context.Background()
		root := mustUser(t, s, "root@example.com", auth.RoleAdmin)
		admin := auth.WithPrincipal(ctx, auth.Principal{Kind: auth.PrincipalUser, ID: root.ID, Role: auth.RoleAdmin,
			Label: root.Email, IP: "192.0.2.10"})
		u, err := s.CreateUser(admin, "bob@example.com", "Bob", pw, auth.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		steps := []func() error{
			func() error {
				_, _, _, err := s.Login(ctx, "bob@example.com", "wrong password", "198.51.100.1", "")
				return ignore(err)
			},
			func() error {
				_, _, _, err := s.Login(ctx, "bob@example.com", pw, "198.51.100.1", "")
				return ignore(err)
			},
			func() error { c.Advance(16 * time.Minute); return nil },
			func() error {
				tok, _, _, err := s.Login(ctx, "bob@example.com", pw, "198.51.100.1", "")
				if err != nil {
					return err
				}
				return s.Logout(ctx, tok)
			},
			func() error { _, err := s.SetRole(admin, u.ID, auth.RoleAgent); return err },
			func() error { return s.DisableUser(admin, u.ID) },
			func() error { return s.EnableUser(admin, u.ID) },
			func() error { return s.SetPassword(admin, u.ID, "reset pass phrase") },
			func() error {
				_, _, err := s.CreateKey(admin, auth.KeyWrite, "shop", "")
				return err
			},
			func() error { return s.RevokeKey(admin, 1) },
		}
		for i, step := range steps {
			if err := step(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		page, err := s.ListAudit(sys, auth.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct{ action, actorType, actor, ip string }{
			{auth.ActionKeyRevoked, "user", "root@example.com", "192.0.2.10"},
			{auth.ActionKeyCreated, "user", "root@example.com", "192.0.2.10"},
			{auth.ActionPasswordChanged, "user", "root@example.com", "192.0.2.10"},
			{auth.ActionUserEnabled, "user", "root@example.com", "192.0.2.10"},
			{auth.ActionUserDisabled, "user", "root@example.com", "192.0.2.10"},
			{auth.ActionUserRoleChanged, "user", "root@example.com", "192.0.2.10"},
			{auth.ActionLogout, "user", "bob@example.com", ""},
			{auth.ActionLoginOK, "user", "bob@example.com", "198.51.100.1"},
			{auth.ActionLoginThrottled, auth.ActorAnonymous, "bob@example.com", "198.51.100.1"},
			{auth.ActionLoginFailed, auth.ActorAnonymous, "bob@example.com", "198.51.100.1"},
			{auth.ActionUserCreated, "user", "root@example.com", "192.0.2.10"},
			{auth.ActionUserCreated, "system", "test", ""},
		}
		if len(page.Items) != len(want) {
			var got []string
			for _, e := range page.Items {
				got = append(got, e.Action)
			}
			t.Fatalf("audit log %v, want %d entries", got, len(want))
		}
		for i, w := range want {
			e := page.Items[i]
			if e.Action != w.action || e.ActorType != w.actorType || e.ActorLabel != w.actor || e.IP != w.ip {
				t.Errorf("entry %d = %s by %s %s from %q; want %s by %s %s from %q",
					i, e.Action, e.ActorType, e.ActorLabel, e.IP, w.action, w.actorType, w.actor, w.ip)
			}
		}
	})
}

// ignore drops the expected failures of a step that is there to be audited.
func ignore(err error) error {
	switch kizuna.ErrorCode(err) {
	case kizuna.EUNAUTHORIZED, kizuna.ETOOMANY:
		return nil
	}
	return err
}

// TestLastAdminUnderConcurrency demotes and disables the only two admins
// at once: exactly one change may win, whichever engine serialises them.
func TestLastAdminUnderConcurrency(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := newService(d, newClock())
		var survivor *auth.User
		for round := range 5 {
			// Exactly two enabled admins at the start of each round.
			a := mustUser(t, s, "a"+strconv.Itoa(round)+"@example.com", auth.RoleAdmin)
			b := mustUser(t, s, "b"+strconv.Itoa(round)+"@example.com", auth.RoleAdmin)
			if survivor != nil {
				if _, err := s.SetRole(sys, survivor.ID, auth.RoleViewer); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Go(func() { _, errs[0] = s.SetRole(sys, a.ID, auth.RoleViewer) })
			wg.Go(func() { errs[1] = s.DisableUser(sys, b.ID) })
			wg.Wait()
			codes := kizuna.ErrorCode(errs[0]) + "," + kizuna.ErrorCode(errs[1])
			switch codes {
			case "," + kizuna.ECONFLICT:
				survivor = b
			case kizuna.ECONFLICT + ",":
				survivor = a
			default:
				t.Fatalf("round %d: outcomes %q (%v), want one success and one conflict", round, codes, errs)
			}
			var admins int
			if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL`).Scan(&admins); err != nil || admins != 1 {
				t.Fatalf("round %d: %d enabled admins, %v", round, admins, err)
			}
		}
	})
}
