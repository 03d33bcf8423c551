package mock_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

func TestPatchValidation(t *testing.T) {
	cases := []struct {
		name        string
		family      string
		owner, pat  string // default: the user and its token
		body        string
		contentType string
		status      int
		code        string
		text        string
		check       func(t *testing.T, p patJSON)
	}{
		{name: "application/json", body: `[{"op":"replace","path":"/name","value":"x"}]`, contentType: "application/json",
			status: 415, code: "415 Unsupported Media Type", text: "application/json-patch+json"},
		{name: "not an array", body: `{"op":"replace","path":"/name","value":"x"}`, status: 400, code: "400.0 Bad request syntax", text: "JSON array of operations"},
		{name: "malformed JSON", body: `[{"op":"replace",`, status: 400, code: "400.0 Bad request syntax", text: "not a valid JSON Patch"},
		{name: "unknown op", body: `[{"op":"merge","path":"/name","value":"x"}]`, status: 400, code: "400.0 Bad request syntax", text: `op "merge"`},
		{name: "replace without value", body: `[{"op":"replace","path":"/name"}]`, status: 400, code: "400.0 Bad request syntax", text: "has no value"},
		{name: "id is not patchable", body: `[{"op":"replace","path":"/id","value":"x"}]`, status: 400, code: "400.1.3 Illegal value", text: "/id, which cannot be changed"},
		{name: "validity is not patchable", body: `[{"op":"replace","path":"/accessTokenValiditySeconds","value":60}]`,
			status: 400, code: "400.1.3 Illegal value", text: "/accessTokenValiditySeconds"},
		{name: "legacy: expirationDate is not patchable", family: legacy, body: `[{"op":"replace","path":"/expirationDate","value":"` + fiveMonths + `"}]`,
			status: 400, code: "400.1.3 Illegal value", text: "patchable fields: name, scope"},
		{name: "failed test", body: `[{"op":"test","path":"/name","value":"other"},{"op":"replace","path":"/name","value":"x"}]`,
			status: 400, code: "400.1.3 Illegal value", text: "could not be applied"},
		{name: "passed test", body: `[{"op":"test","path":"/accessTokenValiditySeconds","value":600},{"op":"replace","path":"/name","value":"x"}]`,
			check: func(t *testing.T, p patJSON) { wantName(t, p, "x") }},
		{name: "blank name", body: `[{"op":"replace","path":"/name","value":" "}]`, status: 400, code: "400.1.3 Illegal value", text: "blank"},
		{name: "name of another token", body: `[{"op":"replace","path":"/name","value":"Old Script"}]`, status: 400, code: "400.1.409 Reference conflict", text: "already used"},
		{name: "own name in other case", body: `[{"op":"replace","path":"/name","value":"User Laptop"}]`,
			check: func(t *testing.T, p patJSON) { wantName(t, p, "User Laptop") }},
		{name: "remove name", body: `[{"op":"remove","path":"/name"}]`, status: 400, code: "400.1.0 Required Data Missing Or Empty", text: "name is required"},
		{name: "scope a string", body: `[{"op":"replace","path":"/scope","value":"sp:scopes:all"}]`, status: 400, code: "400.0 Bad request syntax", text: "scope must be an array"},
		{name: "remove scope", body: `[{"op":"remove","path":"/scope"}]`, status: 400, code: "400.0 Bad request syntax", text: "scope must be an array"},
		{name: "copy id into name", body: `[{"op":"copy","from":"/id","path":"/name"}]`,
			check: func(t *testing.T, p patJSON) { wantName(t, p, userPAT) }},
		{name: "move out of an unpatchable field", body: `[{"op":"move","from":"/created","path":"/name"}]`, status: 400, code: "400.1.3 Illegal value", text: "moves /created"},
		{name: "nothing half-applied", body: `[{"op":"replace","path":"/name","value":"half"},{"op":"replace","path":"/name","value":""}]`,
			status: 400, code: "400.1.3 Illegal value", text: "name"},
		{name: "empty patch", body: `[]`, check: func(t *testing.T, p patJSON) { wantName(t, p, "user laptop") }},
		{name: "modern: expiration to a later date", family: modern, body: `[{"op":"replace","path":"/expirationDate","value":"` + fiveYears + `"}]`,
			check: func(t *testing.T, p patJSON) {
				if deref(p.ExpirationDate) != "2031-06-01T12:00:00.000Z" {
					t.Errorf("expirationDate %s", deref(p.ExpirationDate))
				}
			}},
		{name: "modern: expiration in the past", family: modern, body: `[{"op":"replace","path":"/expirationDate","value":"` + past + `"}]`,
			status: 400, code: "400.1.3 Illegal value", text: "must be in the future"},
		{name: "modern: expiration to null without acknowledgement", family: modern, body: `[{"op":"replace","path":"/expirationDate","value":null}]`,
			status: 400, code: "400.1.0 Required Data Missing Or Empty", text: "in the same request"},
		{name: "modern: expiration to null, acknowledged", family: modern,
			body: `[{"op":"replace","path":"/expirationDate","value":null},{"op":"replace","path":"/userAwareTokenNeverExpires","value":true}]`,
			check: func(t *testing.T, p patJSON) {
				if p.ExpirationDate != nil || p.UserAwareTokenNeverExpires == nil || !*p.UserAwareTokenNeverExpires {
					t.Errorf("expirationDate %s, userAwareTokenNeverExpires %v: want null, true", deref(p.ExpirationDate), p.UserAwareTokenNeverExpires)
				}
			}},
		{name: "modern: acknowledgement withdrawn in the same patch", family: modern,
			body:   `[{"op":"replace","path":"/expirationDate","value":null},{"op":"replace","path":"/userAwareTokenNeverExpires","value":true},{"op":"replace","path":"/userAwareTokenNeverExpires","value":false}]`,
			status: 400, code: "400.1.0 Required Data Missing Or Empty", text: "in the same request"},
		{name: "modern: acknowledgement withdrawn from a never-expiring token", family: modern, owner: adminID, pat: adminPAT,
			body: `[{"op":"replace","path":"/userAwareTokenNeverExpires","value":false}]`, status: 400, code: "400.1.3 Illegal value", text: "must stay true"},
		{name: "modern: never-expiring token gets a date", family: modern, owner: adminID, pat: adminPAT,
			body: `[{"op":"replace","path":"/expirationDate","value":"` + fiveYears + `"},{"op":"replace","path":"/userAwareTokenNeverExpires","value":false}]`,
			check: func(t *testing.T, p patJSON) {
				if p.ExpirationDate == nil || *p.UserAwareTokenNeverExpires {
					t.Errorf("expirationDate %s, userAwareTokenNeverExpires %v", deref(p.ExpirationDate), *p.UserAwareTokenNeverExpires)
				}
			}},
		{name: "modern: acknowledgement a string", family: modern, body: `[{"op":"replace","path":"/userAwareTokenNeverExpires","value":"yes"}]`,
			status: 400, code: "400.0 Bad request syntax", text: "must be a boolean"},
	}
	for _, tc := range cases {
		eachVersion(t, tc.family, tc.name, func(t *testing.T, v apiVersion) {
			srv := newServer(t)
			owner, pat := userID, userPAT
			if tc.owner != "" {
				owner, pat = tc.owner, tc.pat
			}
			before := srv.PATs()
			res := do(t, srv, request{Method: http.MethodPatch, Path: v.path + "/" + pat, Token: token(t, srv, owner), Body: tc.body, ContentType: tc.contentType})
			if tc.check != nil {
				var p patJSON
				res.wantStatus(t, http.StatusOK).decode(t, &p)
				tc.check(t, p)
				return
			}
			res.wantError(t, tc.status, tc.code, tc.text)
			if diff := cmp.Diff(before, srv.PATs()); diff != "" {
				t.Errorf("a refused patch changed the tenant:\n%s", diff)
			}
		})
	}
}

func wantName(t *testing.T, p patJSON, name string) {
	t.Helper()
	if p.Name != name {
		t.Errorf("name %q, want %q", p.Name, name)
	}
}

// TestPatchNullExpiryNeedsAcknowledgementInTheRequest: an acknowledgement stored earlier is not
// enough; the patch that removes the expiry must carry it.
func TestPatchNullExpiryNeedsAcknowledgementInTheRequest(t *testing.T) {
	eachVersion(t, modern, "stored acknowledgement", func(t *testing.T, v apiVersion) {
		srv := newServer(t)
		acked := mock.PAT{ID: "b0000000000000000000000000000009", Secret: secret, Name: "acked", Owner: userID,
			ExpirationDate: ptr(start.AddDate(1, 0, 0)), UserAwareTokenNeverExpires: true}
		if err := srv.Seed(mock.Fixtures{PersonalAccessTokens: []mock.PAT{acked}}); err != nil {
			t.Fatal(err)
		}
		do(t, srv, request{Method: http.MethodPatch, Path: v.path + "/" + acked.ID, Token: token(t, srv, userID),
			Body: `[{"op":"replace","path":"/expirationDate","value":null}]`}).
			wantError(t, http.StatusBadRequest, "400.1.0 Required Data Missing Or Empty", "in the same request")
		if p, _ := srv.PAT(acked.ID); p.ExpirationDate == nil {
			t.Error("the refused patch removed the expiry")
		}
	})
}

// TestPatchDecodedStrictly: a JSON Patch is decoded once, with exact member names and no member
// twice, and the library applies exactly the operations checked; its length is bounded.
func TestPatchDecodedStrictly(t *testing.T) {
	item := "/v2025/personal-access-tokens/" + userPAT
	many := func(n int) string {
		return "[" + strings.Repeat(`{"op":"test","path":"/name","value":"user laptop"},`, n-1) + `{"op":"replace","path":"/name","value":"many"}]`
	}
	for _, tc := range []struct {
		name, body string
		status     int
		code, text string
	}{
		{"a Path beside path", `[{"op":"replace","path":"/accessTokenValiditySeconds","Path":"/name","value":"x"}]`, 400, "400.1.3 Illegal value", "changes /accessTokenValiditySeconds"},
		{"Path alone", `[{"op":"replace","Path":"/name","value":"x"}]`, 400, "400.0 Bad request syntax", "has no path"},
		{"From for from", `[{"op":"move","From":"/id","path":"/name"}]`, 400, "400.0 Bad request syntax", "has no from"},
		{"Op for op", `[{"Op":"remove","path":"/name"}]`, 400, "400.0 Bad request syntax", `has op ""`},
		{"path twice", `[{"op":"replace","path":"/name","path":"/accessTokenValiditySeconds","value":"x"}]`, 400, "400.0 Bad request syntax", `member "path" twice`},
		{"value twice", `[{"op":"replace","path":"/name","value":"a","value":"b"}]`, 400, "400.0 Bad request syntax", `member "value" twice`},
		{"path not a string", `[{"op":"remove","path":["/name"]}]`, 400, "400.0 Bad request syntax", "path must be a string"},
		{"an op not an object", `[["replace","/name","x"]]`, 400, "400.0 Bad request syntax", "operation 0 is not a JSON object"},
		{"data after the array", `[{"op":"replace","path":"/name","value":"x"}] []`, 400, "400.0 Bad request syntax", "data follows"},
		{"unknown members are ignored", `[{"op":"replace","path":"/name","value":"renamed","comment":"why"}]`, 200, "", ""},
		{"the most operations", many(256), 200, "", ""},
		{"one operation too many", many(257), 400, "400.1.4 Limit violation", "at most 256 operations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			before := srv.PATs()
			res := do(t, srv, request{Method: http.MethodPatch, Path: item, Token: token(t, srv, userID), Body: tc.body})
			if tc.status == 200 {
				res.wantStatus(t, 200)
				return
			}
			res.wantError(t, tc.status, tc.code, tc.text)
			if diff := cmp.Diff(before, srv.PATs()); diff != "" {
				t.Errorf("a refused patch changed the tenant:\n%s", diff)
			}
		})
	}
}
