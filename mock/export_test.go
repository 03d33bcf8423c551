package mock_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

// TestExportGolden pins the export's document, YAML and JSON.
func TestExportGolden(t *testing.T) {
	srv := newServer(t)
	if err := srv.SetIdentityEnabled(auditorID, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ accept, file, contentType string }{
		{"", "fixtures.yaml", "application/yaml"},
		{"application/yaml, application/json", "fixtures.yaml", "application/yaml"},
		{"application/json", "fixtures.json", "application/json"},
	} {
		t.Run(tc.file+" for "+tc.accept, func(t *testing.T) {
			res := admin(t, srv, http.MethodGet, "/__admin/fixtures", "", "Accept", tc.accept).wantStatus(t, http.StatusOK)
			if ct := res.Header.Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			golden(t, filepath.Join("..", "testdata", "golden", "export", tc.file), res.Body)
		})
	}
}

// TestExportHoldsNoCredentialOfTheServer: an export has the tokens' secrets, as fixtures do, but
// never a bearer token, the signing key or the admin token; and it needs the admin token.
func TestExportHoldsNoCredentialOfTheServer(t *testing.T) {
	srv := newServer(t, mock.WithAdminToken("adm1n-s3cret"))
	bearer := token(t, srv, userID)
	admin(t, srv, http.MethodGet, "/__admin/fixtures", "").wantStatus(t, http.StatusUnauthorized)
	for _, accept := range []string{"", "application/json"} {
		doc := string(admin(t, srv, http.MethodGet, "/__admin/fixtures", "", "Authorization", "Bearer adm1n-s3cret", "Accept", accept).
			wantStatus(t, http.StatusOK).Body)
		for _, leak := range []string{bearer, "adm1n-s3cret", "PRIVATE KEY", "eyJ"} {
			if strings.Contains(doc, leak) {
				t.Errorf("the export (Accept %q) holds %.12s...", accept, leak)
			}
		}
		if !strings.Contains(doc, secret) {
			t.Errorf("the export lacks the tokens' secrets")
		}
	}
}

// TestExportRoundTrip: a random tenant, changed through the API, exported and loaded into a
// tenant made from no fixtures, answers every list, filter and token exchange as the first does.
func TestExportRoundTrip(t *testing.T) {
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x15c))
			src := mock.NewServer(t, mock.WithFixtureData(randomFixtures(rng)), mock.WithClock(start), mock.WithSeed(seed))
			changeAtRandom(t, src, rng)
			accept := []string{"application/yaml", "application/json"}[seed%2]
			doc := admin(t, src, http.MethodGet, "/__admin/fixtures", "", "Accept", accept).wantStatus(t, http.StatusOK).Body

			dst := mock.NewServer(t, mock.WithFixtureData(mock.Fixtures{}), mock.WithClock(src.Clock().Now()), mock.WithSeed(seed))
			admin(t, dst, http.MethodPost, "/__admin/fixtures", string(doc)).wantStatus(t, http.StatusNoContent)
			if diff := cmp.Diff(src.Export(), dst.Export()); diff != "" {
				t.Fatalf("export after loading it (-source +loaded):\n%s", diff)
			}
			sameAnswers(t, src, dst, rng)
		})
	}
}

// randomFixtures is a tenant of an org admin (always enabled, to read everything) and a few
// identities with up to four tokens each, some used, some expiring, some managed.
func randomFixtures(rng *rand.Rand) mock.Fixtures {
	f := mock.Fixtures{Identities: []mock.Identity{{ID: adminID, Name: "Ada Admin", UserLevels: []string{"ORG_ADMIN"}}}}
	for i := range rng.IntN(4) {
		f.Identities = append(f.Identities, mock.Identity{ID: fmt.Sprintf("1d%030d", i), Name: fmt.Sprintf("User %d", i),
			Rights: slices.Repeat([]string{"idn:all-personal-access-tokens:read"}, rng.IntN(2)), Enabled: ptr(rng.IntN(4) > 0)})
	}
	for i, id := range f.Identities {
		for j := range rng.IntN(5) {
			p := mock.PAT{ID: fmt.Sprintf("%02x%030x", i, j), Secret: fmt.Sprintf("s%063d", rng.IntN(1e9)), Name: fmt.Sprintf("token %d", j),
				Owner: id.ID, Created: start.Add(-time.Duration(rng.IntN(1e6)) * time.Minute), Managed: rng.IntN(5) == 0}
			if rng.IntN(2) == 0 {
				p.LastUsed = ptr(start.Add(-time.Duration(rng.IntN(1e9)) * time.Millisecond))
			}
			if rng.IntN(3) == 0 {
				p.ExpirationDate = ptr(start.Add(time.Duration(rng.IntN(2e6)-1e6) * time.Minute))
			}
			if rng.IntN(3) == 0 {
				p.Scope, p.AccessTokenValiditySeconds = []string{"sp:my-personal-access-tokens:manage"}, 600+rng.IntN(3000)
			}
			f.PersonalAccessTokens = append(f.PersonalAccessTokens, p)
		}
	}
	return f
}

// changeAtRandom makes a few writes of every kind the API has: creates, renames, deletes,
// exchanges (which set lastUsed), clock moves, an identity disabled.
func changeAtRandom(t *testing.T, srv *mock.Server, rng *rand.Rand) {
	t.Helper()
	for range 12 {
		pats := srv.PATs()
		switch rng.IntN(6) {
		case 0:
			do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, adminID),
				Body: fmt.Sprintf(`{"name":"made %d"}`, rng.IntN(1e9))})
		case 1, 2:
			if len(pats) > 0 {
				p := pats[rng.IntN(len(pats))]
				do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: grantForm(p),
					ContentType: "application/x-www-form-urlencoded"})
			}
		case 3:
			if p := ownedBy(pats, adminID); p != "" {
				do(t, srv, request{Method: http.MethodPatch, Path: "/v3/personal-access-tokens/" + p, Token: token(t, srv, adminID),
					Body: fmt.Sprintf(`[{"op":"replace","path":"/name","value":"renamed %d"}]`, rng.IntN(1e9))})
			}
		case 4:
			if p := ownedBy(pats, adminID); p != "" {
				do(t, srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + p, Token: token(t, srv, adminID)})
			}
		case 5:
			if err := srv.Clock().Advance(time.Duration(rng.IntN(1e6)) * time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ids := srv.Identities(); len(ids) > 1 {
		if err := srv.SetIdentityEnabled(ids[1+rng.IntN(len(ids)-1)].ID, false); err != nil {
			t.Fatal(err)
		}
	}
}

func ownedBy(pats []mock.PAT, owner string) string {
	for _, p := range pats {
		if p.Owner == owner && !p.Managed {
			return p.ID
		}
	}
	return ""
}

// sameAnswers compares the two tenants' lists (whole tenant, per owner, with lastUsed filters, in
// several versions) byte for byte, then each token's exchange.
func sameAnswers(t *testing.T, a, b *mock.Server, rng *rand.Rand) {
	t.Helper()
	tokA, tokB := token(t, a, adminID), token(t, b, adminID)
	cut := start.Add(-time.Duration(rng.IntN(1e9)) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
	queries := []string{"", "?filters=" + url.QueryEscape("lastUsed isnull"), "?filters=" + url.QueryEscape("lastUsed le "+cut)}
	for _, id := range a.Identities() {
		queries = append(queries, "?owner-id="+id.ID, "?owner-id="+id.ID+"&filters="+url.QueryEscape("lastUsed isnull"))
	}
	for _, v := range []string{"/v3", "/beta", "/v2025", "/personal-access-tokens/v1"} {
		path := v + "/personal-access-tokens"
		if v == "/personal-access-tokens/v1" {
			path = v
		}
		for _, q := range queries {
			ra := do(t, a, request{Method: http.MethodGet, Path: path + q, Token: tokA})
			rb := do(t, b, request{Method: http.MethodGet, Path: path + q, Token: tokB})
			if ra.Status != rb.Status || string(ra.Body) != string(rb.Body) {
				t.Errorf("GET %s%s: %d %s\nloaded: %d %s", path, q, ra.Status, ra.Body, rb.Status, rb.Body)
			}
		}
	}
	for _, p := range a.PATs() {
		exchange := request{Method: http.MethodPost, Path: "/oauth/token", Body: grantForm(p), ContentType: "application/x-www-form-urlencoded"}
		ra, rb := do(t, a, exchange), do(t, b, exchange)
		if ra.Status != rb.Status {
			t.Errorf("token of %s: %d, loaded %d", p.ID, ra.Status, rb.Status)
		}
		if ra.Status == http.StatusOK {
			if diff := cmp.Diff(grant(t, ra.Body), grant(t, rb.Body)); diff != "" {
				t.Errorf("token of %s (-source +loaded):\n%s", p.ID, diff)
			}
		} else if string(ra.Body) != string(rb.Body) {
			t.Errorf("token of %s: %s, loaded %s", p.ID, ra.Body, rb.Body)
		}
	}
}

// grant is a token answer with what must differ taken out: the token's id, and its times to the
// second (the two clocks started a moment apart); the token's claims stay, compared in its place.
func grant(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var g map[string]any
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(g["access_token"].(string), ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"jti", "exp", "iat", "nbf"} {
		delete(claims, k)
	}
	delete(g, "jti")
	g["access_token"] = claims
	return g
}

// grantForm is the client-credentials form of a token.
func grantForm(p mock.PAT) string {
	return form(url.Values{"grant_type": {"client_credentials"}, "client_id": {p.ID}, "client_secret": {p.Secret}})
}
