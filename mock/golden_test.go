package mock_test

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/iscmock/iscmock/internal/conformance"
	"github.com/iscmock/iscmock/mock"
)

// TestGolden pins the wire shape of every operation in every version, for success and each main
// error status, in testdata/golden/<operation>/<version>-<status>.json.
func TestGolden(t *testing.T) {
	type exchange struct {
		status int
		req    func(srv *mock.Server, v apiVersion) request
	}
	as := func(identity string, scope ...string) func(*mock.Server) string {
		return func(srv *mock.Server) string { return token(t, srv, identity, scope...) }
	}
	call := func(method, suffix, body string, tok func(*mock.Server) string) func(*mock.Server, apiVersion) request {
		return func(srv *mock.Server, v apiVersion) request {
			r := request{Method: method, Path: v.path + suffix, Body: body}
			if tok != nil {
				r.Token = tok(srv)
			}
			return r
		}
	}
	createBody := `{"name":"golden","scope":["sp:scopes:all"],"accessTokenValiditySeconds":3600,"expirationDate":"2026-09-01T00:00:00.000Z"}`
	rename := `[{"op":"replace","path":"/name","value":"renamed"}]`
	operations := map[string][]exchange{
		"listPersonalAccessTokens": {
			{200, call(http.MethodGet, "?owner-id="+userID, "", as(adminID))},
			{400, call(http.MethodGet, "?filters=name+eq+%22x%22", "", as(adminID))},
			{401, call(http.MethodGet, "?owner-id=me", "", nil)},
			{403, call(http.MethodGet, "", "", as(userID))},
		},
		"createPersonalAccessToken": {
			{200, call(http.MethodPost, "", createBody, as(userID))},
			{400, call(http.MethodPost, "", `{"scope":["sp:scopes:all"]}`, as(userID))},
			{401, call(http.MethodPost, "", createBody, nil)},
			{403, call(http.MethodPost, "", createBody, as(userID, "sp:my-personal-access-tokens:read"))},
		},
		"patchPersonalAccessToken": {
			{200, call(http.MethodPatch, "/"+userPAT, rename, as(userID))},
			{400, call(http.MethodPatch, "/"+userPAT, `[{"op":"replace","path":"/id","value":"x"}]`, as(userID))},
			{401, call(http.MethodPatch, "/"+userPAT, rename, nil)},
			{403, call(http.MethodPatch, "/"+userPAT, rename, as(adminID))},
			{404, call(http.MethodPatch, "/ffffffffffffffffffffffffffffffff", rename, as(userID))},
		},
		"deletePersonalAccessToken": {
			{204, call(http.MethodDelete, "/"+userPAT, "", as(userID))},
			{401, call(http.MethodDelete, "/"+userPAT, "", nil)},
			{403, call(http.MethodDelete, "/"+adminPAT, "", as(userID))},
			{404, call(http.MethodDelete, "/ffffffffffffffffffffffffffffffff", "", as(userID))},
		},
	}
	for op, exchanges := range operations {
		for _, v := range versions {
			for _, ex := range exchanges {
				name := fmt.Sprintf("%s-%d", v.name, ex.status)
				t.Run(op+"/"+name, func(t *testing.T) {
					srv := newServer(t)
					res := do(t, srv, ex.req(srv, v)).wantStatus(t, ex.status)
					golden(t, filepath.Join("..", "testdata", "golden", op, name+".json"),
						conformance.Shape(res.Status, res.Header, res.Body))
				})
			}
		}
	}
	tokenCases := []struct {
		status int
		body   string
	}{
		{200, form(credentials(userPAT))},
		{400, "grant_type=password&client_id=" + userPAT + "&client_secret=" + secret},
		{401, "grant_type=client_credentials&client_id=" + userPAT + "&client_secret=wrong"},
	}
	for _, tc := range tokenCases {
		t.Run(fmt.Sprintf("token/%d", tc.status), func(t *testing.T) {
			srv := newServer(t)
			res := do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", Body: tc.body, ContentType: "application/x-www-form-urlencoded"}).
				wantStatus(t, tc.status)
			golden(t, filepath.Join("..", "testdata", "golden", "token", fmt.Sprintf("%d.json", tc.status)),
				conformance.Shape(res.Status, res.Header, res.Body))
		})
	}
	// A body that cannot be parsed, as ISC answers one on other endpoints.
	t.Run("syntax/400", func(t *testing.T) {
		srv := newServer(t)
		res := do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, userID), Body: `{"name":`}).
			wantStatus(t, http.StatusBadRequest)
		golden(t, filepath.Join("..", "testdata", "golden", "syntax", "400.json"), conformance.Shape(res.Status, res.Header, res.Body))
	})
	// /oauth/info has no document: its shape is the authentication guide's example.
	t.Run("info/200", func(t *testing.T) {
		srv := newServer(t)
		res := do(t, srv, request{Method: http.MethodGet, Path: "/oauth/info",
			Header: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"acme.api.example.com"}}}).wantStatus(t, http.StatusOK)
		golden(t, filepath.Join("..", "testdata", "golden", "info", "200.json"), conformance.Shape(res.Status, res.Header, res.Body))
	})
}

// update makes golden rewrite the files instead of comparing: go test ./mock -run TestGolden -update.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with the file at path, or writes it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./mock -run TestGolden -update writes it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the response (go test ./mock -run TestGolden -update rewrites it):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
