package mock_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/iscmock/iscmock/internal/conformance"
	"github.com/iscmock/iscmock/mock"
)

// The bounds that keep every resource of the mock finite, each held by a test here; README's
// "Guarantees" and its worst-case memory table state them.

// heapGrowth is how much live heap f leaves behind, after collections.
func heapGrowth(f func()) int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	before := m.HeapAlloc
	f()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc) - int64(before)
}

// bigList is a scope, user-level or rights list at the largest the mock takes.
func bigList(prefix string) []string {
	out := make([]string, 100)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d:", prefix, i) + strings.Repeat("x", 100-len(prefix)-4)
	}
	return out
}

// TestListBounds: scope, user levels and rights hold at most 100 entries of at most 100 characters
// of a token-safe alphabet, however they arrive; the largest token the mock issues stays far
// inside the binary's 64 KiB header limit, so it never issues a token that it then refuses.
func TestListBounds(t *testing.T) {
	srv := newServer(t)
	tok := token(t, srv, userID)
	quoted := func(list []string) string { return `["` + strings.Join(list, `","`) + `"]` }
	for _, tc := range []struct{ name, scope, text string }{
		{"too many entries", quoted(append(bigList("sp:"), "sp:one-more")), "at most 100 entries"},
		{"an entry too long", quoted([]string{strings.Repeat("s", 60000)}), "at most 100 characters"},
		{"a space in an entry", quoted([]string{"sp:scopes:all other"}), "only letters, digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: tok, Body: `{"name":"big","scope":` + tc.scope + `}`}).
				wantError(t, http.StatusBadRequest, "400.1.3 Illegal value", "scope", tc.text)
			do(t, srv, request{Method: http.MethodPatch, Path: "/v3/personal-access-tokens/" + userPAT, Token: tok,
				Body: `[{"op":"replace","path":"/scope","value":` + tc.scope + `}]`}).wantError(t, http.StatusBadRequest, "400.1.3 Illegal value", tc.text)
			adminErr(t, admin(t, srv, http.MethodPost, "/__admin/tokens", `{"identityId":"`+userID+`","scope":`+tc.scope+`}`), http.StatusBadRequest, tc.text)
		})
	}
	if _, err := srv.AccessToken(userID, strings.Repeat("s", 60000)); err == nil || !strings.Contains(err.Error(), "at most 100 characters") {
		t.Errorf("AccessToken with a 60,000-character scope: %v", err)
	}
	_, err := mock.ParseFixtures("f.yaml", []byte("identities:\n  - id: a\n    name: A\n    rights: ["+strings.Repeat("r,", 101)+"r]\n"+
		"    userLevels: ["+strings.Repeat("x", 101)+"]\n"))
	for _, want := range []string{"f.yaml:4: identities[0].rights: must have at most 100 entries", "f.yaml:5: identities[0].userLevels: entry 0 must be at most 100 characters"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("fixtures with long lists: %v, want %q", err, want)
		}
	}

	// The largest token: every list and name at its bound.
	worst := mock.Fixtures{
		Identities: []mock.Identity{{ID: strings.Repeat("i", 64), Name: strings.Repeat("n", 255), UserName: strings.Repeat("u", 255),
			UserLevels: bigList("LEVEL_"), Rights: bigList("idn:")}},
		PersonalAccessTokens: []mock.PAT{{ID: strings.Repeat("p", 64), Secret: secret, Name: strings.Repeat("t", 255), Owner: strings.Repeat("i", 64), Scope: bigList("sp:")}},
	}
	big := mock.NewServer(t, mock.WithFixtureData(worst), mock.WithClock(start), mock.WithMaxTenants(0))
	var minted tokenJSON
	do(t, big, request{Method: http.MethodPost, Path: "/tenants/" + strings.Repeat("o", 64) + "/oauth/token", Body: form(credentials(strings.Repeat("p", 64))),
		ContentType: "application/x-www-form-urlencoded"}).wantStatus(t, http.StatusOK).decode(t, &minted)
	if n := len(minted.AccessToken); n > 32<<10 {
		t.Errorf("the largest access token is %d bytes, want at most 32 KiB", n)
	}
	t.Logf("largest access token: %d bytes", len(minted.AccessToken))
}

// TestVerifiedTokenCacheBound: the cache of verified bearer tokens is bounded by bytes, whatever
// the tokens hold, and Reset empties it.
func TestVerifiedTokenCacheBound(t *testing.T) {
	srv, err := mock.New(mock.WithFixtureData(testFixtures()), mock.WithClock(start), mock.WithJournalSize(1)) // the cache alone
	if err != nil {
		t.Fatal(err)
	}
	scope := bigList("sp:")
	use := func(n int) {
		for range n {
			tok, err := srv.AccessToken(adminID, scope...)
			if err != nil {
				t.Fatal(err)
			}
			if rec := serveDirect(srv, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", tok, "", ""); rec.Code != http.StatusForbidden {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	}
	use(50) // warm up
	grown := heapGrowth(func() { use(2000) })
	t.Logf("2000 verified tokens of 100 scopes left %d bytes", grown)
	if grown > 3<<20 {
		t.Errorf("2000 verified tokens grew the heap by %d bytes, want at most the cache's 2 MiB (and slack)", grown)
	}
	freed := heapGrowth(func() { _ = srv.Reset() })
	if freed > -256<<10 {
		t.Errorf("Reset freed %d bytes of the cache, want most of it", -freed)
	}
}

// TestJournalEntryBound: a journal entry keeps at most 256 bytes of a path and 1 KiB of its cause,
// marked when cut, and a tenant's journal at most journal.Budget (2 MiB) of headers and bodies, so
// long paths and large bodies cannot grow it past its documented worst case.
func TestJournalEntryBound(t *testing.T) {
	srv := newServer(t, mock.WithJournalSize(1000), mock.WithMaxTenants(0))
	long := "/v3/" + strings.Repeat("p", 60<<10)
	tok := token(t, srv, adminID)
	body := `{"name":"` + strings.Repeat("n", 900<<10) + `"}`
	grown := heapGrowth(func() {
		for i := range 1000 {
			if i%2 == 0 {
				serveDirect(srv, http.MethodGet, long, "", "", "")
			} else { // a body of 900 KB, read and refused: its first 16 KiB are kept
				serveDirect(srv, http.MethodPost, "/v3/personal-access-tokens", tok, "application/json", body)
			}
		}
	})
	t.Logf("1000 requests with 60 KB paths or 900 KB bodies left %d bytes", grown)
	if limit := int64(1000*4<<10 + 2<<20 + 1<<20); grown > limit {
		t.Errorf("1000 journaled requests with 60 KB paths or 900 KB bodies grew the heap by %d bytes, want under %d", grown, limit)
	}
	got := srv.Requests()
	if len(got) != 1000 || !strings.HasSuffix(got[0].Path, fmt.Sprintf("...(cut from %d bytes)", len(long))) || len(got[0].Path) > 300 {
		t.Errorf("journal of %d entries, first path %.60q... (%d bytes): want each cut to 256 bytes and marked", len(got), got[0].Path, len(got[0].Path))
	}
}

// memStats is the live heap plus goroutine stacks, after collections.
func liveBytes() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}

// TestWorstCaseMemory measures what each bounded resource costs at its worst, the figures README's
// memory table states, and holds each to them.
func TestWorstCaseMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory")
	}
	type row struct {
		what  string
		n     int
		bytes int64
		limit int64 // what the README states, per item
	}
	var rows []row
	measure := func(what string, n int, limit int64, f func()) {
		before := liveBytes()
		f()
		rows = append(rows, row{what, n, (liveBytes() - before) / int64(n), limit})
	}

	// A tenant made from the default fixtures, a token minted and used in it.
	srv := newServer(t, mock.WithMaxTenants(0))
	var tenants []*mock.Tenant
	measure("tenant, in use", 200, 24<<10, func() {
		for i := range 200 {
			ta, err := srv.OpenTenant(fmt.Sprint("t", i))
			if err != nil {
				t.Fatal(err)
			}
			serveDirect(srv, http.MethodGet, "/tenants/"+ta.Name()+"/v3/personal-access-tokens?owner-id=me", token(t, ta, userID), "", "")
			tenants = append(tenants, ta)
		}
	})
	runtime.KeepAlive(tenants)

	// A token at every bound: 64-character id, 255-character secret, name of 255 four-byte
	// characters, 100 scopes of 100 characters.
	big := mock.NewServer(t, mock.WithFixtureData(testFixtures()), mock.WithClock(start))
	measure("personal access token, every field at its bound", 1000, 24<<10, func() {
		var f mock.Fixtures
		for i := range 1000 {
			f.PersonalAccessTokens = append(f.PersonalAccessTokens, mock.PAT{ID: fmt.Sprintf("%064d", i), Secret: strings.Repeat("s", 255),
				Name: fmt.Sprint(i) + strings.Repeat("😀", 250), Owner: adminID, Scope: bigList(fmt.Sprint("sp", i%10, ":"))})
		}
		if err := big.Seed(f); err != nil {
			t.Fatal(err)
		}
	})

	// The journal full of requests at its bounds.
	long := "/v3/" + strings.Repeat("p", 32<<10) + "?" + strings.Repeat("q=1&", 8<<10)
	jsrv := newServer(t, mock.WithJournalSize(1000))
	for range 1000 { // fill the ring first: its array is the journal's, full or not
		serveDirect(jsrv, "GET", "/v3/x", "", "", "")
	}
	measure("journal entry, path, query and cause at their bounds", 1000, 4<<10, func() {
		for range 1000 {
			serveDirect(jsrv, strings.Repeat("M", 64), long, "", "", "")
		}
	})

	// Refused token requests remembered, from as many addresses, client id and cause at their bounds.
	fsrv := newServer(t, mock.WithJournalSize(1))
	measure("refused token request remembered", mock.MaxTokenFailures, 3<<9, func() {
		for i := range mock.MaxTokenFailures {
			refuseToken(fsrv, i)
		}
	})

	// Requests a timeout fault holds, over loopback (both ends of each connection count here).
	hsrv := newServer(t, mock.WithScenario(heldScenario(true)))
	tok := token(t, hsrv, userID)
	client := &http.Client{Transport: conformance.Unchecked.(*http.Transport).Clone()}
	var wg sync.WaitGroup
	measure("held request (a connection, both ends)", 100, 64<<10, func() {
		for range 100 {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, hsrv.URL()+"/v3/personal-access-tokens?owner-id=me", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				if res, err := client.Do(req); err == nil {
					res.Body.Close()
				}
			})
		}
		for {
			if st, _ := hsrv.ScenarioStats(); st.Rules[0].Fired == 100 {
				break
			}
			runtime.Gosched()
		}
	})
	hsrv.ClearScenario()
	wg.Wait()

	for _, r := range rows {
		t.Logf("%-50s %8d bytes each (of %d), stated %d", r.what, r.bytes, r.n, r.limit)
		if r.bytes > r.limit {
			t.Errorf("%s: %d bytes each, more than the %d the README states", r.what, r.bytes, r.limit)
		}
	}
}

// TestStateDirWriteHoldsNoCopy: writing a tenant's state file streams it from the store: at no
// moment does the write hold a copy of the state (what the file takes, or what the tenant takes in
// memory), whatever the tenant's size. Memory is sampled with the collector run often, so that
// what is counted is what the write holds.
func TestStateDirWriteHoldsNoCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory")
	}
	f := mock.Fixtures{Identities: []mock.Identity{{ID: adminID, Name: "Ada"}}}
	for i := range 50_000 {
		f.PersonalAccessTokens = append(f.PersonalAccessTokens, mock.PAT{ID: fmt.Sprintf("%032x", i), Secret: strings.Repeat("s", 64),
			Name: fmt.Sprint("token ", i), Owner: adminID, Created: start})
	}
	dir := t.TempDir()
	srv := newServer(t, mock.WithStateDir(dir), mock.WithFixtureData(f), mock.WithMaxTokensPerOwner(0))
	f = mock.Fixtures{}
	info, err := os.Stat(filepath.Join(dir, "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	before := liveBytes()
	peak := sampleHeap()
	if err := srv.Clock().Advance(0); err != nil { // a change: the whole file is written again
		t.Fatal(err)
	}
	held := int64(peak()) - before
	t.Logf("writing a file of %d bytes held %d bytes at most", info.Size(), held)
	// A copy of the state is at least the file's size; the margin below it is for the garbage a
	// collector starved of CPU (other packages' tests run beside this one) leaves uncollected.
	if held > info.Size()*3/4 {
		t.Errorf("writing a file of %d bytes held %d bytes: a copy of the state", info.Size(), held)
	}
}

// refuseToken makes a token request the server refuses, from the i-th of many addresses, naming a
// client id far past the bound of what is remembered of it.
func refuseToken(srv *mock.Server, i int) {
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {strings.Repeat("c", 2000)}, "client_secret": {"s"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = fmt.Sprintf("[2001:db8::%x:%x]:50000", i/65536, i%65536)
	srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
}

// TestTokenFailuresBound: a server remembers refused token requests of at most MaxTokenFailures
// tenant and address pairs, however many addresses send them.
func TestTokenFailuresBound(t *testing.T) {
	srv := newServer(t, mock.WithJournalSize(1))
	for i := range mock.MaxTokenFailures {
		refuseToken(srv, i)
	}
	grown := heapGrowth(func() {
		for i := range 5 * mock.MaxTokenFailures {
			refuseToken(srv, mock.MaxTokenFailures+i)
		}
	})
	t.Logf("%d more addresses grew the heap by %d bytes", 5*mock.MaxTokenFailures, grown)
	if grown > 64<<10 {
		t.Errorf("past the bound, %d more addresses grew the heap by %d bytes", 5*mock.MaxTokenFailures, grown)
	}
}
