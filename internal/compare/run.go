// Package compare runs the same fixed plan of probes against a real ISC tenant and against an
// in-process mock seeded to mirror it, and reports where their answers differ: iscmock compare.
package compare

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config is one comparison run.
type Config struct {
	Target   string // the tenant's API base URL
	Admin    Client // a PAT of an org admin on the target
	User     Client // a PAT of an end user; zero skips the probes that need one
	Versions []string
	Only     string        // glob over probe names; "" runs them all
	Timeout  time.Duration // bound on each request (default 30 s)
	// Budget requests per client, API version and Window at most (default 80 per 10 s: ISC allows
	// 100).
	Budget   int
	Window   time.Duration
	Progress func(n, total int, probe string) // called before each probe; nil for none
	Iscmock  string                           // the mock's version, for the report
}

// Defaults: the rate budget keeps a fifth of ISC's documented limit spare.
const (
	DefaultTimeout = 30 * time.Second
	DefaultBudget  = 80
	DefaultWindow  = 10 * time.Second
	// cleanupTimeout bounds the deletion of what a run created, once the run is over or stopped.
	cleanupTimeout = 2 * time.Minute
)

// Verdict is how a probe's two answers compare.
type Verdict string

const (
	Same       Verdict = "same"
	Differs    Verdict = "differs"
	TargetOnly Verdict = "target-only" // the mock has no such route
	Skipped    Verdict = "skipped"
)

// Result is one probe's outcome.
type Result struct {
	Probe       string   `json:"probe"`
	What        string   `json:"what"`
	Request     string   `json:"request"`
	Verdict     Verdict  `json:"verdict"`
	Reason      string   `json:"reason,omitempty"` // why it was skipped
	Differences []string `json:"differences,omitempty"`
	Target      *Answer  `json:"target,omitempty"`
	Mock        *Answer  `json:"mock,omitempty"`
}

// Compared says what every probe compares.
var Compared = "status; the headers " + strings.Join(Headers, ", ") + "; the JSON body (members, types, null " +
	"against absent, values), with ids, secrets, times, tracking ids, tokens, org and pod normalised to their form"

// Report is a run's outcome.
type Report struct {
	Target   string          `json:"target"`
	Iscmock  string          `json:"iscmock"`
	Started  time.Time       `json:"started"`
	Compared string          `json:"compared"`
	Counts   map[Verdict]int `json:"counts"`
	Results  []Result        `json:"results"`
	// LeftOnTarget lists tokens the run created and could not delete.
	LeftOnTarget []string `json:"leftOnTarget,omitempty"`

	tenant  Tenant
	secrets []string // values no output may show
}

// Differences reports whether any probe differs, or reached a route the mock lacks.
func (r *Report) Differences() bool { return r.Counts[Differs]+r.Counts[TargetOnly] > 0 }

// ErrInterrupted is the error of a run stopped by its context (Ctrl-C, SIGTERM).
var ErrInterrupted = errors.New("interrupted")

// Run compares the target with a mock mirroring it. Whatever happens, and however ctx ends, it
// deletes the tokens it created on the target before it returns; a report comes back with any
// error that arose after the probes began.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	plan, err := cfg.plan()
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	v := newVars(runID(), time.Now())
	target := &side{name: "target", base: strings.TrimSuffix(cfg.Target, "/"), http: &http.Client{Timeout: cfg.Timeout},
		limit: newLimiter(cfg.Budget, cfg.Window), admin: cfg.Admin, user: cfg.User, vars: v, bearer: map[Caller]string{}}
	report := &Report{Target: cfg.Target, Iscmock: cfg.Iscmock, Started: time.Now().UTC(), Compared: Compared, Counts: map[Verdict]int{},
		secrets: []string{cfg.Admin.Secret, cfg.User.Secret}}
	defer func() {
		// The run's own context may be over: cleaning up gets a fresh one.
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		report.LeftOnTarget = target.sweep(cctx, plan[0].sweepVersion())
		for _, b := range target.bearer {
			report.secrets = append(report.secrets, b)
		}
	}()
	tenant, err := target.discover(ctx)
	if err != nil {
		return report, runError(ctx, err)
	}
	report.tenant = tenant
	v.adminID, v.userID = tenant.Admin, tenant.User
	m, err := mirror(ctx, tenant, cfg.Admin, cfg.User, v, time.Time{})
	if err != nil {
		return report, err
	}
	report.Results = runPlan(ctx, plan, target, m, tenant, normaliser{run: v.run}, cfg.Progress)
	for _, r := range report.Results {
		report.Counts[r.Verdict]++
	}
	if ctx.Err() != nil {
		return report, fmt.Errorf("%w after %d of %d probes", ErrInterrupted, len(report.Results), len(plan))
	}
	return report, nil
}

// LeftError is the error to give when a report lists tokens the run could not delete.
func (r *Report) LeftError() error {
	if len(r.LeftOnTarget) == 0 {
		return nil
	}
	return fmt.Errorf("could not delete %d token(s) this run created on the target (names start with %q): %s",
		len(r.LeftOnTarget), NamePrefix, strings.Join(r.LeftOnTarget, ", "))
}

func runError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ErrInterrupted
	}
	return err
}

func (cfg Config) plan() ([]Probe, error) {
	u, err := url.Parse(cfg.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--target %q: want the tenant's API base URL, such as https://acme.api.identitynow.com", cfg.Target)
	}
	if cfg.Admin.ID == "" || cfg.Admin.Secret == "" {
		return nil, errors.New("the admin's PAT is required: --client-id and --client-secret (or ISCMOCK_COMPARE_CLIENT_ID and ISCMOCK_COMPARE_CLIENT_SECRET)")
	}
	if (cfg.User.ID == "") != (cfg.User.Secret == "") {
		return nil, errors.New("give both --user-client-id and --user-client-secret, or neither")
	}
	for _, v := range cfg.Versions {
		if collection(v) == "" {
			return nil, fmt.Errorf("--versions: unknown version %q; known: beta, v3, v2024, v2025, v2026, v1", v)
		}
	}
	plan := Select(Plan(cfg.Versions...), cfg.Only)
	if len(plan) == 0 {
		return nil, fmt.Errorf("--only %q selects no probe", cfg.Only)
	}
	return plan, nil
}

// sweepVersion is the version the final sweep lists tokens with.
func (p Probe) sweepVersion() string {
	if p.Version != "" {
		return p.Version
	}
	return "v3"
}

// answerer gives a probe's answer: a live side, or captured answers.
type answerer interface {
	answer(ctx context.Context, p Probe, norm normaliser) Answer
}

// runPlan runs each probe on both sides, in order, until the plan or ctx ends.
func runPlan(ctx context.Context, plan []Probe, target answerer, m *side, t Tenant, norm normaliser, progress func(int, int, string)) []Result {
	var results []Result
	for i, p := range plan {
		if ctx.Err() != nil {
			break
		}
		if progress != nil {
			progress(i+1, len(plan), p.Name)
		}
		r := Result{Probe: p.Name, What: p.What, Request: p.request()}
		if r.Reason = t.skip(p); r.Reason != "" {
			r.Verdict = Skipped
			results = append(results, r)
			continue
		}
		ta := target.answer(ctx, p, norm)
		if ctx.Err() != nil {
			break
		}
		ma := m.answer(ctx, p, norm)
		r.Target, r.Mock = &ta, &ma
		r.Differences = Compare(ta, ma)
		switch {
		case len(r.Differences) == 0:
			r.Verdict = Same
		case m.lastUnrouted && ta.Status != http.StatusNotFound && ta.Error == "":
			r.Verdict = TargetOnly
		default:
			r.Verdict = Differs
		}
		results = append(results, r)
	}
	return results
}

// skip says why a probe cannot run on this tenant, or "".
func (t Tenant) skip(p Probe) string {
	if p.needsUser() && t.User == "" {
		return "needs an end user's PAT (--user-client-id, --user-client-secret)"
	}
	for _, o := range []struct {
		who Caller
		id  string
	}{{Admin, t.Admin}, {User, t.User}} {
		if p.creates(o.who) > 0 && o.id != "" && t.held(o.id) >= MaxTokensPerOwner {
			return fmt.Sprintf("the %s already holds %d tokens, ISC's maximum: no room to create one", o.who, t.held(o.id))
		}
	}
	return ""
}

// request describes what a probe sends, placeholders and all.
func (p Probe) request() string {
	s := p.Method + " " + p.Path
	if p.Credentials != "" {
		s += fmt.Sprintf(" (credentials: %s, client: %s, grant_type: %q)", p.Credentials, p.Client, p.Grant)
	}
	if p.Body != "" {
		s += " " + p.Body
	}
	if p.ContentType != "" {
		s += " as " + p.ContentType
	}
	var setup []string
	for _, st := range p.Setup {
		d := "a token of the " + string(st.Owner)
		if len(st.Scope) > 0 {
			d += " with scope " + strings.Join(st.Scope, " ")
		}
		setup = append(setup, d)
	}
	if p.Fill {
		setup = append(setup, fmt.Sprintf("tokens up to %d", MaxTokensPerOwner))
	}
	if len(setup) > 0 {
		s += "; first creates " + strings.Join(setup, ", ")
	}
	if p.Credentials == "" {
		s += "; as " + string(p.As)
	}
	return s
}
