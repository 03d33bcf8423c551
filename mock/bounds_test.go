package mock_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// serveDirect serves a request through Handler() in process, with no connection.
func serveDirect(srv *mock.Server, method, path, tok, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	return rec
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
	srv, err := mock.New(mock.WithFixtureData(testFixtures()), mock.WithClock(start))
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
	freed := heapGrowth(srv.Reset)
	if freed > -256<<10 {
		t.Errorf("Reset freed %d bytes of the cache, want most of it", -freed)
	}
}

// TestJournalEntryBound: a journal entry keeps at most 256 bytes of a path, marked when cut, so
// long paths cannot grow a tenant's journal past its documented worst case.
func TestJournalEntryBound(t *testing.T) {
	srv := newServer(t, mock.WithJournalSize(1000), mock.WithMaxTenants(0))
	long := "/v3/" + strings.Repeat("p", 60<<10)
	grown := heapGrowth(func() {
		for range 1000 {
			serveDirect(srv, http.MethodGet, long, "", "", "")
		}
	})
	t.Logf("1000 requests with 60 KB paths left %d bytes", grown)
	if grown > 1<<20 {
		t.Errorf("1000 journaled requests with 60 KB paths grew the heap by %d bytes, want under 1 MiB", grown)
	}
	got := srv.Requests()
	if len(got) != 1000 || !strings.HasSuffix(got[0].Path, fmt.Sprintf("...(cut from %d bytes)", len(long))) || len(got[0].Path) > 300 {
		t.Errorf("journal of %d entries, first path %.60q... (%d bytes): want each cut to 256 bytes and marked", len(got), got[0].Path, len(got[0].Path))
	}
}

// TestTenantSlotsOnlyOnRealUse: a request that a fresh tenant refuses creates no tenant, so no one
// without credentials can fill the slots; a token minted from the fixtures, or an authorized admin
// call, does.
func TestTenantSlotsOnlyOnRealUse(t *testing.T) {
	srv := newServer(t, mock.WithAdminToken("s3cret"), mock.WithMaxTenants(2))
	for i := range 20 {
		name := fmt.Sprintf("/tenants/squat%d", i)
		adminErr(t, admin(t, srv, http.MethodPost, name+"/__admin/reset", ""), http.StatusUnauthorized, "admin token required")
		do(t, srv, request{Method: http.MethodGet, Path: name + "/v3/personal-access-tokens", Token: token(t, srv, adminID)}).wantStatus(t, http.StatusUnauthorized)
		do(t, srv, request{Method: http.MethodGet, Path: name + "/v3/nothing"}).wantStatus(t, http.StatusNotFound)
		do(t, srv, request{Method: http.MethodPost, Path: name + "/oauth/token", Body: "grant_type=client_credentials&client_id=x&client_secret=y",
			ContentType: "application/x-www-form-urlencoded"}).wantStatus(t, http.StatusUnauthorized)
		admin(t, srv, http.MethodGet, name+"/__admin/health", "").wantStatus(t, http.StatusOK)
	}
	if got := srv.Tenants(); len(got) != 0 {
		t.Fatalf("refused requests made tenants %v", got)
	}
	do(t, srv, request{Method: http.MethodPost, Path: "/tenants/ci-run-1/oauth/token", Body: form(credentials(userPAT)),
		ContentType: "application/x-www-form-urlencoded"}).wantStatus(t, http.StatusOK)
	admin(t, srv, http.MethodGet, "/tenants/ci-run-2/__admin/clock", "", "Authorization", "Bearer s3cret").wantStatus(t, http.StatusOK)
	if got := srv.Tenants(); !cmp.Equal(got, []string{"ci-run-1", "ci-run-2"}) {
		t.Errorf("tenants %v, want the two really used", got)
	}
	do(t, srv, request{Method: http.MethodPost, Path: "/tenants/ci-run-3/oauth/token", Body: form(credentials(userPAT)),
		ContentType: "application/x-www-form-urlencoded"}).wantError(t, http.StatusBadRequest, "400.1.4 Limit violation", "at most 2 tenants")
	adminErr(t, admin(t, srv, http.MethodGet, "/tenants/ci-run-3/__admin/clock", "", "Authorization", "Bearer s3cret"), http.StatusBadRequest, "at most 2 tenants")
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

// TestHandlerCalledDirectly: with no connection to drop (Handler() called with a recorder), no
// fault panics in the caller; the recorder sees what was written before the fault, and the fault's
// name in the Iscmock-Fault header.
func TestHandlerCalledDirectly(t *testing.T) {
	for _, tc := range []struct {
		fault  string
		status int // what the recorder holds
	}{{"reset", 200}, {"empty", 200}, {"timeout", 200}, {"malformed", 200}} {
		t.Run(tc.fault, func(t *testing.T) {
			srv, err := mock.New(mock.WithFixtureData(testFixtures()), mock.WithClock(start),
				mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Fault: tc.fault, Delay: time.Millisecond}}}))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			tok := token(t, srv, userID)
			var rec *httptest.ResponseRecorder
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Fatalf("Handler() panicked in the caller: %v", v)
					}
				}()
				rec = serveDirect(srv, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", tok, "", "")
			}()
			want := tc.fault
			if tc.fault == "malformed" {
				want = "" // an answer, cut in half
			}
			if got := rec.Result().Header.Get("Iscmock-Fault"); got != want || rec.Code != tc.status {
				t.Errorf("recorder: %d, Iscmock-Fault %q; want %d, %q", rec.Code, got, tc.status, want)
			}
		})
	}
}

// TestClockRange: the clock shows times from 1970 to 2200; setting or advancing it outside is
// refused (400 naming the bound in the admin API, an error in Go) and leaves it where it was.
func TestClockRange(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct{ name, body, want string }{
		{"year 1", `{"set":"0001-01-01T00:00:00Z"}`, "set: the clock runs from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z; 0001-01-01T00:00:00Z is outside"},
		{"year 9999", `{"set":"9999-12-31T00:00:00Z"}`, "set: the clock runs from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"},
		{"past the end", `{"advance":"2562047h"}`, "advance: the clock runs from"},
		{"before the start", `{"advance":"-2562047h"}`, "advance: the clock runs from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Clock().Now()
			adminErr(t, admin(t, srv, http.MethodPost, "/__admin/clock", tc.body), http.StatusBadRequest, tc.want)
			if now := srv.Clock().Now(); now.Sub(before) > time.Minute || now.Before(before) {
				t.Errorf("a refused move took the clock from %v to %v", before, now)
			}
		})
	}
	for range 2 { // in range twice: 2026 + 2 × 57 years
		admin(t, srv, http.MethodPost, "/__admin/clock", `{"advance":"500000h"}`).wantStatus(t, http.StatusOK)
	}
	if y := srv.Clock().Now().Year(); y != 2140 {
		t.Errorf("clock in %d after two advances of 57 years from 2026, want 2140", y)
	}
	srv.Reset()
	if err := srv.Clock().Advance(2562047 * time.Hour); err == nil {
		t.Error("Advance(2562047h) took the clock past 2200")
	}
	if err := srv.Clock().Set(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("Set(year 1) was accepted")
	}
	if now := srv.Clock().Now(); now.Before(start) || now.After(start.Add(time.Minute)) {
		t.Errorf("refused moves left the clock at %v", now)
	}
	if _, err := mock.New(mock.WithClock(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC))); err == nil || !strings.Contains(err.Error(), "the clock runs from") {
		t.Errorf("WithClock(1969): %v", err)
	}
}

// TestOptionBounds: option values that mean nothing are refused, naming the option.
func TestOptionBounds(t *testing.T) {
	for _, tc := range []struct {
		opt  mock.Option
		want string
	}{
		{mock.WithJournalSize(-5), "WithJournalSize(-5)"},
		{mock.WithJournalSize(0), "WithJournalSize(0)"},
		{mock.WithMaxTenants(-1), "WithMaxTenants(-1)"},
		{mock.WithMaxTokensPerOwner(-1), "WithMaxTokensPerOwner(-1)"},
	} {
		if _, err := mock.New(tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.want, err)
		}
	}
}

// TestHealthHEAD: container health probes send HEAD.
func TestHealthHEAD(t *testing.T) {
	srv := newServer(t, mock.WithAdminToken("s3cret"))
	for _, path := range []string{"/__admin/health", "/tenants/x/__admin/health"} {
		res := do(t, srv, request{Method: http.MethodHead, Path: path})
		if res.Status != http.StatusOK || len(res.Body) != 0 {
			t.Errorf("HEAD %s: %d %q, want 200 without a body", path, res.Status, res.Body)
		}
	}
}

// TestFilesOnDisk: the mock reads regular files only, and at most their bound; a FIFO or a device
// is refused at once rather than read forever or waited on.
func TestFilesOnDisk(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sized := func(name string, size int64) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil { // sparse: no disk used
			t.Fatal(err)
		}
		return p
	}
	bigFixtures, bigScenario := sized("big.yaml", mock.MaxFixtureFile+1), sized("big-scenario.yaml", mock.MaxScenarioFile+1)
	fixtures := func(p string) error { _, err := mock.LoadFixtures(p); return err }
	scenario := func(p string) error { _, err := mock.LoadScenarioFile(p); return err }
	server := func(p string) error { _, err := mock.New(mock.WithFixtures(p)); return err }
	for _, tc := range []struct {
		name string
		load func(string) error
		path string
		want string
	}{
		{"fixtures from a FIFO", fixtures, fifo, fifo + ": is a named pipe; give a regular file"},
		{"scenario from a FIFO", scenario, fifo, "is a named pipe"},
		{"server with fixtures from a FIFO", server, fifo, "is a named pipe"},
		{"fixtures from /dev/zero", fixtures, "/dev/zero", "/dev/zero: is a device"},
		{"scenario from /dev/urandom", scenario, "/dev/urandom", "/dev/urandom: is a device"},
		{"fixtures from a directory", fixtures, dir, "is a directory"},
		{"fixtures past their bound", fixtures, bigFixtures, fmt.Sprintf("larger than %d bytes", mock.MaxFixtureFile)},
		{"scenario past its bound", scenario, bigScenario, fmt.Sprintf("larger than %d bytes", mock.MaxScenarioFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tc.load(tc.path) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%v, want an error with %q", err, tc.want)
				}
			case <-time.After(10 * time.Second): // a guard against hanging, not a timing check
				t.Fatal("still reading after 10 s")
			}
		})
	}
}

// TestYAMLAliases: no document the mock reads may use an alias, wherever it stands: fixtures,
// scenarios, admin uploads and validate alike refuse them with the file, line and field. The
// scenario here is about 100 KB whose aliases stand for 300 MB.
func TestYAMLAliases(t *testing.T) {
	scenarioBomb := "rules:\n  - respond:\n      status: 500\n      headers: {X-A: &big " + strings.Repeat("x", 100<<10) + "}\n      body:\n" + strings.Repeat("        - *big\n", 3000)
	fixtureBomb := "identities:\n  - {id: a, name: A}\npersonalAccessTokens:\n  - id: p\n    secret: s\n    name: n\n    owner: a\n    scope:\n      - &s " + strings.Repeat("y", 90) + "\n" + strings.Repeat("      - *s\n", 90)
	merge := "rateLimit: &rl {requests: 1, window: 1s}\nrules:\n  - name: x\n    respond: {status: 500}\n    match:\n      <<: *rl\n"
	for _, tc := range []struct {
		name, doc string
		parse     func(string, []byte) error
		want      string
	}{
		{"scenario body", scenarioBomb, parseScenario, "s.yaml:6: rules[0].respond.body[0]: aliases (*big) are not supported; write the value out"},
		{"fixture scope", fixtureBomb, parseFixtures, "s.yaml:10: personalAccessTokens[0].scope[1]: aliases (*s) are not supported"},
		{"merge key", merge, parseScenario, "s.yaml:6: rules[0].match.<<: aliases (*rl) are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			grown := heapGrowth(func() { err = tc.parse("s.yaml", []byte(tc.doc)) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%.200v\nwant an error with %q", err, tc.want)
			}
			if grown > 16<<20 {
				t.Errorf("parsing a %d-byte document left %d bytes", len(tc.doc), grown)
			}
		})
	}
	srv := newServer(t)
	adminErr(t, admin(t, srv, http.MethodPut, "/__admin/scenario", scenarioBomb), http.StatusBadRequest, "scenario:6: rules[0].respond.body[0]: aliases (*big) are not supported")
	adminErr(t, admin(t, srv, http.MethodPost, "/__admin/fixtures", fixtureBomb), http.StatusBadRequest, "fixtures:10: personalAccessTokens[0].scope[1]: aliases")
	path := filepath.Join(t.TempDir(), "bomb.yaml")
	if err := os.WriteFile(path, []byte(scenarioBomb), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mock.LoadScenarioFile(path); err == nil || !strings.Contains(err.Error(), path+":6: rules[0].respond.body[0]: aliases") {
		t.Errorf("scenario file: %.200v", err)
	}
	if _, err := mock.ParseScenario("ok.yaml", []byte("rules:\n  - name: &n anchored only\n    respond: {status: 500}\n")); err != nil {
		t.Errorf("an anchor without aliases: %v", err)
	}
}

func parseScenario(name string, data []byte) error {
	_, err := mock.ParseScenario(name, data)
	return err
}
func parseFixtures(name string, data []byte) error {
	_, err := mock.ParseFixtures(name, data)
	return err
}

// TestPatchDecodedStrictly: a JSON Patch is decoded once, with exact member names and no member
// twice, and the library applies exactly the operations checked; its length is bounded.
func TestPatchDecodedStrictly(t *testing.T) {
	item := "/v2025/personal-access-tokens/" + userPAT
	many := func(n int) string {
		return "[" + strings.Repeat(`{"op":"test","path":"/name","value":"user laptop"},`, n-1) + `{"op":"replace","path":"/name","value":"many"}]`
	}
	for _, tc := range []struct {
		name, body string
		status     int
		code, text string
	}{
		{"a Path beside path", `[{"op":"replace","path":"/accessTokenValiditySeconds","Path":"/name","value":"x"}]`, 400, "400.1.3 Illegal value", "changes /accessTokenValiditySeconds"},
		{"Path alone", `[{"op":"replace","Path":"/name","value":"x"}]`, 400, "400.0 Bad request syntax", "has no path"},
		{"From for from", `[{"op":"move","From":"/id","path":"/name"}]`, 400, "400.0 Bad request syntax", "has no from"},
		{"Op for op", `[{"Op":"remove","path":"/name"}]`, 400, "400.0 Bad request syntax", `has op ""`},
		{"path twice", `[{"op":"replace","path":"/name","path":"/accessTokenValiditySeconds","value":"x"}]`, 400, "400.0 Bad request syntax", `member "path" twice`},
		{"value twice", `[{"op":"replace","path":"/name","value":"a","value":"b"}]`, 400, "400.0 Bad request syntax", `member "value" twice`},
		{"path not a string", `[{"op":"remove","path":["/name"]}]`, 400, "400.0 Bad request syntax", "path must be a string"},
		{"an op not an object", `[["replace","/name","x"]]`, 400, "400.0 Bad request syntax", "operation 0 is not a JSON object"},
		{"data after the array", `[{"op":"replace","path":"/name","value":"x"}] []`, 400, "400.0 Bad request syntax", "data follows"},
		{"unknown members are ignored", `[{"op":"replace","path":"/name","value":"renamed","comment":"why"}]`, 200, "", ""},
		{"the most operations", many(256), 200, "", ""},
		{"one operation too many", many(257), 400, "400.1.4 Limit violation", "at most 256 operations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			before := srv.PATs()
			res := do(t, srv, request{Method: http.MethodPatch, Path: item, Token: token(t, srv, userID), Body: tc.body})
			if tc.status == 200 {
				res.wantStatus(t, 200)
				return
			}
			res.wantError(t, tc.status, tc.code, tc.text)
			if diff := cmp.Diff(before, srv.PATs()); diff != "" {
				t.Errorf("a refused patch changed the tenant:\n%s", diff)
			}
		})
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
	measure("journal entry, path and query at their bounds", 1000, 2<<10, func() {
		for range 1000 {
			serveDirect(jsrv, strings.Repeat("M", 64), long, "", "", "")
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

// TestTenantScenarioCountsStay: a token request with good credentials claims its tenant before the
// scenario counts it, so a rule that throttles the first grants lets the third through.
func TestTenantScenarioCountsStay(t *testing.T) {
	srv := newServer(t, scenarioFile("token-throttled.yaml"))
	for i, want := range []int{429, 429, 200} {
		res := do(t, srv, request{Method: http.MethodPost, Path: "/tenants/ci/oauth/token", Body: form(credentials(userPAT)),
			ContentType: "application/x-www-form-urlencoded", Unchecked: true})
		if res.Status != want {
			t.Errorf("grant %d: %d, want %d", i+1, res.Status, want)
		}
	}
}
