package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/iscmock/iscmock/mock"
)

// TestServerIsTheFullHandler: a *Server mounted as an http.Handler serves the isolated tenants and
// the admin API, exactly as Handler() does, not the root tenant alone.
func TestServerIsTheFullHandler(t *testing.T) {
	srv, err := mock.New(mock.WithFixtureData(testFixtures()), mock.WithClock(start))
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Handler{"Server": srv, "Handler()": srv.Handler()} {
		t.Run(name, func(t *testing.T) {
			front := httptest.NewServer(h)
			defer front.Close()
			res, err := http.Post(front.URL+"/tenants/mounted/oauth/token", "application/x-www-form-urlencoded",
				strings.NewReader(form(credentials(userPAT))))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var tok tokenJSON
			if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("token at /tenants/mounted: %d, %v", res.StatusCode, err)
			}
			if tok.Org != "mounted" {
				t.Errorf("org %q, want the tenant's name", tok.Org)
			}
		})
	}
	if got := srv.Tenants(); len(got) != 1 || got[0] != "mounted" {
		t.Errorf("tenants %v, want [mounted]", got)
	}
}

// TestNewErrors: every error from New says where it comes from, whatever went wrong.
func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	badFixtures := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badFixtures, []byte("identities: [{id: 'a b'}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	twoLimits := mock.Scenario{Name: "a", RateLimit: &mock.RateLimit{Requests: 1, Window: time.Second}}
	cases := map[string][]mock.Option{
		"missing fixture file":  {mock.WithFixtures(filepath.Join(dir, "nope.yaml"))},
		"invalid fixtures":      {mock.WithFixtures(badFixtures)},
		"missing scenario file": {mock.WithScenarioFile(filepath.Join(dir, "nope.yaml"))},
		"two rate limits":       {mock.WithScenario(twoLimits), mock.WithScenario(twoLimits)},
		"journal size":          {mock.WithJournalSize(-1)},
		"clock out of range":    {mock.WithClock(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC))},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			srv, err := mock.New(opts...)
			if err == nil || !strings.HasPrefix(err.Error(), "iscmock: ") || strings.HasPrefix(err.Error(), "iscmock: iscmock: ") {
				t.Errorf("New: %v, want one error starting with \"iscmock: \"", err)
			}
			if srv != nil {
				t.Error("New returned a server with its error")
			}
		})
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

// TestOpenTenantErrors: OpenTenant's errors read once, in Go's way, each naming what to do.
func TestOpenTenantErrors(t *testing.T) {
	srv := newServer(t, mock.WithMaxTenants(1))
	if _, err := srv.OpenTenant("a"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, tenant, want string }{
		{"bad name", "a/b", `404 Not found: No tenant "a/b": tenant names are 1 to 64 letters, digits, '-' or '_'.`},
		{"past the bound", "b", "400.1.4 Limit violation: This server holds at most 1 tenants; DELETE /__admin/tenants/NAME frees one."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := srv.OpenTenant(tc.tenant); err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
