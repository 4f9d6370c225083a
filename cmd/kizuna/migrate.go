package main

import (
	"context"
	"fmt"

	"github.com/kizuna-oss/kizuna/internal/db"
)

const defaultDB = "kizuna.db"

// openDB opens and migrates the database named by dsn.
func openDB(ctx context.Context, dsn string, opts db.Options) (*db.DB, error) {
	d, err := db.Open(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := e.flags("migrate")
	dsn := fs.String("db", defaultDB, "SQLite file or postgres:// URL")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	d, err := openDB(ctx, *dsn, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	cur, _, err := d.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "database %s is at schema version %d\n", d.Dialect, cur)
	return nil
}
