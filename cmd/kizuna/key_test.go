package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestKeyCreate(t *testing.T) {
	ctx := context.Background()
	cli := auth.System(ctx, "test")
	for _, engine := range dbtest.Engines(t) {
		t.Run(engine.Name, func(t *testing.T) {
			dsn := engine.DSN(t)
			s := authService(t, dsn)

			stdout, stderr, code := runAuthCmd(t, nil, "", "key", "create", "--db", dsn, "--kind", "write", "--name", "web shop")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			writeSecret := lastLine(stdout)
			if !strings.HasPrefix(writeSecret, "kzw_") || strings.ContainsAny(writeSecret, " \t") {
				t.Fatalf("last line %q is not the secret alone\n%s", writeSecret, stdout)
			}
			writeID, err := s.AuthenticateWriteKey(ctx, writeSecret)
			if err != nil {
				t.Fatalf("printed write key does not authenticate: %v", err)
			}

			stdout, stderr, code = runAuthCmd(t, map[string]string{"KIZUNA_DB": dsn}, "", "key", "create", "--kind", "api", "--name", "BI", "--role", "viewer")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			p, err := s.AuthenticateAPIKey(ctx, lastLine(stdout))
			if err != nil || p.Role != auth.RoleViewer || p.Label != "BI" {
				t.Fatalf("printed API key: %+v, %v", p, err)
			}

			for _, tc := range []struct {
				name   string
				args   []string
				code   int
				stderr string
			}{
				{"api key without role", []string{"--kind", "api", "--name", "x"}, 2, "--role: an API key needs a role"},
				{"write key with role", []string{"--kind", "write", "--name", "x", "--role", "admin"}, 2, "--role: write keys have no role"},
				{"unknown kind", []string{"--kind", "read", "--name", "x"}, 2, "--kind: unknown key kind"},
				{"bad role", []string{"--kind", "api", "--name", "x", "--role", "owner"}, 2, "--role: unknown role"},
				{"missing kind", []string{"--name", "x"}, 2, "--kind is required"},
				{"missing name", []string{"--kind", "write"}, 2, "--name is required"},
				{"stray argument", []string{"--kind", "write", "--name", "x", "y"}, 2, `unexpected argument "y"`},
			} {
				t.Run(tc.name, func(t *testing.T) {
					stdout, stderr, code := runAuthCmd(t, nil, "", append([]string{"key", "create", "--db", dsn}, tc.args...)...)
					if code != tc.code || !strings.Contains(stderr, tc.stderr) || strings.Contains(stdout, "kz") {
						t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
					}
				})
			}

			stdout, _, code = runAuthCmd(t, nil, "", "key", "list", "--db", dsn)
			if code != 0 || !strings.Contains(stdout, "web shop") || !strings.Contains(stdout, "BI") || strings.Contains(stdout, writeSecret) {
				t.Fatalf("key list (exit %d):\n%s", code, stdout)
			}
			for _, tc := range []struct {
				args   []string
				code   int
				stderr string
			}{
				{[]string{"--id", "999"}, 1, "key 999 does not exist"},
				{[]string{}, 2, "--id is required"},
				{[]string{"--id", "x"}, 2, "invalid value"},
			} {
				_, stderr, code := runAuthCmd(t, nil, "", append([]string{"key", "revoke", "--db", dsn}, tc.args...)...)
				if code != tc.code || !strings.Contains(stderr, tc.stderr) {
					t.Fatalf("key revoke %v: exit %d, %s", tc.args, code, stderr)
				}
			}
			if _, stderr, code := runAuthCmd(t, nil, "", "key", "revoke", "--db", dsn, "--id", "1"); code != 0 {
				t.Fatalf("revoke: exit %d, %s", code, stderr)
			}
			// A fresh service (another node, empty cache) refuses it at once.
			if _, err := authService(t, dsn).AuthenticateWriteKey(ctx, writeSecret); err == nil || writeID != 1 {
				t.Fatalf("revoked key %d still authenticates", writeID)
			}
			page, err := s.ListAudit(cli, auth.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range page.Items {
				if e.ActorLabel != "cli" {
					t.Fatalf("entry %+v not by cli", e)
				}
				actions = append(actions, e.Action)
			}
			if strings.Join(actions, ",") != "key.revoked,key.created,key.created" {
				t.Fatalf("audit %v", actions)
			}
			for _, tc := range [][]string{{"key"}, {"key", "rotate"}} {
				if _, _, code := runAuthCmd(t, nil, "", tc...); code != 2 {
					t.Fatalf("%v: exit %d", tc, code)
				}
			}
		})
	}
}
