package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

const userUsage = `Usage:
  kizuna user create --email E --password P --role admin|manager|agent|viewer [--name N] [--db ...]
  kizuna user set-password --email E --password P [--db ...]
  kizuna user list [--db ...]

--password - reads the password from the first line of standard input, and
KIZUNA_PASSWORD works too: both keep it out of the process list.
set-password is the way back in for an admin who forgot their password; it
ends the user's sessions.
`

// cmdUser administers users from the shell. It acts as the system
// principal labelled "cli": whoever can run the binary against the
// database already holds every right over it.
func cmdUser(ctx context.Context, e *env, args []string) error {
	return e.subcommand(ctx, args, "user", userUsage, "create, set-password or list", map[string]command{
		"create": cmdUserCreate, "set-password": cmdUserSetPassword, "list": cmdUserList,
	})
}

func cmdUserCreate(ctx context.Context, e *env, args []string) error {
	fs := e.flags("user create")
	dsn := fs.String("db", defaultDB, "SQLite file or postgres:// URL")
	email := fs.String("email", "", "the user's email address (their login)")
	password := fs.String("password", "", `the initial password (at least 10 characters; "-" reads it from stdin)`)
	role := fs.String("role", "", "admin, manager, agent or viewer")
	name := fs.String("name", "", "the user's display name")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	for _, req := range []struct{ flag, value string }{{"email", *email}, {"password", *password}, {"role", *role}} {
		if req.value == "" {
			return usageError{"kizuna user create: --" + req.flag + " is required"}
		}
	}
	pw, err := passwordArg(e, *password)
	if err != nil {
		return err
	}
	d, err := openDB(ctx, *dsn, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	svc := auth.NewService(d, auth.Options{})
	u, err := svc.CreateUser(auth.System(ctx, "cli"), *email, *name, pw, auth.Role(*role))
	if err != nil {
		return flagError("user create", err)
	}
	fmt.Fprintf(e.stdout, "created user %d %s (%s)\n", u.ID, u.Email, u.Role)
	return nil
}

func cmdUserSetPassword(ctx context.Context, e *env, args []string) error {
	fs := e.flags("user set-password")
	dsn := fs.String("db", defaultDB, "SQLite file or postgres:// URL")
	email := fs.String("email", "", "the user's email address")
	password := fs.String("password", "", `the new password (at least 10 characters; "-" reads it from stdin)`)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	for _, req := range []struct{ flag, value string }{{"email", *email}, {"password", *password}} {
		if req.value == "" {
			return usageError{"kizuna user set-password: --" + req.flag + " is required"}
		}
	}
	pw, err := passwordArg(e, *password)
	if err != nil {
		return err
	}
	d, err := openDB(ctx, *dsn, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	svc := auth.NewService(d, auth.Options{})
	cli := auth.System(ctx, "cli")
	u, err := svc.UserByEmail(cli, *email)
	if err != nil {
		return err
	}
	if err := svc.SetPassword(cli, u.ID, pw); err != nil {
		return flagError("user set-password", err)
	}
	fmt.Fprintf(e.stdout, "set the password of user %d %s; their sessions have ended\n", u.ID, u.Email)
	return nil
}

// passwordArg returns the --password value, reading the first line of
// stdin for "-".
func passwordArg(e *env, v string) (string, error) {
	if v != "-" {
		return v, nil
	}
	pw, err := readLine(e.stdin)
	if err != nil {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	return pw, nil
}

func cmdUserList(ctx context.Context, e *env, args []string) error {
	fs := e.flags("user list")
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
	users, err := auth.NewService(d, auth.Options{}).ListUsers(auth.System(ctx, "cli"))
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tEMAIL\tNAME\tROLE\tSTATUS\tCREATED")
	for _, u := range users {
		status := "active"
		if u.Disabled() {
			status = "disabled"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Role, status, u.CreatedAt.Format(time.DateOnly))
	}
	return w.Flush()
}

// flagError turns a service's input error into a usage error naming the
// flag at fault (exit status 2); other errors pass through (status 1).
func flagError(cmd string, err error) error {
	if kizuna.ErrorCode(err) != kizuna.EINVALID {
		return err
	}
	msg := kizuna.ErrorMessage(err)
	if f := kizuna.ErrorField(err); f != "" {
		msg = "--" + f + ": " + msg
	}
	return usageError{"kizuna " + cmd + ": " + msg}
}

func noArgs(rest []string) error {
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", rest[0])}
	}
	return nil
}

// readLine reads one line, without its line ending.
func readLine(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no standard input")
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
