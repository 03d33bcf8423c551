package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iscmock/iscmock/mock"
)

type serveCmd struct {
	Addr        string   `default:"127.0.0.1:8080" env:"ISCMOCK_ADDR" help:"Address to listen on (HOST:PORT; port 0 picks a free one)."`
	Fixtures    string   `env:"ISCMOCK_FIXTURES" type:"path" help:"Fixture file (YAML or JSON) with the tenant's identities and tokens; default: the embedded default tenant."`
	Scenario    []string `env:"ISCMOCK_SCENARIO" help:"Scenario file (YAML or JSON) to run from the start; repeatable (comma-separated in the variable)."`
	AdminToken  string   `env:"ISCMOCK_ADMIN_TOKEN" help:"Require Authorization: Bearer <token> on every admin route but health."`
	NoAdmin     bool     `env:"ISCMOCK_NO_ADMIN" help:"Turn the admin API off, health aside."`
	JournalSize int      `default:"1000" env:"ISCMOCK_JOURNAL_SIZE" help:"Recent API requests each tenant's journal keeps."`
	MaxTenants  int      `default:"100" env:"ISCMOCK_MAX_TENANTS" help:"Most tenants /tenants/NAME may make (0: no bound)."`
	RateLimit   string   `default:"off" enum:"off,isc" env:"ISCMOCK_RATE_LIMIT" help:"Rate limit: off (unlimited) or isc (ISC's documented 100 requests per client and API version per 10 s)."`
	LogFormat   string   `default:"text" enum:"text,json" env:"ISCMOCK_LOG_FORMAT" help:"Request log format: text or json."`
	MaxTokens   int      `name:"max-tokens-per-owner" default:"10" env:"ISCMOCK_MAX_TOKENS_PER_OWNER" help:"Tokens an identity may create, managed ones aside (ISC: 10; 0: no limit)."`
	StateDir    string   `env:"ISCMOCK_STATE_DIR" type:"path" help:"Directory to keep every tenant's state in, each change on disk before it is answered; a restart goes on from it."`
	Rights      string   `default:"enforce" enum:"enforce,soft" env:"ISCMOCK_RIGHTS" help:"Rights: enforce (403s as ISC) or soft (let through what they would refuse, marked, and report it at /__admin/rights)."`
}

// Validate refuses what the flags' types let through, naming the flag (kong calls it after parsing).
func (c *serveCmd) Validate() error {
	switch {
	case c.JournalSize < 1:
		return fmt.Errorf("--journal-size (ISCMOCK_JOURNAL_SIZE) must be at least 1; got %d", c.JournalSize)
	case c.MaxTenants < 0:
		return fmt.Errorf("--max-tenants (ISCMOCK_MAX_TENANTS) must be 0 (no bound) or more; got %d", c.MaxTenants)
	case slices.ContainsFunc(c.Scenario, func(f string) bool { return strings.TrimSpace(f) == "" }):
		return fmt.Errorf("--scenario (ISCMOCK_SCENARIO) has an empty file name; give file names, comma-separated in the variable")
	}
	return nil
}

// shutdownGrace bounds how long requests in flight may take once a stop signal arrives.
const shutdownGrace = 10 * time.Second

func (c *serveCmd) Run(ctx context.Context, out output) error {
	logs := newLogWriter(out.stderr)
	defer logs.Flush()
	log := logger(logs, c.LogFormat)
	err := c.serve(ctx, out, log)
	if err != nil && c.LogFormat == "json" {
		return jsonError{err}
	}
	return err
}

func (c *serveCmd) serve(ctx context.Context, out output, log *slog.Logger) error {
	opts := []mock.Option{mock.WithLogger(log), mock.WithJournalSize(c.JournalSize), mock.WithMaxTenants(c.MaxTenants),
		mock.WithMaxTokensPerOwner(c.MaxTokens)}
	if c.Fixtures != "" {
		opts = append(opts, mock.WithFixtures(c.Fixtures))
	}
	for _, f := range c.Scenario {
		opts = append(opts, mock.WithScenarioFile(f))
	}
	if c.AdminToken != "" {
		opts = append(opts, mock.WithAdminToken(c.AdminToken))
	}
	if c.NoAdmin {
		opts = append(opts, mock.WithoutAdmin())
	}
	if c.RateLimit == "isc" {
		opts = append(opts, mock.WithISCRateLimit())
	}
	if c.Rights == "soft" {
		opts = append(opts, mock.WithSoftRights())
	}
	if c.StateDir != "" {
		opts = append(opts, mock.WithStateDir(c.StateDir))
	}
	srv, err := interruptible(ctx, func() (*mock.Server, error) { return mock.New(opts...) })
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	base := localURL(l.Addr().String()) // a wildcard address is shown as loopback, which a person can open
	if c.LogFormat == "json" {
		jsonBanner(out.stdout, base, srv)
	} else {
		fmt.Fprint(out.stdout, banner(base, srv))
	}
	hs := httpServer(srv.Handler())
	var unused unusedConns
	hs.ConnState = unused.track
	// At a stop, requests in flight may finish; those a scenario holds (a delay, a timeout fault)
	// are released. The mock closes once the last of them has ended, and only then gives up its
	// state directory, so that a server started on it meanwhile waits for every answered write.
	hs.RegisterOnShutdown(srv.Close)
	defer srv.Close() // returns when that close has (a sync.Once)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	go unused.closeWhileShuttingDown(sctx)
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn(fmt.Sprintf("iscmock: requests still running after %v; closing their connections", shutdownGrace))
		_ = hs.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// httpServer bounds every phase of a connection, so slow or idle clients cannot hold the server.
// Writes may take as long as the slowest scripted answer (a timeout fault holds 30 s).
func httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// unusedConns are the connections that have not sent a request yet. Shutdown waits up to 5 s for
// each, as if a request were on its way; but client pools open connections ahead of need, and
// Docker's port proxy opens one to the container for each of theirs, so a stop would wait on
// connections that carry nothing. One still unused unusedAfter after it was opened is closed.
type unusedConns struct {
	mu     sync.Mutex
	opened map[net.Conn]time.Time
}

const unusedAfter = 500 * time.Millisecond

func (u *unusedConns) track(c net.Conn, state http.ConnState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if state != http.StateNew {
		delete(u.opened, c)
		return
	}
	if u.opened == nil {
		u.opened = map[net.Conn]time.Time{}
	}
	u.opened[c] = time.Now()
}

// closeWhileShuttingDown closes unused connections as they come of age, until ctx ends.
func (u *unusedConns) closeWhileShuttingDown(ctx context.Context) {
	tick := time.NewTicker(unusedAfter / 5)
	defer tick.Stop()
	for {
		u.mu.Lock()
		for c, opened := range u.opened {
			if time.Since(opened) >= unusedAfter {
				_ = c.Close()
				delete(u.opened, c)
			}
		}
		u.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// logWriter batches the request log: one write per burst of lines rather than one per request,
// so that logging stays off a busy server's path. No line waits longer than logFlushEvery.
type logWriter struct {
	mu    sync.Mutex
	w     *bufio.Writer
	timer *time.Timer
}

const logFlushEvery = 100 * time.Millisecond

func newLogWriter(w io.Writer) *logWriter { return &logWriter{w: bufio.NewWriterSize(w, 32<<10)} }

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Buffered() == 0 { // the first line since the last flush: the next flush is due
		if l.timer == nil {
			l.timer = time.AfterFunc(logFlushEvery, l.Flush)
		} else {
			l.timer.Reset(logFlushEvery)
		}
	}
	return l.w.Write(p)
}

// Flush writes what is buffered.
func (l *logWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.Flush()
}

func logger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// banner tells a person where the tenant is and which credentials open it; it ends with an empty
// line, so a script can read up to there.
func banner(base string, srv *mock.Server) string {
	var b strings.Builder
	fmt.Fprintf(&b, "iscmock %s serving %s\n", currentVersion(), base)
	fmt.Fprintf(&b, "token endpoint: %s/oauth/token (isolated tenants: %s/tenants/NAME)\n", base, base)
	fmt.Fprintf(&b, "personal access tokens (client_id client_secret):\n")
	pats := srv.PATs()
	for _, p := range pats[:min(len(pats), bannerTokens)] {
		owner, _ := srv.Identity(p.Owner)
		levels := strings.Join(owner.UserLevels, ",")
		if levels == "" {
			levels = "end user"
		}
		fmt.Fprintf(&b, "  %s %s  # %q of %s (%s)\n", p.ID, p.Secret, p.Name, owner.Name, levels)
	}
	if more := len(pats) - bannerTokens; more > 0 {
		fmt.Fprintf(&b, "  ... and %d more (GET %s/__admin/pats lists them)\n", more, base)
	}
	b.WriteString("\n")
	return b.String()
}

// bannerTokens bounds the tokens the banner shows: a tenant kept in a state directory may hold a
// hundred thousand, which would take a while to print and longer to read.
const bannerTokens = 20

// bannerToken is a token as the JSON banner shows it: what tells a person which one to use, never
// its secret, since container logs travel further than a terminal.
type bannerToken struct {
	ClientID   string   `json:"clientId"`
	Name       string   `json:"name"`
	Owner      string   `json:"owner"`
	OwnerName  string   `json:"ownerName"`
	UserLevels []string `json:"userLevels"`
}

// jsonBanner is the banner as one log line, so that every line a container prints is JSON.
func jsonBanner(w io.Writer, base string, srv *mock.Server) {
	tokens := []bannerToken{}
	pats := srv.PATs()
	for _, p := range pats[:min(len(pats), bannerTokens)] {
		owner, _ := srv.Identity(p.Owner)
		tokens = append(tokens, bannerToken{p.ID, p.Name, p.Owner, owner.Name, append([]string{}, owner.UserLevels...)})
	}
	slog.New(slog.NewJSONHandler(w, nil)).Info("serving", "version", currentVersion(), "url", base,
		"tokenEndpoint", base+"/oauth/token", "tenants", base+"/tenants/NAME", "personalAccessTokens", tokens,
		"morePersonalAccessTokens", max(0, len(pats)-bannerTokens))
}
