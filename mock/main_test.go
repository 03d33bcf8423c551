package mock_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/iscmock/iscmock/internal/conformance"
)

// TestMain checks every response the tests receive against the official OpenAPI documents.
func TestMain(m *testing.M) { conformance.Main(m) }

// TestKnownDeviations: each deviation the checker allows for is one the mock really shows, so
// none stays listed after the mock stops needing it.
func TestKnownDeviations(t *testing.T) {
	if conformance.Default == nil {
		t.Skip("official documents not found: responses are not being checked")
	}
	srv := newServer(t)
	tok := token(t, srv, adminID)
	before := conformance.Default.Used()
	list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok) // the admin's token never expires
	do(t, srv, request{Method: http.MethodPatch, Path: "/v3/personal-access-tokens/" + adminPAT, Token: tok, Body: "[]", ContentType: "text/plain"}).
		wantStatus(t, http.StatusUnsupportedMediaType)
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens", Header: http.Header{"X-Big": {strings.Repeat("h", 2<<20)}}}).
		wantStatus(t, http.StatusRequestHeaderFieldsTooLarge)
	after := conformance.Default.Used()
	for _, d := range conformance.Deviations {
		if after[d.Name] <= before[d.Name] {
			t.Errorf("deviation %s was not needed: drop it from the list, or fix this test", d.Name)
		}
	}
}
