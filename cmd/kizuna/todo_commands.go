package main

// Commands still being built land here until their own file replaces them.

import (
	"context"
	"errors"
)

var errNotYet = errors.New("this command is not built yet")

func cmdDemo(ctx context.Context, e *env, args []string) error   { return errNotYet }
func cmdImport(ctx context.Context, e *env, args []string) error { return errNotYet }
