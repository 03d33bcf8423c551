package compare

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestNormaliseText(t *testing.T) {
	n := normaliser{run: "0a1b2c3d"}
	cases := []struct {
		name, key, in, want string
	}{
		{"millisecond UTC time", "created", "2026-01-05T10:00:00.000Z", "<date-time>"},
		{"time without milliseconds", "created", "2026-01-05T10:00:00Z", "<date-time, not millisecond UTC>"},
		{"time with an offset", "lastUsed", "2026-01-05T10:00:00.000+01:00", "<date-time, not millisecond UTC>"},
		{"id", "id", "86f1dc6fe8f54414950454cbb11278fa", "<hex32>"},
		{"id of another form", "id", "2c9180867b50d088017b554662fb281E", "2c9180867b50d088017b554662fb281E"},
		{"uuid", "jti", "0b3d4a6e-1b2c-4d5e-8f90-a1b2c3d4e5f6", "<uuid>"},
		{"secret", "secret", "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9", "<hex64>"},
		{"secret of another form is still hidden", "secret", "hunter2", "<secret, not 64 hex>"},
		{"access token", "access_token", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "<jwt>"},
		{"opaque access token is still hidden", "access_token", "opaque-token", "<token, not a JWT>"},
		{"user id", "user_id", "595826", "<number>"},
		{"user id of another form", "user_id", "u-595826", "<user_id, not a number>"},
		{"pod differs by nature", "pod", "stg03-useast1", "<pod>"},
		{"org differs by nature", "org", "acme-sb", "<org>"},
		{"message quoting a run's name and an id", "text", `name "iscmock-compare-0a1b2c3d v3 x" is used by 86f1dc6fe8f54414950454cbb11278fa`,
			`name "iscmock-compare-<run> v3 x" is used by <hex32>`},
		{"url", "tokenEndpoint", "https://acme.api.identitynow.com/oauth/token", "<origin>/oauth/token"},
		{"plain text", "text", "The server understood the request but refuses to authorize it.", "The server understood the request but refuses to authorize it."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := n.text(tc.key, tc.in); got != tc.want {
				t.Errorf("text(%q, %q) = %q, want %q", tc.key, tc.in, got, tc.want)
			}
		})
	}
}

func TestCompareAnswers(t *testing.T) {
	n := normaliser{}
	h := http.Header{"Content-Type": {"application/json"}, "Slpt-Request-Id": {"0123456789abcdef0123456789abcdef"}}
	cases := []struct {
		name         string
		target, mock string
		want         []string
	}{
		{"same after normalisation", `{"id":"86f1dc6fe8f54414950454cbb11278fa","created":"2026-01-05T10:00:00.000Z"}`,
			`{"created":"2027-02-01T00:00:00.123Z","id":"348aa283bdc67879ef654fb8906f6f35"}`, nil},
		{"null against absent", `{"lastUsed":null}`, `{}`, []string{"body.lastUsed: target null, mock has none"}},
		{"types", `{"managed":"false"}`, `{"managed":false}`, []string{`body.managed: target "false", mock false`}},
		{"list lengths and items", `[{"a":1},{"a":2}]`, `[{"a":3}]`, []string{"body: target has 2 items, mock 1", "body[0].a: target 1, mock 3"}},
		{"time format", `{"created":"2026-01-05T10:00:00Z"}`, `{"created":"2026-01-05T10:00:00.000Z"}`,
			[]string{`body.created: target "<date-time, not millisecond UTC>", mock "<date-time>"`}},
		{"tracking id apart from the request id", `{"trackingId":"86f1dc6fe8f54414950454cbb11278fa"}`, `{"trackingId":"0123456789abcdef0123456789abcdef"}`,
			[]string{`header SLPT-Request-ID: target "<hex32> (not the body's trackingId)", mock "<hex32>"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Compare(n.answer(200, h, []byte(tc.target)), n.answer(200, h, []byte(tc.mock)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Compare = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzAnswer: any body a target sends normalises without a panic, and what comes out shows no
// secret or token in the clear.
func FuzzAnswer(f *testing.F) {
	f.Add(`{"secret":"1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9","id":"86f1dc6fe8f54414950454cbb11278fa"}`)
	f.Add(`{"access_token":"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln","expires_in":600}`)
	f.Add(`[{"created":"2026-01-05T10:00:00Z","lastUsed":null}]`)
	f.Add(`not json eyJa.eyJb.c`)
	n := normaliser{run: "0a1b2c3d"}
	f.Fuzz(func(t *testing.T, body string) {
		a := n.answer(200, http.Header{"Slpt-Request-Id": {body}}, []byte(body))
		out := jsonText(a, "")
		if m := jwtRe.FindString(out); m != "" {
			t.Errorf("a token in the clear: %s", m)
		}
		if m := hex64Re.FindString(out); m != "" {
			t.Errorf("a secret in the clear: %s", m)
		}
	})
}

// TestRunIDHasALetter: a run id without letters would make the upper-cased names of the
// case-insensitivity probes normalise like the run's own, and the captures of them differ at random.
func TestRunIDHasALetter(t *testing.T) {
	for range 1000 {
		if id := runID(); len(id) != 8 || strings.ToUpper(id) == id {
			t.Fatalf("run id %q: want 8 hex digits with a letter", id)
		}
	}
}
