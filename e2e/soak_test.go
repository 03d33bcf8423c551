package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscmock/iscmock/internal/conformance"
)

// soakScenario scripts faults into the soak: throttled tokens, failing lists and creates, and
// dropped deletes.
const soakScenario = `name: soak
seed: 7
rules:
  - name: throttle-some-grants
    match: {operation: token}
    when: {every: 20}
    respond: {status: 429}
  - name: fail-some-lists
    match: {operation: listPersonalAccessTokens}
    when: {every: 50}
    respond: {status: 500}
  - name: fail-some-creates
    match: {operation: createPersonalAccessToken}
    when: {every: 37}
    respond: {status: 503}
  - name: drop-some-deletes
    match: {operation: deletePersonalAccessToken}
    when: {probability: 0.01}
    fault: reset
`

// soakHeapCeiling is the heap the soak may reach with the attacks on, as README states.
const soakHeapCeiling = 64 << 20

// TestSoak drives the binary with a long mixed load, faults on and attacks mixed in (attack_test.go),
// and checks that every legitimate answer was one it may give, every attack was refused as it should
// be, the heap stayed under soakHeapCeiling, and memory, goroutines and the journal stay flat. It
// runs only with ISCMOCK_SOAK=1 (ISCMOCK_SOAK_REQUESTS, default 200000; 64 clients).
func TestSoak(t *testing.T) {
	if testing.Short() || !envSet("ISCMOCK_SOAK") {
		t.Skip("set ISCMOCK_SOAK=1 to soak the binary")
	}
	total := envInt("ISCMOCK_SOAK_REQUESTS", 200_000)
	const clients, journal = 64, 1000
	base, _, _ := startBinary(t, "--journal-size", fmt.Sprint(journal))
	adminCall(t, http.MethodPut, base+"/__admin/scenario", soakScenario, http.StatusNoContent, nil)

	tr := conformance.Unchecked.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	// A identity for each client, as ISC limits an owner to ten tokens.
	var fixtures strings.Builder
	var identities []string
	fixtures.WriteString("identities:\n")
	for c := range clients {
		id := fmt.Sprintf("2c9180867b50d088017b5546ff%06d", c)
		identities = append(identities, id)
		fmt.Fprintf(&fixtures, "  - {id: %s, name: soaker %d}\n", id, c)
	}
	adminCall(t, http.MethodPost, base+"/__admin/fixtures", fixtures.String(), http.StatusNoContent, nil)
	var tokens []string
	for _, id := range identities {
		var tok tokenJSON
		adminCall(t, http.MethodPost, base+"/__admin/tokens", `{"identityId":"`+id+`"}`, http.StatusOK, &tok)
		tokens = append(tokens, tok.AccessToken)
	}

	var sent, unexpected, refusedWrongly atomic.Int64
	attackers := &attacker{client: client, base: base}
	attackTokens, err := attackers.setup()
	if err != nil {
		t.Fatal(err)
	}
	// Attacks run beside the load, from warm-up to the end, so the bounds they reach are reached
	// before the heap is first measured.
	stopAttacks := make(chan struct{})
	attacking := attack(attackers, attackTokens, 4, stopAttacks, func(problem string) {
		if refusedWrongly.Add(1) <= 10 {
			t.Error(problem)
		}
	})
	peak := maxHeap(base, stopAttacks)
	run := func(n int) {
		var wg sync.WaitGroup
		var next atomic.Int64
		for c := range clients {
			wg.Go(func() {
				s := soaker{client: client, base: base, token: tokens[c%len(tokens)], name: fmt.Sprint("soak-", c)}
				for next.Add(1) <= int64(n) {
					for _, bad := range s.cycle() {
						unexpected.Add(1)
						if unexpected.Load() <= 10 {
							t.Error(bad)
						}
					}
				}
				sent.Add(s.sent)
			})
		}
		wg.Wait()
	}
	run(2000) // warm up: caches and the journal ring fill
	tr.CloseIdleConnections()
	before := stats(t, base)
	run(total / 5) // each cycle is about five requests
	close(stopAttacks)
	attacking.Wait()
	adminCall(t, http.MethodDelete, base+heldTenant+"/__admin/scenario", "", http.StatusNoContent, nil) // release what it holds
	tr.CloseIdleConnections()
	after := stats(t, base)

	t.Logf("%d requests and %d attacks, %d unexpected answers, %d attacks answered otherwise; heap %d → %d bytes (peak %d), goroutines %d → %d",
		sent.Load(), attackers.sent.Load(), unexpected.Load(), refusedWrongly.Load(), before.HeapBytes, after.HeapBytes, peak(), before.Goroutines, after.Goroutines)
	if unexpected.Load() > 0 {
		t.Errorf("%d unexpected answers", unexpected.Load())
	}
	if refusedWrongly.Load() > 0 {
		t.Errorf("%d attacks answered otherwise than refused", refusedWrongly.Load())
	}
	if p := peak(); p > soakHeapCeiling {
		t.Errorf("the heap reached %d bytes under attack, over the %d stated", p, soakHeapCeiling)
	}
	if float64(after.HeapBytes) > 1.1*float64(before.HeapBytes) {
		t.Errorf("heap grew from %d to %d bytes", before.HeapBytes, after.HeapBytes)
	}
	if float64(after.Goroutines) > 1.1*float64(before.Goroutines)+1 {
		t.Errorf("goroutines grew from %d to %d", before.Goroutines, after.Goroutines)
	}
	var recorded []json.RawMessage
	adminCall(t, http.MethodGet, base+"/__admin/requests", "", http.StatusOK, &recorded)
	if len(recorded) != journal {
		t.Errorf("journal holds %d requests, want its bound %d", len(recorded), journal)
	}
}

func envSet(name string) bool { return envInt(name, 0) > 0 }

type serverStats struct {
	Goroutines int   `json:"goroutines"`
	HeapBytes  int64 `json:"heapBytes"`
}

// stats reads the server's heap and goroutines after a collection; it waits for connections the
// client closed to be gone from the server too.
func stats(t *testing.T, base string) serverStats {
	t.Helper()
	var s, last serverStats
	for range 50 {
		adminCall(t, http.MethodGet, base+"/__admin/stats?gc=true", "", http.StatusOK, &s)
		if s.Goroutines == last.Goroutines {
			return s
		}
		last = s
	}
	return s
}

func adminCall(t *testing.T, method, url, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

// soaker is one client of the soak: it lists, makes a token, renames it, deletes it, and asks for
// an access token, accepting only the answers ISC or the scenario may give.
type soaker struct {
	client      *http.Client
	base, token string
	name        string
	n           int
	sent        int64
}

func (s *soaker) call(method, path, contentType, body string, ok ...int) (int, []byte, string) {
	s.sent++
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if path != "/oauth/token" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := s.client.Do(req)
	if err != nil {
		if method == http.MethodDelete { // a scripted reset
			return 0, nil, ""
		}
		return 0, nil, fmt.Sprintf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, status := range ok {
		if res.StatusCode == status {
			return status, b, ""
		}
	}
	return res.StatusCode, b, fmt.Sprintf("%s %s: unexpected %d %.200s", method, path, res.StatusCode, b)
}

func (s *soaker) cycle() []string {
	var bad []string
	check := func(status int, body []byte, problem string) (int, []byte) {
		if problem != "" {
			bad = append(bad, problem)
		}
		return status, body
	}
	check(s.call(http.MethodGet, "/v3/personal-access-tokens?owner-id=me", "", "", 200, 500))
	check(s.call(http.MethodGet, "/v2025/personal-access-tokens?owner-id=me&filters="+url.QueryEscape("lastUsed isnull"), "", "", 200, 500))
	s.n++
	status, body := check(s.call(http.MethodPost, "/v2025/personal-access-tokens", "application/json",
		fmt.Sprintf(`{"name":"%s-%d","userAwareTokenNeverExpires":true}`, s.name, s.n), 200, 503))
	if status == 200 {
		var p struct{ ID string }
		_ = json.Unmarshal(body, &p)
		check(s.call(http.MethodPatch, "/v3/personal-access-tokens/"+p.ID, "application/json-patch+json",
			fmt.Sprintf(`[{"op":"replace","path":"/name","value":"%s-%d-renamed"}]`, s.name, s.n), 200))
		for { // a dropped delete is retried, as a client would
			if status, _ := check(s.call(http.MethodDelete, "/v3/personal-access-tokens/"+p.ID, "", "", 204)); status != 0 {
				break
			}
		}
	}
	check(s.call(http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded",
		"grant_type=client_credentials&client_id=86f1dc6fe8f54414950454cbb11278fa&client_secret=1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9", 200, 429))
	return bad
}
