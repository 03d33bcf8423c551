package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != "iscmock dev\n" {
		t.Errorf("version printed %q", out.String())
	}
}

// serve runs "iscmock serve args..." until the test ends and returns its base URL and banner.
func serve(t *testing.T, args ...string) (string, []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var banner []string
	for line := range lines {
		banner = append(banner, line)
		if strings.HasPrefix(line, "personal access tokens") {
			break
		}
	}
	go func() {
		for range lines {
		}
	}()
	_, base, ok := strings.Cut(banner[0], " serving ")
	if !ok {
		t.Fatalf("banner %q does not name the base URL", banner)
	}
	return base, banner
}

// TestServeWalkthrough runs the README's curl sequence against the default tenant.
func TestServeWalkthrough(t *testing.T) {
	base, _ := serve(t)
	call := func(method, path, token, contentType, body string, want int) []byte {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, want)
		}
		return b
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"86f1dc6fe8f54414950454cbb11278fa"},
		"client_secret": {"1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"}}
	if err := json.Unmarshal(call("POST", "/oauth/token", "", "application/x-www-form-urlencoded", form.Encode(), 200), &tok); err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(call("POST", "/v3/personal-access-tokens", tok.AccessToken, "application/json", `{"name":"rotation"}`, 200), &created); err != nil {
		t.Fatal(err)
	}
	listed := call("GET", "/v3/personal-access-tokens?owner-id=me&filters="+url.QueryEscape("lastUsed isnull"), tok.AccessToken, "", "", 200)
	if !strings.Contains(string(listed), created.ID) {
		t.Errorf("list %s lacks the new token", listed)
	}
	call("PATCH", "/v3/personal-access-tokens/"+created.ID, tok.AccessToken, "application/json-patch+json",
		`[{"op":"replace","path":"/name","value":"rotated"}]`, 200)
	call("DELETE", "/v3/personal-access-tokens/"+created.ID, tok.AccessToken, "", "", 204)
}

func TestServeBanner(t *testing.T) {
	_, banner := serve(t, "--fixtures", filepath.Join("..", "..", "testdata", "fixtures", "tenant.yaml"))
	if len(banner) != 3 || !strings.HasSuffix(banner[1], "/oauth/token") {
		t.Errorf("banner %q", banner)
	}
}

func TestServeBadFixtures(t *testing.T) {
	t.Setenv("ISCMOCK_FIXTURES", filepath.Join("..", "..", "testdata", "fixtures", "bad.yaml"))
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:9: personalAccessTokens[0].accessTokenValiditySeconds") {
		t.Errorf("error %v, want one naming the file, line and field", err)
	}
}
