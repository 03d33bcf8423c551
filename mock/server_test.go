package mock_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
