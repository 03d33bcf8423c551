package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBinaryStateSurvivesSIGKILL kills a server with a state directory at a random moment while
// writers create, rename and delete tokens in two tenants, many times over. After each restart every
// write that was answered is there, a write in flight is there whole or not at all, no temporary
// file is left, and the bearer tokens of the first run still verify.
func TestBinaryStateSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x51))
	var bearers map[string]string // tenant prefix -> a bearer token of the first run
	ledgers := map[string]*ledger{"": newLedger(), "/tenants/crash": newLedger()}
	for round := range 15 {
		base, _, cmd := startBinary(t, "--state-dir", dir, "--max-tokens-per-owner", "0")
		if bearers == nil {
			bearers = map[string]string{}
			for prefix := range ledgers {
				bearers[prefix] = adminBearer(t, base+prefix)
			}
		}
		for prefix, l := range ledgers {
			l.check(t, round, base+prefix, bearers[prefix])
		}
		if temps, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*")); len(temps) > 0 {
			t.Fatalf("round %d: temporary files left: %v", round, temps)
		}
		var wg sync.WaitGroup
		for prefix, l := range ledgers {
			for w := range 4 {
				wg.Go(func() { l.write(base+prefix, bearers[prefix], fmt.Sprintf("r%dw%d", round, w)) })
			}
		}
		time.Sleep(time.Duration(20+rng.IntN(180)) * time.Millisecond) // the moment of the crash, not a wait for a state
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		wg.Wait()
	}
	for _, l := range ledgers {
		if l.answered == 0 {
			t.Fatal("no write was answered: the test tested nothing")
		}
	}
}

// adminBearer is a bearer token of the default tenant's org admin.
func adminBearer(t *testing.T, base string) string {
	t.Helper()
	res, err := http.PostForm(base+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"86f1dc6fe8f54414950454cbb11278fa"}, "client_secret": {"1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok tokenJSON
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	return tok.AccessToken
}

// ledger is what a tenant's writers were answered, and what they sent without an answer.
type ledger struct {
	mu       sync.Mutex
	tokens   map[string]*written // by id
	answered int
}

// written is one token's writes: the names it may have (the answered one and one in flight) and
// whether it may or must be gone.
type written struct {
	names             []string
	deleted, deleting bool
}

func newLedger() *ledger { return &ledger{tokens: map[string]*written{}} }

// write creates, renames and deletes tokens until the server stops answering.
func (l *ledger) write(base, bearer, prefix string) {
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		status, body := call(base, http.MethodPost, "/v3/personal-access-tokens", bearer, "application/json", fmt.Sprintf(`{"name":%q}`, name))
		if status != http.StatusOK {
			return // a create in flight made a token nobody knows of: the check allows those
		}
		var created struct{ ID string }
		_ = json.Unmarshal(body, &created)
		l.record(func() { l.tokens[created.ID] = &written{names: []string{name}} })
		renamed := name + "-renamed"
		l.record(func() { l.tokens[created.ID].names = append(l.tokens[created.ID].names, renamed) })
		if status, _ := call(base, http.MethodPatch, "/v3/personal-access-tokens/"+created.ID, bearer, "application/json-patch+json",
			fmt.Sprintf(`[{"op":"replace","path":"/name","value":%q}]`, renamed)); status != http.StatusOK {
			return
		}
		l.record(func() { l.tokens[created.ID].names = []string{renamed} })
		if i%4 == 3 {
			continue // some stay
		}
		l.record(func() { l.tokens[created.ID].deleting = true })
		if status, _ := call(base, http.MethodDelete, "/v3/personal-access-tokens/"+created.ID, bearer, "", ""); status != http.StatusNoContent {
			return
		}
		l.record(func() { l.tokens[created.ID].deleted = true })
	}
}

func (l *ledger) record(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn()
	l.answered++
}

// check compares the tenant's tokens with the ledger, which it then brings up to date: writes in
// flight at the crash are settled by what the server kept.
func (l *ledger) check(t *testing.T, round int, base, bearer string) {
	t.Helper()
	status, body := call(base, http.MethodGet, "/__admin/fixtures", "", "", "")
	var doc struct {
		PersonalAccessTokens []struct{ ID, Name string } `json:"personalAccessTokens"`
	}
	if err := json.Unmarshal(body, &doc); status != http.StatusOK || err != nil {
		t.Fatalf("round %d: export: %d %v", round, status, err)
	}
	kept := map[string]string{}
	for _, p := range doc.PersonalAccessTokens {
		kept[p.ID] = p.Name
	}
	for id, w := range l.tokens {
		name, ok := kept[id]
		switch {
		case w.deleted && ok:
			t.Errorf("round %d: %s: token %s was deleted, yet it is there", round, base, id)
		case !ok && !w.deleting && !w.deleted:
			t.Errorf("round %d: %s: token %s (%s) was created, and is gone", round, base, id, w.names[0])
		case ok && !slices.Contains(w.names, name):
			t.Errorf("round %d: %s: token %s is named %q, want one of %q", round, base, id, name, w.names)
		}
		if !ok {
			delete(l.tokens, id)
		} else {
			l.tokens[id] = &written{names: []string{name}}
		}
	}
	if status, body := call(base, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", bearer, "", ""); status != http.StatusOK {
		t.Errorf("round %d: %s: a bearer token of the first run: %d %s", round, base, status, body)
	}
}

// call makes one request; a failed connection is status 0.
func call(base, method, path, bearer, contentType, body string) (int, []byte) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Accept", "application/json") // the export's JSON; the API answers JSON anyway
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil
	}
	return res.StatusCode, b
}
