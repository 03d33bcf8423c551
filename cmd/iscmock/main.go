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
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/iscmock/iscmock/internal/duration"
	"github.com/iscmock/iscmock/mock"
)

// version is stamped at build time with -ldflags "-X main.version=..." (the image, release
// archives); otherwise it is read from the build, see currentVersion.
var version string

// currentVersion is the stamped version; else, for a binary that go install built from a module
// version (go install github.com/iscmock/iscmock/cmd/iscmock@v1.2.3), that version; else dev. A
// build from a checkout carries its commit rather than a release, and says dev.
func currentVersion() string {
	if version != "" {
		return version
	}
	info, _ := debug.ReadBuildInfo()
	return versionOf(info)
}

// versionOf is the module version a build carries, if it is a release's.
func versionOf(info *debug.BuildInfo) string {
	if info == nil || info.Main.Version == "" || info.Main.Version == "(devel)" ||
		slices.ContainsFunc(info.Settings, func(s debug.BuildSetting) bool { return strings.HasPrefix(s.Key, "vcs.") }) {
		return "dev"
	}
	return info.Main.Version
}

type cli struct {
	Serve    serveCmd    `cmd:"" help:"Serve the emulator."`
	Validate validateCmd `cmd:"" help:"Check fixture and scenario files (told apart by content); reports every problem, exits 1 if there was any."`
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
		kong.Writers(stdout, stderr), kong.BindTo(ctx, (*context.Context)(nil)), kong.Bind(output{stdout, stderr}),
		kong.TypeMapper(reflect.TypeFor[time.Duration](), durationFlag))
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

// durationFlag reads a duration flag with the grammar every duration of iscmock has (days too).
var durationFlag kong.MapperFunc = func(ctx *kong.DecodeContext, target reflect.Value) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	d, err := duration.Parse(s)
	if err != nil {
		return err
	}
	target.SetInt(int64(d))
	return nil
}

// output is where commands write.
type output struct{ stdout, stderr io.Writer }

type versionCmd struct{}

func (versionCmd) Run(out output) error {
	_, err := fmt.Fprintln(out.stdout, "iscmock", currentVersion())
	return err
}

type validateCmd struct {
	Files []string `arg:"" help:"Fixture or scenario files (YAML or JSON)."` // named as given, in every message
}

// Run checks every file, good ones on stdout, the problems of the others on stderr.
func (c *validateCmd) Run(ctx context.Context, out output) error {
	bad := 0
	for _, f := range c.Files {
		kind, err := interruptible(ctx, func() (string, error) { return mock.ValidateFile(f) })
		switch {
		case ctx.Err() != nil:
			return err
		case err != nil:
			bad++
			fmt.Fprintln(out.stderr, strings.TrimPrefix(err.Error(), "iscmock: "))
		default:
			fmt.Fprintf(out.stdout, "%s: ok (%s)\n", f, kind)
		}
	}
	if bad > 0 {
		return exitCode{code: 1, err: fmt.Errorf("%d of %d files have problems", bad, len(c.Files))}
	}
	return nil
}
