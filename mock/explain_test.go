package mock_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

// TestRefusalCauses: every answer that is not the API working normally carries Iscmock-Cause, one
// line saying why, which the journal keeps as its cause; ISC's body stays ISC's.
func TestRefusalCauses(t *testing.T) {
	srv := newServer(t)
	other, err := srv.OpenTenant("other")
	if err != nil {
		t.Fatal(err)
	}
	admin, user := token(t, srv, adminID), token(t, srv, userID)
	// Each 403 rule, each 401 reason, and one of every other status.
	readOnly := token(t, srv, userID, "sp:my-personal-access-tokens:read")
	if err := srv.SetIdentityEnabled(auditorID, true); err != nil {
		t.Fatal(err)
	}
	auditor := token(t, srv, auditorID)
	otherTenants := token(t, other, adminID)
	tampered := tamper(t, admin)
	// The rate limiter's and a rule's answers, and an expiry, in a tenant of their own.
	faulty, err := srv.OpenTenant("faulty")
	if err != nil {
		t.Fatal(err)
	}
	if err := faulty.LoadScenario(mock.Scenario{RateLimit: &mock.RateLimit{Requests: 1, Window: time.Minute, Per: "client"},
		Rules: []mock.Rule{{Name: "break-deletes", Match: mock.RuleMatch{Operation: "deletePersonalAccessToken"}, Respond: &mock.Response{Status: 503}}}}); err != nil {
		t.Fatal(err)
	}
	faultyAdmin := token(t, faulty, adminID)
	cases := []struct {
		name   string
		req    request
		status int
		cause  string // a regular expression the cause must match
		setup  func()
	}{
		{"400: a rule of a field", request{Method: http.MethodPost, Path: "/v2024/personal-access-tokens", Token: admin, Body: `{"scope":[]}`},
			400, `^name is required\.$`, nil},
		{"400: a body that does not parse", request{Method: http.MethodPost, Path: "/v2024/personal-access-tokens", Token: admin, Body: `{"name":`},
			400, `^The request body must be a JSON object`, nil},
		{"401: no Authorization header", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens?owner-id=me"},
			401, `^no Authorization header: send Authorization: Bearer TOKEN`, nil},
		{"401: HTTP Basic", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens?owner-id=me", Header: http.Header{"Authorization": {"Basic eDp5"}}},
			401, `uses the scheme "Basic", not Bearer TOKEN`, nil},
		{"401: Bearer and nothing", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens?owner-id=me", Header: http.Header{"Authorization": {"Bearer "}}},
			401, `is Bearer with no token after it`, nil},
		{"401: not a JWT", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens?owner-id=me", Token: "garbage"},
			401, `is not a JWT .*malformed`, nil},
		{"401: signed by another tenant", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens?owner-id=me", Token: otherTenants},
			401, `signed by another tenant \(org "other", tenant_id [0-9a-f-]{36}\), not this one \(org "iscmock"\)`, nil},
		{"401: a changed token", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens?owner-id=me", Token: tampered},
			401, `signature does not match this tenant's key`, nil},
		{"401: another algorithm", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens?owner-id=me", Token: unsigned(t, admin)},
			401, `signed with "none"; this tenant signs with ES256`, nil},
		{"401: disabled identity", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens?owner-id=me", Token: auditor},
			401, `identity ` + auditorID + ` \(Otto Auditor, end user\) is disabled`, func() { _ = srv.SetIdentityEnabled(auditorID, false) }},
		{"403: the scope gate", request{Method: http.MethodPost, Path: "/v2024/personal-access-tokens", Token: readOnly, Body: `{"name":"x"}`},
			403, `createPersonalAccessToken needs a token scoped sp:scopes:all or one of sp:my-personal-access-tokens:manage, `, nil},
		{"403: every token without the right", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens", Token: user},
			403, `^listPersonalAccessTokens without owner-id needs idn:all-personal-access-tokens:read \(the user level ORG_ADMIN has it.*\); ` +
				userID + ` \(Uma User, end user\) has idn:my-personal-access-tokens:read, idn:my-personal-access-tokens:manage, through a token of client \S+ scoped \[sp:scopes:all\]$`, nil},
		{"403: an identity's tokens without the right", request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens?owner-id=" + userID, Token: user},
			403, `with owner-id=` + userID + ` \(an identity's id, even the caller's own\) needs idn:all-personal-access-tokens:read`, nil},
		{"403: another's token patched", request{Method: http.MethodPatch, Path: "/v2024/personal-access-tokens/" + userPAT, Token: admin,
			Body: `[{"op":"replace","path":"/name","value":"x"}]`}, 403, `token ` + userPAT + ` is identity ` + userID + `'s, and only its owner may patch it`, nil},
		{"403: another's token deleted", request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + adminPAT, Token: user},
			403, `deletePersonalAccessToken of another identity's token \(` + adminID + `'s\) needs idn:all-personal-access-tokens:manage`, nil},
		{"404: no route", request{Method: http.MethodGet, Path: "/v4/personal-access-tokens", Token: admin},
			404, `^no route GET /v4/personal-access-tokens: the API serves`, nil},
		{"404: no such token", request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/ffffffffffffffffffffffffffffffff", Token: admin},
			404, `^no personal access token ffffffffffffffffffffffffffffffff in this tenant$`, nil},
		{"405", request{Method: http.MethodPut, Path: "/v3/personal-access-tokens", Token: admin},
			405, `^PUT is not a method of /v3/personal-access-tokens, which allows GET, HEAD, POST, OPTIONS$`, nil},
		{"413", request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: admin, Body: strings.Repeat(" ", 2<<20) + "{}"},
			413, `larger than 1048576 bytes`, nil},
		{"415", request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: admin, Body: `{}`, ContentType: "text/plain"},
			415, `^the request has Content-Type "text/plain"; this operation takes application/json$`, nil},
		{"429: the rate limiter", request{Method: http.MethodGet, Path: "/tenants/faulty/beta/personal-access-tokens?owner-id=me", Token: faultyAdmin},
			429, `^rate limit of 1 requests per 1m0s per client and API version: client \S+ made 2 in beta's window \S+ to \S+ on the mock clock`,
			func() {
				do(t, srv, request{Method: http.MethodGet, Path: "/tenants/faulty/beta/personal-access-tokens?owner-id=me", Token: faultyAdmin})
			}},
		{"a rule's answer", request{Method: http.MethodDelete, Path: "/tenants/faulty/v2024/personal-access-tokens/" + stalePAT, Token: faultyAdmin, Unchecked: true},
			503, `^scenario rule "break-deletes" acted on its matching call 1: status 503$`, nil},
		// Last: it moves the clock.
		{"401: expired on the mock clock", request{Method: http.MethodGet, Path: "/tenants/faulty/v2024/personal-access-tokens?owner-id=me", Token: faultyAdmin},
			401, `expired at \S+ on the mock clock, which shows \S+`, func() { _ = faulty.Clock().Advance(13 * time.Hour) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			res := do(t, srv, tc.req)
			res.wantStatus(t, tc.status)
			cause := res.Header.Get("Iscmock-Cause")
			if !regexp.MustCompile(tc.cause).MatchString(cause) {
				t.Errorf("Iscmock-Cause %q, want it to match %s", cause, tc.cause)
			}
			tenant := srv.Tenant
			if strings.HasPrefix(tc.req.Path, "/tenants/faulty/") {
				tenant = faulty
			}
			journaled := tenant.Requests()
			if last := journaled[len(journaled)-1]; last.Cause != cause || last.RequestID != res.Header.Get("SLPT-Request-ID") {
				t.Errorf("journal's cause %q, want the header's %q", last.Cause, cause)
			}
			for _, body := range []string{"Iscmock", "iscmock", "needs", "no route"} {
				if strings.Contains(string(res.Body), body) {
					t.Errorf("ISC's body %s holds the mock's explanation", res.Body)
				}
			}
		})
	}
}

// TestCauseNeverHintsAtAnotherTenant: a token of another tenant is, to this one, no token at all.
func TestCauseNeverHintsAtAnotherTenant(t *testing.T) {
	srv := newServer(t)
	other, err := srv.OpenTenant("other")
	if err != nil {
		t.Fatal(err)
	}
	tok := token(t, other, adminID)
	var theirs struct{ ID string }
	do(t, srv, request{Method: http.MethodPost, Path: "/tenants/other/v3/personal-access-tokens", Token: tok, Body: `{"name":"theirs"}`}).decode(t, &theirs)
	mine := token(t, srv, adminID)
	causes := map[string]string{}
	for name, id := range map[string]string{"another tenant's": theirs.ID, "nobody's": "ffffffffffffffffffffffffffffffff"} {
		res := do(t, srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + id, Token: mine})
		res.wantStatus(t, http.StatusNotFound)
		causes[name] = strings.ReplaceAll(res.Header.Get("Iscmock-Cause"), id, "ID")
	}
	if causes["another tenant's"] != causes["nobody's"] {
		t.Errorf("a token of another tenant: %q; one of nobody: %q; want the same", causes["another tenant's"], causes["nobody's"])
	}
}

// TestTokenEndpointCauses: each way a token request fails says why, never with the secret.
func TestTokenEndpointCauses(t *testing.T) {
	srv := newServer(t)
	if err := srv.SetIdentityEnabled(auditorID, false); err != nil {
		t.Fatal(err)
	}
	if err := srv.Seed(mock.Fixtures{PersonalAccessTokens: []mock.PAT{{ID: "aud1", Secret: secret, Name: "audit", Owner: auditorID}}}); err != nil {
		t.Fatal(err)
	}
	form := func(v url.Values) request {
		return request{Method: http.MethodPost, Path: "/oauth/token", Body: v.Encode(), ContentType: "application/x-www-form-urlencoded"}
	}
	grant := func(id, sec string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}}
	}
	wrong := strings.Repeat("0", 64)
	for _, tc := range []struct {
		name   string
		req    request
		status int
		cause  string
	}{
		{"no client id", form(url.Values{"grant_type": {"client_credentials"}}), 401, "no client_id: send client_id and client_secret"},
		{"an unknown client", form(grant("nope", secret)), 401, "client_id nope is no personal access token of this tenant"},
		{"no secret", form(url.Values{"grant_type": {"client_credentials"}, "client_id": {adminPAT}}), 401, "no client_secret for client_id " + adminPAT},
		{"a wrong secret", form(grant(adminPAT, wrong)), 401, "the client_secret is not client_id " + adminPAT + "'s"},
		{"an expired token", form(grant(expiredPAT, secret)), 401, "client_id " + expiredPAT + "'s token expired at 2026-06-01T11:00:00Z on the mock clock"},
		{"a disabled owner", form(grant("aud1", secret)), 401, "client_id aud1 belongs to " + auditorID + " (Otto Auditor, end user), which is disabled"},
		{"no grant", form(url.Values{"client_id": {adminPAT}, "client_secret": {secret}}), 400, "no grant_type: send grant_type=client_credentials"},
		{"another grant", form(url.Values{"grant_type": {"password"}, "client_id": {adminPAT}, "client_secret": {secret}}), 400,
			`grant_type "password": a personal access token is exchanged with grant_type=client_credentials`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, srv, tc.req)
			res.wantStatus(t, tc.status)
			if got := res.Header.Get("Iscmock-Cause"); !strings.HasPrefix(got, tc.cause) || strings.Contains(got, secret) || strings.Contains(got, wrong) {
				t.Errorf("Iscmock-Cause %q, want it to start %q, without a secret", got, tc.cause)
			}
		})
	}
}

// tamper changes a bearer token's claims, keeping its signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), `"enabled":true`, `"enabled":false`, 1)))
	return strings.Join(parts, ".")
}

// unsigned is a bearer token's claims with alg none and no signature.
func unsigned(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
}

// TestJournalKeepsWhatWasSaid: an entry keeps both sides' headers and bodies, as said, but for the
// credentials and secrets in them.
func TestJournalKeepsWhatWasSaid(t *testing.T) {
	srv := newServer(t)
	tok := token(t, srv, adminID)
	res := do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: tok, Body: `{"name":"said"}`})
	res.wantStatus(t, http.StatusOK)
	var created struct{ ID, Secret string }
	res.decode(t, &created)
	got := srv.Requests()[0]
	for _, want := range []string{"Authorization: Bearer sha256:", "Content-Type: application/json"} {
		if !strings.Contains(got.Request.Headers, want) {
			t.Errorf("request headers %q lack %q", got.Request.Headers, want)
		}
	}
	if got.Request.Body != `{"name":"said"}` || !strings.Contains(got.Response.Headers, "SLPT-Request-ID: "+res.Header.Get("SLPT-Request-ID")) {
		t.Errorf("request body %q, response headers %q", got.Request.Body, got.Response.Headers)
	}
	if want := strings.Replace(string(res.Body), created.Secret, "<masked>", 1); got.Response.Body != want || strings.Contains(got.Response.Body, created.Secret) {
		t.Errorf("response body %s, want %s", got.Response.Body, want)
	}
	// A list, answered from the memo the second time, is kept as answered both times; HEAD's none.
	for range 2 {
		res := do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens", Token: tok})
		if got := srv.Requests(); got[len(got)-1].Response.Body != string(res.Body) || len(res.Body) < 100 {
			t.Errorf("list answered %d bytes, journaled %q", len(res.Body), got[len(got)-1].Response.Body)
		}
	}
	do(t, srv, request{Method: http.MethodHead, Path: "/v3/personal-access-tokens", Token: tok}).wantStatus(t, http.StatusOK)
	if got := srv.Requests(); got[len(got)-1].Response.Body != "" {
		t.Errorf("HEAD journaled a body: %.40q", got[len(got)-1].Response.Body)
	}
	// A body past 16 KiB is cut on a character and marked.
	big := `{"name":"` + strings.Repeat("é", 20<<10) + `"}`
	do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: tok, Body: big}).wantStatus(t, http.StatusBadRequest)
	all := srv.Requests()
	last := all[len(all)-1].Request.Body
	if !strings.HasSuffix(last, fmt.Sprintf("...(cut from %d bytes)", len(big))) || len(last) > 16<<10+40 || strings.ContainsRune(last, '\uFFFD') {
		t.Errorf("a body of %d bytes kept as %d bytes ending %q", len(big), len(last), last[max(0, len(last)-40):])
	}
}

// TestJournalHoldsNoSecret: over every operation and every way to send credentials, no PAT secret,
// bearer token or admin token is in the journal, in any admin answer (but the two that exist to
// give credentials: the export and a minted token), or in the dashboard's files.
func TestJournalHoldsNoSecret(t *testing.T) {
	srv := newServer(t, mock.WithAdminToken("adm1n-t0ken"), mock.WithScenario(mock.Scenario{Rules: []mock.Rule{
		{Name: "limit-lists", Match: mock.RuleMatch{Operation: "listPersonalAccessTokens"}, When: mock.When{Calls: []int{2}}, Respond: &mock.Response{Status: 429}}}}))
	var leaks []string // what must appear nowhere
	exchange := func(req request) string {
		res := do(t, srv, req)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(res.Body, &tok)
		if tok.AccessToken != "" {
			leaks = append(leaks, tok.AccessToken)
		}
		return tok.AccessToken
	}
	grant := url.Values{"grant_type": {"client_credentials"}, "client_id": {adminPAT}, "client_secret": {secret}}
	bearer := exchange(request{Method: http.MethodPost, Path: "/oauth/token", Body: grant.Encode(), ContentType: "application/x-www-form-urlencoded"})
	exchange(request{Method: http.MethodPost, Path: "/oauth/token?" + grant.Encode()})
	exchange(request{Method: http.MethodPost, Path: "/oauth/token", Body: "grant_type=client_credentials", ContentType: "application/x-www-form-urlencoded",
		Header: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(adminPAT+":"+secret))}}})
	var multi strings.Builder
	mw := multipart.NewWriter(&multi)
	for k, v := range grant {
		_ = mw.WriteField(k, v[0])
	}
	_ = mw.Close()
	exchange(request{Method: http.MethodPost, Path: "/oauth/token", Body: multi.String(), ContentType: mw.FormDataContentType()})
	exchange(request{Method: http.MethodPost, Path: "/oauth/token", Body: `{"client_secret":"` + secret + `"}`, ContentType: "application/json"})
	var created struct{ ID, Secret string }
	do(t, srv, request{Method: http.MethodPost, Path: "/v2025/personal-access-tokens", Token: bearer, Body: `{"name":"new","userAwareTokenNeverExpires":true}`}).decode(t, &created)
	leaks = append(leaks, created.Secret, secret, "adm1n-t0ken")
	for _, r := range []request{
		{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: bearer},
		{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: bearer, Unchecked: true}, // the rule's 429
		{Method: http.MethodPatch, Path: "/personal-access-tokens/v1/" + created.ID, Token: bearer, Body: `[{"op":"replace","path":"/name","value":"x"}]`},
		{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + created.ID, Token: bearer},
		{Method: http.MethodGet, Path: "/oauth/info"},
		{Method: http.MethodGet, Path: "/v3/personal-access-tokens", Token: tamper(t, bearer)},
		{Method: http.MethodGet, Path: "/v3/personal-access-tokens", Header: http.Header{"Cookie": {"session=" + secret}, "Proxy-Authorization": {"Bearer " + bearer}}},
	} {
		do(t, srv, r)
	}
	leaks = append(leaks, tamper(t, bearer))
	adminGet := func(path string) string {
		return string(admin(t, srv, http.MethodGet, path, "", "Authorization", "Bearer adm1n-t0ken").wantStatus(t, http.StatusOK).Body)
	}
	seen := map[string]string{"journal (Go)": fmt.Sprint(srv.Requests())}
	for _, p := range []string{"/__admin/requests?bodies=true", "/__admin/requests", "/__admin/requests/1", "/__admin/requests/5", "/__admin/requests/6",
		"/__admin/rights", "/__admin/identities", "/__admin/pats", "/__admin/scenario", "/__admin/clock", "/__admin/ui/", "/__admin/ui/app.js"} {
		seen[p] = adminGet(p)
	}
	for where, text := range seen {
		for _, leak := range leaks {
			if leak != "" && strings.Contains(text, leak) {
				t.Errorf("%s holds a secret or token: %.16s...", where, leak)
			}
		}
	}
	if !strings.Contains(seen["/__admin/requests/1"], "client_secret=%3Cmasked%3E") {
		t.Errorf("the token request's body is not kept, masked: %s", seen["/__admin/requests/1"])
	}
}

// TestWhoCalledAlways: a request the rate limiter or a rule answered names its caller, when its
// bearer token is one of the tenant's.
func TestWhoCalledAlways(t *testing.T) {
	srv := newServer(t, mock.WithScenario(mock.Scenario{RateLimit: &mock.RateLimit{Requests: 1, Window: time.Hour, Per: "client"},
		Rules: []mock.Rule{{Name: "fail-creates", Match: mock.RuleMatch{Operation: "createPersonalAccessToken"}, Respond: &mock.Response{Status: 500}}}}))
	tok := mintPAT(t, srv, userPAT).AccessToken
	do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: tok, Body: `{"name":"x"}`}).wantStatus(t, 500)
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).wantStatus(t, 429)
	do(t, srv, request{Method: http.MethodPost, Path: "/v2024/personal-access-tokens", Token: "garbage", Body: `{"name":"x"}`}).wantStatus(t, 500)
	var got []string
	for _, r := range srv.Requests()[1:] { // after the token's exchange
		got = append(got, fmt.Sprintf("%d %s %s %s", r.Status, r.Rule, r.IdentityID, r.ClientID))
	}
	want := []string{"500 fail-creates " + userID + " " + userPAT, "429 rateLimit " + userID + " " + userPAT, "500 fail-creates  "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
	if n := srv.CountRequests(mock.RequestFilter{Identity: userID, StatusClass: 4}); n != 1 {
		t.Errorf("the identity filter finds %d of the caller's 4xx, want the 429", n)
	}
}

// TestRequestFilters: the journal is found by status (a code or a class), identity, client, rule,
// operation and after, together, in Go and over the admin API alike; and counted.
func TestRequestFilters(t *testing.T) {
	srv := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Name: "second-list", Match: mock.RuleMatch{Operation: "listPersonalAccessTokens"},
		When: mock.When{Calls: []int{2}}, Respond: &mock.Response{Status: 503}}}}))
	adminTok, userTok := mintPAT(t, srv, adminPAT).AccessToken, mintPAT(t, srv, userPAT).AccessToken
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: adminTok})                 // 3: 200
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: userTok, Unchecked: true}) // 4: 503, rule
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens", Token: userTok})                              // 5: 403
	do(t, srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + adminPAT, Token: userTok})               // 6: 403
	do(t, srv, request{Method: http.MethodGet, Path: "/v4/nothing"})                                                             // 7: 404
	for _, tc := range []struct {
		name   string
		filter mock.RequestFilter
		query  string
		want   []uint64
	}{
		{"everything", mock.RequestFilter{}, "", []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"a status", mock.RequestFilter{Status: 403}, "status=403", []uint64{5, 6}},
		{"a class", mock.RequestFilter{StatusClass: 4}, "status=4xx", []uint64{5, 6, 7}},
		{"an identity", mock.RequestFilter{Identity: userID}, "identity=" + userID, []uint64{2, 4, 5, 6}},
		{"a client", mock.RequestFilter{Client: adminPAT}, "client=" + adminPAT, []uint64{1, 3}},
		{"a rule", mock.RequestFilter{Rule: "second-list"}, "rule=second-list", []uint64{4}},
		{"an operation", mock.RequestFilter{Operations: []string{"deletePersonalAccessTokenV1"}}, "operation=deletePersonalAccessTokenV1", []uint64{6}},
		{"together", mock.RequestFilter{After: 4, StatusClass: 4, Identity: userID, Operations: []string{"listPersonalAccessTokens"}},
			"after=4&status=4XX&identity=" + userID + "&operation=listPersonalAccessTokens", []uint64{5}},
		{"nothing", mock.RequestFilter{Status: 500}, "status=500", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seqs := func(rs []mock.RecordedRequest) []uint64 {
				var out []uint64
				for _, r := range rs {
					out = append(out, r.Seq)
				}
				return out
			}
			if got := seqs(srv.RequestsWhere(tc.filter)); !cmp.Equal(got, tc.want) {
				t.Errorf("RequestsWhere: %v, want %v", got, tc.want)
			}
			if n := srv.CountRequests(tc.filter); n != len(tc.want) {
				t.Errorf("CountRequests: %d, want %d", n, len(tc.want))
			}
			var got []mock.RecordedRequest
			admin(t, srv, http.MethodGet, "/__admin/requests?"+tc.query, "").wantStatus(t, http.StatusOK).decode(t, &got)
			if !cmp.Equal(seqs(got), tc.want) {
				t.Errorf("GET /__admin/requests?%s: %v, want %v", tc.query, seqs(got), tc.want)
			}
		})
	}
	for query, want := range map[string]string{"status=4x": "status", "status=700": "status", "status=abc": "status",
		"waived=maybe": "waived", "bodies=2": "bodies", "after=-1": "after"} {
		adminErr(t, admin(t, srv, http.MethodGet, "/__admin/requests?"+query, ""), http.StatusBadRequest, want)
	}
	var one mock.RecordedRequest
	admin(t, srv, http.MethodGet, "/__admin/requests/5", "").wantStatus(t, http.StatusOK).decode(t, &one)
	if one.Seq != 5 || one.Status != 403 || one.Response.Body == "" || !strings.Contains(one.Request.Headers, "Authorization: Bearer sha256:") {
		t.Errorf("GET /__admin/requests/5: %+v", one)
	}
	adminErr(t, admin(t, srv, http.MethodGet, "/__admin/requests/99", ""), http.StatusNotFound, "no request 99")
}

// TestSoftRights: with soft rights, what the rights rules would refuse is answered as if allowed,
// marked and journaled as waived; the rights report names what each identity called and lacked.
func TestSoftRights(t *testing.T) {
	var log strings.Builder
	srv := newServer(t, mock.WithSoftRights(), mock.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	user := mintPAT(t, srv, userPAT).AccessToken // scope sp:my-personal-access-tokens:manage
	all := do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens", Token: user})
	all.wantStatus(t, http.StatusOK)
	if cause := all.Header.Get("Iscmock-Cause"); !strings.HasPrefix(cause, "soft: would be 403: listPersonalAccessTokens without owner-id needs idn:all-personal-access-tokens:read") {
		t.Errorf("Iscmock-Cause %q, want the waived refusal", cause)
	}
	if !strings.Contains(log.String(), `status=200`) || !strings.Contains(log.String(), `cause="soft: would be 403: `) || !strings.Contains(log.String(), "waived=true") {
		t.Errorf("the log does not show the waiver:\n%s", log.String())
	}
	if got := list(t, srv, "/v3/personal-access-tokens", token(t, srv, adminID)); len(got) == 0 {
		t.Fatal("nothing listed")
	}
	do(t, srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + adminPAT, Token: user}).wantStatus(t, http.StatusNoContent)
	if _, ok := srv.PAT(adminPAT); ok {
		t.Error("a waived delete did not delete")
	}
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: user}).wantStatus(t, http.StatusOK)
	waived := srv.RequestsWhere(mock.RequestFilter{Waived: true})
	if len(waived) != 2 || !strings.HasPrefix(waived[0].Cause, "soft: would be 403:") {
		t.Errorf("waived requests %+v, want the list and the delete", waived)
	}
	want := []mock.IdentityRights{{IdentityID: userID, Name: "Uma User", UserLevels: []string{},
		Operations: []mock.OperationCalls{{Operation: "deletePersonalAccessToken", Calls: 1, Waived: 1}, {Operation: "listPersonalAccessTokens", Calls: 2, Waived: 1}},
		Lacked: []mock.LackedRight{ // its token's scope passes the gate: rights alone were lacking
			{What: "idn:all-personal-access-tokens:manage", Count: 1, GrantedBy: "the user level ORG_ADMIN"},
			{What: "idn:all-personal-access-tokens:read", Count: 1, GrantedBy: "the user level ORG_ADMIN"},
		}}}
	got := srv.Rights()
	if diff := cmp.Diff(want, got[len(got)-1:]); diff != "" || len(got) != 2 {
		t.Errorf("rights report (-want +got):\n%s\n%+v", diff, got)
	}
	var overHTTP []mock.IdentityRights
	admin(t, srv, http.MethodGet, "/__admin/rights", "").wantStatus(t, http.StatusOK).decode(t, &overHTTP)
	if !cmp.Equal(got, overHTTP) {
		t.Errorf("GET /__admin/rights %+v, want %+v", overHTTP, got)
	}
	// Enforced (the default), the same call is refused, and the report counts the refusal.
	strict := newServer(t)
	do(t, strict, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens", Token: mintPAT(t, strict, userPAT).AccessToken}).wantStatus(t, http.StatusForbidden)
	if r := strict.Rights(); len(r) != 1 || r[0].Operations[0].Refused != 1 || r[0].Lacked[0].What != "idn:all-personal-access-tokens:read" {
		t.Errorf("rights report when enforced: %+v", r)
	}
	if err := strict.Reset(); err != nil || len(strict.Rights()) != 0 {
		t.Errorf("after a reset: %+v, %v", strict.Rights(), err)
	}
}

// TestFailedTokenHint: the 401 of a request without a bearer token names the last token request
// the same address made to the same tenant, when that was refused within the last minute of the
// tenant's clock: a client whose token request failed often goes on without a token.
func TestFailedTokenHint(t *testing.T) {
	grant := func(id, secret string) string {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
	}
	wrong, good := grant(adminPAT, "not-the-secret"), grant(adminPAT, secret)
	const here, there = "192.0.2.1:50001", "192.0.2.2:50001"
	serve := func(srv *mock.Server, method, path, addr, authorization, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RemoteAddr = addr
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if authorization != "-" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	type step struct{ tenant, addr, body string }
	secretHint := regexp.MustCompile(`; the token request from this address \(192\.0\.2\.1, client_id ` + adminPAT + `\) (less than a second|[0-9]+s) before, at 2026-\S+Z on the mock clock, was refused with 401: the client_secret is not client_id ` + adminPAT + `'s$`)
	for _, tc := range []struct {
		name          string
		tokens        []step                 // token requests first
		then          func(srv *mock.Server) // then this
		tenant, addr  string                 // then the API request
		authorization string                 // "-" for none
		want          *regexp.Regexp         // in its cause, or nil for no hint
	}{
		{"wrong secret, then Bearer and nothing", []step{{"", here, wrong}}, nil, "", here, "Bearer ", secretHint},
		{"wrong secret, then no header", []step{{"", here, wrong}}, nil, "", here, "-", secretHint},
		{"unknown client", []step{{"", here, grant("nope", secret)}}, nil, "", here, "Bearer ",
			regexp.MustCompile(`\(192\.0\.2\.1, client_id nope\) .* was refused with 401: client_id nope is no personal access token of this tenant$`)},
		{"no grant", []step{{"", here, "client_id=" + adminPAT + "&client_secret=" + secret}}, nil, "", here, "Bearer ",
			regexp.MustCompile(`was refused with 400: no grant_type: `)},
		{"a fresh tenant both times", []step{{"fresh", here, wrong}}, nil, "fresh", here, "Bearer ", secretHint},
		{"a good token request since", []step{{"", here, wrong}, {"", here, good}}, nil, "", here, "Bearer ", nil},
		{"another address", []step{{"", there, wrong}}, nil, "", here, "Bearer ", nil},
		{"another tenant", []step{{"job-1", here, wrong}}, nil, "job-2", here, "Bearer ", nil},
		{"half a minute later", []step{{"", here, wrong}}, func(srv *mock.Server) {
			if err := srv.Clock().Advance(30 * time.Second); err != nil {
				t.Fatal(err)
			}
		}, "", here, "Bearer ", regexp.MustCompile(`client_id ` + adminPAT + `\) 30s before, at 2026-06-01T12:00:00Z on the mock clock, was refused with 401: `)},
		{"past the minute", []step{{"", here, wrong}}, func(srv *mock.Server) {
			if err := srv.Clock().Advance(61 * time.Second); err != nil {
				t.Fatal(err)
			}
		}, "", here, "Bearer ", nil},
		{"the clock set back past the minute", []step{{"", here, wrong}}, func(srv *mock.Server) {
			if err := srv.Clock().Set(start.Add(-2 * time.Minute)); err != nil {
				t.Fatal(err)
			}
		}, "", here, "Bearer ", nil},
		{"after a reset", []step{{"", here, wrong}}, func(srv *mock.Server) {
			if err := srv.Reset(); err != nil {
				t.Fatal(err)
			}
		}, "", here, "Bearer ", nil},
		{"a token, if a bad one", []step{{"", here, wrong}}, nil, "", here, "Bearer nonsense", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, mock.WithMaxTenants(0))
			prefix := func(tenant string) string {
				if tenant == "" {
					return ""
				}
				return "/tenants/" + tenant
			}
			for _, s := range tc.tokens {
				serve(srv, http.MethodPost, prefix(s.tenant)+"/oauth/token", s.addr, "-", s.body)
			}
			if tc.then != nil {
				tc.then(srv)
			}
			res := serve(srv, http.MethodGet, prefix(tc.tenant)+"/v3/personal-access-tokens?owner-id=me", tc.addr, tc.authorization, "")
			cause := res.Header().Get("Iscmock-Cause")
			if res.Code != http.StatusUnauthorized || strings.Contains(res.Body.String(), "token request") {
				t.Errorf("%d %s: want ISC's 401, as ever", res.Code, res.Body)
			}
			switch hinted := strings.Contains(cause, "the token request from"); {
			case tc.want == nil && hinted:
				t.Errorf("Iscmock-Cause %q names a token request", cause)
			case tc.want != nil && !tc.want.MatchString(cause):
				t.Errorf("Iscmock-Cause %q, want it to match %s", cause, tc.want)
			}
			if strings.Contains(cause, "not-the-secret") || strings.Contains(cause, secret) {
				t.Errorf("Iscmock-Cause %q has a secret", cause)
			}
		})
	}
	// A token request a scenario answers gets no token either.
	faulty := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Name: "token-down", Match: mock.RuleMatch{Operation: "token"}, Respond: &mock.Response{Status: 503}}}}))
	serve(faulty, http.MethodPost, "/oauth/token", here, "-", good)
	if cause := serve(faulty, http.MethodGet, "/v3/personal-access-tokens", here, "-", "").Header().Get("Iscmock-Cause"); !strings.Contains(cause, "was refused with 503: scenario rule \"token-down\"") {
		t.Errorf("after a scripted 503 at the token endpoint, Iscmock-Cause %q", cause)
	}
	// Over loopback, as PowerShell's SDK does it: a token request, then "Bearer " on another
	// connection; the journal and the header agree.
	srv := newServer(t)
	do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: wrong, ContentType: "application/x-www-form-urlencoded"}).wantStatus(t, http.StatusUnauthorized)
	res := do(t, srv, request{Method: http.MethodGet, Path: "/v2024/personal-access-tokens", Header: http.Header{"Authorization": {"Bearer "}, "Connection": {"close"}}})
	res.wantStatus(t, http.StatusUnauthorized)
	cause := res.Header.Get("Iscmock-Cause")
	t.Logf("Iscmock-Cause: %s", cause)
	if !strings.HasPrefix(cause, "the Authorization header is Bearer with no token after it; the token request from this address (127.0.0.1, client_id "+adminPAT+")") {
		t.Errorf("Iscmock-Cause %q", cause)
	}
	if got := srv.Requests(); got[len(got)-1].Cause != cause {
		t.Errorf("journal's cause %q, want the header's", got[len(got)-1].Cause)
	}
}
