// Command kizuna is the whole Kizuna product in one binary: the server, the
// demo, migrations, user and key administration, imports and benchmarks.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	// The live heap is small and ingestion allocates a lot per request:
	// collecting less often buys about 15% ingest throughput for a few tens
	// of MB. GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kizuna:", err)
		os.Exit(exitCode(err))
	}
}
