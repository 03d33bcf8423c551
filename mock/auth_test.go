package mock_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

// operations are the four PAT operations, on a token of the caller where they need one.
var operations = []struct {
	name, method, suffix, body string
}{
	{"list", http.MethodGet, "?owner-id=me", ""},
	{"create", http.MethodPost, "", `{"name":"new","userAwareTokenNeverExpires":true}`},
	{"patch", http.MethodPatch, "/" + userPAT, `[{"op":"replace","path":"/name","value":"renamed"}]`},
	{"delete", http.MethodDelete, "/" + userPAT, ""},
}

func TestUnauthorized(t *testing.T) {
	srv := newServer(t)
	other := newServer(t)
	valid := token(t, srv, userID)
	expiring := token(t, srv, userID)
	parts := strings.Split(valid, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := strings.Replace(string(payload), userID, adminID, 1)
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))

	cases := []struct {
		name, authorization, reason string
		before                      func()
	}{
		{name: "no header", reason: "no Authorization header"},
		{name: "basic scheme", authorization: "Basic dXNlcjpwYXNz", reason: "not a bearer token"},
		{name: "empty bearer", authorization: "Bearer ", reason: "not a bearer token"},
		{name: "malformed", authorization: "Bearer not.a.jwt", reason: "JWT is malformed"},
		{name: "other server's key", authorization: "Bearer " + token(t, other, userID), reason: "signature does not match"},
		{name: "tampered claims", authorization: "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2],
			reason: "signature does not match"},
		{name: "alg none", authorization: "Bearer " + header + "." + parts[1] + ".", reason: "signature does not match"},
		{name: "expired", authorization: "Bearer " + expiring, reason: "JWT is expired",
			before: func() { srv.Clock().Advance(12*time.Hour + time.Second) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
				defer srv.Clock().Set(start)
			}
			for _, v := range versions {
				for _, op := range operations {
					res := do(t, srv, request{Method: op.method, Path: v.path + op.suffix, Body: op.body,
						Header: http.Header{"Authorization": {tc.authorization}}})
					res.wantStatus(t, http.StatusUnauthorized)
					var body map[string]string
					res.decode(t, &body)
					if len(body) != 1 || !strings.HasPrefix(body["error"], "JWT validation failed: ") || !strings.Contains(body["error"], tc.reason) {
						t.Errorf("%s %s: body %s, want {\"error\":\"JWT validation failed: ...%s...\"}", v.name, op.name, res.Body, tc.reason)
					}
				}
			}
			if p, _ := srv.PAT(userPAT); p.Name != "user laptop" {
				t.Errorf("a refused request changed the token: %+v", p)
			}
		})
	}
}

// TestForbidden: the token's scope must hold one of the operation's scopes, and the identity the
// right the call needs.
func TestForbidden(t *testing.T) {
	cases := []struct {
		name     string
		identity string
		scope    []string
		method   string
		path     string
		body     string
	}{
		{"end user lists the tenant", userID, nil, http.MethodGet, "", ""},
		{"end user lists another owner", userID, nil, http.MethodGet, "?owner-id=" + adminID, ""},
		{"end user lists by its own id", userID, nil, http.MethodGet, "?owner-id=" + userID, ""},
		{"end user with an all scope lists the tenant", userID, []string{"sp:all-personal-access-tokens:read"}, http.MethodGet, "", ""},
		{"default scope lists own", userID, []string{"sp:scopes:default"}, http.MethodGet, "?owner-id=me", ""},
		{"read scope creates", userID, []string{"sp:my-personal-access-tokens:read"}, http.MethodPost, "", `{"name":"x","userAwareTokenNeverExpires":true}`},
		{"admin patches another's token", adminID, nil, http.MethodPatch, "/" + userPAT, `[{"op":"replace","path":"/name","value":"x"}]`},
		{"all-manage scope patches own", userID, []string{"sp:all-personal-access-tokens:manage"}, http.MethodPatch, "/" + userPAT, `[{"op":"replace","path":"/name","value":"x"}]`},
		{"end user deletes another's token", userID, nil, http.MethodDelete, "/" + adminPAT, ""},
		{"auditor deletes another's token", auditorID, nil, http.MethodDelete, "/" + userPAT, ""},
		{"admin with my-manage scope deletes another's", adminID, []string{"sp:my-personal-access-tokens:manage"}, http.MethodDelete, "/" + userPAT, ""},
	}
	for _, v := range versions {
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				srv := newServer(t)
				before := srv.PATs()
				do(t, srv, request{Method: tc.method, Path: v.path + tc.path, Token: token(t, srv, tc.identity, tc.scope...), Body: tc.body}).
					wantError(t, http.StatusForbidden, "403 Forbidden", "The server understood the request but refuses to authorize it.")
				if diff := cmp.Diff(before, srv.PATs()); diff != "" {
					t.Errorf("a forbidden request changed the tenant (-before +after):\n%s", diff)
				}
			})
		}
	}
}

func TestRightsAllow(t *testing.T) {
	cases := []struct {
		name     string
		identity string
		scope    []string
		path     string
		want     []string
	}{
		{"admin sees every token, managed too", adminID, nil, "", []string{stalePAT, expiredPAT, adminPAT, userPAT, managedPAT}},
		{"admin reads one owner", adminID, nil, "?owner-id=" + userID, []string{stalePAT, expiredPAT, userPAT, managedPAT}},
		{"admin with an all-read scope does not see managed tokens", adminID, []string{"sp:all-personal-access-tokens:read"}, "?owner-id=" + userID,
			[]string{stalePAT, expiredPAT, userPAT}},
		{"admin with an all-manage scope does not see managed tokens", adminID, []string{"sp:all-personal-access-tokens:manage"}, "?owner-id=" + userID,
			[]string{stalePAT, expiredPAT, userPAT}},
		{"auditor reads the tenant without managed tokens", auditorID, []string{"sp:all-personal-access-tokens:read"}, "",
			[]string{stalePAT, expiredPAT, adminPAT, userPAT}},
		{"end user reads own without managed tokens", userID, []string{"sp:my-personal-access-tokens:read"}, "?owner-id=me",
			[]string{stalePAT, expiredPAT, userPAT}},
		{"manage scope implies read", userID, []string{"sp:my-personal-access-tokens:manage"}, "?owner-id=me",
			[]string{stalePAT, expiredPAT, userPAT}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			if got := list(t, srv, "/v2025/personal-access-tokens"+tc.path, token(t, srv, tc.identity, tc.scope...)); !cmp.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("admin deletes another's token", func(t *testing.T) {
		srv := newServer(t)
		do(t, srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + managedPAT, Token: token(t, srv, adminID)}).
			wantStatus(t, http.StatusNoContent)
		if _, ok := srv.PAT(managedPAT); ok {
			t.Error("token still there")
		}
	})
}

func TestNotFound(t *testing.T) {
	srv := newServer(t)
	tok := token(t, srv, adminID)
	for _, v := range versions {
		for _, op := range operations[2:] {
			t.Run(v.name+"/"+op.name, func(t *testing.T) {
				do(t, srv, request{Method: op.method, Path: v.path + "/ffffffffffffffffffffffffffffffff", Token: tok, Body: op.body}).
					wantError(t, http.StatusNotFound, "404 Not found", "did not find")
			})
		}
	}
	for _, path := range []string{"/", "/v4/personal-access-tokens", "/v3/personal-access-token", "/personal-access-tokens",
		"/personal-access-tokens/v2", "/v3/personal-access-tokens/a/b", "/v3/personal-access-tokens/a/", "/oauth/tokens"} {
		t.Run(path, func(t *testing.T) {
			do(t, srv, request{Method: http.MethodGet, Path: path, Token: tok}).wantError(t, http.StatusNotFound, "404 Not found")
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	srv := newServer(t)
	cases := []struct{ method, path, allow string }{
		{http.MethodPut, "/v3/personal-access-tokens", "GET, HEAD, POST, OPTIONS"},
		{http.MethodPut, "/v3/personal-access-tokens/", "GET, HEAD, POST, OPTIONS"},
		{http.MethodGet, "/v2025/personal-access-tokens/" + userPAT, "PATCH, DELETE, OPTIONS"},
		{http.MethodGet, "/oauth/token", "POST, OPTIONS"},
		{http.MethodPost, "/oauth/info", "GET, HEAD, OPTIONS"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := do(t, srv, request{Method: tc.method, Path: tc.path, Token: token(t, srv, adminID)})
			res.wantError(t, http.StatusMethodNotAllowed, "405 Method Not Allowed", tc.method)
			if got := res.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

// TestTokenAfterReset: a token whose identity is gone is refused, not served as nobody.
func TestTokenAfterReset(t *testing.T) {
	srv := newServer(t)
	extra := mock.Identity{ID: "2c9180867b50d088017b554662fb2099", Name: "Temp"}
	if err := srv.Seed(mock.Fixtures{Identities: []mock.Identity{extra}}); err != nil {
		t.Fatal(err)
	}
	tok := token(t, srv, extra.ID)
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).wantStatus(t, http.StatusOK)
	srv.Reset()
	res := do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).wantStatus(t, http.StatusUnauthorized)
	var body map[string]string
	res.decode(t, &body)
	if !strings.Contains(body["error"], "identity does not exist") {
		t.Errorf("body %s", res.Body)
	}
}

func TestAccessTokenClaims(t *testing.T) {
	srv := newServer(t)
	if _, err := srv.AccessToken("nobody"); err == nil {
		t.Error("AccessToken for an unknown identity: want an error")
	}
	payload := jwtPayload(t, token(t, srv, userID, "sp:my-personal-access-tokens:read"))
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	// The claims of the token in the authentication guide's token response, in its order.
	if diff := cmp.Diff([]string{"tenant_id", "internal", "pod", "org", "identity_id", "user_name", "strong_auth",
		"authorities", "enabled", "client_id", "accessType", "strong_auth_supported", "user_id", "scope", "exp", "jti"},
		jsonKeys(t, payload)); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	want := map[string]any{"identity_id": userID, "user_name": "uma.user", "authorities": []any{"USER"},
		"scope": []any{"sp:my-personal-access-tokens:read"}, "org": "iscmock", "internal": false, "strong_auth": false,
		"strong_auth_supported": false, "pod": "mock01-useast1", "enabled": true, "accessType": "OFFLINE"}
	for k, v := range want {
		if !cmp.Equal(claims[k], v) {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	for _, k := range []string{"tenant_id", "client_id", "jti", "exp"} {
		if claims[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	var other map[string]any
	if err := json.Unmarshal(jwtPayload(t, token(t, srv, adminID)), &other); err != nil {
		t.Fatal(err)
	}
	if uid, _ := claims["user_id"].(string); !regexp.MustCompile(`^[0-9]+$`).MatchString(uid) || uid == other["user_id"] {
		t.Errorf("user_id %v (another identity's %v): want a number in a string, as ISC's, one per identity", claims["user_id"], other["user_id"])
	}
	if exp := int64(claims["exp"].(float64)); exp < start.Add(12*time.Hour).Unix()-1 || exp > start.Add(12*time.Hour+time.Minute).Unix() {
		t.Errorf("exp %d, want 12 h after the mock clock's now", exp)
	}
}

// jwtPayload is the decoded payload of a compact JWT.
func jwtPayload(t *testing.T, tok string) []byte {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWT", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// jsonKeys lists a JSON object's member names in the order they are written.
func jsonKeys(t *testing.T, object []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(object))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s is not a JSON object", object)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestIdentityDisabled: a PAT's calls follow its owner. A disabled owner's PATs mint nothing and
// its bearer tokens get 401; enabling it again restores both. Through Go and the admin API alike.
func TestIdentityDisabled(t *testing.T) {
	ways := []struct {
		name string
		set  func(t *testing.T, srv *mock.Server, enabled bool)
	}{
		{"Go", func(t *testing.T, srv *mock.Server, enabled bool) {
			if err := srv.SetIdentityEnabled(userID, enabled); err != nil {
				t.Fatal(err)
			}
		}},
		{"admin", func(t *testing.T, srv *mock.Server, enabled bool) {
			admin(t, srv, http.MethodPatch, "/__admin/identities/"+userID, fmt.Sprintf(`{"enabled":%t}`, enabled)).
				wantStatus(t, http.StatusNoContent)
		}},
		{"fixtures", func(t *testing.T, srv *mock.Server, enabled bool) {
			admin(t, srv, http.MethodPost, "/__admin/fixtures",
				fmt.Sprintf("identities:\n  - {id: %s, name: Uma User, enabled: %t}\n", userID, enabled)).wantStatus(t, http.StatusNoContent)
		}},
	}
	mint := func(srv *mock.Server) response {
		return do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"})
	}
	for _, way := range ways {
		t.Run(way.name, func(t *testing.T) {
			srv := newServer(t)
			bearer := mintPAT(t, srv, userPAT).AccessToken
			way.set(t, srv, false)
			if id, _ := srv.Identity(userID); id.Enabled == nil || *id.Enabled {
				t.Errorf("Identity(%s).Enabled = %v, want false", userID, id.Enabled)
			}
			var listed []struct {
				ID      string `json:"id"`
				Enabled bool   `json:"enabled"`
			}
			admin(t, srv, http.MethodGet, "/__admin/identities", "").wantStatus(t, http.StatusOK).decode(t, &listed)
			for _, i := range listed {
				if i.Enabled != (i.ID != userID) {
					t.Errorf("GET /__admin/identities shows %s enabled: %t", i.ID, i.Enabled)
				}
			}
			before := srv.PATs()
			res := mint(srv).wantStatus(t, http.StatusUnauthorized)
			if string(res.Body) != `{"error":"unauthorized","error_description":"User is disabled"}` {
				t.Errorf("minting for a disabled owner: %s", res.Body)
			}
			for _, op := range operations {
				res := do(t, srv, request{Method: op.method, Path: "/v3/personal-access-tokens" + op.suffix, Token: bearer, Body: op.body}).
					wantStatus(t, http.StatusUnauthorized)
				if string(res.Body) != `{"error":"JWT validation failed: the token's identity is disabled"}` {
					t.Errorf("%s with a disabled owner's token: %s", op.name, res.Body)
				}
			}
			if diff := cmp.Diff(before, srv.PATs()); diff != "" {
				t.Errorf("refused calls changed the tenant:\n%s", diff)
			}
			// Other identities are untouched.
			list(t, srv, "/v3/personal-access-tokens?owner-id=me", mintPAT(t, srv, adminPAT).AccessToken)

			way.set(t, srv, true)
			list(t, srv, "/v3/personal-access-tokens?owner-id=me", bearer)
			list(t, srv, "/v3/personal-access-tokens?owner-id=me", mintPAT(t, srv, userPAT).AccessToken)
		})
	}
	t.Run("from the start", func(t *testing.T) {
		f := testFixtures()
		f.Identities[1].Enabled = ptr(false)
		srv := mock.NewServer(t, mock.WithFixtureData(f), mock.WithClock(start))
		mint(srv).wantStatus(t, http.StatusUnauthorized)
		// A token minted in Go says so, and is refused all the same.
		tok := token(t, srv, userID)
		var claims map[string]any
		if err := json.Unmarshal(jwtPayload(t, tok), &claims); err != nil || claims["enabled"] != false {
			t.Errorf("claims %v (%v): want enabled false", claims, err)
		}
		do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).wantStatus(t, http.StatusUnauthorized)
		srv.Reset()
		mint(srv).wantStatus(t, http.StatusUnauthorized)
	})
	t.Run("unknown identity", func(t *testing.T) {
		srv := newServer(t)
		if err := srv.SetIdentityEnabled("nobody", false); err == nil {
			t.Error("SetIdentityEnabled(nobody): want an error")
		}
		adminErr(t, admin(t, srv, http.MethodPatch, "/__admin/identities/nobody", `{"enabled":false}`), http.StatusNotFound, `no identity "nobody"`)
		adminErr(t, admin(t, srv, http.MethodPatch, "/__admin/identities/"+userID, `{}`), http.StatusBadRequest, `"enabled"`)
		adminErr(t, admin(t, srv, http.MethodPatch, "/__admin/identities/"+userID, `{"enabled":"no"}`), http.StatusBadRequest, "JSON object")
		adminErr(t, admin(t, srv, http.MethodPatch, "/__admin/identities/"+userID, `{"enabled":false,"name":"x"}`), http.StatusBadRequest, "unknown field")
		mintPAT(t, srv, userPAT)
	})
}

// TestIdentityRemoved: removing an identity removes its PATs; its bearer tokens get 401, and
// Reset brings it back from the fixtures.
func TestIdentityRemoved(t *testing.T) {
	ways := []struct {
		name   string
		remove func(t *testing.T, srv *mock.Server, id string) bool
	}{
		{"Go", func(t *testing.T, srv *mock.Server, id string) bool { return srv.RemoveIdentity(id) == nil }},
		{"admin", func(t *testing.T, srv *mock.Server, id string) bool {
			res := admin(t, srv, http.MethodDelete, "/__admin/identities/"+id, "")
			return res.Status == http.StatusNoContent
		}},
	}
	for _, way := range ways {
		t.Run(way.name, func(t *testing.T) {
			srv := newServer(t)
			bearer := mintPAT(t, srv, userPAT).AccessToken
			if !way.remove(t, srv, userID) {
				t.Fatal("removing an identity failed")
			}
			if _, ok := srv.Identity(userID); ok {
				t.Error("the identity is still there")
			}
			for _, p := range srv.PATs() {
				if p.Owner == userID {
					t.Errorf("token %s of the removed identity is still there", p.ID)
				}
			}
			if got := len(srv.PATs()); got != 1 {
				t.Errorf("%d tokens left, want the admin's one", got)
			}
			do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: bearer}).wantStatus(t, http.StatusUnauthorized)
			do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"}).
				wantStatus(t, http.StatusUnauthorized)
			if way.remove(t, srv, userID) {
				t.Error("removing it twice: want a failure")
			}
			srv.Reset()
			mintPAT(t, srv, userPAT)
		})
	}
}
