package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

const keyUsage = `Usage:
  kizuna key create --kind write|api --name N [--role R] [--db ...]
  kizuna key list [--db ...]
  kizuna key revoke --id N [--db ...]

A write key sends events (Segment's HTTP API, the key as Basic user name)
and has no role; an API key calls /api/v1 with the role it is given.
key create prints the secret alone on the last line of standard output. It
is shown only then: the database keeps its hash.
`

func cmdKey(ctx context.Context, e *env, args []string) error {
	return e.subcommand(ctx, args, "key", keyUsage, "create, list or revoke", map[string]command{
		"create": cmdKeyCreate, "list": cmdKeyList, "revoke": cmdKeyRevoke,
	})
}

func cmdKeyCreate(ctx context.Context, e *env, args []string) error {
	fs := e.flags("key create")
	dsn := fs.String("db", defaultDB, "SQLite file or postgres:// URL")
	kind := fs.String("kind", "", "write (event ingestion) or api (JSON API)")
	name := fs.String("name", "", "who or what uses the key, e.g. \"web shop\"")
	role := fs.String("role", "", "the API key's role: admin, manager, agent or viewer (api keys only)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	for _, req := range []struct{ flag, value string }{{"kind", *kind}, {"name", *name}} {
		if req.value == "" {
			return usageError{"kizuna key create: --" + req.flag + " is required"}
		}
	}
	d, err := openDB(ctx, *dsn, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	svc := auth.NewService(d, auth.Options{})
	k, secret, err := svc.CreateKey(auth.System(ctx, "cli"), auth.KeyKind(*kind), *name, auth.Role(*role))
	if err != nil {
		return flagError("key create", err)
	}
	what := string(k.Kind) + " key"
	if k.Kind == auth.KeyAPI {
		what = "API key (" + string(k.Role) + ")"
	}
	fmt.Fprintf(e.stdout, "Created %s %d %q, prefix %s. Copy the secret now; it is not shown again:\n%s\n",
		what, k.ID, k.Name, k.Prefix, secret)
	return nil
}

func cmdKeyList(ctx context.Context, e *env, args []string) error {
	fs := e.flags("key list")
	dsn := fs.String("db", defaultDB, "SQLite file or postgres:// URL")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	d, err := openDB(ctx, *dsn, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	keys, err := auth.NewService(d, auth.Options{}).ListKeys(auth.System(ctx, "cli"))
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKIND\tNAME\tPREFIX\tROLE\tCREATED\tLAST USED\tSTATUS")
	for _, k := range keys {
		status, used, role := "active", "never", string(k.Role)
		if k.Revoked() {
			status = "revoked " + k.RevokedAt.Format(time.DateOnly)
		}
		if k.LastUsedAt != nil {
			used = k.LastUsedAt.Format(time.DateTime)
		}
		if role == "" {
			role = "-"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Kind, k.Name, k.Prefix, role,
			k.CreatedAt.Format(time.DateOnly), used, status)
	}
	return w.Flush()
}

func cmdKeyRevoke(ctx context.Context, e *env, args []string) error {
	fs := e.flags("key revoke")
	dsn := fs.String("db", defaultDB, "SQLite file or postgres:// URL")
	id := fs.Int64("id", 0, "the key's id (see kizuna key list)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	if *id <= 0 {
		return usageError{"kizuna key revoke: --id is required"}
	}
	d, err := openDB(ctx, *dsn, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := auth.NewService(d, auth.Options{}).RevokeKey(auth.System(ctx, "cli"), *id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked key %d; running servers stop accepting it within %s\n",
		*id, auth.DefaultKeyCacheTTL)
	return nil
}
