// Command iscmock serves an in-memory SailPoint ISC tenant: the Personal Access Tokens API and
// /oauth/token.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/iscmock/iscmock/mock"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

type cli struct {
	Serve    serveCmd    `cmd:"" help:"Serve the emulator."`
	Validate validateCmd `cmd:"" help:"Check scenario files; exits non-zero at the first bad one."`
	Health   healthCmd   `cmd:"" help:"Check that a running server answers (exit 0) or not (exit 1)."`
	Compare  compareCmd  `cmd:"" help:"Compare the mock with a real tenant: exit 0 when every probe answers the same, 1 on differences, 2 when the run failed."`
	Version  versionCmd  `cmd:"" help:"Print the version."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		code := 1
		var ec exitCode
		if errors.As(err, &ec) {
			code = ec.code
		}
		if msg := err.Error(); msg != "" {
			// The mock package's errors already say where they come from.
			msg = "iscmock: " + strings.TrimPrefix(msg, "iscmock: ")
			if errors.As(err, new(jsonError)) {
				slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error(msg)
			} else {
				fmt.Fprintln(os.Stderr, msg)
			}
		}
		os.Exit(code)
	}
}

// jsonError is an error to print as a JSON log line, for servers whose log is JSON.
type jsonError struct{ error }

func (e jsonError) Unwrap() error { return e.error }

// exitCode is an error that sets the exit status; with a nil err it prints nothing.
type exitCode struct {
	code int
	err  error
}

func (e exitCode) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e exitCode) Unwrap() error { return e.err }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c cli
	parser, err := kong.New(&c, kong.Name("iscmock"),
		kong.Description("An in-memory emulator of SailPoint ISC's Personal Access Tokens API."),
		kong.Writers(stdout, stderr), kong.BindTo(ctx, (*context.Context)(nil)), kong.Bind(output{stdout, stderr}))
	if err != nil {
		return err
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		if len(args) > 0 && args[0] == "compare" {
			return exitCode{exitFailed, err} // compare's callers read 1 as "differences"
		}
		if os.Getenv("ISCMOCK_LOG_FORMAT") == "json" { // a container's bad variable: its log stays JSON
			return jsonError{err}
		}
		return err
	}
	return kctx.Run()
}

// interruptible runs load, but returns as soon as ctx ends (SIGINT or SIGTERM), so that reading
// files never leaves the process deaf to a stop signal; load is left to finish on its own.
func interruptible[T any](ctx context.Context, load func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("stopped before loading: %w", context.Cause(ctx))
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() { v, err := load(); done <- result{v, err} }()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, fmt.Errorf("stopped while loading: %w", context.Cause(ctx))
	}
}

// output is where commands write.
type output struct{ stdout, stderr io.Writer }

type versionCmd struct{}

func (versionCmd) Run(out output) error {
	_, err := fmt.Fprintln(out.stdout, "iscmock", version)
	return err
}

type validateCmd struct {
	Files []string `arg:"" type:"path" help:"Scenario files (YAML or JSON)."`
}

func (c *validateCmd) Run(ctx context.Context, out output) error {
	for _, f := range c.Files {
		if _, err := interruptible(ctx, func() (mock.Scenario, error) { return mock.LoadScenarioFile(f) }); err != nil {
			return err
		}
		fmt.Fprintf(out.stdout, "%s: ok\n", f)
	}
	return nil
}
