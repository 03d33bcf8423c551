package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock"
)

type serveCmd struct {
	Addr     string   `default:"127.0.0.1:8080" env:"ISCMOCK_ADDR" help:"Address to listen on (HOST:PORT; port 0 picks a free one)."`
	Fixtures string   `env:"ISCMOCK_FIXTURES" type:"path" help:"Fixture file (YAML or JSON) with the tenant's identities and tokens; default: the embedded default tenant."`
	Scenario []string `env:"ISCMOCK_SCENARIO" type:"path" help:"Scenario file (YAML or JSON) to run from the start; repeatable (comma-separated in the variable)."`
}

// shutdownGrace bounds how long requests in flight may take once a stop signal arrives.
const shutdownGrace = 10 * time.Second

func (c *serveCmd) Run(ctx context.Context, out output) error {
	opts := []mock.Option{mock.WithLogger(slog.New(slog.NewTextHandler(out.stderr, nil)))}
	if c.Fixtures != "" {
		opts = append(opts, mock.WithFixtures(c.Fixtures))
	}
	for _, f := range c.Scenario {
		opts = append(opts, mock.WithScenarioFile(f))
	}
	srv, err := mock.New(opts...)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	base := "http://" + l.Addr().String()
	fmt.Fprint(out.stdout, banner(base, srv))
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// banner tells a person where the tenant is and which credentials open it.
func banner(base string, srv *mock.Server) string {
	var b strings.Builder
	fmt.Fprintf(&b, "iscmock %s serving %s\n", version, base)
	fmt.Fprintf(&b, "token endpoint: %s/oauth/token\n", base)
	fmt.Fprintf(&b, "personal access tokens (client_id client_secret):\n")
	for _, p := range srv.PATs() {
		owner, _ := srv.Identity(p.Owner)
		levels := strings.Join(owner.UserLevels, ",")
		if levels == "" {
			levels = "end user"
		}
		fmt.Fprintf(&b, "  %s %s  # %q of %s (%s)\n", p.ID, p.Secret, p.Name, owner.Name, levels)
	}
	b.WriteString("\n")
	return b.String()
}
