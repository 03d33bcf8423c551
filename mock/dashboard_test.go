package mock_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

// The dashboard's files and the admin read endpoints it uses; the browser tests are in
// mock/internal/ui.

func TestDashboardFiles(t *testing.T) {
	srv := newServer(t, mock.WithAdminToken("s3cret"))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		t.Helper()
		res, err := noRedirect.Get(srv.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for _, prefix := range []string{"", "/tenants/job-1"} {
		for _, c := range []struct{ file, contentType string }{
			{"/__admin/ui/", "text/html; charset=utf-8"},
			{"/__admin/ui/app.js", "text/javascript; charset=utf-8"},
			{"/__admin/ui/app.css", "text/css; charset=utf-8"},
			{"/__admin/ui/icon.svg", "image/svg+xml"},
		} {
			res := get(prefix + c.file)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != c.contentType {
				t.Errorf("GET %s%s: %d %q, want 200 %q (no admin token needed: the files hold no data)",
					prefix, c.file, res.StatusCode, res.Header.Get("Content-Type"), c.contentType)
			}
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("GET %s%s: Content-Security-Policy %q lacks %q", prefix, c.file, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("GET %s%s: Content-Security-Policy %q allows unsafe sources", prefix, c.file, csp)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("GET %s%s: X-Content-Type-Options %q", prefix, c.file, got)
			}
		}
		if res := get(prefix + "/__admin/ui"); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "ui/" {
			t.Errorf("GET %s/__admin/ui: %d to %q, want 301 to ui/ (relative, so a tenant's stays under its prefix)",
				prefix, res.StatusCode, res.Header.Get("Location"))
		}
		for _, path := range []string{"/__admin/ui/nope.js", "/__admin/ui/static/app.js", "/__admin/ui/../admin.go"} {
			if res := get(prefix + path); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s%s: %d, want 404", prefix, path, res.StatusCode)
			}
		}
		adminErr(t, admin(t, srv, http.MethodGet, prefix+"/__admin/identities", ""), http.StatusUnauthorized, "admin token required")
	}
	adminErr(t, admin(t, srv, http.MethodPost, "/__admin/ui/", ""), http.StatusNotFound, "no admin route")

	off := newServer(t, mock.WithoutAdmin())
	for _, path := range []string{"/__admin/ui/", "/__admin/ui/app.js", "/tenants/x/__admin/ui/"} {
		adminErr(t, admin(t, off, http.MethodGet, path, ""), http.StatusNotFound, "admin API is off")
	}
}

// requestsJSON is GET /__admin/requests as the dashboard reads it.
type requestsJSON []struct {
	Seq        uint64  `json:"seq"`
	Path       string  `json:"path"`
	Query      string  `json:"query"`
	DurationMS float64 `json:"durationMs"`
}

func TestAdminRequestsAfter(t *testing.T) {
	srv := newServer(t, mock.WithJournalSize(3))
	tok := token(t, srv, userID)
	read := func(query string) (requestsJSON, string, string) {
		t.Helper()
		var got requestsJSON
		res := admin(t, srv, http.MethodGet, "/__admin/requests"+query, "").wantStatus(t, http.StatusOK)
		res.decode(t, &got)
		return got, res.Header.Get("Iscmock-Journal-Last"), res.Header.Get("Iscmock-Journal-Gone")
	}
	seqs := func(rs requestsJSON) []uint64 {
		out := []uint64{}
		for _, r := range rs {
			out = append(out, r.Seq)
		}
		return out
	}
	for range 2 {
		list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok)
	}
	got, last, gone := read("?after=1")
	if !cmp.Equal(seqs(got), []uint64{2}) || last != "2" || gone != "0" {
		t.Errorf("after=1: seqs %v, last %s, gone %s; want [2], 2, 0", seqs(got), last, gone)
	}
	if got[0].Query != "owner-id=me" || got[0].DurationMS <= 0 {
		t.Errorf("entry %+v: want the query and a duration", got[0])
	}
	for range 3 {
		list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok)
	}
	if got, last, gone := read("?after=2"); !cmp.Equal(seqs(got), []uint64{3, 4, 5}) || last != "5" || gone != "2" {
		t.Errorf("after the ring of 3 wrapped: seqs %v, last %s, gone %s; want [3 4 5], 5, 2", seqs(got), last, gone)
	}
	admin(t, srv, http.MethodPost, "/__admin/reset", "").wantStatus(t, http.StatusNoContent)
	if got, last, gone := read("?after=5"); len(got) != 0 || last != "5" || gone != "5" {
		t.Errorf("after a reset: seqs %v, last %s, gone %s; want none, 5, 5 (numbering goes on)", seqs(got), last, gone)
	}
	list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok)
	if got, _, _ := read("?after=5"); !cmp.Equal(seqs(got), []uint64{6}) {
		t.Errorf("the request after a reset: seqs %v, want [6]", seqs(got))
	}
	for _, bad := range []string{"-1", "x", "1.5"} {
		adminErr(t, admin(t, srv, http.MethodGet, "/__admin/requests?after="+bad, ""), http.StatusBadRequest, "after")
	}
}

func TestJournalMasksSecrets(t *testing.T) {
	srv := newServer(t)
	q := credentials(userPAT)
	do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token?" + q.Encode(), Unchecked: true}).wantStatus(t, http.StatusOK)
	do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token?client%5Fsecret=" + secret + "&x=%zz", Unchecked: true})
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/x?" + strings.Repeat("a", 5000)})
	var got requestsJSON
	admin(t, srv, http.MethodGet, "/__admin/requests", "").decode(t, &got)
	if len(got) != 3 {
		t.Fatalf("%d entries", len(got))
	}
	for _, r := range got[:2] {
		if strings.Contains(r.Query, secret) {
			t.Errorf("the journal keeps the client secret: %q", r.Query)
		}
	}
	if want := "client_id=" + userPAT + "&client_secret=%2A%2A%2A&grant_type=client_credentials"; got[0].Query != want {
		t.Errorf("query %q, want %q", got[0].Query, want)
	}
	if len(got[2].Query) > 1024+len("...(cut from 99999 bytes)") {
		t.Errorf("a %d-byte query is kept", len(got[2].Query))
	}
}

func TestAdminIdentities(t *testing.T) {
	srv := newServer(t, mock.WithMaxTokensPerOwner(4))
	type identity struct {
		ID            string   `json:"id"`
		Name          string   `json:"name"`
		UserLevels    []string `json:"userLevels"`
		Rights        []string `json:"rights"`
		Tokens        int      `json:"tokens"`
		ManagedTokens int      `json:"managedTokens"`
		TokenLimit    int      `json:"tokenLimit"`
	}
	var got []identity
	admin(t, srv, http.MethodGet, "/__admin/identities", "").wantStatus(t, http.StatusOK).decode(t, &got)
	want := []identity{
		{ID: adminID, Name: "Ada Admin", UserLevels: []string{"ORG_ADMIN"}, Rights: []string{}, Tokens: 1, TokenLimit: 4},
		{ID: userID, Name: "Uma User", UserLevels: []string{}, Rights: []string{}, Tokens: 3, ManagedTokens: 1, TokenLimit: 4},
		{ID: auditorID, Name: "Otto Auditor", UserLevels: []string{}, Rights: []string{"idn:all-personal-access-tokens:read"}, TokenLimit: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
}

func TestAdminPATs(t *testing.T) {
	srv := newServer(t)
	names := func(path string) []string {
		t.Helper()
		var got []struct {
			Name     string  `json:"name"`
			Secret   *string `json:"secret"`
			LastUsed *string `json:"lastUsed"`
		}
		admin(t, srv, http.MethodGet, path, "").wantStatus(t, http.StatusOK).decode(t, &got)
		out := []string{}
		for _, p := range got {
			if p.Secret != nil {
				t.Errorf("%s shows the secret of %q", path, p.Name)
			}
			out = append(out, p.Name)
		}
		return out
	}
	before := url.QueryEscape(msTime(start.Add(-24 * time.Hour)))
	for _, c := range []struct {
		name, query string
		want        []string
	}{
		{"every token, oldest first", "", []string{"old script", "expired", "admin ci", "user laptop", "workflow"}},
		{"one owner's", "?owner=" + adminID, []string{"admin ci"}},
		{"never used", "?filters=lastUsed%20isnull", []string{"expired", "admin ci", "workflow"}},
		{"not used since a day ago", "?filters=lastUsed%20le%20" + before, []string{"old script", "user laptop"}},
		{"not used since, or never", "?filters=lastUsed%20isnull%20or%20lastUsed%20le%20" + before + "&owner=" + userID,
			[]string{"old script", "expired", "user laptop", "workflow"}},
		{"limited", "?limit=2", []string{"old script", "expired"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := names("/__admin/pats" + c.query); !cmp.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	srv.Clock().Advance(72 * time.Hour) // "user laptop" was last used two days before start
	if got := names("/__admin/pats?filters=lastUsed%20le%20" + url.QueryEscape(msTime(srv.Clock().Now().Add(-24*time.Hour)))); !cmp.Equal(got, []string{"old script", "user laptop"}) {
		t.Errorf("after the clock moved: %v", got)
	}
	adminErr(t, admin(t, srv, http.MethodGet, "/__admin/pats?filters=lastUsed%20eq%20x", ""), http.StatusBadRequest, `operator "eq" is not supported`)
	adminErr(t, admin(t, srv, http.MethodGet, "/__admin/pats?filters=lastUsed%20le", ""), http.StatusBadRequest, "filters")
	for _, bad := range []string{"0", "10001", "x"} {
		adminErr(t, admin(t, srv, http.MethodGet, "/__admin/pats?limit="+bad, ""), http.StatusBadRequest, "limit")
	}
}

func TestAdminScenarioRateLimitWindow(t *testing.T) {
	for _, per := range []string{"client", "token"} {
		t.Run(per, func(t *testing.T) {
			srv := newServer(t, mock.WithScenario(mock.Scenario{Name: "limited",
				RateLimit: &mock.RateLimit{Requests: 2, Window: 10 * time.Second, Per: per}}))
			tok := mintPAT(t, srv, userPAT).AccessToken
			for range 3 {
				do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok})
			}
			do(t, srv, request{Method: http.MethodGet, Path: "/beta/personal-access-tokens?owner-id=me", Token: tok}).wantStatus(t, http.StatusOK)
			res := admin(t, srv, http.MethodGet, "/__admin/scenario", "").wantStatus(t, http.StatusOK)
			if strings.Contains(string(res.Body), tok) {
				t.Fatalf("the window shows the bearer token: %s", res.Body)
			}
			var st mock.ScenarioStats
			res.decode(t, &st)
			l := st.RateLimit
			if l == nil || l.Requests != 2 || l.Window != 10*time.Second || l.Per != per {
				t.Fatalf("rateLimit %+v", l)
			}
			now := srv.Clock().Now()
			if l.WindowStart.After(now) || !l.WindowStart.Add(l.Window).After(now) {
				t.Errorf("window from %v does not hold the clock's now %v", l.WindowStart, now)
			}
			key := userPAT
			if per == "token" {
				key = l.Counts[0].Key
				if !strings.HasPrefix(key, "sha256:") || len(key) != len("sha256:")+12 {
					t.Errorf("token key %q, want a fingerprint", key)
				}
			}
			want := []mock.WindowCount{{Key: key, Version: "v3", Count: 3}, {Key: key, Version: "beta", Count: 1}}
			if diff := cmp.Diff(want, l.Counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			srv.Clock().Advance(10 * time.Second)
			admin(t, srv, http.MethodGet, "/__admin/scenario", "").decode(t, &st)
			if st.RateLimit == nil || len(st.RateLimit.Counts) != 0 {
				t.Errorf("a new window has counts: %+v", st.RateLimit)
			}
		})
	}
	srv := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Name: "r", Respond: &mock.Response{Status: 500}}}}))
	if res := admin(t, srv, http.MethodGet, "/__admin/scenario", ""); strings.Contains(string(res.Body), "rateLimit") {
		t.Errorf("a scenario without a rate limit shows one: %s", res.Body)
	}
}

// BenchmarkDashboardPoll measures what one open dashboard asks of the server each 0.4 s: the
// clock, and the journal after the last seq it saw, with a full journal of 1000 requests and
// nothing new (the common case), against a baseline writing the same bytes.
func BenchmarkDashboardPoll(b *testing.B) {
	srv, err := mock.New(mock.WithClock(start))
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for range 1000 {
		inProcess{method: http.MethodGet, target: "/v3/personal-access-tokens"}.serve(b, h)
	}
	b.Run("clock", func(b *testing.B) {
		benchOperation(b, h, inProcess{method: http.MethodGet, target: "/__admin/clock"}, http.StatusOK, nil)
	})
	b.Run("journal-after", func(b *testing.B) {
		benchOperation(b, h, inProcess{method: http.MethodGet, target: "/__admin/requests?after=1000"}, http.StatusOK, nil)
	})
	b.Run("journal-all", func(b *testing.B) {
		benchOperation(b, h, inProcess{method: http.MethodGet, target: "/__admin/requests"}, http.StatusOK, nil)
	})
}

// TestAdminPATsTimesAsTheAPIWritesThem: the admin API writes a token's times as the API does, to the
// millisecond, so that the two compare as text.
func TestAdminPATsTimesAsTheAPIWritesThem(t *testing.T) {
	srv := newServer(t)
	type times struct {
		ID             string  `json:"id"`
		Created        string  `json:"created"`
		LastUsed       *string `json:"lastUsed"`
		ExpirationDate *string `json:"expirationDate"`
	}
	var fromAPI, fromAdmin []times
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens", Token: token(t, srv, adminID)}).
		wantStatus(t, http.StatusOK).decode(t, &fromAPI)
	admin(t, srv, http.MethodGet, "/__admin/pats", "").wantStatus(t, http.StatusOK).decode(t, &fromAdmin)
	if len(fromAPI) == 0 {
		t.Fatal("no tokens listed")
	}
	if diff := cmp.Diff(fromAPI, fromAdmin); diff != "" {
		t.Errorf("times differ between the API (-) and the admin API (+):\n%s", diff)
	}
}
