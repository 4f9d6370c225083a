package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/kizuna-oss/kizuna/internal/bench"
)

func cmdBench(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "ingest" {
		return usageError{"usage: kizuna bench ingest [--events N] [--users N] [--batch N] [--clients N] [--tracks N] [--postgres DSN] [--out FILE]"}
	}
	fs := e.flags("bench ingest")
	cfg := bench.IngestConfig{Log: e.stderr}
	fs.IntVar(&cfg.Events, "events", 200_000, "events per raw and batch run")
	fs.IntVar(&cfg.Users, "users", 10_000, "distinct users the events come from")
	fs.IntVar(&cfg.BatchSize, "batch", 500, "events per /v1/batch request")
	fs.IntVar(&cfg.Clients, "clients", 8, "concurrent clients for /v1/batch")
	fs.IntVar(&cfg.Tracks, "tracks", 50_000, "single /v1/track requests")
	fs.StringVar(&cfg.PostgresDSN, "postgres", "", "also measure PostgreSQL at this postgres:// URL (a schema is created and dropped)")
	fs.StringVar(&cfg.TempDir, "tmp", "", "directory for the SQLite files")
	fs.BoolVar(&cfg.SkipSQLite, "skip-sqlite", false, "measure only PostgreSQL (with --postgres)")
	out := fs.String("out", "", "also write the Markdown table to this file")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rs, err := bench.Ingest(ctx, cfg)
	if err != nil {
		return err
	}
	md := bench.Markdown(cfg, rs)
	fmt.Fprint(e.stdout, md)
	if *out != "" {
		return os.WriteFile(*out, []byte(md), 0o644)
	}
	return nil
}
