package mock_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

// admin calls an admin route; body "" sends none.
func admin(t *testing.T, srv *mock.Server, method, path, body string, header ...string) response {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return do(t, srv, request{Method: method, Path: path, Body: body, ContentType: "application/json", Header: h})
}

func adminErr(t *testing.T, res response, status int, want ...string) {
	t.Helper()
	res.wantStatus(t, status)
	var body struct {
		Error    string   `json:"error"`
		Problems []string `json:"problems"`
	}
	res.decode(t, &body)
	all := body.Error + "\n" + strings.Join(body.Problems, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("admin error %s does not mention %q", res.Body, w)
		}
	}
}

func TestAdminHealth(t *testing.T) {
	for _, opt := range []mock.Option{mock.WithAdminToken("s3cret"), mock.WithoutAdmin(), mock.WithSeed(1)} {
		srv := newServer(t, opt)
		res := admin(t, srv, http.MethodGet, "/__admin/health", "").wantStatus(t, http.StatusOK)
		if strings.TrimSpace(string(res.Body)) != `{"status":"ok"}` {
			t.Errorf("health body %s", res.Body)
		}
	}
}

// TestAdminHealthQuiet: a passing health check, which a container runs every few seconds, is
// logged at debug level only; other admin calls at info.
func TestAdminHealthQuiet(t *testing.T) {
	var log strings.Builder
	srv := newServer(t, mock.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	admin(t, srv, http.MethodGet, "/__admin/health", "").wantStatus(t, http.StatusOK)
	if log.Len() > 0 {
		t.Errorf("a passing health check is logged at info:\n%s", log.String())
	}
	admin(t, srv, http.MethodGet, "/__admin/requests", "").wantStatus(t, http.StatusOK)
	if !strings.Contains(log.String(), "msg=admin method=GET path=/__admin/requests route=requests status=200") {
		t.Errorf("log %q lacks the admin call", log.String())
	}
}

func TestAdminReset(t *testing.T) {
	srv := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Name: "slow", Respond: &mock.Response{Delay: time.Nanosecond}}}}))
	tok := token(t, srv, userID)
	do(t, srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + userPAT, Token: tok}).wantStatus(t, http.StatusNoContent)
	admin(t, srv, http.MethodPost, "/__admin/clock", `{"advance":"48h"}`).wantStatus(t, http.StatusOK)

	admin(t, srv, http.MethodPost, "/__admin/reset", "").wantStatus(t, http.StatusNoContent)
	if _, ok := srv.PAT(userPAT); !ok {
		t.Error("reset did not bring the deleted token back")
	}
	if now := srv.Clock().Now(); now.After(start.Add(time.Minute)) {
		t.Errorf("clock %v after reset", now)
	}
	if st, _ := srv.ScenarioStats(); st.Rules[0].Matched != 0 {
		t.Errorf("scenario counters after reset: %+v", st)
	}
	if got := srv.Requests(); len(got) != 0 {
		t.Errorf("journal after reset: %+v", got)
	}
}

func TestAdminClock(t *testing.T) {
	srv := newServer(t)
	var c struct{ Now time.Time }
	admin(t, srv, http.MethodGet, "/__admin/clock", "").wantStatus(t, http.StatusOK).decode(t, &c)
	if c.Now.Before(start) || c.Now.After(start.Add(time.Minute)) {
		t.Errorf("now %v, want about %v", c.Now, start)
	}
	admin(t, srv, http.MethodPost, "/__admin/clock", `{"advance":"25h"}`).wantStatus(t, http.StatusOK).decode(t, &c)
	if c.Now.Before(start.Add(25*time.Hour)) || c.Now.After(start.Add(25*time.Hour+time.Minute)) {
		t.Errorf("after advance: %v", c.Now)
	}
	admin(t, srv, http.MethodPost, "/__admin/clock", `{"advance":"3d"}`).wantStatus(t, http.StatusOK).decode(t, &c)
	if at := start.Add(97 * time.Hour); c.Now.Before(at) || c.Now.After(at.Add(time.Minute)) { // days, as everywhere
		t.Errorf("after advancing 3d more: %v", c.Now)
	}
	admin(t, srv, http.MethodPost, "/__admin/clock", `{"set":"2027-01-01T00:00:00Z"}`).wantStatus(t, http.StatusOK).decode(t, &c)
	if target := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); c.Now.Before(target) || c.Now.After(target.Add(time.Minute)) {
		t.Errorf("after set: %v", c.Now)
	}
	for body, want := range map[string]string{
		`{}`: "give one of",
		`{"advance":"1h","set":"2027-01-01T00:00:00Z"}`: "give one of",
		`{"advance":"a day"}`:                           `"a day" is not a duration such as 90s, 25h or 3d`,
		`{"advance":"2w"}`:                              `"2w" is not a duration`,
		`{"set":"tomorrow"}`:                            `"tomorrow" is not an RFC 3339 time`,
		`{"advance":"1h","speed":2}`:                    "unknown field",
		`not json`:                                      "must be a JSON object",
	} {
		adminErr(t, admin(t, srv, http.MethodPost, "/__admin/clock", body), http.StatusBadRequest, want)
	}
	// Texts as given, not escaped for HTML, which no one parses this JSON as.
	if res := admin(t, srv, http.MethodPost, "/__admin/clock", `{"advance":"<1d & more>"}`); !strings.Contains(string(res.Body), `<1d & more>`) {
		t.Errorf("admin error %s: want the text as given", res.Body)
	}
}

func TestAdminScenario(t *testing.T) {
	srv := newServer(t)
	adminErr(t, admin(t, srv, http.MethodGet, "/__admin/scenario", ""), http.StatusNotFound, "no scenario is loaded")
	yaml := "name: ci\nrules:\n  - name: fail-creates\n    match: {operation: createPersonalAccessToken}\n    respond: {status: 500}\n"
	admin(t, srv, http.MethodPut, "/__admin/scenario", yaml).wantStatus(t, http.StatusNoContent)
	do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, userID), Body: `{"name":"x"}`}).wantStatus(t, 500)
	res := admin(t, srv, http.MethodGet, "/__admin/scenario", "").wantStatus(t, http.StatusOK)
	if got := strings.TrimSpace(string(res.Body)); got != `{"name":"ci","rules":[{"name":"fail-creates","matched":1,"fired":1}]}` {
		t.Errorf("stats %s", got)
	}
	adminErr(t, admin(t, srv, http.MethodPut, "/__admin/scenario", "rules:\n  - fault: explode\n  - when: {calls: []}\n    fault: reset\n"),
		http.StatusBadRequest, "invalid scenario", `scenario:2: rules[0].fault: unknown fault "explode"`, "scenario:3: rules[1].when.calls: is empty")
	if st, _ := srv.ScenarioStats(); st.Name != "ci" {
		t.Errorf("a refused scenario replaced the running one: %+v", st)
	}
	admin(t, srv, http.MethodPut, "/__admin/scenario", `{"name":"json","rules":[]}`).wantStatus(t, http.StatusNoContent)
	admin(t, srv, http.MethodDelete, "/__admin/scenario", "").wantStatus(t, http.StatusNoContent)
	if _, ok := srv.ScenarioStats(); ok {
		t.Error("scenario still running after DELETE")
	}
}

func TestAdminFixtures(t *testing.T) {
	srv := newServer(t)
	doc := `identities:
  - {id: 2c9180867b50d088017b554662fb2100, name: New Person}
personalAccessTokens:
  - {id: c0000000000000000000000000000001, secret: s, name: new, owner: 2c9180867b50d088017b554662fb2100}
  - {id: c0000000000000000000000000000002, secret: s, name: for an existing identity, owner: ` + userID + `}
`
	admin(t, srv, http.MethodPost, "/__admin/fixtures", doc).wantStatus(t, http.StatusNoContent)
	for _, id := range []string{"c0000000000000000000000000000001", "c0000000000000000000000000000002"} {
		if _, ok := srv.PAT(id); !ok {
			t.Errorf("token %s not seeded", id)
		}
	}
	before := srv.PATs()
	adminErr(t, admin(t, srv, http.MethodPost, "/__admin/fixtures", "personalAccessTokens:\n  - {id: c3, secret: s, name: x, owner: nobody}\n"),
		http.StatusBadRequest, "invalid fixtures", "fixtures:2: personalAccessTokens[0].owner: identity nobody is not in identities")
	// The admin API bounds bodies as the API does, with the API's words.
	big := "identities:\n  - {id: 2c9180867b50d088017b554662fb2101, name: " + strings.Repeat("x", 2<<20) + "}\n"
	adminErr(t, admin(t, srv, http.MethodPost, "/__admin/fixtures", big),
		http.StatusRequestEntityTooLarge, "The request body is larger than 1048576 bytes.")
	if diff := cmp.Diff(before, srv.PATs()); diff != "" {
		t.Errorf("refused fixtures changed the tenant:\n%s", diff)
	}
	if _, ok := srv.Identity("2c9180867b50d088017b554662fb2101"); ok {
		t.Error("an oversized upload seeded an identity")
	}
}

func TestAdminTokens(t *testing.T) {
	srv := newServer(t)
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	admin(t, srv, http.MethodPost, "/__admin/tokens", `{"identityId":"`+userID+`","scope":["sp:my-personal-access-tokens:read"]}`).
		wantStatus(t, http.StatusOK).decode(t, &tok)
	if tok.ExpiresIn != 43200 {
		t.Errorf("expires_in %d", tok.ExpiresIn)
	}
	list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok.AccessToken)
	do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: tok.AccessToken, Body: `{"name":"x"}`}).wantStatus(t, 403)
	adminErr(t, admin(t, srv, http.MethodPost, "/__admin/tokens", `{"identityId":"nobody"}`), http.StatusBadRequest, `no identity "nobody"`)
}

func TestAdminRequests(t *testing.T) {
	srv := newServer(t, mock.WithJournalSize(3), mock.WithScenario(mock.Scenario{Rules: []mock.Rule{
		{Name: "fail-first-delete", Match: mock.RuleMatch{Operation: "deletePersonalAccessToken"}, When: mock.When{Calls: []int{1}}, Respond: &mock.Response{Status: 500}}}}))
	tok := mintPAT(t, srv, userPAT).AccessToken
	list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok)
	do(t, srv, request{Method: http.MethodDelete, Path: "/v2025/personal-access-tokens/" + stalePAT, Token: tok}).wantStatus(t, 500)
	admin(t, srv, http.MethodGet, "/__admin/health", "") // admin calls are not journaled

	var got []mock.RecordedRequest
	admin(t, srv, http.MethodGet, "/__admin/requests", "").wantStatus(t, http.StatusOK).decode(t, &got)
	want := []mock.RecordedRequest{
		{Seq: 1, Method: "POST", Path: "/oauth/token", Operation: "token", Status: 200, IdentityID: userID, ClientID: userPAT},
		{Seq: 2, Method: "GET", Path: "/v3/personal-access-tokens", Query: "owner-id=me", Operation: "listPersonalAccessTokens", Status: 200, IdentityID: userID, ClientID: userPAT},
		// Answered by a rule, which the caller's token does not change: the caller is named all the same.
		{Seq: 3, Method: "DELETE", Path: "/v2025/personal-access-tokens/" + stalePAT, Operation: "deletePersonalAccessToken", Status: 500,
			IdentityID: userID, ClientID: userPAT, Rule: "fail-first-delete",
			Cause: `scenario rule "fail-first-delete" acted on its matching call 1: status 500`},
	}
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Time" || p.Last().String() == ".RequestID"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
	for _, r := range got {
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(r.RequestID) {
			t.Errorf("request %d: requestId %q, want the answer's SLPT-Request-ID", r.Seq, r.RequestID)
		}
	}
	if got[0].Time.Before(start) || got[0].Time.After(start.Add(time.Minute)) {
		t.Errorf("journal time %v is not on the mock clock", got[0].Time)
	}
	list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok)
	admin(t, srv, http.MethodGet, "/__admin/requests", "").decode(t, &got)
	if len(got) != 3 || got[0].Operation != "listPersonalAccessTokens" { // the ring keeps three: the token call fell out
		t.Errorf("journal %+v, want the last three calls", got)
	}
	admin(t, srv, http.MethodGet, "/__admin/requests?operation=listPersonalAccessTokens", "").decode(t, &got)
	if len(got) != 2 {
		t.Errorf("filtered journal %+v, want the two list calls", got)
	}
	admin(t, srv, http.MethodDelete, "/__admin/requests", "").wantStatus(t, http.StatusNoContent)
	res := admin(t, srv, http.MethodGet, "/__admin/requests", "")
	if strings.TrimSpace(string(res.Body)) != "[]" {
		t.Errorf("after DELETE: %s", res.Body)
	}
}

func TestAdminToken(t *testing.T) {
	srv := newServer(t, mock.WithAdminToken("s3cret"))
	routes := [][2]string{{"POST", "/__admin/reset"}, {"GET", "/__admin/clock"}, {"GET", "/__admin/scenario"}, {"PUT", "/__admin/scenario"},
		{"DELETE", "/__admin/scenario"}, {"POST", "/__admin/fixtures"}, {"POST", "/__admin/tokens"}, {"GET", "/__admin/requests"},
		{"DELETE", "/__admin/requests"}, {"GET", "/__admin/tenants"}, {"DELETE", "/__admin/tenants/x"}, {"POST", "/__admin/clock"},
		{"GET", "/__admin/identities"}, {"GET", "/__admin/pats"},
		{"PATCH", "/__admin/identities/" + userID}, {"DELETE", "/__admin/identities/" + userID}}
	for _, r := range routes {
		adminErr(t, admin(t, srv, r[0], r[1], ""), http.StatusUnauthorized, "admin token required")
		adminErr(t, admin(t, srv, r[0], r[1], "", "Authorization", "Bearer wrong"), http.StatusUnauthorized, "admin token required")
	}
	admin(t, srv, http.MethodGet, "/__admin/clock", "", "Authorization", "Bearer s3cret").wantStatus(t, http.StatusOK)
	admin(t, srv, http.MethodPost, "/__admin/reset", "", "Authorization", "Bearer s3cret").wantStatus(t, http.StatusNoContent)
}

func TestWithoutAdmin(t *testing.T) {
	srv := newServer(t, mock.WithoutAdmin())
	adminErr(t, admin(t, srv, http.MethodPost, "/__admin/reset", ""), http.StatusNotFound, "admin API is off")
	adminErr(t, admin(t, srv, http.MethodGet, "/__admin/nope", ""), http.StatusNotFound, "no admin route")
	admin(t, srv, http.MethodGet, "/__admin/health", "").wantStatus(t, http.StatusOK)
}

func TestTenants(t *testing.T) {
	srv := newServer(t, mock.WithMaxTenants(2))
	rootTok := token(t, srv, userID)
	var a tokenJSON
	do(t, srv, request{Method: http.MethodPost, Path: "/tenants/a/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"}).
		wantStatus(t, http.StatusOK).decode(t, &a)
	if a.Org != "a" {
		t.Errorf("org %q, want the tenant's name", a.Org)
	}
	do(t, srv, request{Method: http.MethodDelete, Path: "/tenants/a/v3/personal-access-tokens/" + userPAT, Token: a.AccessToken}).wantStatus(t, http.StatusNoContent)
	if _, ok := srv.PAT(userPAT); !ok {
		t.Error("deleting in tenant a deleted in the root tenant")
	}
	do(t, srv, request{Method: http.MethodGet, Path: "/tenants/a/v3/personal-access-tokens?owner-id=me", Token: rootTok}).wantStatus(t, http.StatusUnauthorized)
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: a.AccessToken}).wantStatus(t, http.StatusUnauthorized)

	// Each tenant has its own clock, admin API and journal.
	admin(t, srv, http.MethodPost, "/tenants/a/__admin/clock", `{"advance":"240h"}`).wantStatus(t, http.StatusOK)
	if now := srv.Clock().Now(); now.After(start.Add(time.Minute)) {
		t.Errorf("advancing tenant a's clock moved the root's to %v", now)
	}
	ta, err := srv.OpenTenant("a")
	if err != nil {
		t.Fatal(err)
	}
	if ta.Clock().Now().Before(start.Add(240*time.Hour)) || ta.URL() != srv.URL()+"/tenants/a" {
		t.Errorf("tenant a: clock %v, URL %q", ta.Clock().Now(), ta.URL())
	}
	if got := ta.Requests("deletePersonalAccessToken"); len(got) != 1 || got[0].Path != "/tenants/a/v3/personal-access-tokens/"+userPAT {
		t.Errorf("tenant a's journal: %+v", got)
	}
	admin(t, srv, http.MethodPost, "/tenants/a/__admin/reset", "").wantStatus(t, http.StatusNoContent)
	if _, ok := ta.PAT(userPAT); !ok {
		t.Error("tenant a's reset did not restore its token")
	}

	do(t, srv, request{Method: http.MethodGet, Path: "/tenants/b/v2025/personal-access-tokens?owner-id=me", Token: token(t, ta, userID)}).wantStatus(t, http.StatusUnauthorized)
	admin(t, srv, http.MethodGet, "/tenants/b/__admin/clock", "").wantStatus(t, http.StatusOK) // an admin call makes b
	do(t, srv, request{Method: http.MethodPost, Path: "/tenants/c/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"}).
		wantError(t, http.StatusBadRequest, "400.1.4 Limit violation", "at most 2 tenants")
	do(t, srv, request{Method: http.MethodGet, Path: "/tenants/bad.name/v3/personal-access-tokens"}).wantError(t, http.StatusNotFound, "404 Not found", "tenant names")

	var names []map[string]any
	admin(t, srv, http.MethodGet, "/__admin/tenants", "").wantStatus(t, http.StatusOK).decode(t, &names)
	if want := []map[string]any{{"name": "a", "requests": 3.0}, {"name": "b", "requests": 0.0}}; !cmp.Equal(names, want) {
		t.Errorf("tenants %v, want %v", names, want)
	}
	adminErr(t, admin(t, srv, http.MethodGet, "/tenants/a/__admin/tenants", ""), http.StatusNotFound, "no admin route")
	admin(t, srv, http.MethodDelete, "/__admin/tenants/b", "").wantStatus(t, http.StatusNoContent)
	adminErr(t, admin(t, srv, http.MethodDelete, "/__admin/tenants/b", ""), http.StatusNotFound, `no tenant "b"`)
	do(t, srv, request{Method: http.MethodPost, Path: "/tenants/c/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"}).
		wantStatus(t, http.StatusOK)
	if got := srv.Tenants(); !cmp.Equal(got, []string{"a", "c"}) {
		t.Errorf("Tenants() %v", got)
	}
}

// TestTenantsStartWithTheScenario: every tenant runs the configured scenario with counters of its own.
func TestTenantsStartWithTheScenario(t *testing.T) {
	srv := newServer(t, scenarioFile("throttle-then-recover.yaml"))
	for _, prefix := range []string{"", "/tenants/x"} {
		var tok tokenJSON
		do(t, srv, request{Method: http.MethodPost, Path: prefix + "/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"}).decode(t, &tok)
		do(t, srv, request{Method: http.MethodGet, Path: prefix + "/v3/personal-access-tokens?owner-id=me", Token: tok.AccessToken}).wantStatus(t, 429)
	}
	var st mock.ScenarioStats
	admin(t, srv, http.MethodGet, "/tenants/x/__admin/scenario", "").decode(t, &st)
	if st.Rules[0].Matched != 1 {
		t.Errorf("tenant x's counters %+v", st)
	}
	raw, _ := json.Marshal(st)
	if !strings.Contains(string(raw), `"matched":1`) {
		t.Errorf("stats JSON %s", raw)
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

// TestAdminRefusesOtherOrigins: a web page of another origin cannot drive the admin API (a browser
// sends its form and text POSTs without asking first); the dashboard's own origin and clients
// without an Origin can.
func TestAdminRefusesOtherOrigins(t *testing.T) {
	srv := newServer(t)
	host := strings.TrimPrefix(srv.URL(), "http://")
	seedOne := func(id string) string {
		return "identities:\n  - {id: " + id + ", name: Page Person}\n"
	}
	cases := []struct {
		name   string
		header []string
		status int
	}{
		{"another origin", []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"another port", []string{"Origin", "http://127.0.0.1:1"}, http.StatusForbidden},
		{"a cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"unreadable origin", []string{"Origin", "null"}, http.StatusForbidden},
		{"the dashboard's own origin", []string{"Origin", "http://" + host, "Sec-Fetch-Site", "same-origin"}, http.StatusNoContent},
		{"no origin (curl, SDKs)", nil, http.StatusNoContent},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("2c9180867b50d088017b554662fb31%02d", i)
			res := admin(t, srv, http.MethodPost, "/__admin/fixtures", seedOne(id), tc.header...)
			if tc.status == http.StatusForbidden {
				adminErr(t, res, tc.status, "another origin")
			} else {
				res.wantStatus(t, tc.status)
			}
			if _, seeded := srv.Identity(id); seeded != (tc.status == http.StatusNoContent) {
				t.Errorf("identity seeded: %v, want %v", seeded, tc.status == http.StatusNoContent)
			}
		})
	}
}
