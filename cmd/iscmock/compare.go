package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/iscmock/iscmock/internal/compare"
)

type compareCmd struct {
	Target           string        `required:"" env:"ISCMOCK_COMPARE_TARGET" help:"The tenant's API base URL, such as https://acme-sb.api.identitynow.com."`
	ClientID         string        `required:"" env:"ISCMOCK_COMPARE_CLIENT_ID" help:"Client id of a PAT of an org admin on the target."`
	ClientSecret     string        `required:"" env:"ISCMOCK_COMPARE_CLIENT_SECRET" help:"Its secret (prefer the variable: command lines are visible to other users)."`
	UserClientID     string        `env:"ISCMOCK_COMPARE_USER_CLIENT_ID" help:"Client id of a PAT of an end user, for the rights probes."`
	UserClientSecret string        `env:"ISCMOCK_COMPARE_USER_CLIENT_SECRET" help:"Its secret."`
	Versions         []string      `env:"ISCMOCK_COMPARE_VERSIONS" help:"API versions to probe, comma-separated (default: all): beta, v3, v2024, v2025, v2026, v1."`
	Only             string        `env:"ISCMOCK_COMPARE_ONLY" help:"Run only the probes whose name matches this glob, * matching any run of characters (v3/*, */create/*, token/*)."`
	Format           string        `default:"text" enum:"text,json,markdown" env:"ISCMOCK_COMPARE_FORMAT" help:"Report format: text, json or markdown."`
	Out              string        `type:"path" env:"ISCMOCK_COMPARE_OUT" help:"Write the report to this file instead of stdout."`
	Capture          string        `type:"path" env:"ISCMOCK_COMPARE_CAPTURE" help:"Write each target answer (normalised, without secrets) into this folder, for the project's replay tests."`
	CaptureSource    string        `default:"an ISC tenant" env:"ISCMOCK_COMPARE_CAPTURE_SOURCE" help:"What the capture says its answers come from."`
	Yes              bool          `env:"ISCMOCK_COMPARE_YES" help:"Create and delete tokens on a target that is not this machine without asking."`
	Timeout          time.Duration `default:"30s" env:"ISCMOCK_COMPARE_TIMEOUT" help:"Bound on each request."`
}

// Exit statuses of compare: every probe the same, differences, or a run that failed.
const (
	exitDifferences = 1
	exitFailed      = 2
)

func (c *compareCmd) Run(ctx context.Context, out output) error {
	if err := c.run(ctx, out); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			return err
		}
		return exitCode{exitFailed, err}
	}
	return nil
}

func (c *compareCmd) run(ctx context.Context, out output) error {
	if !compare.Loopback(c.Target) && !c.Yes {
		if err := confirm(out, c.Target); err != nil {
			return err
		}
	}
	cfg := compare.Config{
		Target: c.Target, Admin: compare.Client{ID: c.ClientID, Secret: c.ClientSecret},
		User: compare.Client{ID: c.UserClientID, Secret: c.UserClientSecret}, Versions: c.Versions, Only: c.Only,
		Timeout: c.Timeout, Iscmock: currentVersion(),
	}
	if terminal(out.stderr) {
		cfg.Progress = func(n, total int, probe string) {
			fmt.Fprintf(out.stderr, "\r\033[Kprobe %d of %d: %s", n, total, probe)
		}
	}
	report, runErr := compare.Run(ctx, cfg)
	if cfg.Progress != nil {
		fmt.Fprint(out.stderr, "\r\033[K") // the progress line, if one is left
	}
	if report == nil {
		return runErr
	}
	if runErr == nil {
		runErr = report.LeftError()
	}
	if len(report.Results) > 0 {
		if err := c.write(out.stdout, report); err != nil && runErr == nil {
			runErr = err
		}
	}
	if runErr != nil {
		return errors.New(report.Redact(runErr.Error()))
	}
	if report.Differences() {
		return exitCode{exitDifferences, nil}
	}
	return nil
}

func (c *compareCmd) write(w io.Writer, report *compare.Report) error {
	if c.Out != "" {
		f, err := os.Create(c.Out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := report.Write(w, c.Format); err != nil {
		return err
	}
	if c.Capture != "" {
		return report.WriteCapture(c.Capture, c.CaptureSource)
	}
	return nil
}

// confirm asks a person at a terminal before a run changes a remote tenant; without a terminal,
// only --yes lets it go on.
func confirm(out output, target string) error {
	refuse := fmt.Errorf("%s is not this machine: compare creates and deletes tokens there (only its own, named %s...); pass --yes to go on", target, compare.NamePrefix)
	if !terminal(os.Stdin) {
		return refuse
	}
	fmt.Fprintf(out.stderr, "compare creates tokens named %s... on %s and deletes them afterwards. Go on? [y/N] ", compare.NamePrefix, target)
	answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return refuse
	}
	return nil
}

// terminal reports whether f is a character device (a terminal, not a pipe or file).
func terminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
