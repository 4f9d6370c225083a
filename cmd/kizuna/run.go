package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

const usage = `kizuna — customer experience management in one binary

Usage:
  kizuna serve   [--db PATH|postgres://DSN] [--addr HOST:PORT]   run the server
  kizuna demo    [--addr HOST:PORT] [--db PATH]                 load sample data and serve
  kizuna migrate [--db ...]                                      apply database migrations
  kizuna user create --email E --password P --role R [--db ...]  add a user
  kizuna key create --kind write|api --name N [--role R]         create a key (secret on the last line)
  kizuna import customers|orders [--db ...] FILE                 import a CSV file
  kizuna import feedback --survey SLUG --map MAP.json FILE       import past survey feedback
  kizuna bench ingest [...]                                      measure ingestion
  kizuna version                                                 print the version

Every flag can also be set as KIZUNA_<FLAG> in the environment (e.g. KIZUNA_DB).
`

// env is how commands read the environment; tests pass their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run is main without the process: tests call it with their own arguments,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, e, rest)
	case "demo":
		return cmdDemo(ctx, e, rest)
	case "migrate":
		return cmdMigrate(ctx, e, rest)
	case "user":
		return cmdUser(ctx, e, rest)
	case "key":
		return cmdKey(ctx, e, rest)
	case "import":
		return cmdImport(ctx, e, rest)
	case "bench":
		return cmdBench(ctx, e, rest)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "kizuna", Version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// newFlags returns a flag set whose defaults come from KIZUNA_* variables:
// --db reads KIZUNA_DB, --unsafe-fast reads KIZUNA_UNSAFE_FAST, and so on.
// Call e.parse after defining the flags.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("kizuna "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse applies KIZUNA_* environment defaults, then the arguments (which
// win), and returns a usageError for bad arguments.
func (e *env) parse(fs *flag.FlagSet, args []string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		key := "KIZUNA_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := e.getenv(key); v != "" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = usageError{fmt.Sprintf("%s=%q: %v", key, v, err)}
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// command is one (sub)command: it gets the arguments after its name.
type command func(ctx context.Context, e *env, args []string) error

// subcommand runs the subcommand args[0] of group (e.g. "key create"),
// printing the group's usage for a missing or unknown one.
func (e *env) subcommand(ctx context.Context, args []string, group, usage, names string, cmds map[string]command) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return usageError{fmt.Sprintf("kizuna %s: missing subcommand (%s)", group, names)}
	}
	if cmd, ok := cmds[args[0]]; ok {
		return cmd(ctx, e, args[1:])
	}
	fmt.Fprint(e.stderr, usage)
	return usageError{fmt.Sprintf("kizuna %s: unknown subcommand %q", group, args[0])}
}
