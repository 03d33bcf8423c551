package mock_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/internal/conformance"
	"github.com/iscmock/iscmock/mock"
)

// retrier retries as ISC's SDKs are set up to: after a 429 it waits Retry-After, after a 5xx or a
// dropped connection it tries again. It waits by moving the mock clock, never by sleeping.
type retrier struct {
	t      *testing.T
	srv    *mock.Server
	tries  int
	waited time.Duration
}

func (c *retrier) do(r request) response {
	c.t.Helper()
	r.Unchecked = true // faults are not the service's answers
	for attempt := 1; attempt <= 5; attempt++ {
		c.tries++
		res, err := send(c.srv, r)
		switch {
		case err != nil:
			continue
		case res.Status == http.StatusTooManyRequests:
			secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
			if err != nil {
				c.t.Fatalf("429 without a Retry-After in seconds: %q", res.Header.Get("Retry-After"))
			}
			c.waited += time.Duration(secs) * time.Second
			c.srv.Clock().Advance(time.Duration(secs) * time.Second)
		case res.Status >= 500:
		default:
			return res
		}
	}
	c.t.Fatalf("%s %s: no success in 5 tries", r.Method, r.Path)
	return response{}
}

func scenarioFile(name string) mock.Option {
	return mock.WithScenarioFile(filepath.Join("..", "scenarios", name))
}

func ruleStats(t *testing.T, srv *mock.Server) map[string]mock.RuleStats {
	t.Helper()
	st, ok := srv.ScenarioStats()
	if !ok {
		t.Fatal("no scenario running")
	}
	out := map[string]mock.RuleStats{}
	for _, r := range st.Rules {
		out[r.Name] = r
	}
	return out
}

// TestShippedScenarios runs a retrying client against each example in scenarios/.
func TestShippedScenarios(t *testing.T) {
	t.Run("throttle-then-recover", func(t *testing.T) {
		srv := newServer(t, scenarioFile("throttle-then-recover.yaml"))
		c := &retrier{t: t, srv: srv}
		c.do(request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: token(t, srv, userID)}).wantStatus(t, http.StatusOK)
		if c.tries != 3 || c.waited != 4*time.Second {
			t.Errorf("%d tries, waited %v; want 3 tries after waiting 2 s twice", c.tries, c.waited)
		}
		if got := ruleStats(t, srv)["throttle-first-lists"]; got.Matched != 3 || got.Fired != 2 {
			t.Errorf("stats %+v", got)
		}
	})
	t.Run("rate-limit", func(t *testing.T) {
		srv := newServer(t, scenarioFile("rate-limit.yaml"))
		tok := token(t, srv, userID)
		for range 100 {
			do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).wantStatus(t, http.StatusOK)
		}
		c := &retrier{t: t, srv: srv}
		c.do(request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).wantStatus(t, http.StatusOK)
		if c.tries != 2 || c.waited < time.Second || c.waited > 10*time.Second {
			t.Errorf("%d tries, waited %v; want one wait of at most the 10 s window", c.tries, c.waited)
		}
	})
	t.Run("flaky-create", func(t *testing.T) {
		srv := newServer(t, scenarioFile("flaky-create.yaml"))
		c := &retrier{t: t, srv: srv}
		c.do(request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, userID), Body: `{"name":"retried"}`}).
			wantStatus(t, http.StatusOK)
		n := 0
		for _, p := range srv.PATs() {
			if p.Name == "retried" {
				n++
			}
		}
		if c.tries != 2 || n != 1 {
			t.Errorf("%d tries, %d tokens made; want 2 tries and 1 token", c.tries, n)
		}
	})
	t.Run("slow-list", func(t *testing.T) {
		srv := newServer(t, scenarioFile("slow-list.yaml"))
		tok := token(t, srv, userID)
		if got := list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok); len(got) != 3 {
			t.Errorf("slow list answered %v", got)
		}
		impatient := &http.Client{Timeout: 20 * time.Millisecond, Transport: conformance.Unchecked}
		req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/v3/personal-access-tokens?owner-id=me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if _, err := impatient.Do(req); err == nil {
			t.Error("a client that waits 20 ms got an answer from a list delayed 250 ms")
		}
	})
	t.Run("reset-on-delete", func(t *testing.T) {
		srv := newServer(t, scenarioFile("reset-on-delete.yaml"))
		tok := token(t, srv, userID)
		_, err := send(srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + userPAT, Token: tok, Unchecked: true})
		if err == nil {
			t.Fatal("the first delete got an answer; want the connection dropped")
		}
		if _, ok := srv.PAT(userPAT); !ok {
			t.Fatal("the dropped delete deleted the token")
		}
		c := &retrier{t: t, srv: srv}
		c.do(request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + userPAT, Token: tok}).wantStatus(t, http.StatusNoContent)
		if _, ok := srv.PAT(userPAT); ok || c.tries != 1 {
			t.Errorf("after the retry: token still there or %d tries", c.tries)
		}
	})
	t.Run("token-throttled", func(t *testing.T) {
		srv := newServer(t, scenarioFile("token-throttled.yaml"))
		c := &retrier{t: t, srv: srv}
		c.do(request{Method: http.MethodPost, Path: "/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"}).
			wantStatus(t, http.StatusOK)
		if c.tries != 3 || c.waited != 2*time.Second {
			t.Errorf("%d tries, waited %v; want 3 tries, 1 s twice", c.tries, c.waited)
		}
	})
}

// scripted500 is a scenario whose only rule answers 500 to what m selects.
func scripted500(m mock.RuleMatch) mock.Option {
	return mock.WithScenario(mock.Scenario{Name: "match", Rules: []mock.Rule{{Name: "r", Match: m, Respond: &mock.Response{Status: 500}}}})
}

func TestScenarioMatch(t *testing.T) {
	type call struct {
		identity string // bearer token of this identity; "" with token below
		method   string
		path     string
		body     string
		hit      bool
	}
	listMe := func(v, identity string, hit bool) call {
		return call{identity, http.MethodGet, v + "?owner-id=me", "", hit}
	}
	cases := []struct {
		name  string
		match mock.RuleMatch
		calls []call
	}{
		{"nothing given matches all", mock.RuleMatch{}, []call{listMe("/v3/personal-access-tokens", userID, true),
			{userID, http.MethodGet, "/nowhere", "", true}}},
		{"operation", mock.RuleMatch{Operation: "listPersonalAccessTokens"}, []call{
			listMe("/v3/personal-access-tokens", userID, true), listMe("/personal-access-tokens/v1", userID, true),
			{userID, http.MethodPost, "/v3/personal-access-tokens", `{"name":"x"}`, false}}},
		{"info", mock.RuleMatch{Operation: "info"}, []call{{userID, http.MethodGet, "/oauth/info", "", true},
			listMe("/v3/personal-access-tokens", userID, false)}},
		{"V1 alias matches every version", mock.RuleMatch{Operation: "listPersonalAccessTokensV1"}, []call{
			listMe("/v3/personal-access-tokens", userID, true)}},
		{"version", mock.RuleMatch{Operation: "listPersonalAccessTokens", Version: "v1"}, []call{
			listMe("/personal-access-tokens/v1", userID, true), listMe("/v3/personal-access-tokens", userID, false)}},
		{"method", mock.RuleMatch{Method: "delete"}, []call{
			{userID, http.MethodDelete, "/v2025/personal-access-tokens/" + userPAT, "", true}, listMe("/v2025/personal-access-tokens", userID, false)}},
		{"exact path", mock.RuleMatch{Path: "/v2024/personal-access-tokens"}, []call{
			listMe("/v2024/personal-access-tokens", userID, true), // the query is not part of the path
			listMe("/v3/personal-access-tokens", userID, false)}},
		{"glob path", mock.RuleMatch{Path: "/v*/personal-access-tokens/*"}, []call{
			{userID, http.MethodDelete, "/v3/personal-access-tokens/" + userPAT, "", true},
			{userID, http.MethodDelete, "/personal-access-tokens/v1/" + userPAT, "", false}, listMe("/v3/personal-access-tokens", userID, false)}},
		{"identity", mock.RuleMatch{Identity: userID}, []call{
			listMe("/v3/personal-access-tokens", userID, true), listMe("/v3/personal-access-tokens", adminID, false)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, scripted500(tc.match))
			for _, c := range tc.calls {
				res := do(t, srv, request{Method: c.method, Path: c.path, Token: token(t, srv, c.identity), Body: c.body, Unchecked: true})
				if hit := res.Status == http.StatusInternalServerError; hit != c.hit {
					t.Errorf("%s %s as %s: status %d, scripted %v, want %v", c.method, c.path, c.identity, res.Status, hit, c.hit)
				}
			}
		})
	}
	t.Run("client id of the bearer token", func(t *testing.T) {
		srv := newServer(t, scripted500(mock.RuleMatch{Operation: "listPersonalAccessTokens", ClientID: userPAT}))
		fromPAT := mintPAT(t, srv, userPAT).AccessToken
		do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: fromPAT}).wantStatus(t, 500)
		do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: token(t, srv, userID)}).wantStatus(t, 200)
	})
	t.Run("token endpoint by client id and identity", func(t *testing.T) {
		for _, m := range []mock.RuleMatch{{Operation: "token", ClientID: userPAT}, {Operation: "token", Identity: userID}} {
			srv := newServer(t, scripted500(m))
			grant := func(id string) int {
				basic := http.Header{"Authorization": {"Basic " + basicAuth(id, secret)}}
				return do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: "grant_type=client_credentials",
					ContentType: "application/x-www-form-urlencoded", Header: basic, Unchecked: true}).Status
			}
			if grant(userPAT) != 500 || grant(adminPAT) != 200 {
				t.Errorf("%+v: want the user's grant scripted, the admin's served", m)
			}
			res := do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: form(credentials(userPAT)),
				ContentType: "application/x-www-form-urlencoded", Unchecked: true})
			if res.Status != 500 {
				t.Errorf("%+v: form credentials not matched: %d", m, res.Status)
			}
		}
	})
}

func basicAuth(id, secret string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(id, secret)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// TestScenarioWhen: which of ten matching calls each when acts on.
func TestScenarioWhen(t *testing.T) {
	cases := []struct {
		name string
		when mock.When
		want []int
	}{
		{"calls", mock.When{Calls: []int{2, 5}}, []int{2, 5}},
		{"from", mock.When{From: 8}, []int{8, 9, 10}},
		{"from and times", mock.When{From: 3, Times: 2}, []int{3, 4}},
		{"every", mock.When{Every: 3}, []int{3, 6, 9}},
		{"every from", mock.When{From: 1, Every: 3}, []int{1, 4, 7, 10}},
		{"every, times", mock.When{Every: 4, Times: 1}, []int{4}},
		{"every from, times", mock.When{From: 2, Every: 3, Times: 2}, []int{2, 5}},
		{"times alone", mock.When{Times: 1}, []int{1}},
		{"none", mock.When{}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Name: "w", When: tc.when, Respond: &mock.Response{Status: 500}}}}))
			if got := scriptedCalls(t, srv, 10); !cmp.Equal(got, tc.want) {
				t.Errorf("acted on calls %v, want %v", got, tc.want)
			}
			if st := ruleStats(t, srv)["w"]; st.Matched != 10 || st.Fired != len(tc.want) {
				t.Errorf("stats %+v, want matched 10, fired %d", st, len(tc.want))
			}
		})
	}
	t.Run("after", func(t *testing.T) {
		srv := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Name: "w", When: mock.When{After: 30 * time.Second}, Respond: &mock.Response{Status: 500}}}}))
		if got := scriptedCalls(t, srv, 2); len(got) != 0 {
			t.Errorf("acted before 30 s had passed: %v", got)
		}
		srv.Clock().Advance(30 * time.Second)
		if got := scriptedCalls(t, srv, 2); len(got) != 2 {
			t.Errorf("after 30 s: acted on %v, want both calls", got)
		}
	})
	t.Run("probability is repeatable with the seed", func(t *testing.T) {
		p := 0.5
		run := func(seed uint64) []int {
			srv := newServer(t, mock.WithScenario(mock.Scenario{Seed: seed, Rules: []mock.Rule{{When: mock.When{Probability: &p}, Respond: &mock.Response{Status: 500}}}}))
			return scriptedCalls(t, srv, 40)
		}
		a, b, other := run(42), run(42), run(43)
		if !cmp.Equal(a, b) || len(a) == 0 || len(a) == 40 {
			t.Errorf("seed 42 acted on %v, then on %v: want the same, some but not all", a, b)
		}
		if cmp.Equal(a, other) {
			t.Error("seeds 42 and 43 acted on the same calls")
		}
	})
}

// scriptedCalls makes n list calls and returns which (from 1) a rule answered with 500.
func scriptedCalls(t *testing.T, srv *mock.Server, n int) []int {
	t.Helper()
	tok := token(t, srv, userID)
	out := []int{}
	for i := 1; i <= n; i++ {
		if do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).Status == 500 {
			out = append(out, i)
		}
	}
	return out
}

// TestScenarioRuleOrder: the first rule that holds acts; every rule counts every call it matches.
func TestScenarioRuleOrder(t *testing.T) {
	srv := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{
		{Name: "first", When: mock.When{Calls: []int{1}}, Respond: &mock.Response{Status: 500}},
		{Name: "second", When: mock.When{Calls: []int{1, 2}}, Respond: &mock.Response{Status: 429}},
	}}))
	tok := token(t, srv, userID)
	var got []int
	for range 3 {
		got = append(got, do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).Status)
	}
	if want := []int{500, 429, 200}; !cmp.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	st := ruleStats(t, srv)
	if st["first"] != (mock.RuleStats{Name: "first", Matched: 3, Fired: 1}) || st["second"] != (mock.RuleStats{Name: "second", Matched: 3, Fired: 1}) {
		t.Errorf("stats %+v", st)
	}
}

func TestScenarioResponses(t *testing.T) {
	rule := func(op string, r mock.Response) mock.Option {
		return mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Match: mock.RuleMatch{Operation: op}, Respond: &r}}})
	}
	list := request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me"}
	cases := []struct {
		name    string
		opt     mock.Option
		req     request
		status  int
		headers map[string]string
		body    string
	}{
		{"429 has ISC's body and Retry-After 1", rule("listPersonalAccessTokens", mock.Response{Status: 429}), list, 429,
			map[string]string{"Retry-After": "1"}, `{"message":" Rate Limit Exceeded "}`},
		{"429 with its own Retry-After and body", rule("listPersonalAccessTokens", mock.Response{Status: 429, Headers: map[string]string{"retry-after": "7"},
			Body: map[string]any{"message": "slow down"}}), list, 429, map[string]string{"Retry-After": "7"}, `{"message":"slow down"}`},
		{"500", rule("", mock.Response{Status: 500}), list, 500, nil, ""},
		{"503 as ErrorResponseDto", rule("", mock.Response{Status: 503}), list, 503, nil,
			`{"detailCode":"503 Service Unavailable","trackingId":"<id>","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"Service Unavailable."}]}`},
		{"401 in the JWT shape", rule("", mock.Response{Status: 401}), list, 401, nil, `{"error":"JWT validation failed: Unauthorized"}`},
		{"token endpoint 400 in the OAuth shape", rule("token", mock.Response{Status: 400}),
			request{Method: http.MethodPost, Path: "/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"},
			400, nil, `{"error":"bad_request","error_description":"Bad Request"}`},
		{"a delay alone answers normally", rule("", mock.Response{Delay: time.Millisecond}), list, 200, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.opt)
			tc.req.Token = token(t, srv, userID)
			tc.req.Unchecked = true
			res := do(t, srv, tc.req).wantStatus(t, tc.status)
			for k, v := range tc.headers {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			body := strings.Replace(string(res.Body), res.Header.Get("SLPT-Request-ID"), "<id>", 1)
			if tc.body != "" && body != tc.body {
				t.Errorf("body %s, want %s", body, tc.body)
			}
		})
	}
}

func TestScenarioFaults(t *testing.T) {
	fault := func(kind string, delay time.Duration) mock.Option {
		return mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Name: kind, Fault: kind, Delay: delay}}})
	}
	t.Run("reset", func(t *testing.T) {
		srv := newServer(t, fault("reset", 0))
		_, err := send(srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: token(t, srv, userID), Unchecked: true})
		if err == nil {
			t.Fatal("got an answer; want the connection dropped")
		}
	})
	t.Run("empty", func(t *testing.T) {
		srv := newServer(t, fault("empty", 0))
		req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/v3/personal-access-tokens?owner-id=me", nil)
		res, err := (&http.Client{Transport: conformance.Unchecked}).Do(req)
		if err != nil {
			t.Fatalf("want the headers, got %v", err)
		}
		defer res.Body.Close()
		if _, err := io.ReadAll(res.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("status %d, reading the body: %v; want unexpected EOF", res.StatusCode, err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		srv := newServer(t, fault("malformed", 0))
		res := do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, userID),
			Body: `{"name":"half"}`, Unchecked: true}).wantStatus(t, http.StatusOK)
		if json := string(res.Body); !strings.HasPrefix(json, `{"id":"`) || strings.HasSuffix(json, "}") {
			t.Errorf("body %s: want the start of a token, cut short", json)
		}
		found := slices.ContainsFunc(srv.PATs(), func(p mock.PAT) bool { return p.Name == "half" })
		if !found {
			t.Error("the create behind the malformed answer did not happen")
		}
	})
	t.Run("timeout bounded by delay", func(t *testing.T) {
		srv := newServer(t, fault("timeout", 50*time.Millisecond))
		_, err := send(srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: token(t, srv, userID), Unchecked: true})
		if err == nil {
			t.Fatal("a timeout fault answered")
		}
	})
	t.Run("timeout released when the client gives up", func(t *testing.T) {
		srv := newServer(t, fault("timeout", 0)) // holds for up to 30 s
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"/v3/personal-access-tokens", nil)
		if _, err := (&http.Client{Transport: conformance.Unchecked}).Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want the client's deadline", err)
		}
		srv.Close() // returns only once the held request has ended
	})
}

// TestScenarioCountsUnderConcurrency: a calls: [1..N] rule acts exactly N times however many
// clients call at once.
func TestScenarioCountsUnderConcurrency(t *testing.T) {
	const n, clients, each = 50, 16, 25
	calls := make([]int, n)
	for i := range calls {
		calls[i] = i + 1
	}
	srv := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Name: "first-n", When: mock.When{Calls: calls}, Respond: &mock.Response{Status: 500}}}}))
	tok := token(t, srv, userID)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range each {
				res, err := send(srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				statuses[res.Status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if want := map[int]int{500: n, 200: clients*each - n}; !cmp.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	if st := ruleStats(t, srv)["first-n"]; st.Matched != clients*each || st.Fired != n {
		t.Errorf("stats %+v", st)
	}
}

func TestRateLimiter(t *testing.T) {
	limit := func(per string) mock.Option {
		return mock.WithScenario(mock.Scenario{RateLimit: &mock.RateLimit{Requests: 3, Window: 10 * time.Second, Per: per}})
	}
	listAs := func(srv *mock.Server, tok, path string) response {
		return do(t, srv, request{Method: http.MethodGet, Path: path + "?owner-id=me", Token: tok})
	}
	const v3, v2025 = "/v3/personal-access-tokens", "/v2025/personal-access-tokens"
	t.Run("fixed window per client and version", func(t *testing.T) {
		srv := newServer(t, limit("client"))
		tok := mintPAT(t, srv, userPAT).AccessToken
		for range 3 {
			listAs(srv, tok, v3).wantStatus(t, http.StatusOK)
		}
		res := listAs(srv, tok, v3).wantStatus(t, http.StatusTooManyRequests)
		if string(res.Body) != `{"message":" Rate Limit Exceeded "}` || res.Header.Get("Retry-After") != "10" {
			t.Errorf("429: Retry-After %q body %s; want 10 and ISC's body", res.Header.Get("Retry-After"), res.Body)
		}
		listAs(srv, tok, v2025).wantStatus(t, http.StatusOK)                                // another version has its own count
		listAs(srv, mintPAT(t, srv, userPAT).AccessToken, v3).wantStatus(t, 429)            // the same client, another token
		listAs(srv, mintPAT(t, srv, stalePAT).AccessToken, v3).wantStatus(t, http.StatusOK) // another client
		srv.Clock().Advance(4 * time.Second)
		if got := listAs(srv, tok, v3).wantStatus(t, 429).Header.Get("Retry-After"); got != "6" {
			t.Errorf("4 s later: Retry-After %q, want 6", got)
		}
		srv.Clock().Advance(6 * time.Second)
		listAs(srv, tok, v3).wantStatus(t, http.StatusOK)
	})
	t.Run("per token", func(t *testing.T) {
		srv := newServer(t, limit("token"))
		a, b := mintPAT(t, srv, userPAT).AccessToken, mintPAT(t, srv, userPAT).AccessToken
		for range 3 {
			listAs(srv, a, v3).wantStatus(t, http.StatusOK)
		}
		listAs(srv, a, v3).wantStatus(t, 429)
		listAs(srv, b, v3).wantStatus(t, http.StatusOK)
	})
	t.Run("global", func(t *testing.T) {
		srv := newServer(t, limit("global"))
		for _, id := range []string{userID, adminID, auditorID} {
			listAs(srv, token(t, srv, id), v3).wantStatus(t, http.StatusOK)
		}
		listAs(srv, token(t, srv, userID), v3).wantStatus(t, 429)
	})
	t.Run("token endpoint and unauthenticated calls are not counted", func(t *testing.T) {
		srv := newServer(t, limit("client"))
		for range 5 {
			mintPAT(t, srv, userPAT)
			do(t, srv, request{Method: http.MethodGet, Path: v3}).wantStatus(t, http.StatusUnauthorized)
		}
	})
	t.Run("reset restarts the windows", func(t *testing.T) {
		srv := newServer(t, limit("global"))
		tok := token(t, srv, userID)
		for range 3 {
			listAs(srv, tok, v3).wantStatus(t, http.StatusOK)
		}
		srv.Reset()
		listAs(srv, tok, v3).wantStatus(t, http.StatusOK)
		if _, ok := srv.ScenarioStats(); !ok {
			t.Error("Reset dropped the scenario")
		}
	})
}

// TestISCRateLimit: WithISCRateLimit is scenarios/rate-limit.yaml as one switch, on whatever
// scenario runs unless the scenario sets its own limit; without it the mock is unlimited.
func TestISCRateLimit(t *testing.T) {
	const v3, v2025 = "/v3/personal-access-tokens?owner-id=me", "/v2025/personal-access-tokens?owner-id=me"
	// run makes the same calls and tells what each got: 101 calls of one client in one window, the
	// same client in another version, another client, and the first one when the window is over.
	run := func(srv *mock.Server) []string {
		a, b := mintPAT(t, srv, userPAT).AccessToken, mintPAT(t, srv, stalePAT).AccessToken
		var got []string
		call := func(path, tok string) {
			res := do(t, srv, request{Method: http.MethodGet, Path: path, Token: tok})
			got = append(got, fmt.Sprintf("%d %s", res.Status, res.Header.Get("Retry-After")))
		}
		for range 101 {
			call(v3, a)
		}
		call(v2025, a)
		call(v3, b)
		srv.Clock().Advance(3 * time.Second)
		call(v3, a)
		srv.Clock().Advance(7 * time.Second)
		call(v3, a)
		return got
	}
	want := append(slices.Repeat([]string{"200 "}, 100), "429 10", "200 ", "200 ", "429 7", "200 ")
	if got := run(newServer(t, mock.WithISCRateLimit())); !cmp.Equal(got, want) {
		t.Errorf("WithISCRateLimit: got %v, want %v", got, want)
	}
	if got := run(newServer(t, scenarioFile("rate-limit.yaml"))); !cmp.Equal(got, want) {
		t.Errorf("rate-limit.yaml: got %v, want %v", got, want)
	}
	if got := run(newServer(t)); !cmp.Equal(got, slices.Repeat([]string{"200 "}, 105)) {
		t.Errorf("by default: got %v, want no limit", got)
	}

	t.Run("stays on under scenarios", func(t *testing.T) {
		srv := newServer(t, mock.WithISCRateLimit(), mock.WithScenario(mock.Scenario{Name: "slow", Rules: []mock.Rule{{Respond: &mock.Response{Delay: time.Nanosecond}}}}))
		tok := mintPAT(t, srv, userPAT).AccessToken
		limited := func(n int) bool {
			for range n {
				if do(t, srv, request{Method: http.MethodGet, Path: v3, Token: tok}).Status == http.StatusTooManyRequests {
					return true
				}
			}
			return false
		}
		if !limited(101) {
			t.Error("with a scenario of rules only: no 429 in 101 calls")
		}
		if st, _ := srv.ScenarioStats(); st.RateLimit == nil || st.RateLimit.Requests != 100 || st.RateLimit.Window != 10*time.Second ||
			len(st.RateLimit.Counts) != 1 || st.RateLimit.Counts[0].Count != 101 {
			t.Errorf("the scenario's stats show the rate limit as %+v, want ISC's with 101 calls counted", st.RateLimit)
		}
		srv.ClearScenario()
		srv.Clock().Advance(10 * time.Second)
		if !limited(101) {
			t.Error("with the scenario cleared: no 429 in 101 calls")
		}
		if err := srv.LoadScenario(mock.Scenario{RateLimit: &mock.RateLimit{Requests: 2, Window: time.Minute}}); err != nil {
			t.Fatal(err)
		}
		if !limited(3) {
			t.Error("a scenario's own limit of 2 did not replace ISC's")
		}
	})
}

func TestLoadAndClearScenario(t *testing.T) {
	srv := newServer(t)
	if _, ok := srv.ScenarioStats(); ok {
		t.Fatal("a scenario runs without one loaded")
	}
	tok := token(t, srv, userID)
	bad := mock.Scenario{Rules: []mock.Rule{{Fault: "explode"}}}
	if err := srv.LoadScenario(bad); err == nil || !strings.Contains(err.Error(), `unknown fault "explode"`) {
		t.Errorf("loading a bad scenario: %v", err)
	}
	if err := srv.LoadScenario(mock.Scenario{Name: "live", Rules: []mock.Rule{{Name: "all", Respond: &mock.Response{Status: 500}}}}); err != nil {
		t.Fatal(err)
	}
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).wantStatus(t, 500)
	st, _ := srv.ScenarioStats()
	if want := (mock.ScenarioStats{Name: "live", Rules: []mock.RuleStats{{Name: "all", Matched: 1, Fired: 1}}}); !cmp.Equal(st, want) {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	srv.ClearScenario()
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).wantStatus(t, 200)
}

// TestOptionsInOrder: scenarios and fixtures combine in the order their options are given.
func TestOptionsInOrder(t *testing.T) {
	first := mock.Scenario{Name: "code", Rules: []mock.Rule{{Name: "code-429", Respond: &mock.Response{Status: 429}}}}
	srv := newServer(t, mock.WithScenario(first), scenarioFile("flaky-create.yaml"))
	if st, _ := srv.ScenarioStats(); st.Name != "code+flaky-create" || st.Rules[0].Name != "code-429" {
		t.Errorf("stats %+v: want the code's rule first", st)
	}
	srv = newServer(t, scenarioFile("flaky-create.yaml"), mock.WithScenario(first))
	if st, _ := srv.ScenarioStats(); st.Rules[0].Name != "create-fails-once" {
		t.Errorf("stats %+v: want the file's rule first", st)
	}
	renamed := testFixtures().Identities[1]
	renamed.Name = "Renamed"
	srv = mock.NewServer(t, mock.WithFixtures(filepath.Join("..", "testdata", "fixtures", "tenant.yaml")),
		mock.WithFixtureData(testFixtures()), mock.WithFixtureData(mock.Fixtures{Identities: []mock.Identity{renamed}}))
	if id, _ := srv.Identity(userID); id.Name != "Renamed" {
		t.Errorf("identity %+v: the later fixtures should replace the earlier", id)
	}
}

func TestScriptedTokenErrors(t *testing.T) {
	srv := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{
		{Name: "missing", Match: mock.RuleMatch{Operation: "token", ClientID: adminPAT}, Respond: &mock.Response{Status: 404}},
	}}))
	res := do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: form(credentials(adminPAT)), ContentType: "application/x-www-form-urlencoded"})
	if res.Status != 404 || string(res.Body) != `{"error":"not_found","error_description":"Not Found"}` {
		t.Errorf("scripted 404 at the token endpoint: %d %s, want the OAuth shape", res.Status, res.Body)
	}
	// A rule that needs the caller reads the form first; the handler must still see its failure.
	res = do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: "client_id=" + strings.Repeat("x", 2<<20), ContentType: "application/x-www-form-urlencoded"})
	if res.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized form: %d %.200s, want 413", res.Status, res.Body)
	}
}

func TestScenarioFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "scenarios", "*.yaml"))
	if err != nil || len(files) < 6 {
		t.Fatalf("shipped scenarios: %v %v", files, err)
	}
	for _, f := range files {
		if _, err := mock.LoadScenarioFile(f); err != nil {
			t.Error(err)
		}
	}
	t.Run("combined", func(t *testing.T) {
		_, err := mock.New(scenarioFile("rate-limit.yaml"), mock.WithScenario(mock.Scenario{RateLimit: &mock.RateLimit{Requests: 1, Window: time.Second}}))
		if err == nil || !strings.Contains(err.Error(), "rateLimit") {
			t.Errorf("two rate limits: %v", err)
		}
		srv := newServer(t, scenarioFile("throttle-then-recover.yaml"), scenarioFile("flaky-create.yaml"))
		st, _ := srv.ScenarioStats()
		if st.Name != "throttle-then-recover+flaky-create" || len(st.Rules) != 2 {
			t.Errorf("combined %+v", st)
		}
	})
}

func TestScenarioErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "name: x\nrulez: []\n", []string{"s.yaml:2: rulez: unknown field"}},
		{"unknown match key", "rules:\n  - match: {operation: token, host: x}\n    fault: reset\n", []string{"s.yaml:2: rules[0].match.host: unknown field"}},
		{"wrong type", "rules:\n  - when: {calls: one}\n    fault: reset\n", []string{"s.yaml:2: rules[0].when.calls: must be a list"}},
		{"duration as a number", "rateLimit: {requests: 1, window: 10}\n", []string{"s.yaml:1: rateLimit.window: must be a duration"}},
		{"bad duration", "rules:\n  - respond: {delay: soon}\n", []string{"s.yaml:2: rules[0].respond.delay: must be a duration such as 250ms, 10s or 3d"}},
		{"a duration in weeks", "rules:\n  - when: {after: 2w}\n    fault: reset\n", []string{"s.yaml:2: rules[0].when.after: must be a duration"}},
		{"unknown operation", "rules:\n  - match: {operation: getPersonalAccessToken}\n    fault: reset\n", []string{`s.yaml:2: rules[0].match.operation: unknown operation "getPersonalAccessToken"`}},
		{"unknown version", "rules:\n  - match: {version: v4}\n    fault: reset\n", []string{`rules[0].match.version: unknown version "v4"`}},
		{"versioned token endpoint", "rules:\n  - match: {operation: token, version: v3}\n    fault: reset\n", []string{"rules[0].match.version: /oauth/token has no version"}},
		{"versioned info endpoint", "rules:\n  - match: {operation: info, version: v3}\n    fault: reset\n", []string{"rules[0].match.version: /oauth/info has no version"}},
		{"info has no V1 name", "rules:\n  - match: {operation: infoV1}\n    fault: reset\n", []string{"rules[0].match.operation: unknown operation \"infoV1\""}},
		{"unknown fault", "rules:\n  - fault: explode\n", []string{`s.yaml:2: rules[0].fault: unknown fault "explode"; known: reset, empty, malformed, timeout`}},
		{"respond and fault", "rules:\n  - fault: reset\n    respond: {status: 500}\n", []string{"rules[0].fault: give respond or fault, not both"}},
		{"nothing to do", "rules:\n  - name: idle\n", []string{"s.yaml:2: rules[0]: needs respond or fault"}},
		{"no status or delay", "rules:\n  - respond: {headers: {A: b}}\n", []string{"rules[0].respond: needs a status"}},
		{"bad status", "rules:\n  - respond: {status: 99}\n", []string{"s.yaml:2: rules[0].respond.status: must be an HTTP status"}},
		{"calls with from", "rules:\n  - when: {calls: [1], from: 2}\n    fault: reset\n", []string{"rules[0].when.calls: stands alone"}},
		{"calls empty", "rules:\n  - when: {calls: []}\n    fault: reset\n", []string{"rules[0].when.calls: is empty"}},
		{"call zero", "rules:\n  - when: {calls: [0]}\n    fault: reset\n", []string{"rules[0].when.calls[0]: calls count from 1"}},
		{"probability zero", "rules:\n  - when: {probability: 0}\n    fault: reset\n", []string{"s.yaml:2: rules[0].when.probability: must be more than 0"}},
		{"probability above one", "rules:\n  - when: {probability: 1.5}\n    fault: reset\n", []string{"rules[0].when.probability"}},
		{"negative every", "rules:\n  - when: {every: -1}\n    fault: reset\n", []string{"rules[0].when.every: must be at least 1"}},
		{"duplicate names", "rules:\n  - {name: a, fault: reset}\n  - {name: a, fault: reset}\n", []string{`s.yaml:3: rules[1].name: "a" names another rule`}},
		{"rate limit", "rateLimit: {requests: 0, window: 0s, per: user}\n", []string{"rateLimit.requests: must be at least 1",
			"rateLimit.window: must be a positive duration", `rateLimit.per: must be one of client, token, global; got "user"`}},
		{"bad path", "rules:\n  - match: {path: v3/x}\n    fault: reset\n", []string{"rules[0].match.path: must start with /"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mock.ParseScenario("s.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("JSON", func(t *testing.T) {
		s, err := mock.ParseScenario("s.json", []byte(`{"name":"j","rules":[{"match":{"operation":"token"},"when":{"calls":[1]},"respond":{"status":429,"delay":"5ms"}}]}`))
		if err != nil || s.Rules[0].Respond.Delay != 5*time.Millisecond {
			t.Errorf("JSON scenario: %+v %v", s, err)
		}
	})
}

// TestFaultDelayBounds: every scripted delay is at most mock.MaxDelay.
func TestFaultDelayBounds(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct{ name, doc, want string }{
		{"fault delay", "rules:\n  - fault: timeout\n    delay: 1000h\n", "scenario:3: rules[0].delay: must be from 0 to 30s; got 1000h0m0s"},
		{"response delay", "rules:\n  - respond: {status: 500, delay: 31s}\n", "scenario:2: rules[0].respond.delay: must be from 0 to 30s; got 31s"},
		{"negative delay", "rules:\n  - fault: reset\n    delay: -1s\n", "rules[0].delay: must be from 0 to 30s; got -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			adminErr(t, admin(t, srv, http.MethodPut, "/__admin/scenario", tc.doc), http.StatusBadRequest, tc.want)
			if err := srv.LoadScenario(mock.Scenario{Rules: []mock.Rule{{Fault: "timeout", Delay: time.Hour}}}); err == nil {
				t.Error("LoadScenario took a one-hour delay")
			}
		})
	}
}

// heldScenario holds every list call for the longest delay a scenario may script: as a timeout
// fault, or before a 503.
func heldScenario(fault bool) mock.Scenario {
	r := mock.Rule{Name: "hold", Match: mock.RuleMatch{Operation: "listPersonalAccessTokens"}, Fault: "timeout", Delay: mock.MaxDelay}
	if !fault {
		r.Fault, r.Delay, r.Respond = "", 0, &mock.Response{Status: 503, Delay: mock.MaxDelay}
	}
	return mock.Scenario{Name: "held", Rules: []mock.Rule{r}}
}

// holdList starts a list call that the scenario holds, and returns once the scenario holds it;
// the channel gets the call's status (0 for a dropped connection, -1 if the client gave up).
func holdList(t *testing.T, srv *mock.Server, tenant *mock.Tenant) <-chan int {
	t.Helper()
	tok := token(t, tenant, userID)
	done := make(chan int, 1)
	client := &http.Client{Transport: conformance.Unchecked, Timeout: mock.MaxDelay / 3} // far less than the hold
	go func() {
		req, _ := http.NewRequest(http.MethodGet, tenant.URL()+"/v3/personal-access-tokens?owner-id=me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := client.Do(req)
		var netErr net.Error
		switch {
		case errors.As(err, &netErr) && netErr.Timeout():
			done <- -1
			return
		case err != nil:
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	for {
		if st, _ := tenant.ScenarioStats(); len(st.Rules) > 0 && st.Rules[0].Fired > 0 {
			return done
		}
		runtime.Gosched()
	}
}

// TestHeldRequestsReleased: clearing or replacing the scenario, dropping the tenant or closing the
// server ends every wait the scenario started, at once; the rule then acts as it would have.
func TestHeldRequestsReleased(t *testing.T) {
	timedOut := func(t *testing.T, done <-chan int, want int) {
		t.Helper()
		if got := <-done; got != want {
			t.Errorf("held call ended with %d, want %d (0: connection dropped) before the client's timeout", got, want)
		}
	}
	t.Run("clear", func(t *testing.T) {
		srv := newServer(t)
		_ = srv.LoadScenario(heldScenario(true))
		done := holdList(t, srv, srv.Tenant)
		srv.ClearScenario()
		timedOut(t, done, 0)
	})
	t.Run("replace", func(t *testing.T) {
		srv := newServer(t)
		_ = srv.LoadScenario(heldScenario(false))
		done := holdList(t, srv, srv.Tenant)
		admin(t, srv, http.MethodPut, "/__admin/scenario", "name: other\nrules: []\n").wantStatus(t, http.StatusNoContent)
		timedOut(t, done, 503)
	})
	t.Run("drop the tenant", func(t *testing.T) {
		srv := newServer(t)
		ta, _ := srv.OpenTenant("a")
		_ = ta.LoadScenario(heldScenario(true))
		done := holdList(t, srv, ta)
		srv.DropTenant("a")
		timedOut(t, done, 0)
	})
	t.Run("close", func(t *testing.T) {
		srv := newServer(t)
		_ = srv.LoadScenario(heldScenario(true))
		done := holdList(t, srv, srv.Tenant)
		closed := make(chan struct{})
		go func() { srv.Close(); close(closed) }()
		timedOut(t, done, 0)
		<-closed
	})
}

// TestHeldRequestsBound: at most mock.MaxHeld requests are held at once; past that a rule acts at
// once rather than hold one more.
func TestHeldRequestsBound(t *testing.T) {
	srv, err := mock.New(mock.WithFixtureData(testFixtures()), mock.WithClock(start), mock.WithScenario(heldScenario(true)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tok := token(t, srv, userID)
	list := func() *httptest.ResponseRecorder {
		return serveDirect(srv, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", tok, "", "")
	}
	// One more than the bound: exactly one of them is not held, and ends at once.
	var wg sync.WaitGroup
	done := make(chan *httptest.ResponseRecorder, mock.MaxHeld+1)
	for range mock.MaxHeld + 1 {
		wg.Go(func() { done <- list() })
	}
	select {
	case rec := <-done:
		if got := rec.Result().Header.Get("Iscmock-Fault"); got != "timeout" {
			t.Errorf("one past the bound: Iscmock-Fault %q, want the timeout fault acting at once", got)
		}
	case <-time.After(10 * time.Second): // a guard, not a timing check: a held request waits 30 s
		t.Error("every request was held, one past the bound too")
	}
	srv.ClearScenario()
	wg.Wait()
}

// TestScenarioDurationsInDays: a scenario's durations read days, as every duration the mock reads.
func TestScenarioDurationsInDays(t *testing.T) {
	sc, err := mock.ParseScenario("s.yaml", []byte("rateLimit: {requests: 5, window: 1d, per: client}\n"+
		"rules:\n  - when: {after: 1d12h}\n    respond: {status: 503, delay: 0.5s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.RateLimit.Window != 24*time.Hour || sc.Rules[0].When.After != 36*time.Hour || sc.Rules[0].Respond.Delay != 500*time.Millisecond {
		t.Errorf("window %v, after %v, delay %v; want 24h, 36h and 500ms", sc.RateLimit.Window, sc.Rules[0].When.After, sc.Rules[0].Respond.Delay)
	}
}

// TestScenarioEveryProblemAtOnce: the problems of a document come all at once and in its order:
// what could not be decoded, and what the check finds in the rest, without the decoding's echoes.
func TestScenarioEveryProblemAtOnce(t *testing.T) {
	doc := "rulez: 1\n" + // unknown: left out, the rest still checked
		"rules:\n" +
		"  - match: {operation: nope}\n" + // found by the check
		"    fault: reset\n" +
		"  - respond: {status: soon}\n" + // not decoded: no "needs a status" beside it
		"  - fault: explode\n" // found by the check
	_, err := mock.ParseScenario("s.yaml", []byte(doc))
	var got []string
	for _, line := range strings.Split(fmt.Sprint(err), "\n") {
		got = append(got, line[:min(len(line), 40)])
	}
	want := []string{
		"s.yaml:1: rulez: unknown field; known fi",
		"s.yaml:3: rules[0].match.operation: unkn",
		"s.yaml:5: rules[1].respond.status: canno",
		"s.yaml:6: rules[2].fault: unknown fault ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
	}
}
