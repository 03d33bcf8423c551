package mock_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
