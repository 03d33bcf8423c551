package mock

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iscmock/iscmock/fixtures"
	"github.com/iscmock/iscmock/mock/internal/api"
	"github.com/iscmock/iscmock/mock/internal/ids"
	"github.com/iscmock/iscmock/mock/internal/scenario"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// Server is an in-memory ISC tenant serving the Personal Access Tokens API and /oauth/token.
type Server struct {
	cfg   config
	clock *Clock
	db    *store.DB
	api   *api.Service
	ids   *ids.Source
	// faults runs the scenario; it exists from the start so that one can be loaded at any time.
	faults *scenario.Engine

	listener  *httptest.Server
	closeOnce sync.Once
}

// New builds a server without listening; serve its Handler however you like.
func New(opts ...Option) (*Server, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	seed := ids.RandomSeed()
	if cfg.seed != nil {
		seed = *cfg.seed
	}
	s := &Server{cfg: cfg, clock: newClock(cfg.start), db: store.New(), ids: ids.New(seed)}
	s.faults = scenario.New(s.clock.Now)
	if err := s.load(); err != nil {
		return nil, err
	}
	s.db.Checkpoint()
	if err := s.loadScenarios(); err != nil {
		return nil, err
	}
	s.api = api.New(api.Config{
		Store: s.db, Faults: s.faults, Now: s.clock.Now, IDs: s.ids, Logger: cfg.logger, MaxTokensPerOwner: cfg.maxTokens,
		Tenant: api.Tenant{ID: s.ids.UUID(), Org: "iscmock", Pod: "mock01-useast1"},
	})
	return s, nil
}

// gather returns values followed by what load reads from each file.
func gather[T any](values []T, files []string, load func(string) (T, error)) ([]T, error) {
	all := slices.Clone(values)
	for _, path := range files {
		v, err := load(path)
		if err != nil {
			return nil, err
		}
		all = append(all, v)
	}
	return all, nil
}

// load seeds the store from the configured fixtures, or the embedded default tenant.
func (s *Server) load() error {
	sets, err := gather(s.cfg.fixtures, s.cfg.fixtureFiles, LoadFixtures)
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		f, err := ParseFixtures(fixtures.DefaultName, fixtures.Default)
		if err != nil {
			return err
		}
		sets = append(sets, f)
	}
	for _, f := range sets {
		if err := s.Seed(f); err != nil {
			return err
		}
	}
	return nil
}

// loadScenarios runs the configured scenario files and values as one scenario.
func (s *Server) loadScenarios() error {
	all, err := gather(s.cfg.scenarios, s.cfg.scenarioFile, LoadScenarioFile)
	if err != nil || len(all) == 0 {
		return err
	}
	sc, err := combine(all)
	if err != nil {
		return err
	}
	return s.LoadScenario(sc)
}

// NewServer starts a server on a loopback port for the duration of a test or benchmark; it is
// closed by tb.Cleanup. A configuration error fails tb at once.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := New(opts...)
	if err != nil {
		tb.Fatalf("iscmock: %v", err)
	}
	s.listener = httptest.NewServer(s.Handler())
	tb.Cleanup(s.Close)
	return s
}

// URL is the tenant's base URL, as ISC's SDKs take it (tokens at URL()+"/oauth/token"); it is ""
// for a server from New, which does not listen.
func (s *Server) URL() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.URL
}

// Handler serves the API: mount it in any http.Server or call it directly.
func (s *Server) Handler() http.Handler { return s.api }

// Close stops listening and waits for requests in flight. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.listener != nil {
			s.listener.Close()
		}
	})
}

// Reset puts the tenant back as its fixtures made it, the clock back to where it started (plus the
// real time since) and the scenario's counters and rate-limit windows to zero; the scenario stays.
// Tokens minted before stay valid until they expire.
func (s *Server) Reset() {
	s.db.Reset()
	s.clock.reset()
	s.faults.Restart()
}

// LoadScenario replaces the running scenario, if any, with sc, its counters at zero and its
// "after" times counted from now.
func (s *Server) LoadScenario(sc Scenario) error {
	compiled, err := sc.compile()
	if err != nil {
		return fmt.Errorf("iscmock: scenario %q: %w", sc.Name, err)
	}
	s.faults.Load(compiled)
	return nil
}

// ClearScenario stops the running scenario: every request is served normally again.
func (s *Server) ClearScenario() { s.faults.Load(nil) }

// ScenarioStats reports the running scenario's rules, each with how often its match held and how
// often it acted; ok is false when no scenario runs.
func (s *Server) ScenarioStats() (stats ScenarioStats, ok bool) {
	name, rules, ok := s.faults.Stats()
	stats.Name = name
	for _, r := range rules {
		stats.Rules = append(stats.Rules, RuleStats{Name: r.Name, Matched: r.Matched, Fired: r.Fired})
	}
	return stats, ok
}

// Clock returns the server's clock.
func (s *Server) Clock() *Clock { return s.clock }

// AccessToken mints a bearer token for the identity, as /oauth/token would from a token of it with
// the given scopes (default sp:scopes:all), valid for 12 hours of the server's clock.
func (s *Server) AccessToken(identityID string, scope ...string) (string, error) {
	id, ok := s.db.Identity(identityID)
	if !ok {
		return "", fmt.Errorf("iscmock: no identity %q", identityID)
	}
	if len(scope) == 0 {
		scope = []string{store.DefaultScope}
	}
	token, _, err := s.api.Mint(id, s.ids.Hex(16), scope, store.DefaultValidity*time.Second)
	return token, err
}

// Seed adds or replaces identities and tokens, as if they had always been there; either all of
// them are stored or none. Tokens may belong to identities of f or ones the server has. Seeded state
// is not kept by Reset, which returns to the fixtures.
func (s *Server) Seed(f Fixtures) error {
	if err := f.check(func(id string) bool { _, ok := s.db.Identity(id); return ok }); err != nil {
		return fmt.Errorf("iscmock: %w", err)
	}
	identities, pats := f.toStore(s.clock.Now())
	if err := s.db.Seed(identities, pats); err != nil {
		return fmt.Errorf("iscmock: %w", err)
	}
	return nil
}

// Identity returns the identity with the given id.
func (s *Server) Identity(id string) (Identity, bool) {
	i, ok := s.db.Identity(id)
	return fromStoreIdentity(i), ok
}

// Identities returns every identity, ordered by id.
func (s *Server) Identities() []Identity {
	var out []Identity
	for _, i := range s.db.Identities() {
		out = append(out, fromStoreIdentity(i))
	}
	return out
}

// PAT returns the token with the given id, secret included.
func (s *Server) PAT(id string) (PAT, bool) {
	p, ok := s.db.PAT(id)
	return fromStorePAT(p), ok
}

// PATs returns every token, oldest first.
func (s *Server) PATs() []PAT {
	var out []PAT
	for _, p := range s.db.List(store.Query{}) {
		out = append(out, fromStorePAT(p))
	}
	return out
}
