// Command release writes iscmock's release archives and SHA256SUMS; see scripts/release and package
// release.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/iscmock/iscmock/internal/release"
)

type cli struct {
	Version string `arg:"" help:"The release's tag: v1.2.3, or v1.2.3-rc.1."`
	Out     string `default:"dist" help:"The directory to write; it must be missing or empty."`
	Root    string `default:"." help:"The module's root, where cmd/iscmock, README.md, LICENSE and CHANGELOG.md are."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	kong.Parse(&c, kong.Name("release"),
		kong.Description("Build iscmock for every platform into reproducible archives with SHA256SUMS."))
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c cli) error {
	root, err := filepath.Abs(c.Root)
	if err != nil {
		return err
	}
	t, err := sourceTime(ctx, root)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(c.Out)
	if err != nil {
		return err
	}
	return release.Build(ctx, release.Options{Root: root, Out: out, Version: c.Version, Time: t, Log: os.Stdout})
}

// sourceTime is the time every file in the archives carries: SOURCE_DATE_EPOCH when set (the
// convention of reproducible builds), else the commit's time, which is the same in every clone.
func sourceTime(ctx context.Context, root string) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	out, err := exec.CommandContext(ctx, "git", "-C", root, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return time.Time{}, errors.New("not a git checkout (git log failed): set SOURCE_DATE_EPOCH to the source's time")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("git log gave the commit time %q", out)
	}
	return time.Unix(n, 0).UTC(), nil
}
