package mock_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

// TestTrailingSlash: collections and the OAuth endpoints answer with a trailing slash as without
// one, as SailPoint's docs and CLI write them; other spellings stay 404.
func TestTrailingSlash(t *testing.T) {
	srv := newServer(t)
	tok := token(t, srv, userID)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			bare := list(t, srv, v.path+"?owner-id=me", tok)
			if slashed := list(t, srv, v.path+"/?owner-id=me", tok); !cmp.Equal(bare, slashed) {
				t.Errorf("%s/ listed %v, %s %v", v.path, slashed, v.path, bare)
			}
			var created patJSON
			do(t, srv, request{Method: http.MethodPost, Path: v.path + "/", Token: tok, Body: `{"name":"slash ` + v.name + `"` + never + `}`}).
				wantStatus(t, http.StatusOK).decode(t, &created)
			if _, ok := srv.PAT(created.ID); !ok {
				t.Errorf("created %s is not stored", created.ID)
			}
			do(t, srv, request{Method: http.MethodDelete, Path: v.path + "/" + created.ID, Token: tok}).wantStatus(t, http.StatusNoContent)
		})
	}
	journal := srv.Requests()
	if got := journal[1]; got.Path != "/beta/personal-access-tokens/" || got.Operation != "listPersonalAccessTokens" {
		t.Errorf("journal has %+v, want the list as requested", got)
	}
	t.Run("OAuth endpoints", func(t *testing.T) {
		do(t, srv, request{Method: http.MethodPost, Path: "/tenants/slash/oauth/token/", Body: form(credentials(userPAT)),
			ContentType: "application/x-www-form-urlencoded"}).wantStatus(t, http.StatusOK)
		do(t, srv, request{Method: http.MethodGet, Path: "/oauth/info/"}).wantStatus(t, http.StatusOK)
	})
	for _, path := range []string{"/v3/personal-access-tokens//", "//v3/personal-access-tokens/", "/V3/personal-access-tokens/",
		"/v3/Personal-Access-Tokens/", "/oauth//token", "/OAuth/token/", "/oauth/token//"} {
		t.Run("404 "+path, func(t *testing.T) {
			do(t, srv, request{Method: http.MethodGet, Path: path, Token: tok}).wantError(t, http.StatusNotFound, "404 Not found")
		})
	}
	t.Run("404 item with a slash", func(t *testing.T) {
		do(t, srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + userPAT + "/", Token: tok}).
			wantError(t, http.StatusNotFound, "404 Not found")
		if _, ok := srv.PAT(userPAT); !ok {
			t.Error("the token is gone")
		}
	})
}

// TestPreflight: OPTIONS is answered as a CORS-enabled gateway answers it, without a token and
// before any scenario; answers to a browser's requests let its origin read them.
func TestPreflight(t *testing.T) {
	srv := newServer(t, mock.WithScenario(mock.Scenario{Rules: []mock.Rule{{Name: "all fail", Respond: &mock.Response{Status: 503}}}}))
	const origin = "https://app.example.com"
	cases := []struct {
		name, path, methods string
	}{
		{"collection", "/v3/personal-access-tokens", "GET, HEAD, POST, OPTIONS"},
		{"collection with a slash", "/tenants/web/v2025/personal-access-tokens/", "GET, HEAD, POST, OPTIONS"},
		{"item", "/personal-access-tokens/v1/" + userPAT, "PATCH, DELETE, OPTIONS"},
		{"token", "/oauth/token", "POST, OPTIONS"},
		{"info", "/oauth/info", "GET, HEAD, OPTIONS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, srv, request{Method: http.MethodOptions, Path: tc.path, Header: http.Header{
				"Origin": {origin}, "Access-Control-Request-Method": {"PATCH"},
				"Access-Control-Request-Headers": {"authorization,content-type"}}}).wantStatus(t, http.StatusOK)
			want := map[string]string{
				"Allow":                         tc.methods,
				"Access-Control-Allow-Origin":   origin,
				"Access-Control-Allow-Methods":  strings.ReplaceAll(tc.methods, " ", ""),
				"Access-Control-Allow-Headers":  "authorization,content-type",
				"Access-Control-Max-Age":        "3600",
				"Access-Control-Expose-Headers": "Retry-After,Connection,SLPT-Request-ID,Date,X-Zuul-ServiceId",
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if !slices.Contains(res.Header.Values("Vary"), "Origin") || len(res.Body) != 0 {
				t.Errorf("Vary %q, body %q: want Origin among Vary, no body", res.Header.Values("Vary"), res.Body)
			}
		})
	}
	t.Run("plain OPTIONS", func(t *testing.T) {
		res := do(t, srv, request{Method: http.MethodOptions, Path: "/v3/personal-access-tokens"}).wantStatus(t, http.StatusOK)
		if res.Header.Get("Allow") != "GET, HEAD, POST, OPTIONS" || res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("headers %v: want Allow only", res.Header)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		do(t, srv, request{Method: http.MethodOptions, Path: "/v3/personal-access-token", Header: http.Header{"Origin": {origin}}, Unchecked: true}).
			wantStatus(t, http.StatusServiceUnavailable) // an unknown path is an API request a scenario may script
	})
	if st := ruleStats(t, srv)["all fail"]; st.Matched != 1 {
		t.Errorf("the scenario saw %d requests, want only the unknown path's", st.Matched)
	}
	t.Run("answers carry the origin", func(t *testing.T) {
		srv := newServer(t)
		for _, r := range []request{
			{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: token(t, srv, userID)},
			{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me"},
			{Method: http.MethodGet, Path: "/oauth/info"},
		} {
			r.Header = http.Header{"Origin": {origin}}
			res := do(t, srv, r)
			if res.Header.Get("Access-Control-Allow-Origin") != origin || !slices.Contains(res.Header.Values("Vary"), "Origin") {
				t.Errorf("%s %s → %d: Access-Control-Allow-Origin %q, Vary %q", r.Method, r.Path, res.Status,
					res.Header.Get("Access-Control-Allow-Origin"), res.Header.Values("Vary"))
			}
		}
		res := do(t, srv, request{Method: http.MethodGet, Path: "/oauth/info"})
		if res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Vary") != "Access-Control-Request-Headers" {
			t.Errorf("without Origin: %v", res.Header)
		}
	})
}

// TestHead: HEAD on a GET route answers like GET, without the body.
func TestHead(t *testing.T) {
	srv := newServer(t)
	tok := token(t, srv, userID)
	for _, tc := range []struct {
		name, path, token string
		status            int
	}{
		{"list", "/v3/personal-access-tokens?owner-id=me", tok, http.StatusOK},
		{"list with a slash", "/v2026/personal-access-tokens/?owner-id=me", tok, http.StatusOK},
		{"list without a token", "/v3/personal-access-tokens?owner-id=me", "", http.StatusUnauthorized},
		{"list with a bad filter", "/v3/personal-access-tokens?owner-id=me&filters=name+eq+1", tok, http.StatusBadRequest},
		{"info", "/oauth/info", "", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			get := do(t, srv, request{Method: http.MethodGet, Path: tc.path, Token: tc.token}).wantStatus(t, tc.status)
			head := do(t, srv, request{Method: http.MethodHead, Path: tc.path, Token: tc.token}).wantStatus(t, tc.status)
			if len(head.Body) != 0 {
				t.Errorf("HEAD body %q, want none", head.Body)
			}
			if got, want := head.Header.Get("Content-Length"), strconv.Itoa(len(get.Body)); got != want {
				t.Errorf("HEAD Content-Length %q, want GET's %s", got, want)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "Access-Control-Expose-Headers"} {
				if head.Header.Get(h) != get.Header.Get(h) {
					t.Errorf("%s: HEAD %q, GET %q", h, head.Header.Get(h), get.Header.Get(h))
				}
			}
		})
	}
	heads := slices.DeleteFunc(srv.Requests("listPersonalAccessTokens"), func(r mock.RecordedRequest) bool { return r.Method != http.MethodHead })
	if len(heads) != 4 || heads[0].IdentityID != userID {
		t.Errorf("journal HEAD lists %+v, want four, the first by %s", heads, userID)
	}
}
