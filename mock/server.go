package mock

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscmock/iscmock/fixtures"
	"github.com/iscmock/iscmock/mock/internal/api"
	"github.com/iscmock/iscmock/mock/internal/ids"
	"github.com/iscmock/iscmock/mock/internal/scenario"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// Server serves ISC tenants: the root tenant at its base URL, and isolated ones at
// /tenants/NAME, each made on first use from the same fixtures and scenario, with its own state,
// clock, scenario counters, rate-limit windows, journal and signing key. The root tenant's methods
// (Reset, Clock, AccessToken, Seed, PATs, LoadScenario, Requests, ...) are the Server's.
type Server struct {
	*Tenant

	cfg   config
	seed  uint64
	proto *store.DB // the fixtures, seeded once: every tenant starts from a clone
	// scenario is the configured scenarios, combined and compiled once: every tenant runs it (the
	// engine keeps each tenant's counts), however many are made. Nil for none.
	scenario *scenario.Scenario

	mu      sync.Mutex
	tenants map[string]*Tenant
	// pending holds the named tenants that requests are using but nothing has claimed yet: a
	// tenant takes a slot only when it is really used (claim), so requests that a fresh tenant
	// refuses cannot fill the slots. An entry lives while requests use it.
	pending map[string]*pendingTenant
	// claiming holds the tenants being claimed while their files are first written, outside mu.
	claiming map[string]*claiming

	// serving is held shared by every request while it is served, and by Close alone once held
	// requests are released, so that Close returns, and gives up a state directory, only after the
	// last request has ended; closed, requests are refused.
	serving sync.RWMutex
	closed  bool

	listener     *httptest.Server
	releaseState func()        // frees the state directory; nil without one
	closing      chan struct{} // closed by Close: held requests stop waiting
	held         chan struct{} // a slot per request a scenario holds, MaxHeld of them
	// tokenFailures is each tenant's last refused token requests, by remote address: the server's,
	// as a tenant made for a refused request is gone when it ends.
	tokenFailures api.TokenFailures
	closeOnce     sync.Once
}

// New builds a server without listening; serve its Handler however you like.
func New(opts ...Option) (*Server, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, seed: ids.RandomSeed(), tenants: map[string]*Tenant{}, pending: map[string]*pendingTenant{},
		claiming: map[string]*claiming{}, closing: make(chan struct{}), held: make(chan struct{}, MaxHeld)}
	if cfg.seed != nil {
		s.seed = *cfg.seed
	}
	var err error
	if s.proto, err = s.prototype(); err != nil {
		return nil, err
	}
	scenarios, err := gather(cfg.scenarios)
	if err != nil {
		return nil, err
	}
	if len(scenarios) > 0 {
		sc, err := combine(scenarios)
		if err != nil {
			return nil, fmt.Errorf("iscmock: %w", err)
		}
		if s.scenario, err = sc.compile(); err != nil {
			return nil, fmt.Errorf("iscmock: scenario %q: %w", sc.Name, err)
		}
	}
	if err := s.openTenants(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openTenants makes the root tenant and, with a state directory, every tenant it keeps, as they
// were kept.
func (s *Server) openTenants() error {
	if s.cfg.stateDir == "" {
		var err error
		s.Tenant, err = s.newTenant("", nil)
		return err
	}
	if err := s.openStateDir(); err != nil {
		return err
	}
	names, err := s.keptTenants()
	if err != nil {
		return err
	}
	names = append([]string{""}, names...)
	opened := make([]*Tenant, len(names))
	errs := make([]error, len(names))
	// Files are read and decoded a few at a time, one a processor: a start is that much sooner.
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		wg.Go(func() {
			for i := range work {
				opened[i], errs[i] = s.openKept(names[i])
			}
		})
	}
	for i := range names {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.Tenant = opened[0]
	for i, name := range names[1:] {
		s.tenants[name] = opened[i+1]
	}
	return nil
}

// openKept makes the tenant name as its state file has it, or anew if it has none (then writing
// its file), and keeps it.
func (s *Server) openKept(name string) (*Tenant, error) {
	st, err := s.readState(name)
	if err != nil {
		return nil, err
	}
	t, err := s.newTenant(name, st)
	if err != nil {
		return nil, err
	}
	if err := t.keep(st != nil); err != nil {
		return nil, fmt.Errorf("iscmock: %w", err)
	}
	return t, nil
}

// prototype seeds the configured fixtures, or the embedded default tenant, into a store that
// tenants clone. Tokens without a created date are created when the server starts.
func (s *Server) prototype() (*store.DB, error) {
	sets, err := gather(s.cfg.fixtures)
	switch {
	case err != nil:
		return nil, err
	case len(sets) == 0:
		return defaultPrototype()
	}
	db := store.New()
	clock, err := newClock(s.cfg.start)
	if err != nil {
		return nil, err
	}
	now := clock.Now()
	for _, f := range sets {
		if err := seed(db, f, now); err != nil {
			return nil, err
		}
	}
	return db, nil
}

// defaultPrototype is the embedded default tenant, seeded once per process: its dates are all
// given, so every server can start from the same store.
var defaultPrototype = sync.OnceValues(func() (*store.DB, error) {
	f, err := ParseFixtures(fixtures.DefaultName, fixtures.Default)
	if err != nil {
		return nil, err
	}
	db := store.New()
	return db, seed(db, f, time.Now())
})

// seed adds checked fixtures to db, all or nothing; tokens may belong to identities db has.
func seed(db *store.DB, f Fixtures, now time.Time) error {
	if err := f.check(func(id string) bool { _, ok := db.Identity(id); return ok }); err != nil {
		return fmt.Errorf("iscmock: %w", err)
	}
	identities, pats := f.toStore(now)
	if err := db.Seed(identities, pats); err != nil {
		return fmt.Errorf("iscmock: %w", err)
	}
	return nil
}

// gather reads each source, in order.
func gather[T any](sources []func() (T, error)) ([]T, error) {
	var all []T
	for _, read := range sources {
		v, err := read()
		if err != nil {
			return nil, fmt.Errorf("iscmock: %w", err)
		}
		all = append(all, v)
	}
	return all, nil
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

// base is the server's own URL, "" when it does not listen.
func (s *Server) base() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.URL
}

// Handler is the server itself, for code that wants an http.Handler by name.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP serves every tenant and the admin API: mount the server in any http.Server or call it
// directly. Called directly (a recorder, no connection), a fault that would drop the connection
// ends the response as it stands instead, naming itself in the Iscmock-Fault header. (It shadows
// the root Tenant's ServeHTTP, which serves the root tenant alone.) Once the server is closed it
// answers ISC's 503.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serving.RLock()
	defer s.serving.RUnlock()
	if s.closed {
		s.Tenant.api.Refuse(w, r, errClosed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/tenants/")
	if !ok {
		s.Tenant.ServeHTTP(w, r)
		return
	}
	name, _, _ := strings.Cut(rest, "/")
	t, release, err := s.enter(name)
	if err != nil {
		s.Tenant.api.Refuse(w, r, err)
		return
	}
	defer release()
	t.ServeHTTP(w, r)
}

type pendingTenant struct {
	t    *Tenant
	refs int // requests using it
}

// enter returns the tenant a request to /tenants/name is served by: the one made so far, or one
// made for the request (shared with any others in flight) that takes a slot only if claimed.
// release must be called when the request is done.
func (s *Server) enter(name string) (t *Tenant, release func(), err error) {
	if !ids.Valid(name) {
		return nil, nil, badTenantName(name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tenants[name]; ok {
		return t, func() {}, nil
	}
	p, ok := s.pending[name]
	if !ok {
		t, err := s.newTenant(name, nil)
		if err != nil {
			return nil, nil, err
		}
		p = &pendingTenant{t: t}
		s.pending[name] = p
	}
	p.refs++
	return p.t, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if p.refs--; p.refs == 0 && s.pending[name] == p {
			delete(s.pending, name)
		}
	}, nil
}

// errClosed answers a request that reaches a closed server.
var errClosed = &api.Error{Status: http.StatusServiceUnavailable, Code: "503 Service Unavailable",
	Text: "The server is stopping.", Cause: "iscmock was closed: it serves no more requests"}

// claiming is a claim of a tenant in progress: its file is being written, outside the server's
// lock, so that one tenant's disk does not hold up the others.
type claiming struct {
	t    *Tenant
	done chan struct{}
	err  error // once done
}

// claim gives t a slot of its own, when a request really uses it: a token minted from its
// fixtures, an admin call that passed the admin checks.
func (s *Server) claim(t *Tenant) error {
	s.mu.Lock()
	for {
		if s.tenants[t.name] == t {
			s.mu.Unlock()
			return nil
		}
		c, ok := s.claiming[t.name]
		if !ok {
			break
		}
		s.mu.Unlock() // another request claims it: its outcome is this one's
		<-c.done
		if c.t != t || c.err != nil {
			return cmp.Or(c.err, api.NotFound(fmt.Sprintf("Tenant %q has been dropped.", t.name)))
		}
		s.mu.Lock()
	}
	if p := s.pending[t.name]; p == nil || p.t != t {
		s.mu.Unlock()
		return api.NotFound(fmt.Sprintf("Tenant %q has been dropped.", t.name))
	}
	if err := s.full(); err != nil {
		s.mu.Unlock()
		return err
	}
	if err := s.foldsOnto(t.name); err != nil {
		s.mu.Unlock()
		return err
	}
	c := &claiming{t: t, done: make(chan struct{})}
	s.claiming[t.name] = c
	s.mu.Unlock()

	c.err = t.keep(false)

	s.mu.Lock()
	delete(s.claiming, t.name)
	if c.err == nil {
		s.tenants[t.name] = t
	}
	s.mu.Unlock()
	close(c.done)
	return c.err
}

// foldsOnto refuses, with a state directory, a tenant name that differs only in case from one the
// server holds: on a file system that ignores case (Docker Desktop's mounts on macOS and Windows)
// the two would share a file. s.mu is held.
func (s *Server) foldsOnto(name string) error {
	if s.cfg.stateDir == "" {
		return nil
	}
	held := slices.Concat(slices.Collect(maps.Keys(s.tenants)), slices.Collect(maps.Keys(s.claiming)))
	if i := slices.IndexFunc(held, func(other string) bool { return other != name && strings.EqualFold(other, name) }); i >= 0 {
		return api.Conflict(fmt.Sprintf("Tenant %q differs only in case from tenant %q, which this server keeps in its state "+
			"directory: where case is ignored, as on macOS and Windows, the two would share one file. Use another name.", name, held[i]))
	}
	return nil
}

func badTenantName(name string) error {
	return api.NotFound(fmt.Sprintf("No tenant %q: tenant names are 1 to 64 letters, digits, '-' or '_'.", name))
}

// MaxHeld bounds the requests a server's scenarios hold at once (a delay, a timeout fault); past it,
// a rule acts at once instead of holding one more.
const MaxHeld = 1000

// MaxTokenFailures bounds the refused token requests a server remembers (one per tenant and remote
// address, for a minute), so that a 401 for a request without a token can say why the client got
// none; past it, any one is forgotten for the newest.
const MaxTokenFailures = api.MaxTokenFailures

// Close stops listening and waits for requests in flight, which it first releases from whatever
// a scenario holds them for (a delay, a timeout fault), so it returns promptly. It is safe to call
// more than once, and on a server that does not listen (it releases held requests then).
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		if s.listener != nil {
			s.listener.Close()
		}
		// Requests served through Handler by a server of the caller's: the last of them ends here,
		// and only then is the state directory given up, with every answered write in it.
		s.serving.Lock()
		s.closed = true
		s.serving.Unlock()
		if s.releaseState != nil {
			s.releaseState()
		}
	})
}

// OpenTenant returns the tenant served at /tenants/name, making it from the fixtures and
// scenario on first use. It fails for a name that is not 1-64 of [A-Za-z0-9_-] and, past
// WithMaxTenants, for a new one.
func (s *Server) OpenTenant(name string) (*Tenant, error) {
	t, release, err := s.enter(name)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := s.claim(t); err != nil {
		return nil, err
	}
	return t, nil
}

// full refuses a new tenant past WithMaxTenants; tenants being claimed count.
func (s *Server) full() error {
	if s.cfg.maxTenants > 0 && len(s.tenants)+len(s.claiming) >= s.cfg.maxTenants {
		return api.LimitError(fmt.Sprintf("This server holds at most %d tenants; DELETE /__admin/tenants/NAME frees one.", s.cfg.maxTenants))
	}
	return nil
}

// Tenants lists the names of the tenants made so far (the root tenant aside), sorted.
func (s *Server) Tenants() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.tenants))
	for n := range s.tenants {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// tenant returns the tenant of that name if it has been made, never making one.
func (s *Server) tenant(name string) (*Tenant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[name]
	return t, ok
}

// DropTenant forgets a tenant and all its state (its file in a state directory too), releasing
// the requests its scenario holds; it reports whether there was one. A later request to its URL
// makes it anew. It fails, dropping nothing, when the tenant's file cannot be removed.
func (s *Server) DropTenant(name string) (bool, error) {
	s.mu.Lock()
	t, ok := s.tenants[name]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	if t.file != nil { // outside s.mu: a large tenant's file takes a while to remove
		if err := t.file.forget(t); err != nil {
			return false, err
		}
	}
	s.mu.Lock()
	if s.tenants[name] == t {
		delete(s.tenants, name)
	}
	s.mu.Unlock()
	t.ClearScenario()
	t.api.Forget()
	return true, nil
}

// tenantSeed derives a tenant's seed, so that a seeded server's tenants differ but repeat.
func (s *Server) tenantSeed(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return s.seed ^ h.Sum64()
}
