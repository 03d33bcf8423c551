package mock

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock/internal/durable"
	"github.com/iscmock/iscmock/mock/internal/scenario"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	fixtures    []func() (Fixtures, error) // in the order given
	start       time.Time
	logger      *slog.Logger
	seed        *uint64
	maxTokens   int
	scenarios   []func() (Scenario, error) // in the order given
	journalSize int
	maxTenants  int
	adminToken  string
	noAdmin     bool
	rateLimit   *scenario.RateLimit // every tenant's standing limit; nil for none
	stateDir    string              // "" keeps nothing
	stateFS     durable.FS          // where stateDir is: the real file system, unless a test fails it
	softRights  bool                // the rights rules' refusals are waived, and reported
}

func defaults() config {
	return config{logger: slog.New(slog.DiscardHandler), maxTokens: 10, journalSize: 1000, maxTenants: 100, stateFS: durable.OS}
}

// check refuses option values that mean nothing.
func (c config) check() error {
	switch {
	case c.journalSize < 1:
		return fmt.Errorf("iscmock: WithJournalSize(%d): a journal keeps at least 1 request", c.journalSize)
	case c.maxTenants < 0:
		return fmt.Errorf("iscmock: WithMaxTenants(%d): give 0 (no bound) or more", c.maxTenants)
	case c.maxTokens < 0:
		return fmt.Errorf("iscmock: WithMaxTokensPerOwner(%d): give 0 (no limit) or more", c.maxTokens)
	}
	return nil
}

// WithFixtures loads the tenant from a fixture file (YAML or JSON) instead of the embedded default
// tenant. It may be given more than once; the files load in order.
func WithFixtures(path string) Option {
	return func(c *config) {
		c.fixtures = append(c.fixtures, func() (Fixtures, error) { return LoadFixtures(path) })
	}
}

// WithFixtureData loads the tenant from fixtures built in code instead of the embedded default
// tenant. It combines with WithFixtures, in the order given: later fixtures add to or replace
// earlier ones.
func WithFixtureData(f Fixtures) Option {
	return func(c *config) { c.fixtures = append(c.fixtures, func() (Fixtures, error) { return f, nil }) }
}

// WithClock starts the server's clock at start instead of the real time.
func WithClock(start time.Time) Option {
	return func(c *config) { c.start = start }
}

// WithLogger logs one line per request to l. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithTestLog logs one line per request to tb.Log, so that the requests a test made show in its
// own output: beside its failure, or with go test -v. Lines stop when the test ends.
func WithTestLog(tb testing.TB) Option {
	w := &testLog{tb: tb}
	tb.Cleanup(func() { w.done.Store(true) })
	return WithLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: withoutTime})))
}

// withoutTime leaves out a line's real time, which go test's own output needs no more of.
func withoutTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

// testLog writes each log line to a test's log, until the test ends (when tb.Log would panic).
type testLog struct {
	tb   testing.TB
	done atomic.Bool
}

func (w *testLog) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// WithSeed makes the ids, secrets and request ids the server generates repeatable. Signing keys
// stay random, so a token from one server never verifies at another.
func WithSeed(seed uint64) Option {
	return func(c *config) { c.seed = &seed }
}

// WithMaxTokensPerOwner sets how many tokens (managed ones aside) an identity may create; 0 means
// no limit. ISC's limit, and the default, is 10.
func WithMaxTokensPerOwner(n int) Option {
	return func(c *config) { c.maxTokens = n }
}

// WithScenarioFile runs the scenario in a file (YAML or JSON) from the start. Given more than once,
// the files' rules run in order, as one scenario.
func WithScenarioFile(path string) Option {
	return func(c *config) {
		c.scenarios = append(c.scenarios, func() (Scenario, error) { return LoadScenarioFile(path) })
	}
}

// WithScenario runs a scenario built in code from the start; it combines with WithScenarioFile, in
// the order given.
func WithScenario(s Scenario) Option {
	return func(c *config) { c.scenarios = append(c.scenarios, func() (Scenario, error) { return s, nil }) }
}

// iscRateLimit is ISC's documented gateway limit: 100 requests per client_id and API version per
// 10 seconds, as scenarios/rate-limit.yaml sets it.
var iscRateLimit = scenario.RateLimit{Requests: 100, Window: 10 * time.Second, Per: "client"}

// WithISCRateLimit turns on ISC's documented rate limit, 100 requests per client_id and API version
// per 10 seconds of the mock clock (429 with Retry-After past it), for every tenant. It stays on
// whatever scenario runs, unless the scenario sets a rateLimit of its own. Without it the mock is
// unlimited, so tests stay deterministic.
func WithISCRateLimit() Option {
	return func(c *config) { l := iscRateLimit; c.rateLimit = &l }
}

// WithJournalSize sets how many recent API requests each tenant's journal keeps (default 1000, at
// least 1).
func WithJournalSize(n int) Option {
	return func(c *config) { c.journalSize = n }
}

// WithMaxTenants bounds how many tenants /tenants/NAME may make (default 100; 0 = no bound).
func WithMaxTenants(n int) Option {
	return func(c *config) { c.maxTenants = n }
}

// WithAdminToken makes every admin route but health require "Authorization: Bearer token".
func WithAdminToken(token string) Option {
	return func(c *config) { c.adminToken = token }
}

// WithSoftRights lets through the calls the rights rules would refuse with 403, each answer marked
// "Iscmock-Cause: soft: would be 403: ..." and journaled as waived; Rights (GET /__admin/rights)
// reports what each identity called and the rights it lacked. Run an integration once this way to
// learn which rights, or user level, its account needs. By default the rules are enforced.
func WithSoftRights() Option {
	return func(c *config) { c.softRights = true }
}

// WithoutAdmin turns the admin API off, health aside.
func WithoutAdmin() Option {
	return func(c *config) { c.noAdmin = true }
}
