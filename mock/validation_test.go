package mock_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

const (
	legacy = "legacy" // beta, v3, v2024
	modern = "modern" // v2025, v2026, v1
	every  = ""
)

// eachVersion runs fn as a subtest "version/name" in every version of the family.
func eachVersion(t *testing.T, family, name string, fn func(t *testing.T, v apiVersion)) {
	for _, v := range versions {
		if family == every || (family == modern) == v.neverExpire {
			t.Run(v.name+"/"+name, func(t *testing.T) { fn(t, v) })
		}
	}
}

// Dates relative to the test clock (2026-06-01T12:00Z).
const (
	past          = "2026-05-31T12:00:00Z"
	fiveMonths    = "2026-11-01T12:00:00.000Z"
	sevenMonths   = "2027-01-01T12:00:00Z"
	fiveYears     = "2031-06-01T12:00:00Z"
	longName      = "n"
	ack           = `"userAwareTokenNeverExpires":true`
	never         = `,` + ack
	createSuccess = 0
)

func TestCreateValidation(t *testing.T) {
	cases := []struct {
		name        string
		family      string
		body        string
		contentType string
		status      int // 0: 200
		code        string
		text        string
	}{
		{name: "name missing", body: `{"scope":null` + never + `}`, status: 400, code: "400.1.0 Required Data Missing Or Empty", text: "name is required"},
		{name: "name null", body: `{"name":null` + never + `}`, status: 400, code: "400.1.0 Required Data Missing Or Empty", text: "name is required"},
		{name: "name a number", body: `{"name":7` + never + `}`, status: 400, code: "400.0 Bad request syntax", text: "name must be a string"},
		{name: "name blank", body: `{"name":"  "` + never + `}`, status: 400, code: "400.1.3 Illegal value", text: "must not be blank"},
		{name: "name too long", body: `{"name":"` + strings.Repeat(longName, 256) + `"` + never + `}`, status: 400, code: "400.1.3 Illegal value", text: "at most 255"},
		{name: "name of 255", body: `{"name":"` + strings.Repeat(longName, 255) + `"` + never + `}`},
		{name: "name with a control character", body: `{"name":"a\u0007b"` + never + `}`, status: 400, code: "400.1.3 Illegal value", text: "control characters"},
		{name: "name taken ignoring case", body: `{"name":"USER LAPTOP"` + never + `}`, status: 400, code: "400.1.409 Reference conflict", text: `"USER LAPTOP" is already used`},
		{name: "name of another owner's token", body: `{"name":"admin ci"` + never + `}`},
		{name: "scope a string", body: `{"name":"x","scope":"sp:scopes:all"` + never + `}`, status: 400, code: "400.0 Bad request syntax", text: "scope must be an array of strings"},
		{name: "scope with an empty value", body: `{"name":"x","scope":[""]` + never + `}`, status: 400, code: "400.1.3 Illegal value", text: "scope must not contain empty values"},
		{name: "scope empty list", body: `{"name":"x","scope":[]` + never + `}`},
		{name: "validity 14", body: `{"name":"x","accessTokenValiditySeconds":14` + never + `}`, status: 400, code: "400.1.3 Illegal value", text: "between 15 and 43200; got 14"},
		{name: "validity 43201", body: `{"name":"x","accessTokenValiditySeconds":43201` + never + `}`, status: 400, code: "400.1.3 Illegal value", text: "between 15 and 43200"},
		{name: "validity 15", body: `{"name":"x","accessTokenValiditySeconds":15` + never + `}`},
		{name: "validity fractional", body: `{"name":"x","accessTokenValiditySeconds":1.5` + never + `}`, status: 400, code: "400.0 Bad request syntax", text: "must be an integer"},
		{name: "validity a string", body: `{"name":"x","accessTokenValiditySeconds":"600"` + never + `}`, status: 400, code: "400.0 Bad request syntax", text: "must be an integer"},
		{name: "expiration in the past", body: `{"name":"x","expirationDate":"` + past + `"}`, status: 400, code: "400.1.3 Illegal value", text: "must be in the future"},
		{name: "expiration not a date", body: `{"name":"x","expirationDate":"tomorrow"}`, status: 400, code: "400.0 Bad request syntax", text: "not an ISO-8601 date-time"},
		{name: "expiration a number", body: `{"name":"x","expirationDate":1}`, status: 400, code: "400.0 Bad request syntax", text: "must be a date-time string"},
		{name: "expiration in five months", body: `{"name":"x","expirationDate":"` + fiveMonths + `"}`},
		{name: "legacy: expiration past six months", family: legacy, body: `{"name":"x","expirationDate":"` + sevenMonths + `"}`,
			status: 400, code: "400.1.3 Illegal value", text: "between now and 6 months"},
		{name: "legacy: no expiration", family: legacy, body: `{"name":"x"}`},
		{name: "modern: expiration in five years", family: modern, body: `{"name":"x","expirationDate":"` + fiveYears + `"}`},
		{name: "modern: no expiration without acknowledgement", family: modern, body: `{"name":"x"}`,
			status: 400, code: "400.1.0 Required Data Missing Or Empty", text: "userAwareTokenNeverExpires must be true when expirationDate is null"},
		{name: "modern: null expiration, acknowledgement false", family: modern, body: `{"name":"x","expirationDate":null,"userAwareTokenNeverExpires":false}`,
			status: 400, code: "400.1.0 Required Data Missing Or Empty", text: "userAwareTokenNeverExpires must be true"},
		{name: "modern: acknowledgement not a boolean", family: modern, body: `{"name":"x","userAwareTokenNeverExpires":"yes"}`,
			status: 400, code: "400.0 Bad request syntax", text: "userAwareTokenNeverExpires must be a boolean"},
		{name: "unknown fields are ignored", body: `{"name":"x","color":"blue"` + never + `}`},
		{name: "not JSON", body: `{"name":`, status: 400, code: "400.0 Bad request syntax", text: "must be a JSON object"},
		{name: "an array", body: `[{"name":"x"}]`, status: 400, code: "400.0 Bad request syntax", text: "must be a JSON object"},
		{name: "null", body: `null`, status: 400, code: "400.0 Bad request syntax", text: "must be a JSON object"},
		{name: "data after the object", body: `{"name":"x"` + never + `} {}`, status: 400, code: "400.0 Bad request syntax", text: "data after"},
		{name: "text/plain", body: `{"name":"x"` + never + `}`, contentType: "text/plain", status: 415, code: "415 Unsupported Media Type", text: "application/json"},
		{name: "json with charset", body: `{"name":"x"` + never + `}`, contentType: "application/json; charset=utf-8"},
	}
	for _, tc := range cases {
		eachVersion(t, tc.family, tc.name, func(t *testing.T, v apiVersion) {
			srv := newServer(t)
			before := srv.PATs()
			res := do(t, srv, request{Method: http.MethodPost, Path: v.path, Token: token(t, srv, userID), Body: tc.body, ContentType: tc.contentType})
			if tc.status == createSuccess {
				res.wantStatus(t, http.StatusOK)
				if n := len(srv.PATs()); n != len(before)+1 {
					t.Errorf("%d tokens after create, want %d", n, len(before)+1)
				}
				return
			}
			res.wantError(t, tc.status, tc.code, tc.text)
			if diff := cmp.Diff(before, srv.PATs()); diff != "" {
				t.Errorf("a refused create changed the tenant:\n%s", diff)
			}
		})
	}
	t.Run("no content type", func(t *testing.T) {
		srv := newServer(t)
		res := do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, userID), Body: `{"name":"x"}`,
			ContentType: "application/x-www-form-urlencoded"})
		res.wantError(t, http.StatusUnsupportedMediaType, "415 Unsupported Media Type")
	})
}

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

// TestUnparsableCause: a body that cannot be parsed gets ISC's 400.0 word for word; the mock's
// explanation is in the Iscmock-Cause header and the request log, never in the body.
func TestUnparsableCause(t *testing.T) {
	var log strings.Builder
	srv := newServer(t, mock.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	res := do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, userID), Body: `{"name":7}`})
	res.wantError(t, http.StatusBadRequest, "400.0 Bad request syntax", "The request could not be parsed.")
	if got := res.Header.Get("Iscmock-Cause"); got != "name must be a string." {
		t.Errorf("Iscmock-Cause %q", got)
	}
	if strings.Contains(string(res.Body), "name must be") {
		t.Errorf("the body has the mock's explanation: %s", res.Body)
	}
	if !strings.Contains(log.String(), `cause="name must be a string."`) {
		t.Errorf("log lacks the cause:\n%s", log.String())
	}
}
