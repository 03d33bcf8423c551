package mock_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// shape names the body a refusal has.
type shape int

const (
	dto   shape = iota // ErrorResponseDto
	jwt                // {"error": "JWT validation failed: ..."}
	plain              // net/http's own text, before the mock sees the request
	oauth              // {"error": "...", "error_description": "..."}, at /oauth/token
	none               // no body
)

// TestHostileInput sends named bad requests through real HTTP: each gets the status and body
// shape it names, never a 5xx, and a refused one changes nothing.
func TestHostileInput(t *testing.T) {
	const (
		coll = "/v3/personal-access-tokens"
		item = coll + "/" + userPAT
		ok   = `[{"op":"replace","path":"/name","value":"x"}]`
	)
	nested := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	cases := []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string
		header      http.Header
		noToken     bool
		status      int
		shape       shape
		text        string
	}{
		{name: "malformed JSON", method: "POST", path: coll, body: `{"name":`, status: 400, text: "must be a JSON object"},
		{name: "wrong type", method: "POST", path: coll, body: `{"name":["x"]}`, status: 400, text: "name must be a string"},
		{name: "unknown fields are ignored", method: "POST", path: coll, body: `{"name":"extra","colour":"blue"}`, status: 200},
		{name: "invalid UTF-8 in a create", method: "POST", path: coll, body: "{\"name\":\"\xff\xfe\"}", status: 400, text: "not valid UTF-8"},
		{name: "invalid UTF-8 in a patch", method: "PATCH", path: item, body: "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"\xc3\"}]", status: 400, text: "not valid UTF-8"},
		{name: "empty create body", method: "POST", path: coll, contentType: "application/json", status: 400, text: "must be a JSON object"},
		{name: "empty patch body", method: "PATCH", path: item, contentType: "application/json-patch+json", status: 400, text: "JSON array of operations"},
		{name: "huge body", method: "POST", path: coll, body: `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, status: 413, text: "larger than"},
		{name: "huge token form", method: "POST", path: "/oauth/token", body: "grant_type=" + strings.Repeat("x", 2<<20),
			contentType: "application/x-www-form-urlencoded", noToken: true, status: 413, shape: oauth, text: "larger than"},
		{name: "huge multipart token form", method: "POST", path: "/oauth/token", body: "--b\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\n" + strings.Repeat("x", 2<<20),
			contentType: "multipart/form-data; boundary=b", noToken: true, status: 413, shape: oauth, text: "larger than"},
		{name: "over-long name", method: "POST", path: coll, body: `{"name":"` + strings.Repeat("n", 256) + `"}`, status: 400, text: "at most 255"},
		{name: "control characters", method: "POST", path: coll, body: `{"name":"a\u0000b"}`, status: 400, text: "control characters"},
		{name: "deep nesting", method: "POST", path: coll, body: `{"name":"x","scope":` + nested + `}`, status: 400},
		{name: "number out of range", method: "POST", path: coll, body: `{"name":"x","accessTokenValiditySeconds":1e400}`, status: 400, text: "must be an integer"},
		{name: "copies that double the document", method: "PATCH", path: item,
			body: "[" + strings.Repeat(`{"op":"copy","from":"/scope","path":"/scope/-"},`, 40) + `{"op":"test","path":"/id","value":"x"}]`, status: 400, text: "could not be applied"},
		{name: "text/plain create", method: "POST", path: coll, body: `{"name":"x"}`, contentType: "text/plain", status: 415},
		{name: "JSON merge patch", method: "PATCH", path: item, body: `{"name":"x"}`, contentType: "application/merge-patch+json", status: 415},
		{name: "duplicate owner-id", method: "GET", path: coll + "?owner-id=me&owner-id=" + adminID, status: 400, text: "owner-id is given 2 times"},
		{name: "over-long filter", method: "GET", path: coll + "?owner-id=me&filters=" + strings.Repeat("(", 5000), status: 400, text: "longer than"},
		{name: "PUT on the collection", method: "PUT", path: coll, body: "{}", status: 405, text: "'PUT'"},
		{name: "HEAD on an item", method: "HEAD", path: item, status: 405, shape: none},
		{name: "OPTIONS on an unknown path", method: "OPTIONS", path: coll + "x", status: 404},
		{name: "encoded slash in an id", method: "PATCH", path: coll + "/a%2Fb", body: ok, status: 404},
		{name: "dot segment as an id", method: "DELETE", path: coll + "/..", status: 404},
		{name: "dot segments in the path", method: "GET", path: "/v3/../v3/personal-access-tokens", status: 404},
		{name: "doubled slash", method: "GET", path: "//v3/personal-access-tokens", status: 404},
		{name: "NUL in an id", method: "DELETE", path: coll + "/%00", status: 404},
		{name: "garbage bearer token", method: "GET", path: coll, header: http.Header{"Authorization": {"Bearer #not.a.jwt#"}}, noToken: true, status: 401, shape: jwt},
		{name: "oversized header", method: "GET", path: coll, header: http.Header{"X-Big": {strings.Repeat("h", 2<<20)}}, status: 431, shape: plain},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			before := srv.PATs()
			r := request{Method: tc.method, Path: tc.path, Body: tc.body, ContentType: tc.contentType, Header: tc.header}
			if !tc.noToken {
				r.Token = token(t, srv, userID)
			}
			res := do(t, srv, r)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d; body %.300s", res.Status, tc.status, res.Body)
			}
			switch {
			case tc.status == 200:
				return
			case tc.shape == dto:
				var e iscError
				if err := json.Unmarshal(res.Body, &e); err != nil || e.DetailCode == "" || len(e.Messages) == 0 || !strings.Contains(res.errorText(e), tc.text) {
					t.Errorf("body %.300s: want an ErrorResponseDto whose text has %q", res.Body, tc.text)
				}
			case tc.shape == oauth:
				var e map[string]string
				if err := json.Unmarshal(res.Body, &e); err != nil || e["error"] != "invalid_request" || !strings.Contains(e["error_description"], tc.text) || len(e) != 2 {
					t.Errorf("body %.300s: want the OAuth shape whose description has %q", res.Body, tc.text)
				}
			case tc.shape == jwt:
				var e map[string]string
				if err := json.Unmarshal(res.Body, &e); err != nil || !strings.HasPrefix(e["error"], "JWT validation failed") {
					t.Errorf("body %s: want the JWT shape", res.Body)
				}
			case tc.shape == none && len(res.Body) != 0:
				t.Errorf("body %q, want none", res.Body)
			}
			if diff := cmp.Diff(before, srv.PATs()); diff != "" {
				t.Errorf("a refused request changed the tenant:\n%s", diff)
			}
		})
	}
}

// TestMethodsEverywhere: no method on any path answers 5xx.
func TestMethodsEverywhere(t *testing.T) {
	srv := newServer(t)
	tok := token(t, srv, adminID)
	paths := []string{"/", "/oauth/token", "/v3/personal-access-tokens", "/v2025/personal-access-tokens/" + userPAT,
		"/personal-access-tokens/v1", "/personal-access-tokens/v1/x", "/tenants/t/v3/personal-access-tokens", "/__admin/health", "/__admin/x"}
	for _, p := range paths {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "BREW"} {
			res := do(t, srv, request{Method: m, Path: p, Token: tok, Body: "{}", ContentType: "application/json", Unchecked: true})
			if res.Status >= 500 {
				t.Errorf("%s %s: %d %s", m, p, res.Status, res.Body)
			}
			if res.Status >= 400 && len(res.Body) > 0 && !json.Valid(bytes.TrimSpace(res.Body)) {
				t.Errorf("%s %s: %d with a body that is not JSON: %q", m, p, res.Status, res.Body)
			}
		}
	}
}
