package mock

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock/internal/api"
	"github.com/iscmock/iscmock/mock/internal/scenario"
)

// Scenario scripts how the tenant misbehaves: faults and responses for chosen requests, and ISC's
// gateway rate limit. It is the format of scenario files (YAML or JSON).
type Scenario struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Seed        uint64     `yaml:"seed"` // makes probability rules repeatable
	RateLimit   *RateLimit `yaml:"rateLimit"`
	Rules       []Rule     `yaml:"rules"`
}

// RateLimit turns on the gateway's fixed-window limiter: Requests per Window of the mock clock,
// counted per Per (client, token or global) and API version. Over it: 429 with Retry-After set to
// the seconds left in the window.
type RateLimit struct {
	Requests int           `yaml:"requests"`
	Window   time.Duration `yaml:"window"`
	Per      string        `yaml:"per"` // default client
}

// Rule is one scripted behaviour. It counts every request its Match selects; the first rule whose
// Match and When hold acts, with Respond or Fault.
type Rule struct {
	Name    string    `yaml:"name"`
	Match   RuleMatch `yaml:"match"`
	When    When      `yaml:"when"`
	Respond *Response `yaml:"respond"`
	Fault   string    `yaml:"fault"` // reset, empty, malformed or timeout
	// Delay holds a fault back this long; for timeout it is how long the request hangs (default 30 s).
	Delay time.Duration `yaml:"delay"`
}

// RuleMatch selects requests; every field given must match, none given matches every request.
type RuleMatch struct {
	Operation string `yaml:"operation"` // operationId (listPersonalAccessTokens, ...; V1 names too), token or info
	Method    string `yaml:"method"`
	Path      string `yaml:"path"`     // exact, or a glob: * matches any run of characters
	Version   string `yaml:"version"`  // beta, v3, v2024, v2025, v2026, v1
	Identity  string `yaml:"identity"` // the caller's identity id
	ClientID  string `yaml:"clientId"` // the token's client_id (the PAT id)
}

// When picks which matching requests, counted from 1, the rule acts on. Calls stands alone; From,
// Times and Every combine; Probability and After combine with anything.
type When struct {
	Calls       []int         `yaml:"calls"`
	From        int           `yaml:"from"`
	Times       int           `yaml:"times"` // at most this many times; 0: no bound
	Every       int           `yaml:"every"` // every k-th call: k, 2k, 3k; with From n: n, n+k, n+2k
	Probability *float64      `yaml:"probability"`
	After       time.Duration `yaml:"after"` // of mock-clock time since the scenario was loaded
}

// Response is a scripted answer. Without Body, ISC's body for the status; without Status, the
// request is served normally after Delay.
type Response struct {
	Status  int               `yaml:"status"`
	Headers map[string]string `yaml:"headers"`
	Body    any               `yaml:"body"`
	Delay   time.Duration     `yaml:"delay"`
}

// RuleStats says how often a rule's match held and how often the rule acted.
type RuleStats struct {
	Name    string `json:"name"`
	Matched int    `json:"matched"`
	Fired   int    `json:"fired"`
}

// ScenarioStats is the running scenario's name, its rules' counts and, when it sets one, the
// rate limiter's current window.
type ScenarioStats struct {
	Name      string          `json:"name"`
	Rules     []RuleStats     `json:"rules"`
	RateLimit *RateLimitStats `json:"rateLimit,omitempty"`
}

// ParseScenario reads a scenario document, YAML or JSON. Errors name the field and its line; name
// is the file name they start with.
func ParseScenario(name string, data []byte) (Scenario, error) {
	return parse(name, data, func(s Scenario) error { _, err := s.compile(); return err })
}

// LoadScenarioFile reads and parses a scenario file: a regular file of at most MaxScenarioFile
// bytes.
func LoadScenarioFile(path string) (Scenario, error) {
	return readFile(path, MaxScenarioFile, ParseScenario)
}

// MaxDelay bounds every delay a scenario scripts, and is how long a timeout fault holds a request
// when no delay is given: well inside the binary's one-minute write timeout.
const MaxDelay = 30 * time.Second

var (
	versionNames = func() []string {
		var out []string
		for _, v := range api.Versions {
			out = append(out, v.Name)
		}
		return out
	}()
	operationNames = []string{api.OpList, api.OpCreate, api.OpPatch, api.OpDelete, api.OpToken, api.OpInfo}
	unversioned    = []string{api.OpToken, api.OpInfo} // no version, no V1 name
	faultNames     = []string{scenario.FaultReset, scenario.FaultEmpty, scenario.FaultMalformed, scenario.FaultTimeout}
	perNames       = []string{"client", "token", "global"}
)

// compile checks the scenario and turns it into what the engine runs.
func (s Scenario) compile() (*scenario.Scenario, error) {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, fieldErr(path, format, args...)) }
	out := &scenario.Scenario{Name: s.Name, Seed: s.Seed}
	if l := s.RateLimit; l != nil {
		per := cmp.Or(l.Per, "client")
		if l.Requests < 1 {
			add("rateLimit.requests", "must be at least 1; got %d", l.Requests)
		}
		if l.Window <= 0 {
			add("rateLimit.window", "must be a positive duration such as 10s; got %v", l.Window)
		}
		if !slices.Contains(perNames, per) {
			add("rateLimit.per", "must be one of %s; got %q", strings.Join(perNames, ", "), l.Per)
		}
		out.RateLimit = &scenario.RateLimit{Requests: l.Requests, Window: l.Window, Per: per}
	}
	names := map[string]bool{}
	for i, r := range s.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		rule := scenario.Rule{Name: cmp.Or(r.Name, fmt.Sprintf("rule %d", i+1))}
		if names[rule.Name] {
			add(p+".name", "%q names another rule too; rule names must be unique", rule.Name)
		}
		names[rule.Name] = true
		rule.Match = compileMatch(add, p+".match", r.Match)
		rule.When = compileWhen(add, p+".when", r.When)
		rule.Action = compileAction(add, p, r)
		out.Rules = append(out.Rules, rule)
	}
	return out, errors.Join(errs...)
}

func compileMatch(add addFunc, p string, m RuleMatch) scenario.Match {
	op := strings.TrimSuffix(m.Operation, "V1")
	if m.Operation != "" && (!slices.Contains(operationNames, op) || slices.Contains(unversioned, op) && m.Operation != op) {
		add(p+".operation", "unknown operation %q; known: %s (and the v1 document's ...V1 names)", m.Operation, strings.Join(operationNames, ", "))
	}
	if m.Version != "" && !slices.Contains(versionNames, m.Version) {
		add(p+".version", "unknown version %q; known: %s", m.Version, strings.Join(versionNames, ", "))
	}
	if slices.Contains(unversioned, op) && m.Version != "" {
		add(p+".version", "/oauth/%s has no version, so this rule could never match", op)
	}
	method := strings.ToUpper(m.Method)
	if m.Method != "" && strings.ContainsFunc(method, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		add(p+".method", "%q is not an HTTP method", m.Method)
	}
	if m.Path != "" && !strings.HasPrefix(m.Path, "/") && !strings.HasPrefix(m.Path, "*") {
		add(p+".path", "must start with / (or *); got %q", m.Path)
	}
	return scenario.Match{Operation: op, Method: method, Path: m.Path, Version: m.Version, Identity: m.Identity, ClientID: m.ClientID}
}

func compileWhen(add addFunc, p string, w When) scenario.When {
	out := scenario.When{Calls: w.Calls, From: w.From, Times: w.Times, Every: w.Every, After: w.After}
	if w.Calls != nil {
		if len(w.Calls) == 0 {
			add(p+".calls", "is empty, so the rule would never act")
		}
		if w.From != 0 || w.Times != 0 || w.Every != 0 {
			add(p+".calls", "stands alone: give calls, or from/times/every, not both")
		}
		for j, c := range w.Calls {
			if c < 1 {
				add(fmt.Sprintf("%s.calls[%d]", p, j), "calls count from 1; got %d", c)
			}
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"from", w.From}, {"times", w.Times}, {"every", w.Every}} {
		if f.v < 0 {
			add(p+"."+f.name, "must be at least 1; got %d", f.v)
		}
	}
	if w.Probability != nil {
		if *w.Probability <= 0 || *w.Probability > 1 {
			add(p+".probability", "must be more than 0 and at most 1; got %v", *w.Probability)
		}
		out.Probability = *w.Probability
	}
	if w.After < 0 {
		add(p+".after", "must not be negative; got %v", w.After)
	}
	return out
}

func compileAction(add addFunc, p string, r Rule) scenario.Action {
	switch {
	case r.Respond == nil && r.Fault == "":
		add(p, "needs respond or fault")
		return scenario.Action{}
	case r.Respond != nil && r.Fault != "":
		add(p+".fault", "give respond or fault, not both")
	case r.Respond != nil && r.Delay != 0:
		add(p+".delay", "is for faults; a response's delay goes in respond.delay")
	}
	checkDelay(add, p+".delay", r.Delay)
	if r.Fault != "" {
		if !slices.Contains(faultNames, r.Fault) {
			add(p+".fault", "unknown fault %q; known: %s", r.Fault, strings.Join(faultNames, ", "))
		}
		delay := r.Delay
		if r.Fault == scenario.FaultTimeout && delay == 0 {
			delay = MaxDelay
		}
		return scenario.Action{Fault: r.Fault, Delay: delay}
	}
	resp := r.Respond
	a := scenario.Action{Status: resp.Status, Headers: resp.Headers, Delay: resp.Delay}
	switch {
	case resp.Status == 0 && resp.Delay == 0:
		add(p+".respond", "needs a status, or a delay for a slow but normal answer")
	case resp.Status != 0 && (resp.Status < 200 || resp.Status > 599):
		add(p+".respond.status", "must be an HTTP status from 200 to 599; got %d", resp.Status)
	case resp.Status == 0 && (resp.Body != nil || len(resp.Headers) > 0):
		add(p+".respond", "headers and body need a status")
	}
	checkDelay(add, p+".respond.delay", resp.Delay)
	for k := range resp.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			add(p+".respond.headers", "%q is not a header name", k)
		}
	}
	if resp.Status == http.StatusTooManyRequests && !slices.ContainsFunc(slices.Collect(maps.Keys(resp.Headers)), func(k string) bool {
		return strings.EqualFold(k, "Retry-After")
	}) {
		a.Headers = maps.Clone(resp.Headers) // ISC's 429 always says when to retry
		if a.Headers == nil {
			a.Headers = map[string]string{}
		}
		a.Headers["Retry-After"] = "1"
	}
	if resp.Body != nil {
		b, err := json.Marshal(resp.Body)
		if err != nil {
			add(p+".respond.body", "cannot be written as JSON: %v", err)
		}
		a.Body = b
	}
	return a
}

func checkDelay(add addFunc, path string, d time.Duration) {
	if d < 0 || d > MaxDelay {
		add(path, "must be from 0 to %v; got %v", MaxDelay, d)
	}
}

// combine joins scenarios given together into one: rules in order, the first name and seed, and
// the rate limit of the one that sets it.
func combine(all []Scenario) (Scenario, error) {
	var out Scenario
	var names []string
	for i, s := range all {
		if i == 0 {
			out.Seed = s.Seed
		}
		names = append(names, s.Name)
		if s.RateLimit != nil {
			if out.RateLimit != nil {
				return Scenario{}, fmt.Errorf("scenarios %q and another both set rateLimit; give it once", s.Name)
			}
			out.RateLimit = s.RateLimit
		}
		out.Rules = append(out.Rules, s.Rules...)
	}
	out.Name = strings.Join(slices.DeleteFunc(names, func(n string) bool { return n == "" }), "+")
	return out, nil
}
