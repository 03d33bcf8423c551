package mock_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iscmock/iscmock/mock"
)

type tokenJSON struct {
	AccessToken         string `json:"access_token"`
	TokenType           string `json:"token_type"`
	ExpiresIn           int    `json:"expires_in"`
	Scope               string `json:"scope"`
	TenantID            string `json:"tenant_id"`
	Pod                 string `json:"pod"`
	Org                 string `json:"org"`
	IdentityID          string `json:"identity_id"`
	UserName            string `json:"user_name"`
	StrongAuth          bool   `json:"strong_auth"`
	StrongAuthSupported bool   `json:"strong_auth_supported"`
	JTI                 string `json:"jti"`
}

func form(v url.Values) string { return v.Encode() }

func credentials(id string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
}

// mintPAT exchanges a PAT's credentials at /oauth/token.
func mintPAT(t *testing.T, srv *mock.Server, id string) tokenJSON {
	t.Helper()
	var tok tokenJSON
	do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: form(credentials(id)), ContentType: "application/x-www-form-urlencoded"}).
		wantStatus(t, http.StatusOK).decode(t, &tok)
	return tok
}

func TestTokenClientStyles(t *testing.T) {
	var multi bytes.Buffer
	mw := multipart.NewWriter(&multi)
	for k, v := range credentials(userPAT) {
		_ = mw.WriteField(k, v[0])
	}
	mw.Close()
	basic := base64.StdEncoding.EncodeToString([]byte(userPAT + ":" + secret))

	cases := []struct {
		name, query, body, contentType string
		header                         http.Header
	}{
		{name: "form body", body: form(credentials(userPAT)), contentType: "application/x-www-form-urlencoded"},
		{name: "multipart form", body: multi.String(), contentType: mw.FormDataContentType()},
		{name: "query string", query: form(credentials(userPAT))},
		{name: "grant in query, credentials in form", query: "grant_type=client_credentials",
			body: form(url.Values{"client_id": {userPAT}, "client_secret": {secret}}), contentType: "application/x-www-form-urlencoded"},
		{name: "HTTP Basic with an empty scope", body: "grant_type=client_credentials&scope=", contentType: "application/x-www-form-urlencoded",
			header: http.Header{"Authorization": {"Basic " + basic}}},
		{name: "grant type in upper case", query: "grant_type=CLIENT_CREDENTIALS&client_id=" + userPAT + "&client_secret=" + secret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			path := "/oauth/token"
			if tc.query != "" {
				path += "?" + tc.query
			}
			res := do(t, srv, request{Method: http.MethodPost, Path: path, Body: tc.body, ContentType: tc.contentType, Header: tc.header})
			var tok tokenJSON
			res.wantStatus(t, http.StatusOK).decode(t, &tok)
			want := tokenJSON{TokenType: "bearer", ExpiresIn: 600, Scope: "sp:my-personal-access-tokens:manage", Pod: "mock01-useast1",
				Org: "iscmock", IdentityID: userID, UserName: "uma.user"}
			if diff := cmp.Diff(want, tok, cmpopts.IgnoreFields(tokenJSON{}, "AccessToken", "TenantID", "JTI")); diff != "" {
				t.Errorf("token response (-want +got):\n%s", diff)
			}
			if tok.TenantID == "" || tok.JTI == "" || tok.AccessToken == "" {
				t.Errorf("tenant_id, jti or access_token empty: %s", res.Body)
			}
			list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok.AccessToken)
		})
	}
}

// TestTokenErrors: the client is authenticated before the grant is read, so bad credentials are
// 401 whatever the grant; an authenticated client with a missing or unsupported grant gets 400.
func TestTokenErrors(t *testing.T) {
	srv := newServer(t)
	wrong := credentials(userPAT)
	wrong.Set("client_secret", "0"+secret[1:])
	basic := http.Header{"Authorization": {"Basic " + basicAuth(userPAT, secret)}}
	creds := "&client_id=" + userPAT + "&client_secret=" + secret
	const full = "Full authentication is required to access this resource"
	cases := []struct {
		name, body, contentType string
		header                  http.Header
		status                  int
		code, description       string
	}{
		{name: "no grant type", body: creds[1:], status: 400, code: "invalid_request", description: "Missing grant type"},
		{name: "password grant", body: "grant_type=password&username=u&password=p" + creds, status: 400,
			code: "unsupported_grant_type", description: "Unsupported grant type: password"},
		{name: "wrong secret", body: form(wrong), status: 401, code: "unauthorized", description: full},
		{name: "unknown id", body: form(credentials("ffffffffffffffffffffffffffffffff")), status: 401, code: "unauthorized", description: full},
		{name: "no credentials", body: "grant_type=client_credentials", status: 401, code: "unauthorized", description: full},
		{name: "no credentials, no grant", body: "", status: 401, code: "unauthorized", description: full},
		{name: "no credentials, password grant", body: "grant_type=password&username=u&password=p", status: 401, code: "unauthorized", description: full},
		{name: "wrong secret, no grant", body: "client_id=" + userPAT + "&client_secret=x", status: 401, code: "unauthorized", description: full},
		{name: "expired token", body: form(credentials(expiredPAT)), status: 401, code: "invalid_client", description: "Personal access token has expired"},
		{name: "expired token, bad grant", body: "grant_type=password&client_id=" + expiredPAT + "&client_secret=" + secret, status: 401,
			code: "invalid_client", description: "Personal access token has expired"},
		// A JSON body is not read, as the framework reads only parameters: its grant is missing.
		{name: "JSON body, Basic credentials", body: `{"grant_type":"client_credentials"}`, contentType: "application/json", header: basic,
			status: 400, code: "invalid_request", description: "Missing grant type"},
		{name: "JSON body, credentials inside", body: `{"grant_type":"client_credentials","client_id":"` + userPAT + `","client_secret":"` + secret + `"}`,
			contentType: "application/json", status: 401, code: "unauthorized", description: full},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.PATs()
			ct := tc.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			res := do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: tc.body, ContentType: ct, Header: tc.header})
			res.wantStatus(t, tc.status)
			var body map[string]string
			res.decode(t, &body)
			if diff := cmp.Diff(map[string]string{"error": tc.code, "error_description": tc.description}, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, srv.PATs()); diff != "" {
				t.Errorf("a refused grant changed the tenant:\n%s", diff)
			}
		})
	}
}

// TestTokenResponseFields: the token response has the authentication guide's fields in its order
// (refresh_token aside, which PATs do not get), plus user_name, which the SDKs read.
func TestTokenResponseFields(t *testing.T) {
	srv := newServer(t)
	res := do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"}).
		wantStatus(t, http.StatusOK)
	want := []string{"access_token", "token_type", "expires_in", "scope", "accessType", "tenant_id", "internal", "pod",
		"strong_auth_supported", "org", "user_id", "identity_id", "user_name", "strong_auth", "enabled", "jti"}
	if diff := cmp.Diff(want, jsonKeys(t, res.Body)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	var body map[string]any
	res.decode(t, &body)
	var claims map[string]any
	if err := json.Unmarshal(jwtPayload(t, body["access_token"].(string)), &claims); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"accessType", "tenant_id", "internal", "pod", "strong_auth_supported", "org", "user_id",
		"identity_id", "user_name", "strong_auth", "enabled", "jti"} {
		if !cmp.Equal(body[k], claims[k]) {
			t.Errorf("%s: response %v, token %v; want the same", k, body[k], claims[k])
		}
	}
	if body["enabled"] != true || body["accessType"] != "OFFLINE" {
		t.Errorf("enabled %v, accessType %v: want true, OFFLINE", body["enabled"], body["accessType"])
	}
}

// TestLastUsed: minting sets lastUsed when it is null or at least a day old, as ISC updates it
// "only once a day".
func TestLastUsed(t *testing.T) {
	srv := newServer(t)
	lastUsed := func(id string) time.Time {
		p, _ := srv.PAT(id)
		if p.LastUsed == nil {
			return time.Time{}
		}
		return *p.LastUsed
	}
	near := func(t *testing.T, got, want time.Time) {
		t.Helper()
		if got.Before(want.Add(-time.Second)) || got.After(want.Add(time.Second)) {
			t.Errorf("lastUsed %v, want about %v", got, want)
		}
	}

	mintPAT(t, srv, adminPAT)
	near(t, lastUsed(adminPAT), start)

	mintPAT(t, srv, userPAT) // last used two days ago
	first := lastUsed(userPAT)
	near(t, first, start)

	srv.Clock().Advance(23 * time.Hour)
	mintPAT(t, srv, userPAT)
	if got := lastUsed(userPAT); !got.Equal(first) {
		t.Errorf("minted 23 h later: lastUsed %v, want unchanged %v", got, first)
	}
	srv.Clock().Advance(time.Hour)
	mintPAT(t, srv, userPAT)
	near(t, lastUsed(userPAT), start.Add(24*time.Hour))

	var pats []patJSON
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=" + userID + "&filters=lastUsed+isnull", Token: token(t, srv, adminID)}).
		wantStatus(t, http.StatusOK).decode(t, &pats)
	for _, p := range pats {
		if p.ID == userPAT {
			t.Error("the used token is still listed as never used")
		}
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	srv := newServer(t)
	tok := mintPAT(t, srv, userPAT) // valid 600 s
	srv.Clock().Advance(598 * time.Second)
	list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok.AccessToken)
	srv.Clock().Advance(2 * time.Second)
	res := do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok.AccessToken})
	res.wantStatus(t, http.StatusUnauthorized)
	if string(res.Body) != `{"error":"JWT validation failed: JWT is expired"}` {
		t.Errorf("body %s", res.Body)
	}
}

// TestTokenScopeIsThePATs: a minted token carries the PAT's scope; a PAT limited to its owner's
// tokens cannot list the tenant, even for an org admin.
func TestTokenScopeIsThePATs(t *testing.T) {
	srv := newServer(t)
	tok := mintPAT(t, srv, userPAT).AccessToken
	do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens", Token: tok}).
		wantError(t, http.StatusForbidden, "403 Forbidden")

	// A deleted PAT's access tokens stay valid until they expire, like any issued JWT.
	do(t, srv, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + userPAT, Token: tok}).wantStatus(t, http.StatusNoContent)
	list(t, srv, "/v3/personal-access-tokens?owner-id=me", tok)
	do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"}).
		wantStatus(t, http.StatusUnauthorized)
}

// TestOAuthInfo: GET /oauth/info needs no token and names the tenant's endpoints with the base URL
// the client used: the tenant's prefix, and behind a proxy its X-Forwarded-Proto and -Host.
func TestOAuthInfo(t *testing.T) {
	srv := newServer(t)
	type info struct {
		TenantID, TenantName, AuthorizeEndpoint, TokenEndpoint, CloudDomainURL, LogoutURL, Pod string
	}
	get := func(t *testing.T, path string, header http.Header) (info, response) {
		t.Helper()
		res := do(t, srv, request{Method: http.MethodGet, Path: path, Header: header}).wantStatus(t, http.StatusOK)
		var body map[string]string
		res.decode(t, &body)
		return info{body["tenantId"], body["tenantName"], body["authorizeEndpoint"], body["tokenEndpoint"],
			body["cloudDomainUrl"], body["logoutUrl"], body["pod"]}, res
	}
	at := func(base, name string) info {
		return info{TenantName: name, AuthorizeEndpoint: base + "/oauth/authorize", TokenEndpoint: base + "/oauth/token",
			CloudDomainURL: base, LogoutURL: base + "/logout", Pod: "mock01-useast1"}
	}
	cases := []struct {
		name, path string
		header     http.Header
		want       info
	}{
		{name: "root", path: "/oauth/info", want: at(srv.URL(), "iscmock")},
		{name: "tenant", path: "/tenants/job-1/oauth/info", want: at(srv.URL()+"/tenants/job-1", "job-1")},
		{name: "behind a proxy", path: "/tenants/job-1/oauth/info",
			header: http.Header{"X-Forwarded-Proto": {"HTTPS"}, "X-Forwarded-Host": {"isc.example.com:8443"}},
			want:   at("https://isc.example.com:8443/tenants/job-1", "job-1")},
		{name: "a chain of proxies: the first", path: "/oauth/info",
			header: http.Header{"X-Forwarded-Proto": {"https, http"}, "X-Forwarded-Host": {"[::1]:9000, inner.local"}},
			want:   at("https://[::1]:9000", "iscmock")},
		{name: "malformed forwarded values are ignored", path: "/oauth/info",
			header: http.Header{"X-Forwarded-Proto": {"javascript"}, "X-Forwarded-Host": {"evil.example/x?"}},
			want:   at(srv.URL(), "iscmock")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, res := get(t, tc.path, tc.header)
			if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(got.TenantID) {
				t.Errorf("tenantId %q, want a UUID", got.TenantID)
			}
			got.TenantID = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("info (-want +got):\n%s", diff)
			}
			want := []string{"tenantId", "tenantName", "authorizeEndpoint", "tokenEndpoint", "cloudDomainUrl", "logoutUrl", "pod"}
			if diff := cmp.Diff(want, jsonKeys(t, res.Body)); diff != "" {
				t.Errorf("fields (-want +got), as the authentication guide's example:\n%s", diff)
			}
		})
	}
	t.Run("agrees with the tokens", func(t *testing.T) {
		// Minting claims the tenant (reading /oauth/info alone makes none), so its journal keeps the call.
		res := do(t, srv, request{Method: http.MethodPost, Path: "/tenants/job-2/oauth/token",
			Body: form(credentials(userPAT)), ContentType: "application/x-www-form-urlencoded"}).wantStatus(t, http.StatusOK)
		var tok tokenJSON
		res.decode(t, &tok)
		got, _ := get(t, "/tenants/job-2/oauth/info", nil)
		if tok.TenantID != got.TenantID || tok.Org != got.TenantName || tok.Pod != got.Pod {
			t.Errorf("token says tenant %s, org %s, pod %s; info says %+v", tok.TenantID, tok.Org, tok.Pod, got)
		}
		if got.TokenEndpoint != srv.URL()+"/tenants/job-2/oauth/token" {
			t.Errorf("tokenEndpoint %s", got.TokenEndpoint)
		}
		tenant, _ := srv.OpenTenant("job-2")
		if r := tenant.Requests("info"); len(r) != 1 || r[0].Status != http.StatusOK || r[0].Path != "/tenants/job-2/oauth/info" {
			t.Errorf("journal %+v, want the info call", r)
		}
	})
}
