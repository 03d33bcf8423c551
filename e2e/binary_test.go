package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// build is one way of building cmd/iscmock, done at most once per test run.
type build struct {
	env   []string
	flags []string

	once sync.Once
	path string
	err  error
}

var (
	devBuild = &build{}
	// imageBuild is how the Dockerfile builds the binary.
	imageBuild = &build{env: []string{"CGO_ENABLED=0"}, flags: []string{"-trimpath", "-ldflags", "-s -w -buildid= -X main.version=image-test"}}
)

func (b *build) binary(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "iscmock-bin")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "iscmock")
		cmd := exec.Command("go", append(append([]string{"build"}, b.flags...), "-o", b.path, "../cmd/iscmock")...)
		cmd.Env = append(os.Environ(), b.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%v: %s", err, out)
		}
	})
	if b.err != nil {
		t.Fatalf("building iscmock: %v", b.err)
	}
	return b.path
}

func iscmockBinary(t testing.TB) string { return devBuild.binary(t) }

// startBinary runs "iscmock serve --addr 127.0.0.1:0 args..." as its own process and returns its
// base URL and banner once it listens.
func startBinary(t *testing.T, args ...string) (string, []string, *exec.Cmd) {
	t.Helper()
	return startServer(t, []string{iscmockBinary(t)}, args...)
}

// startServer is startBinary for the binary that command runs (an emulator and a binary, say).
func startServer(t *testing.T, command []string, args ...string) (string, []string, *exec.Cmd) {
	t.Helper()
	args = append(append(command[1:len(command):len(command)], "serve", "--addr", "127.0.0.1:0"), args...)
	cmd := exec.Command(command[0], args...)
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	var banner []string
	for lines.Scan() {
		banner = append(banner, lines.Text())
		if lines.Text() == "" { // the banner ends with an empty line
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if len(banner) == 0 {
		t.Fatalf("iscmock printed nothing: %v", lines.Err())
	}
	_, base, ok := strings.Cut(banner[0], " serving ")
	if !ok {
		t.Fatalf("first line %q does not name the base URL", banner[0])
	}
	return base, banner, cmd
}

// TestBinaryWalkthrough runs the README's curl sequence against the real binary on the default
// tenant, then stops it with SIGTERM.
func TestBinaryWalkthrough(t *testing.T) {
	base, _, cmd := startBinary(t)
	walkthrough(t, base)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("iscmock did not stop within a minute of SIGTERM")
	}
}

func TestBinaryVersion(t *testing.T) {
	out, err := exec.Command(iscmockBinary(t), "version").Output()
	if err != nil || string(out) != "iscmock dev\n" {
		t.Errorf("version: %q, %v", out, err)
	}
}

func TestBinaryBanner(t *testing.T) {
	_, banner, _ := startBinary(t, "--fixtures", filepath.Join("..", "testdata", "fixtures", "tenant.yaml"))
	want := []string{"token endpoint: ", "personal access tokens (client_id client_secret):",
		"  f0000000000000000000000000000001 " + strings.Repeat("1", 64) + `  # "from a file" of Fiona Fixture (ORG_ADMIN)`, ""}
	if len(banner) != 5 || !strings.HasPrefix(banner[1], want[0]) || banner[2] != want[1] || banner[3] != want[2] || banner[4] != "" {
		t.Errorf("banner:\n%s", strings.Join(banner, "\n"))
	}
}

func TestBinaryBadFixtures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a server that starts anyway must not hang the test
	defer cancel()
	cmd := exec.CommandContext(ctx, iscmockBinary(t), "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "ISCMOCK_FIXTURES="+filepath.Join("..", "testdata", "fixtures", "bad.yaml"))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.yaml:9: personalAccessTokens[0].accessTokenValiditySeconds") {
		t.Errorf("serve with a bad fixture file: %v, output %q; want a failure naming file, line and field", err, out)
	}
	if !strings.HasPrefix(string(out), "iscmock: ") || strings.Contains(string(out), "iscmock: iscmock:") {
		t.Errorf("output %q: want it to start with one \"iscmock: \"", out)
	}
}

// TestBinaryValidate: validate checks fixture and scenario files alike, telling them apart by
// content, and reports every problem of every file before it exits 1.
func TestBinaryValidate(t *testing.T) {
	scenarios, _ := filepath.Glob(filepath.Join("..", "scenarios", "*.yaml"))
	fixtures := []string{filepath.Join("..", "fixtures", "default.yaml"), filepath.Join("..", "testdata", "fixtures", "tenant.json")}
	dir := t.TempDir()
	write := func(name, doc string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Problems of every kind at once: a field it cannot decode, and what the check finds in the rest.
	badScenario := write("scenario.yaml", "rulez: 1\nrules:\n  - match: {operation: nope}\n    fault: reset\n  - when: {calls: one}\n    fault: reset\n")
	badFixtures := write("tenant.yaml", "identities:\n  - id: a\n    name: A\n    bogus: 1\npersonalAccessTokens:\n  - id: \"x y\"\n    owner: zz\n")
	cases := []struct {
		name  string
		files []string
		ok    []string // "FILE: ok (kind)" lines
		bad   []string // problems reported
	}{
		{"shipped files", append(append([]string{}, scenarios...), fixtures...), nil, nil},
		{"a bad scenario among good files", []string{scenarios[0], filepath.Join("..", "testdata", "scenarios", "bad.yaml"), fixtures[0]},
			[]string{scenarios[0] + ": ok (scenario)", fixtures[0] + ": ok (fixtures)"},
			[]string{`bad.yaml:6: rules[0].fault: unknown fault "explode"`}},
		{"every problem of a scenario", []string{badScenario}, nil, []string{
			"scenario.yaml:1: rulez: unknown field", "scenario.yaml:3: rules[0].match.operation: unknown operation \"nope\"",
			"scenario.yaml:5: rules[1].when.calls: must be a list"}},
		{"every problem of a fixture file", []string{badFixtures, filepath.Join("..", "testdata", "fixtures", "bad.yaml")}, nil, []string{
			"tenant.yaml:4: identities[0].bogus: unknown field", `tenant.yaml:6: personalAccessTokens[0].id: must be 1 to 64`,
			"tenant.yaml:6: personalAccessTokens[0].secret: is required", "tenant.yaml:7: personalAccessTokens[0].owner: identity zz is not in identities",
			"bad.yaml:9: personalAccessTokens[0].accessTokenValiditySeconds"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(iscmockBinary(t), append([]string{"validate"}, tc.files...)...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.bad == nil {
				if err != nil || strings.Count(stdout.String(), ": ok (") != len(tc.files) {
					t.Fatalf("validate: %v\n%s%s", err, stdout.String(), stderr.String())
				}
				return
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit code %d, want 1\n%s", code, stderr.String())
			}
			for _, want := range tc.ok {
				if !strings.Contains(stdout.String(), want+"\n") {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tc.bad {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

// TestBinarySoftRights: serve --rights soft lets through what the rights would refuse, marked, and
// reports what the end user lacked.
func TestBinarySoftRights(t *testing.T) {
	base, _, _ := startBinary(t, "--rights", "soft")
	softRights(t, base)
}

// softRights checks a server with soft rights: the default tenant's end user lists every token.
func softRights(t *testing.T, base string) {
	t.Helper()
	bob := accessToken(t, tokenRequest(base, "348aa283bdc67879ef654fb8906f6f35", "f9c1fa39cb546fe1d7417123a7e9139ff21ef5ebaa12ba9b08f7fd4e4b249398"))
	res := send(base, bob, http.MethodGet, "/v3/personal-access-tokens", "")
	wantStatus(t, res, http.StatusOK)
	if cause := res.Header.Get("Iscmock-Cause"); !strings.HasPrefix(cause, "soft: would be 403: listPersonalAccessTokens without owner-id") {
		t.Errorf("Iscmock-Cause %q", cause)
	}
	var waived []struct{ Cause string }
	if err := json.Unmarshal([]byte(adminGet(t, base, "", "/__admin/requests?waived=true")), &waived); err != nil || len(waived) != 1 {
		t.Errorf("waived requests %+v (%v), want the list", waived, err)
	}
	if report := adminGet(t, base, "", "/__admin/rights"); !strings.Contains(report, `"what":"idn:all-personal-access-tokens:read","count":1`) {
		t.Errorf("rights report %s", report)
	}
}

func TestBinaryScenario(t *testing.T) {
	cmd := func(args ...string) {
		base, _, _ := startBinary(t, args...)
		req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "1" {
			t.Errorf("%v: token endpoint answered %d (Retry-After %q), want the scripted 429", args, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	cmd("--scenario", filepath.Join("..", "scenarios", "token-throttled.yaml"))
	t.Setenv("ISCMOCK_SCENARIO", filepath.Join("..", "scenarios", "token-throttled.yaml"))
	cmd()
}

// TestBinaryRefusesSpecialFiles: a device or a FIFO named as a fixture or scenario file stops
// start-up at once with an error naming it, rather than eating memory or waiting forever.
func TestBinaryRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "tenant.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--fixtures", "/dev/zero"}, "/dev/zero: is a device"},
		{[]string{"--scenario", "/dev/urandom"}, "/dev/urandom: is a device"},
		{[]string{"--fixtures", fifo}, fifo + ": is a named pipe"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard, not a timing check
		out, err := exec.CommandContext(ctx, iscmockBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...).CombinedOutput()
		hung := ctx.Err() != nil
		cancel()
		if err == nil || hung || !strings.Contains(string(out), "iscmock: "+tc.want) {
			t.Errorf("serve %v: %v, output %q; want a prompt failure with %q", tc.args, err, out, tc.want)
		}
	}
}

// TestBinaryValidateRefusesAliases: validate reads through the same decoder as serve, so a scenario
// whose aliases stand for hundreds of megabytes is refused, naming file, line and field.
func TestBinaryValidateRefusesAliases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bomb.yaml")
	doc := "rules:\n  - respond:\n      status: 500\n      headers: {X: &big " + strings.Repeat("x", 100<<10) + "}\n      body:\n" + strings.Repeat("        - *big\n", 3000)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(iscmockBinary(t), "validate", path).CombinedOutput()
	if err == nil || !strings.Contains(string(out), path+":6: rules[0].respond.body[0]: aliases (*big) are not supported") {
		t.Errorf("validate an alias bomb: %v\n%.300s", err, out)
	}
}

// TestBinaryRateLimit: --rate-limit isc (or ISCMOCK_RATE_LIMIT=isc) turns on ISC's limit of 100
// calls per client and version per 10 s; without it the binary is unlimited.
func TestBinaryRateLimit(t *testing.T) {
	statuses := func(base string) []int {
		send := func(method, path, contentType, body, token string) *http.Response {
			req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
			req.Header.Set("Content-Type", contentType)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		// Start a window, so that the calls below fall in one (they take far less than its 10 s).
		send("POST", "/__admin/clock", "application/json", `{"set":"2030-01-01T00:00:00Z"}`, "").Body.Close()
		res := send("POST", "/oauth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials"+
			"&client_id=86f1dc6fe8f54414950454cbb11278fa&client_secret=1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9", "")
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(res.Body).Decode(&tok); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var out []int
		for range 101 {
			res := send("GET", "/v3/personal-access-tokens?owner-id=me", "", "", tok.AccessToken)
			res.Body.Close()
			out = append(out, res.StatusCode)
		}
		return out
	}
	limited := append(slices.Repeat([]int{200}, 100), 429)
	base, _, _ := startBinary(t, "--rate-limit", "isc")
	if got := statuses(base); !slices.Equal(got, limited) {
		t.Errorf("--rate-limit isc: %v, want 100 × 200 then 429", got)
	}
	base, _, _ = startBinary(t)
	if got := statuses(base); !slices.Equal(got, slices.Repeat([]int{200}, 101)) {
		t.Errorf("by default: %v, want no limit", got)
	}
	t.Setenv("ISCMOCK_RATE_LIMIT", "isc")
	base, _, _ = startBinary(t)
	if got := statuses(base); !slices.Equal(got, limited) {
		t.Errorf("ISCMOCK_RATE_LIMIT=isc: %v, want 100 × 200 then 429", got)
	}
}

// walkthrough runs the README's curl sequence against the default tenant at base: a token, then a
// token created, listed, renamed and deleted. It returns the secrets it saw (the fixture's, the
// bearer token, the new token's), which no log may show.
func walkthrough(t *testing.T, base string) (secrets []string) {
	t.Helper()
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
	const secret = "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"
	var tok tokenJSON
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"86f1dc6fe8f54414950454cbb11278fa"}, "client_secret": {secret}}
	if err := json.Unmarshal(call("POST", "/oauth/token", "", "application/x-www-form-urlencoded", form.Encode(), 200), &tok); err != nil {
		t.Fatal(err)
	}
	var created struct{ ID, Secret string }
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
	return []string{secret, tok.AccessToken, created.Secret}
}
