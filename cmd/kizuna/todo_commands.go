package main

// Commands still being built land here until their own file replaces them.

import (
	"context"
	"errors"
)

var errNotYet = errors.New("this command is not built yet")

func cmdServe(ctx context.Context, e *env, args []string) error { return errNotYet }
