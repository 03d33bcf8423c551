package mock

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock/internal/api"
	"github.com/iscmock/iscmock/mock/internal/auth"
	"github.com/iscmock/iscmock/mock/internal/ids"
	"github.com/iscmock/iscmock/mock/internal/journal"
	"github.com/iscmock/iscmock/mock/internal/scenario"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// Tenant is one ISC tenant: its identities and tokens, clock, scenario, rate-limit windows,
// request journal and token signing key. Tokens minted in one tenant are refused by every other.
type Tenant struct {
	name   string // "" for the root tenant
	prefix string // the path it is served under
	server *Server

	clock   *Clock
	db      *store.DB
	faults  *scenario.Engine
	journal *journal.Ring
	usage   *api.Usage
	ids     *ids.Source
	api     *api.Service
	// claim gives a named tenant its slot on first real use (nil for the root tenant).
	claim func() error
	file  *keptFile // where its state is kept; nil when nothing is
}

// newTenant makes a tenant from the fixtures or, given its kept state, as it was kept.
func (s *Server) newTenant(name string, kept *tenantState) (*Tenant, error) {
	clock, err := newClock(s.cfg.start)
	if err != nil {
		return nil, err
	}
	t := &Tenant{name: name, server: s, clock: clock, db: s.proto.Clone(),
		journal: journal.New(s.cfg.journalSize), usage: &api.Usage{}, ids: ids.New(s.tenantSeed(name))}
	tenant := api.Tenant{Org: "iscmock", Pod: "mock01-useast1"}
	if name != "" {
		t.prefix, tenant.Org = "/tenants/"+name, name
		t.claim = func() error { return s.claim(t) }
	}
	var key *ecdsa.PrivateKey
	if kept != nil {
		if err := t.ids.UnmarshalBinary(kept.random); err != nil {
			return nil, err
		}
		tenant.ID, key = kept.id, kept.key
	} else {
		tenant.ID = t.ids.UUID()
	}
	t.faults = scenario.New(t.clock.Now, s.cfg.rateLimit)
	if s.scenario != nil {
		t.faults.Load(s.scenario)
	}
	t.api = api.New(api.Config{Claim: t.claim, Closing: s.closing, Held: s.held,
		Prefix: t.prefix, Store: t.db, Faults: t.faults, Journal: t.journal, Now: t.clock.Now, IDs: t.ids,
		Logger: s.cfg.logger.With("tenant", name), MaxTokensPerOwner: s.cfg.maxTokens,
		Tenant: tenant, SigningKey: key, SoftRights: s.cfg.softRights, Usage: t.usage, TokenFailures: &s.tokenFailures,
	})
	if kept != nil {
		if err := t.restore(kept); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ServeHTTP serves the tenant's API and, under /__admin, its admin API.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if t.prefix != "" {
		// Route within the tenant as at the root; the API's log and journal put the prefix back.
		u := *r.URL
		u.Path, u.RawPath = strings.TrimPrefix(u.Path, t.prefix), ""
		stripped := *r
		stripped.URL = &u
		r = &stripped
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/__admin"); ok && (rest == "" || rest[0] == '/') {
		t.serveAdmin(w, r)
		return
	}
	t.api.ServeHTTP(w, r)
}

// Name is the tenant's name; the root tenant's is "".
func (t *Tenant) Name() string { return t.name }

// URL is the tenant's base URL, as ISC's SDKs take it (tokens at URL()+"/oauth/token"); it is ""
// when the server does not listen.
func (t *Tenant) URL() string {
	if base := t.server.base(); base != "" {
		return base + t.prefix
	}
	return ""
}

// Reset puts the tenant back as its fixtures made it, the clock back to where it started (plus the
// real time since), the scenario's counters and rate-limit windows to zero (the scenario stays),
// the journal and the rights report empty, and its refused token requests forgotten. Tokens minted
// before stay valid until they expire (their signatures are checked anew). It fails, changing
// nothing, only when a state directory cannot keep it.
func (t *Tenant) Reset() error {
	if err := t.db.Reset(t.clock.reset); err != nil {
		return err
	}
	t.faults.Restart()
	t.journal.Clear()
	t.usage.Clear()
	t.api.Forget()
	return nil
}

// Clock returns the tenant's clock.
func (t *Tenant) Clock() *Clock { return t.clock }

// AccessToken mints a bearer token for the identity, as /oauth/token would from a token of it with
// the given scopes (default sp:scopes:all), valid for 12 hours of the tenant's clock.
func (t *Tenant) AccessToken(identityID string, scope ...string) (string, error) {
	token, _, err := t.accessToken(identityID, scope)
	return token, err
}

func (t *Tenant) accessToken(identityID string, scope []string) (string, int, error) {
	id, ok := t.db.Identity(identityID)
	if !ok {
		return "", 0, fmt.Errorf("iscmock: no identity %q", identityID)
	}
	if len(scope) == 0 {
		scope = store.DefaultScopes()
	}
	if problem := store.ListProblem(scope); problem != "" {
		return "", 0, fmt.Errorf("iscmock: scope %s", problem)
	}
	token, _, err := t.api.Mint(id, t.ids.Hex(16), scope, store.DefaultValidity*time.Second)
	return token, store.DefaultValidity, err
}

// Seed adds or replaces identities and tokens, as if they had always been there; either all of
// them are stored or none. Tokens may belong to identities of f or ones the tenant has. Seeded
// state is not kept by Reset, which returns to the fixtures.
func (t *Tenant) Seed(f Fixtures) error { return seed(t.db, f, t.clock.Now()) }

// Identity returns the identity with the given id.
func (t *Tenant) Identity(id string) (Identity, bool) {
	i, ok := t.db.Identity(id)
	return fromStoreIdentity(i), ok
}

// Identities returns every identity, ordered by id.
func (t *Tenant) Identities() []Identity {
	var out []Identity
	for _, i := range t.db.Identities() {
		out = append(out, fromStoreIdentity(i))
	}
	return out
}

// SetIdentityEnabled enables or disables an identity. A disabled identity's tokens mint no access
// tokens (401 at /oauth/token) and the bearer tokens it already holds get 401; enabling it again
// restores both. Reset returns it to its fixture state.
func (t *Tenant) SetIdentityEnabled(id string, enabled bool) error {
	return identityError(id, t.db.SetDisabled(id, !enabled))
}

// identityError names the identity a change could not find; other errors are the store's.
func identityError(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("iscmock: no identity %q: %w", id, ErrNotFound)
	}
	return err
}

// ErrNotFound is in the errors of changes to something the tenant does not have.
var ErrNotFound = errors.New("not found")

// RemoveIdentity removes an identity and all its tokens; its bearer tokens get 401 from then on.
// Reset brings back one that the fixtures have.
func (t *Tenant) RemoveIdentity(id string) error {
	return identityError(id, t.db.RemoveIdentity(id))
}

// PAT returns the token with the given id, secret included.
func (t *Tenant) PAT(id string) (PAT, bool) {
	p, ok := t.db.PAT(id)
	return fromStorePAT(p), ok
}

// PATs returns every token, oldest first.
func (t *Tenant) PATs() []PAT {
	pats := t.db.List(store.Query{Secrets: true})
	out := make([]PAT, len(pats))
	for i, p := range pats {
		out[i] = fromStorePAT(p)
	}
	return out
}

// LoadScenario replaces the running scenario, if any, with sc, its counters at zero and its
// "after" times counted from now. Requests the old one holds stop waiting.
func (t *Tenant) LoadScenario(sc Scenario) error {
	compiled, err := sc.compile()
	if err != nil {
		return fmt.Errorf("iscmock: scenario %q: %w", sc.Name, err)
	}
	t.faults.Load(compiled)
	return nil
}

// ClearScenario stops the running scenario: every request is served normally again, and requests
// it holds (a delay, a timeout fault) stop waiting and end as their rule says.
func (t *Tenant) ClearScenario() { t.faults.Load(nil) }

// ScenarioStats reports the running scenario's rules, each with how often its match held and how
// often it acted; ok is false when no scenario runs.
func (t *Tenant) ScenarioStats() (stats ScenarioStats, ok bool) {
	name, rules, ok := t.faults.Stats()
	stats.Name = name
	stats.Rules = []RuleStats{}
	for _, r := range rules {
		stats.Rules = append(stats.Rules, RuleStats{Name: r.Name, Matched: r.Matched, Fired: r.Fired})
	}
	stats.RateLimit = t.rateLimitStats()
	return stats, ok
}

// RecordedRequest is one API request in the tenant's journal.
type RecordedRequest struct {
	// Seq numbers the tenant's requests from 1; it is never reused, not even after Reset.
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"` // on the tenant's clock
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Query      string    `json:"query"`     // the raw query (client_secret masked), at most 1 KiB
	Operation  string    `json:"operation"` // the spec's operationId, "token", "info", or "" for unknown routes and OPTIONS
	Status     int       `json:"status"`    // 0 when a fault dropped the connection before an answer
	IdentityID string    `json:"identityId"`
	ClientID   string    `json:"clientId"`
	Rule       string    `json:"rule"`      // the scenario rule that acted ("rateLimit" for the limiter), or ""
	RequestID  string    `json:"requestId"` // the answer's SLPT-Request-ID
	// Duration is how long the answer took, in real time (scripted delays included); the admin
	// API shows it as durationMs.
	Duration time.Duration `json:"-"`
	// Cause is why the answer is not the API working normally (its Iscmock-Cause), at most 1 KiB;
	// "" for one that is.
	Cause string `json:"cause"`
	// Waived marks a call the rights rules would have refused, let through by soft rights.
	Waived bool `json:"waived"`
	// Request and Response are what each side said: headers and body, each body at most 16 KiB
	// and headers 8 KiB, cut on a character and marked. Credentials and secrets are masked.
	Request  RecordedMessage `json:"request,omitzero"`
	Response RecordedMessage `json:"response,omitzero"`
	// Dropped tells an entry whose headers and bodies the journal dropped, its oldest first, to keep
	// within 2 MiB of them per tenant.
	Dropped bool `json:"dropped"`
}

// RecordedMessage is one side of a recorded request.
type RecordedMessage struct {
	Headers string `json:"headers"` // "Name: value" lines, sorted
	Body    string `json:"body"`
}

// RequestFilter selects requests of the journal; each field that is set must hold, none set
// selects every request.
type RequestFilter struct {
	After       uint64   // requests after this seq
	Status      int      // an exact status, such as 403
	StatusClass int      // a class of statuses: 4 for 4xx
	Identity    string   // the caller's identity id
	Client      string   // the caller's client id
	Rule        string   // the scenario rule that acted ("rateLimit" for the limiter)
	Operations  []string // any of these operations (a V1 name matches its plain one)
	Waived      bool     // only calls soft rights let through
}

// holds reports whether the filter selects e, After aside (the journal reads only what is after it).
func (f RequestFilter) holds(e *journal.Entry) bool {
	switch {
	case f.Status != 0 && e.Status != f.Status,
		f.StatusClass != 0 && e.Status/100 != f.StatusClass,
		f.Identity != "" && e.IdentityID != f.Identity,
		f.Client != "" && e.ClientID != f.Client,
		f.Rule != "" && e.Rule != f.Rule,
		len(f.Operations) > 0 && !containsOperation(f.Operations, e.Operation),
		f.Waived && !e.Waived:
		return false
	}
	return true
}

// Requests returns the journal, oldest first: the last WithJournalSize API requests (admin calls
// are not recorded). With operations, only requests for those.
func (t *Tenant) Requests(operations ...string) []RecordedRequest {
	return t.RequestsWhere(RequestFilter{Operations: operations})
}

// RequestsWhere returns the requests of the journal the filter selects, oldest first.
func (t *Tenant) RequestsWhere(f RequestFilter) []RecordedRequest {
	out := []RecordedRequest{}
	for _, e := range t.journal.Entries(f.After, f.holds) {
		out = append(out, RecordedRequest{Seq: e.Seq, Time: e.Time, Method: e.Method, Path: e.Path, Query: e.Query,
			Operation: e.Operation, Status: e.Status, IdentityID: e.IdentityID, ClientID: e.ClientID, Rule: e.Rule,
			RequestID: e.RequestID, Duration: e.Duration, Cause: e.Cause, Waived: e.Waived,
			Request:  RecordedMessage{Headers: e.Request.Headers, Body: e.Request.Body},
			Response: RecordedMessage{Headers: e.Response.Headers, Body: e.Response.Body}, Dropped: e.Dropped})
	}
	return out
}

// CountRequests counts the requests of the journal the filter selects.
func (t *Tenant) CountRequests(f RequestFilter) int { return t.journal.Count(f.After, f.holds) }

// ClearRequests empties the journal.
func (t *Tenant) ClearRequests() { t.journal.Clear() }

// containsOperation reports whether op is one of ops, a V1 name matching its plain one.
func containsOperation(ops []string, op string) bool {
	for _, o := range ops {
		if strings.TrimSuffix(o, "V1") == op {
			return true
		}
	}
	return false
}

// IdentityRights is what an identity called in the tenant, and what the rights rules found it
// lacked: a right (and who has it), a scope of its token, or to own a token it patched.
type IdentityRights struct {
	IdentityID string           `json:"identityId"`
	Name       string           `json:"name"`
	UserLevels []string         `json:"userLevels"`
	Operations []OperationCalls `json:"operations"`
	Lacked     []LackedRight    `json:"lacked"` // most often lacked first
}

// OperationCalls counts an identity's calls of one operation: those the rights refused (403) and
// those they would have, let through by soft rights.
type OperationCalls struct {
	Operation string `json:"operation"`
	Calls     int    `json:"calls"`
	Refused   int    `json:"refused"`
	Waived    int    `json:"waived"`
}

// LackedRight is what the rights rules found an identity lacking, how often, and, for a right,
// who has it.
type LackedRight struct {
	What      string `json:"what"`
	Count     int    `json:"count"`
	GrantedBy string `json:"grantedBy,omitempty"`
}

// Rights reports, for each identity that called the API since the tenant was made or reset, the
// operations it called and what the rights rules found it lacking, by identity id. With
// WithSoftRights, one run of an integration shows all it needs.
func (t *Tenant) Rights() []IdentityRights {
	out := []IdentityRights{}
	for _, u := range t.usage.Report() {
		who, _ := t.db.Identity(u.Identity)
		r := IdentityRights{IdentityID: u.Identity, Name: who.Name, UserLevels: nonNil(who.UserLevels),
			Operations: []OperationCalls{}, Lacked: []LackedRight{}}
		for _, o := range u.Operations {
			r.Operations = append(r.Operations, OperationCalls{o.Operation, o.Calls, o.Refused, o.Waived})
		}
		for _, l := range u.Lacked {
			r.Lacked = append(r.Lacked, LackedRight{What: l.What, Count: l.Count, GrantedBy: auth.GrantedByName(l.What)})
		}
		out = append(out, r)
	}
	return out
}
