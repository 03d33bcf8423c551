// Package scenario decides, request by request, whether a loaded scenario scripts a fault or a
// response, and runs the gateway's rate limiter. It counts exactly under concurrency and takes its
// time from the server's clock and its chance from the scenario's seed; it writes no HTTP.
package scenario

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Scenario is a checked scenario, ready to run.
type Scenario struct {
	Name      string
	Seed      uint64
	RateLimit *RateLimit
	Rules     []Rule
}

// RateLimit is ISC's gateway limit: Requests per Window, counted per Per key and API version.
type RateLimit struct {
	Requests int
	Window   time.Duration
	Per      string // client, token or global
}

// Rule is one scripted behaviour: which requests it counts, when it acts, and what it does.
type Rule struct {
	Name   string
	Match  Match
	When   When
	Action Action
}

// Match selects requests; empty fields match everything.
type Match struct {
	Operation string // operationId without the V1 suffix, "token" or "info"
	Method    string
	Path      string // exact, or a glob whose * matches any run of characters, slashes included
	Version   string
	Identity  string
	ClientID  string
}

// When says which of the matching requests (counted from 1) the rule acts on.
type When struct {
	Calls       []int
	From        int // 0: from the first, or with Every alone from the Every-th
	Times       int // 0: no bound
	Every       int // 0: every one; k: every k-th, counted from From
	Probability float64
	After       time.Duration
}

// Action is what a rule does: a fault, or a response after an optional delay. Status 0 with a
// delay passes the request on, late.
type Action struct {
	Fault   string // reset, empty, malformed, timeout
	Status  int
	Headers map[string]string
	Body    []byte // nil: ISC's body for the status
	Delay   time.Duration
}

// Describe says what the action does, for a person: "status 429", "delay 250ms, then fault reset".
func (a *Action) Describe() string {
	var parts []string
	if a.Delay > 0 {
		parts = append(parts, "delay "+a.Delay.String())
	}
	switch {
	case a.Fault != "":
		parts = append(parts, "fault "+a.Fault)
	case a.Status != 0:
		parts = append(parts, "status "+strconv.Itoa(a.Status))
	default:
		parts = append(parts, "the answer as usual")
	}
	return strings.Join(parts, ", then ")
}

// Faults the engine knows.
const (
	FaultReset     = "reset"
	FaultEmpty     = "empty"
	FaultMalformed = "malformed"
	FaultTimeout   = "timeout"
)

// Request is what the engine sees of a request. Caller is called at most once, and only when a
// rule or the limiter needs to know who is calling.
type Request struct {
	Operation string
	Version   string
	Method    string
	Path      string
	Caller    func() Caller
}

// Caller identifies who makes a request; empty fields are unknown.
type Caller struct {
	Identity string
	ClientID string
	Token    string // what tells one access token from another: its jti, short whatever the token's size
}

// rulesNeedCaller reports whether a rule looks at who calls.
func (sc *Scenario) rulesNeedCaller() bool {
	for _, r := range sc.Rules {
		if r.Match.Identity != "" || r.Match.ClientID != "" {
			return true
		}
	}
	return false
}

// Decision is the engine's answer: a rule's action, a rate-limit refusal, or nothing.
type Decision struct {
	Rule       string
	Action     *Action
	RetryAfter int // seconds; > 0 when the rate limiter refused the request
	// Released is closed when the scenario that decided is cleared or replaced: a request it
	// holds (a delay, a timeout) stops waiting then.
	Released <-chan struct{}
	// What explains the decision: the limit that refused, the window it counted in and the count
	// there; the rule's matching call that it acted on.
	Limit  *RateLimit
	Window time.Time
	Count  int
	Call   int
	// Caller is who called, when the decision needed to know (Known).
	Caller Caller
	Known  bool
}

// RuleStats is how often a rule's match held and how often it acted.
type RuleStats struct {
	Name    string
	Matched int
	Fired   int
}

// Engine runs one scenario at a time for one tenant, and the tenant's standing rate limit.
type Engine struct {
	now  func() time.Time
	base *RateLimit // applies while the scenario sets none

	mu     sync.Mutex
	sc     *Scenario
	loaded time.Time
	rng    *rand.Rand
	stats  []RuleStats
	window time.Time      // start of the rate limiter's current window
	counts map[string]int // requests per key and version in it
	// released is closed when the running scenario goes, releasing the requests it holds.
	released chan struct{}
}

// New returns an engine with no scenario. A base rate limit, if not nil, applies whenever the
// running scenario sets none of its own.
func New(now func() time.Time, base *RateLimit) *Engine {
	return &Engine{now: now, base: base, released: make(chan struct{})}
}

// Load makes sc the running scenario, with fresh counters; nil clears it. Requests the scenario
// before held are released.
func (e *Engine) Load(sc *Scenario) {
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.released)
	e.released = make(chan struct{})
	e.sc = sc
	e.restart()
}

// Restart zeroes the counters and rate-limit windows and restarts the scenario's clock and chance.
func (e *Engine) Restart() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.restart()
}

func (e *Engine) restart() {
	e.loaded = e.now()
	e.window, e.counts = time.Time{}, nil
	e.stats = nil
	if e.sc == nil {
		return
	}
	e.rng = rand.New(rand.NewPCG(e.sc.Seed, 0x15c))
	for _, r := range e.sc.Rules {
		e.stats = append(e.stats, RuleStats{Name: r.Name})
	}
}

// Stats returns the scenario's name and its rules' counts; ok is false without a scenario.
func (e *Engine) Stats() (name string, rules []RuleStats, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sc == nil {
		return "", nil, false
	}
	return e.sc.Name, append([]RuleStats(nil), e.stats...), true
}

// Decide counts the request against every rule and the limiter and says what to do with it. The
// gateway's limiter comes first: a request it refuses reaches no rule.
func (e *Engine) Decide(r Request) Decision {
	e.mu.Lock()
	sc := e.sc
	e.mu.Unlock()
	limit := e.limitUnder(sc)
	if sc == nil && limit == nil {
		return Decision{}
	}
	// Who calls may take reading a body or checking a signature: find out before taking the lock,
	// so one slow client does not hold up the tenant.
	var d Decision
	if (limit != nil || sc.rulesNeedCaller()) && r.Caller != nil {
		d.Caller, d.Known = r.Caller(), true
	}
	who := func() Caller { return d.Caller }
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sc != sc {
		return Decision{} // replaced meanwhile: this request belongs to neither
	}
	now := e.now()
	if d.RetryAfter, d.Count = e.limit(limit, r, now, who); d.RetryAfter > 0 {
		d.Limit, d.Window = limit, e.window
		return d
	}
	if sc == nil {
		return d
	}
	d.Released = e.released
	for i, rule := range sc.Rules {
		if !rule.Match.matches(r, who) {
			continue
		}
		st := &e.stats[i]
		st.Matched++
		if d.Action == nil && rule.When.holds(st.Matched, st.Fired, now.Sub(e.loaded), e.rng) {
			st.Fired++
			d.Rule, d.Action, d.Call = rule.Name, &sc.Rules[i].Action, st.Matched
		}
	}
	return d
}

// limitUnder is the rate limit that applies while sc runs: its own, else the engine's standing one.
func (e *Engine) limitUnder(sc *Scenario) *RateLimit {
	if sc != nil && sc.RateLimit != nil {
		return sc.RateLimit
	}
	return e.base
}

// limit counts the request in its fixed window and returns the seconds to wait when it is over the
// limit, and the count. Only versioned API calls with a known caller are limited, as the gateway
// counts per client and API version.
func (e *Engine) limit(l *RateLimit, r Request, now time.Time, who func() Caller) (retry, count int) {
	if l == nil || r.Version == "" {
		return 0, 0
	}
	c := who()
	var key string
	switch l.Per {
	case "global":
	case "token":
		key = c.Token
	default:
		key = c.ClientID
	}
	if key == "" && l.Per != "global" {
		return 0, 0
	}
	key += "\x00" + r.Version
	// Windows are aligned to multiples of their length, so every key's window starts together;
	// when a new one starts, every count is spent.
	start := now.Truncate(l.Window)
	if !start.Equal(e.window) {
		e.window, e.counts = start, map[string]int{}
	}
	e.counts[key]++
	if e.counts[key] <= l.Requests {
		return 0, e.counts[key]
	}
	wait := start.Add(l.Window).Sub(now)
	return max(1, int((wait+time.Second-1)/time.Second)), e.counts[key]
}

func (m Match) matches(r Request, who func() Caller) bool {
	switch {
	case m.Operation != "" && m.Operation != r.Operation,
		m.Method != "" && m.Method != r.Method,
		m.Version != "" && m.Version != r.Version,
		m.Path != "" && !Glob(m.Path, r.Path):
		return false
	}
	if m.Identity != "" && who().Identity != m.Identity {
		return false
	}
	return m.ClientID == "" || who().ClientID == m.ClientID
}

// holds says whether the rule acts on its n-th matching call, having acted fired times already,
// elapsed after the scenario was loaded.
func (w When) holds(n, fired int, elapsed time.Duration, rng *rand.Rand) bool {
	if len(w.Calls) > 0 {
		found := false
		for _, c := range w.Calls {
			found = found || c == n
		}
		if !found {
			return false
		}
	}
	// "every: 3" alone reads as "every third call": 3, 6, 9. With from: n it is n, n+3, n+6.
	from := w.From
	if from == 0 {
		from = max(w.Every, 1)
	}
	switch {
	case n < from,
		w.Every > 0 && (n-from)%w.Every != 0,
		w.Times > 0 && fired >= w.Times,
		elapsed < w.After:
		return false
	}
	// Draw last, so that the seed's sequence depends only on the calls that reach this point.
	return w.Probability == 0 || rng.Float64() < w.Probability
}

// Glob matches s against a pattern in which * stands for any run of characters.
func Glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
