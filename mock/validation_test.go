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
