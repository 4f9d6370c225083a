package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// runAuthCmd runs the kizuna command line with args, env (as KIZUNA_*
// variables) and stdin, and returns what it printed and its exit status.
func runAuthCmd(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"kizuna"}, args...), func(k string) string { return env[k] },
		strings.NewReader(stdin), &out, &errOut)
	if err != nil {
		code = exitCode(err)
		errOut.WriteString("kizuna: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), code
}

// authService opens dsn for checking what a command did.
func authService(t *testing.T, dsn string) *auth.Service {
	t.Helper()
	d, err := db.Open(context.Background(), dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return auth.NewService(d, auth.Options{})
}

func TestUserCreate(t *testing.T) {
	cli := auth.System(context.Background(), "test")
	for _, engine := range dbtest.Engines(t) {
		t.Run(engine.Name, func(t *testing.T) {
			dsn := engine.DSN(t)
			for _, tc := range []struct {
				name   string
				env    map[string]string
				stdin  string
				args   []string
				code   int
				stdout string // substring
				stderr string // substring
			}{
				{name: "admin", args: []string{"user", "create", "--db", dsn, "--email", "Admin@Example.com", "--password", "a long enough password", "--role", "admin", "--name", "管理者"},
					stdout: "created user 1 admin@example.com (admin)"},
				{name: "password from env, db from env", env: map[string]string{"KIZUNA_DB": dsn, "KIZUNA_PASSWORD": "another long password"},
					args: []string{"user", "create", "--email", "viewer@example.com", "--role", "viewer"}, stdout: "(viewer)"},
				{name: "password from stdin", stdin: "pass phrase from stdin\n",
					args: []string{"user", "create", "--db", dsn, "--email", "agent@example.com", "--password", "-", "--role", "agent"}, stdout: "(agent)"},
				{name: "duplicate", args: []string{"user", "create", "--db", dsn, "--email", "admin@example.com", "--password", "a long enough password", "--role", "admin"},
					code: 1, stderr: "already exists"},
				{name: "bad role", args: []string{"user", "create", "--db", dsn, "--email", "x@example.com", "--password", "a long enough password", "--role", "root"},
					code: 2, stderr: "--role: unknown role"},
				{name: "bad email", args: []string{"user", "create", "--db", dsn, "--email", "not-an-email", "--password", "a long enough password", "--role", "viewer"},
					code: 2, stderr: "--email:"},
				{name: "short password", args: []string{"user", "create", "--db", dsn, "--email", "x@example.com", "--password", "short", "--role", "viewer"},
					code: 2, stderr: "--password: the password must be at least 10 characters"},
				{name: "missing email", args: []string{"user", "create", "--db", dsn, "--password", "a long enough password", "--role", "viewer"},
					code: 2, stderr: "--email is required"},
				{name: "missing role", args: []string{"user", "create", "--db", dsn, "--email", "x@example.com", "--password", "a long enough password"},
					code: 2, stderr: "--role is required"},
				{name: "unknown flag", args: []string{"user", "create", "--db", dsn, "--admin"}, code: 2, stderr: "flag provided but not defined"},
				{name: "stray argument", args: []string{"user", "create", "--db", dsn, "extra"}, code: 2, stderr: `unexpected argument "extra"`},
				{name: "no subcommand", args: []string{"user"}, code: 2, stderr: "missing subcommand"},
				{name: "unknown subcommand", args: []string{"user", "delete"}, code: 2, stderr: `unknown subcommand "delete"`},
				{name: "list", args: []string{"user", "list", "--db", dsn}, stdout: "viewer@example.com"},
				{name: "set-password", stdin: "a reset pass phrase\n", args: []string{"user", "set-password", "--db", dsn, "--email", "AGENT@example.com", "--password", "-"},
					stdout: "set the password of user 3 agent@example.com"},
				{name: "set-password unknown user", args: []string{"user", "set-password", "--db", dsn, "--email", "nobody@example.com", "--password", "a reset pass phrase"},
					code: 1, stderr: "no user has the email nobody@example.com"},
				{name: "set-password too short", args: []string{"user", "set-password", "--db", dsn, "--email", "agent@example.com", "--password", "short"},
					code: 2, stderr: "--password: the password must be at least 10 characters"},
				{name: "set-password without password", args: []string{"user", "set-password", "--db", dsn, "--email", "agent@example.com"},
					code: 2, stderr: "--password is required"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					stdout, stderr, code := runAuthCmd(t, tc.env, tc.stdin, tc.args...)
					if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
						t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
					}
				})
			}

			s := authService(t, dsn)
			users, err := s.ListUsers(cli)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range users {
				got = append(got, u.Email+"/"+string(u.Role))
			}
			if strings.Join(got, " ") != "admin@example.com/admin agent@example.com/agent viewer@example.com/viewer" {
				t.Fatalf("users %v", got)
			}
			if users[0].Name != "管理者" {
				t.Fatalf("name %q", users[0].Name)
			}
			// Every password given works, whichever way it came in.
			for email, pw := range map[string]string{"admin@example.com": "a long enough password",
				"viewer@example.com": "another long password", "agent@example.com": "a reset pass phrase"} {
				if _, _, _, err := s.Login(context.Background(), email, pw, "", ""); err != nil {
					t.Fatalf("login %s: %v", email, err)
				}
			}
			page, err := s.ListAudit(cli, auth.AuditFilter{Action: auth.ActionUserCreated})
			if err != nil || len(page.Items) != 3 {
				t.Fatalf("user.created entries: %v, %v", page, err)
			}
			for _, e := range page.Items {
				if e.ActorType != "system" || e.ActorLabel != "cli" {
					t.Fatalf("audit actor %+v", e)
				}
			}
		})
	}
}
