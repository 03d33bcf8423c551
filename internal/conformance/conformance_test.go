package conformance

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// checkers are the checker on the committed contract, and on the documents where they are found.
func checkers(t *testing.T) map[string]func() *Checker {
	t.Helper()
	out := map[string]func() *Checker{"contract": func() *Checker {
		c, err := LoadContract()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}}
	if dir, ok := documents(t); ok {
		out["documents"] = func() *Checker {
			c, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	return out
}

// documents reports where the official documents are, if the tests check against them.
func documents(t *testing.T) (string, bool) {
	t.Helper()
	if c, err := LoadDefault(); err != nil || !strings.HasPrefix(c.Source(), "the official documents") {
		return "", false
	}
	dir, _ := SpecDir()
	return dir, true
}

const (
	owner   = `"owner":{"type":"IDENTITY","id":"2c9180867b50d088017b554662fb281e","name":"A"}`
	item    = `{"id":"86f1dc6fe8f54414950454cbb11278fa","name":"n","scope":["sp:scopes:all"],` + owner + `,"created":"2026-01-05T10:00:00.000Z","lastUsed":null,"managed":false,"accessTokenValiditySeconds":43200,`
	created = `{"id":"86f1dc6fe8f54414950454cbb11278fa","secret":"s","scope":null,"name":"n",` + owner + `,"created":"2026-01-05T10:00:00.000Z","accessTokenValiditySeconds":43200,`
	dto     = `{"detailCode":"400.1 Bad Request Content","trackingId":"e7eab60924f64aa284175b9fa3309599","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"t"}]`
)

// TestCheck: the checker passes what the documents allow, catches what they do not, and lets each
// deviation explain exactly its own difference.
func TestCheck(t *testing.T) {
	cases := []struct {
		name, method, path string
		status             int
		body               string
		deviation          string // the deviation that must explain it; "" = conforms as is
		wantErr            string // "" = passes
	}{
		{"v3 list item", "GET", "/v3/personal-access-tokens", 200, `[` + item + `"expirationDate":"2026-07-05T10:00:00.000Z"}]`, "", ""},
		{"v2025 list item, never expires", "GET", "/v2025/personal-access-tokens", 200, `[` + item + `"expirationDate":null,"userAwareTokenNeverExpires":true}]`, "", ""},
		{"v3 list item, never expires", "GET", "/v3/personal-access-tokens", 200, `[` + item + `"expirationDate":null}]`, "never-expiring-expirationDate-null", ""},
		{"v3 list item, never expires, missing name", "GET", "/v3/personal-access-tokens", 200,
			`[` + strings.Replace(item, `"name":"n",`, "", 1) + `"expirationDate":null}]`, "", "name"},
		{"v3 list item with a v2025 field", "GET", "/v3/personal-access-tokens", 200,
			`[` + item + `"expirationDate":"2026-07-05T10:00:00.000Z","userAwareTokenNeverExpires":false}]`, "", "/0/userAwareTokenNeverExpires"},
		{"v1 create, never expires", "POST", "/personal-access-tokens/v1", 200, created + `"expirationDate":null}`, "never-expiring-expirationDate-null", ""},
		{"v1 create with a bad date", "POST", "/personal-access-tokens/v1", 200, created + `"expirationDate":"soon"}`, "", "expirationDate"},
		{"patch 404", "PATCH", "/v2024/personal-access-tokens/x", 404, strings.Replace(dto, "400.1 Bad Request Content", "404 Not found", 1) + `}`, "", ""},
		{"400 with causes", "POST", "/beta/personal-access-tokens", 400, dto + `,"causes":[]}`, "", ""},
		{"400 with an undeclared member", "POST", "/beta/personal-access-tokens", 400, dto + `,"hint":"x"}`, "", "/hint"},
		{"401", "GET", "/v2026/personal-access-tokens", 401, `{"error":"JWT validation failed: JWT is expired"}`, "", ""},
		{"delete 204", "DELETE", "/v3/personal-access-tokens/x", 204, ``, "", ""},
		{"415 as ErrorResponseDto", "PATCH", "/v3/personal-access-tokens/x", 415, dto + `}`, "undocumented-refusal-status", ""},
		{"415 in another shape", "PATCH", "/v3/personal-access-tokens/x", 415, `{"error":"x"}`, "", "status is not supported"},
		{"418", "GET", "/v3/personal-access-tokens", 418, dto + `}`, "", "status is not supported"},
		{"unknown path 404", "GET", "/v4/personal-access-tokens", 404, dto + `}`, "", ""},
		{"unknown path 404 in another shape", "GET", "/v4/x", 404, `{"message":"no"}`, "", "ErrorResponseDto"},
		{"tenant prefix", "GET", "/tenants/a/v3/personal-access-tokens", 200, `[` + item + `"expirationDate":1}]`, "", "expirationDate"},
		{"431 from net/http", "GET", "/v3/personal-access-tokens", 431, "431 Request Header Fields Too Large", "net/http-refusal", ""},
		{"token endpoint is outside the documents", "POST", "/oauth/token", 200, `{"anything":1}`, "", ""},
	}
	for source, checker := range checkers(t) {
		for _, tc := range cases {
			t.Run(source+"/"+tc.name, func(t *testing.T) {
				c := checker()
				req := httptest.NewRequest(tc.method, tc.path, nil)
				ct := "application/json"
				if tc.status == 431 {
					ct = "text/plain; charset=utf-8"
				}
				err := c.Check(req, tc.status, http.Header{"Content-Type": {ct}}, []byte(tc.body))
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatalf("unexpected violation: %v", err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				used := c.Used()
				for _, d := range Deviations {
					if want := map[bool]int{true: 1}[d.Name == tc.deviation]; used[d.Name] != want {
						t.Errorf("deviation %s explained %d responses, want %d", d.Name, used[d.Name], want)
					}
				}
			})
		}
	}
}

func TestDeviationsAreDocumented(t *testing.T) {
	for _, d := range Deviations {
		if d.Name == "" || len(d.Reason) < 40 || d.conforms == nil {
			t.Errorf("deviation %+v needs a name, a reason and a check", d.Name)
		}
	}
}

func TestMain(m *testing.M) { Main(m) }
