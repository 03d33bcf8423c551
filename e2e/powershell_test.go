package e2e_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/iscmock/iscmock/mock"
)

// powerShell is what PSSailpoint sends, as measured with PowerShell 7.6: before each call, a token
// request in a multipart form; the call with that token, or with "Bearer " and nothing after it
// when the token request failed; a refused call once more (with Set-DefaultConfiguration
// -MaximumRetryCount 1).
type powerShell struct {
	base       string
	id, secret string // $env:SAIL_CLIENT_ID and $env:SAIL_CLIENT_SECRET
}

func (p *powerShell) token() string {
	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	for _, kv := range [][2]string{{"grant_type", "client_credentials"}, {"client_id", p.id}, {"client_secret", p.secret}} {
		_ = w.WriteField(kv[0], kv[1])
	}
	_ = w.Close()
	res, err := http.Post(p.base+"/oauth/token", w.FormDataContentType(), &form)
	res = answered(res, err)
	var tok tokenJSON
	_ = json.Unmarshal(body(res), &tok)
	return tok.AccessToken // "" when refused: the SDK goes on without one
}

// call makes a cmdlet's request and answers its last status.
func (p *powerShell) call(method, path, reqBody string) *http.Response {
	bearer := p.token()
	var res *http.Response
	for range 2 { // the call, and its one retry
		req, _ := http.NewRequest(method, p.base+path, strings.NewReader(reqBody))
		req.Header.Set("Authorization", "Bearer "+bearer)
		if reqBody != "" {
			ct := "application/json"
			if method == http.MethodPatch {
				ct = "application/json-patch+json"
			}
			req.Header.Set("Content-Type", ct)
		}
		res = answered(http.DefaultClient.Do(req))
		if res.StatusCode < 400 {
			break
		}
	}
	return res
}

// TestPowerShellExample: examples/powershell's Pester file cannot run here (no PowerShell), so this
// replays, against the binary, what its tests make PSSailpoint send, and holds the file's
// credentials, scenario and expectations to the mock's answers.
func TestPowerShellExample(t *testing.T) {
	src, err := os.ReadFile("../examples/powershell/PatCleanup.Tests.ps1")
	if err != nil {
		t.Fatal(err)
	}
	file := string(src)
	for _, want := range []string{
		"$env:SAIL_CLIENT_ID = '" + mock.DefaultAdminClientID + "'", "$env:SAIL_CLIENT_SECRET = '" + mock.DefaultAdminClientSecret + "'",
		"$env:SAIL_CLIENT_ID = '" + mock.DefaultUserClientID + "'", "$env:SAIL_CLIENT_SECRET = '" + mock.DefaultUserClientSecret + "'",
		"Set-DefaultConfiguration -MaximumRetryCount 1 -RetryIntervalSeconds 1",
	} {
		if !strings.Contains(file, want) {
			t.Errorf("the example lacks %s", want)
		}
	}
	scenario := regexp.MustCompile(`(?s)@'\n(.*?)\n'@`).FindStringSubmatch(file)
	likes := regexp.MustCompile(`\$refused\[-1\]\.cause \| Should -BeLike '([^']*)'`).FindAllStringSubmatch(file, -1)
	if scenario == nil || len(likes) != 2 {
		t.Fatalf("the example's scenario %q or its two -BeLike patterns %q are not where this test looks", scenario, likes)
	}
	base, _, _ := startBinary(t, "--addr", "127.0.0.1:0")
	admin := func(method, path, reqBody string, want int) []struct {
		Status int
		Cause  string
	} {
		t.Helper()
		res := send(base, "", method, path, reqBody)
		wantStatus(t, res, want)
		var entries []struct {
			Status int
			Cause  string
		}
		_ = json.Unmarshal(body(res), &entries)
		return entries
	}
	like := func(got, pattern string) {
		t.Helper()
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("cause %q is not -like %q", got, pattern)
		}
	}
	alice := &powerShell{base, mock.DefaultAdminClientID, mock.DefaultAdminClientSecret}
	beforeEach := func() {
		admin(http.MethodPost, "/__admin/reset", "", http.StatusNoContent)
		admin(http.MethodDelete, "/__admin/scenario", "", http.StatusNoContent)
	}

	t.Run("lists a new token as never used", func(t *testing.T) {
		beforeEach()
		res := alice.call(http.MethodPost, "/v2024/personal-access-tokens", `{"name":"deploy-bot"}`)
		wantStatus(t, res, http.StatusOK)
		var created struct{ ID, Secret string }
		_ = json.Unmarshal(body(res), &created)
		res = alice.call(http.MethodGet, "/v2024/personal-access-tokens?owner-id=me&filters=lastUsed%20isnull", "")
		var unused []struct{ Name string }
		if err := json.Unmarshal(body(res), &unused); err != nil || len(unused) != 1 || unused[0].Name != "deploy-bot" {
			t.Errorf("never used: %d %s, want deploy-bot alone", res.StatusCode, body(res))
		}
		wantStatus(t, alice.call(http.MethodPatch, "/v2024/personal-access-tokens/"+created.ID, `[{"op":"replace","path":"/name","value":"deploy-bot-2"}]`), http.StatusOK)
		wantStatus(t, alice.call(http.MethodDelete, "/v2024/personal-access-tokens/"+created.ID, ""), http.StatusNoContent)
	})
	t.Run("refuses an end user the whole tenant's tokens", func(t *testing.T) {
		beforeEach()
		bob := &powerShell{base, mock.DefaultUserClientID, mock.DefaultUserClientSecret}
		res := bob.call(http.MethodGet, "/v2024/personal-access-tokens", "")
		if wantStatus(t, res, http.StatusForbidden); !strings.Contains(string(body(res)), `"detailCode":"403 Forbidden"`) {
			t.Errorf("403 body %s", body(res))
		}
		refused := admin(http.MethodGet, "/__admin/requests?status=403", "", http.StatusOK)
		if len(refused) != 2 {
			t.Fatalf("%d refused, want the call and its retry", len(refused))
		}
		like(refused[1].Cause, likes[0][1])
	})
	t.Run("gets through a 429 the SDK retries", func(t *testing.T) {
		beforeEach()
		admin(http.MethodPut, "/__admin/scenario", scenario[1], http.StatusNoContent)
		res := alice.call(http.MethodGet, "/v2024/personal-access-tokens?owner-id=me", "")
		wantStatus(t, res, http.StatusOK)
		lists := admin(http.MethodGet, "/__admin/requests?operation=listPersonalAccessTokens", "", http.StatusOK)
		if len(lists) != 2 || lists[0].Status != 429 || lists[1].Status != 200 {
			t.Errorf("lists %+v, want 429 then 200", lists)
		}
	})
	t.Run("says why a wrong secret got no token", func(t *testing.T) {
		beforeEach()
		wrong := &powerShell{base, mock.DefaultAdminClientID, "not-the-secret"}
		wantStatus(t, wrong.call(http.MethodGet, "/v2024/personal-access-tokens?owner-id=me", ""), http.StatusUnauthorized)
		refused := admin(http.MethodGet, "/__admin/requests?status=401&operation=listPersonalAccessTokens", "", http.StatusOK)
		if len(refused) != 2 {
			t.Fatalf("%d refused, want the call and its retry", len(refused))
		}
		like(refused[1].Cause, likes[1][1])
	})
}
