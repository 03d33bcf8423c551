// Command fetch-specs writes the six bundled PAT documents the conformance tests read; see
// scripts/fetch-specs and package fetchspecs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/iscmock/iscmock/internal/fetchspecs"
)

type cli struct {
	BaseURL string `name:"base-url" env:"ISCMOCK_SPECS_URL" default:"${base}" help:"The upstream repository's raw files at one commit."`
	Dir     string `arg:"" optional:"" help:"Where to write the documents; default: where the tests look (ISCMOCK_SPEC_DIR, else ../shared/specs beside the module's root)."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	kong.Parse(&c, kong.Name("fetch-specs"),
		kong.Description("Fetch SailPoint's OpenAPI documents of the PAT API (sailpoint-oss/api-specs) and write the six bundled files the tests read."),
		kong.Vars{"base": fetchspecs.DefaultBaseURL})
	err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch-specs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c cli) error {
	dir := c.Dir
	if dir == "" {
		var err error
		if dir, err = defaultDir(); err != nil {
			return err
		}
	}
	return fetchspecs.Run(ctx, fetchspecs.Options{BaseURL: c.BaseURL, Dir: dir, Out: os.Stdout})
}

// defaultDir is where internal/conformance looks for the documents.
func defaultDir() (string, error) {
	switch d := os.Getenv("ISCMOCK_SPEC_DIR"); d {
	case "off":
		return "", errors.New("ISCMOCK_SPEC_DIR is off: name the directory to write")
	case "":
	default:
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "specs"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no DIR given and not inside the module: name the directory to write")
		}
		dir = parent
	}
}
