package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// attacker mixes hostile requests into the soak, each refused as the README says, each aimed at a
// bound: long paths and queries (the journal), tenant squatting (tenant slots), YAML aliases
// (scenarios and fixtures), oversized scopes and patches, the clock's range, the largest tokens
// (the verified-token cache) and requests a scenario holds (held requests).
type attacker struct {
	client *http.Client
	base   string
	n      int
	sent   atomic.Int64
}

// The attackers' own tenants, so the soak's legitimate tenant keeps its scenario.
const (
	attackTenant = "/tenants/attack"
	heldTenant   = "/tenants/held"
)

// aliceAdmin is the org admin of the embedded default tenant.
const aliceAdmin = "2c9180867b50d088017b554662fb281e"

const aliasScenario = "rules:\n  - respond:\n      status: 500\n      headers: {X: &big %s}\n      body: [%s]\n"

func (a *attacker) call(method, path, token, contentType, body string, want int) string {
	a.sent.Add(1)
	req, _ := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := a.client.Do(req)
	if err != nil {
		return fmt.Sprintf("attack %s %.80s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Sprintf("attack %s %.80s: %d %.200s, want %d", method, path, res.StatusCode, b, want)
	}
	return ""
}

// tokens are the attackers': the largest the admin API gives, an org admin's, and one in the
// tenant whose scenario holds every list.
type tokens struct{ big, admin, held string }

// setup loads the holding scenario and mints the attackers' tokens.
func (a *attacker) setup() (tok tokens, err error) {
	mint := func(prefix, body string) (string, error) {
		res, err := a.client.Post(a.base+prefix+"/__admin/tokens", "application/json", strings.NewReader(body))
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		var tok tokenJSON
		if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusOK {
			return "", fmt.Errorf("minting at %s: %d %v", prefix, res.StatusCode, err)
		}
		return tok.AccessToken, nil
	}
	scope := make([]string, 100)
	for i := range scope {
		scope[i] = fmt.Sprintf(`"sp:%03d:%s"`, i, strings.Repeat("x", 93))
	}
	if tok.big, err = mint(attackTenant, `{"identityId":"`+aliceAdmin+`","scope":[`+strings.Join(scope, ",")+`]}`); err != nil {
		return tok, err
	}
	if tok.admin, err = mint(attackTenant, `{"identityId":"`+aliceAdmin+`"}`); err != nil {
		return tok, err
	}
	if tok.held, err = mint(heldTenant, `{"identityId":"`+aliceAdmin+`"}`); err != nil {
		return tok, err
	}
	if problem := a.call(http.MethodPut, heldTenant+"/__admin/scenario", "", "application/yaml", heldScenario, http.StatusNoContent); problem != "" {
		return tok, fmt.Errorf("%s", problem)
	}
	return tok, nil
}

var (
	longPath  = "/v3/" + strings.Repeat("p", 40<<10)
	longQuery = "?" + strings.Repeat("q=1&", 4<<10)
	bomb      = fmt.Sprintf(aliasScenario, strings.Repeat("x", 100<<10), strings.TrimSuffix(strings.Repeat("*big,", 2000), ","))
	tooMany   = "[" + strings.Repeat(`{"op":"test","path":"/name","value":"x"},`, 256) + `{"op":"test","path":"/name","value":"x"}]`
	bigScope  = `{"name":"big","scope":["` + strings.Repeat("s", 60000) + `"]}`
)

// round sends one of each attack and returns what was not answered as expected.
func (a *attacker) round(tok tokens) []string {
	a.n++
	var bad []string
	check := func(problem string) {
		if problem != "" {
			bad = append(bad, problem)
		}
	}
	check(a.call(http.MethodGet, fmt.Sprintf("/tenants/j%d%s%s", a.n%5, longPath, longQuery), "", "", "", http.StatusNotFound))
	check(a.call(http.MethodGet, longPath+longQuery, "", "", "", http.StatusNotFound))
	check(a.call(http.MethodGet, fmt.Sprintf("/tenants/squat%d/v3/personal-access-tokens", a.n), "not-a-jwt", "", "", http.StatusUnauthorized))
	check(a.call(http.MethodPost, fmt.Sprintf("/tenants/squat%d/oauth/token", a.n), "", "application/x-www-form-urlencoded",
		"grant_type=client_credentials&client_id=x&client_secret=y", http.StatusUnauthorized))
	check(a.call(http.MethodPut, attackTenant+"/__admin/scenario", "", "application/yaml", bomb, http.StatusBadRequest))
	check(a.call(http.MethodPost, attackTenant+"/__admin/clock", "", "application/json", `{"set":"0001-01-01T00:00:00Z"}`, http.StatusBadRequest))
	check(a.call(http.MethodPost, attackTenant+"/v3/personal-access-tokens", tok.admin, "application/json", bigScope, http.StatusBadRequest))
	check(a.call(http.MethodPatch, attackTenant+"/v3/personal-access-tokens/86f1dc6fe8f54414950454cbb11278fa", tok.admin, "application/json-patch+json", tooMany, http.StatusBadRequest))
	check(a.call(http.MethodGet, attackTenant+"/v3/personal-access-tokens?owner-id=me", tok.big, "", "", http.StatusForbidden))
	if a.n%10 == 0 { // a request held until the scenario is replaced, which the next round does
		go func() {
			_ = a.call(http.MethodGet, heldTenant+"/v3/personal-access-tokens?owner-id=me", tok.held, "", "", 0)
		}()
		check(a.call(http.MethodPut, heldTenant+"/__admin/scenario", "", "application/yaml", heldScenario, http.StatusNoContent))
	}
	return bad
}

// heldScenario holds every list call for as long as a scenario may.
const heldScenario = "rules:\n  - match: {operation: listPersonalAccessTokens}\n    fault: timeout\n"

// attack runs attackers until stop closes, reporting every unexpected answer.
func attack(a *attacker, tok tokens, workers int, stop <-chan struct{}, report func(string)) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			w := &attacker{client: a.client, base: a.base}
			for {
				select {
				case <-stop:
					a.sent.Add(w.sent.Load())
					return
				default:
				}
				for _, bad := range w.round(tok) {
					report(bad)
				}
			}
		})
	}
	return &wg
}

// maxHeap polls the server's heap (no collection) until stop closes and returns the largest seen.
func maxHeap(base string, stop <-chan struct{}) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond): // sampling, not waiting for anything
			}
			res, err := http.Get(base + "/__admin/stats")
			if err != nil {
				continue
			}
			var s serverStats
			_ = json.NewDecoder(res.Body).Decode(&s)
			res.Body.Close()
			if s.HeapBytes > peak.Load() {
				peak.Store(s.HeapBytes)
			}
		}
	}()
	return func() int64 { <-done; return peak.Load() }
}
