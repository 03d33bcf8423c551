package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/fixtures"
	"github.com/iscmock/iscmock/internal/compare"
)

// The default tenant's org admin and end user, and their PATs.
const (
	adminID     = "2c9180867b50d088017b554662fb281e"
	adminPAT    = "86f1dc6fe8f54414950454cbb11278fa"
	adminSecret = "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"
	userPAT     = "348aa283bdc67879ef654fb8906f6f35"
	userSecret  = "f9c1fa39cb546fe1d7417123a7e9139ff21ef5ebaa12ba9b08f7fd4e4b249398"
)

var binary struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// iscmockBinary builds this command once per test run.
func iscmockBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "iscmock-compare"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "iscmock")
		if out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("%v: %s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatalf("building iscmock: %v", binary.err)
	}
	return binary.path
}

// target is a second iscmock process, the tenant compare runs against.
type target struct {
	base string
	logs chan string // its request log, line by line
}

// startTarget runs "iscmock serve" on a free loopback port and returns once its banner says
// where it listens.
func startTarget(t *testing.T, args ...string) target {
	t.Helper()
	cmd := exec.Command(iscmockBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("iscmock serve printed nothing: %v", lines.Err())
	}
	_, base, ok := strings.Cut(lines.Text(), " serving ")
	if !ok {
		t.Fatalf("first line %q does not name the base URL", lines.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	tg := target{base: base, logs: make(chan string, 4096)}
	go func() {
		logs := bufio.NewScanner(stderr)
		for logs.Scan() {
			select {
			case tg.logs <- logs.Text():
			default: // nobody reads: drop
			}
		}
	}()
	return tg
}

// names lists the names of every token on the target, through its admin API and the org admin.
func (tg target) names(t *testing.T) []string {
	t.Helper()
	res, err := http.Post(tg.base+"/__admin/tokens", "application/json", strings.NewReader(`{"identityId":"`+adminID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, tg.base+"/v3/personal-access-tokens", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var items []struct{ Name string }
	if err := json.NewDecoder(res.Body).Decode(&items); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Name)
	}
	return names
}

// credentials are the flags that open the default tenant as its admin and its end user.
func credentials(base string) []string {
	return []string{"compare", "--target", base, "--client-id", adminPAT, "--client-secret", adminSecret,
		"--user-client-id", userPAT, "--user-client-secret", userSecret}
}

// compareRun runs the command in this process and returns its exit status and output.
func compareRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	code := 0
	if err != nil {
		code = 1
		var ec exitCode
		if errors.As(err, &ec) {
			code = ec.code
		}
		fmt.Fprintln(&stderr, err)
	}
	noSecrets(t, stdout.String()+stderr.String())
	return code, stdout.String(), stderr.String()
}

var secretLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.|\b[0-9a-f]{64}\b`)

// noSecrets fails if output shows a client secret, a PAT's secret or a bearer token.
func noSecrets(t *testing.T, output string) {
	t.Helper()
	for _, s := range []string{adminSecret, userSecret} {
		if strings.Contains(output, s) {
			t.Errorf("the output shows the secret %s…", s[:6])
		}
	}
	if m := secretLike.FindString(output); m != "" {
		t.Errorf("the output shows something secret-like: %s…", m[:6])
	}
}

// differing maps each probe that did not come out the same to its differences.
func differing(t *testing.T, jsonReport string) map[string][]string {
	t.Helper()
	var r struct {
		Results []compare.Result `json:"results"`
	}
	if err := json.Unmarshal([]byte(jsonReport), &r); err != nil {
		t.Fatalf("%v in %s", err, jsonReport)
	}
	out := map[string][]string{}
	for _, res := range r.Results {
		if res.Verdict != compare.Same {
			out[res.Probe+" "+string(res.Verdict)] = res.Differences
		}
	}
	return out
}

func TestCompareUnmodifiedTarget(t *testing.T) {
	tg := startTarget(t)
	before := tg.names(t)
	cases := []struct {
		format string
		flags  []string // the whole plan once; the other formats on part of it, to keep the test short
		probes int
	}{
		{"text", nil, len(compare.Plan())},
		{"json", []string{"--versions", "v3,v2025"}, len(compare.Plan("v3", "v2025"))},
		{"markdown", []string{"--only", "token/*"}, 10},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			code, out, stderr := compareRun(t, append(append(credentials(tg.base), "--format", tc.format), tc.flags...)...)
			if code != 0 {
				t.Fatalf("exit %d, want 0:\n%s\n%s", code, out, stderr)
			}
			if tc.format == "json" {
				if d := differing(t, out); len(d) != 0 {
					t.Errorf("an unmodified target differs: %v", d)
				}
			} else if want := fmt.Sprintf("%d probes: %d same, 0 differ, 0 target-only, 0 skipped", tc.probes, tc.probes); !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
			if after := tg.names(t); !slices.Equal(after, before) {
				t.Errorf("tokens on the target after the run:\n%v\nwant as before:\n%v", after, before)
			}
		})
	}
}

func TestCompareWithoutUser(t *testing.T) {
	tg := startTarget(t)
	code, out, stderr := compareRun(t, "compare", "--target", tg.base, "--client-id", adminPAT, "--client-secret", adminSecret,
		"--versions", "v2025", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d, want 0 (skips are no difference):\n%s\n%s", code, out, stderr)
	}
	var skipped []string
	for probe, diffs := range differing(t, out) {
		if len(diffs) > 0 || !strings.HasSuffix(probe, " skipped") {
			t.Errorf("%s: %v", probe, diffs)
		}
		skipped = append(skipped, strings.TrimSuffix(probe, " skipped"))
	}
	slices.Sort(skipped)
	want := []string{"v2025/delete/403-user-deletes-admins", "v2025/list/200-user-me", "v2025/list/403-user-all",
		"v2025/list/403-user-owner-id", "v2025/patch/403-other-owner"}
	if diff := cmp.Diff(want, skipped); diff != "" {
		t.Errorf("skipped probes (-want +got):\n%s", diff)
	}
}

// TestComparePlantedDifferences runs compare against targets made to differ in known ways and
// checks that it reports exactly those differences, and leaves nothing behind.
func TestComparePlantedDifferences(t *testing.T) {
	dir := t.TempDir()
	scenario := filepath.Join(dir, "planted.yaml")
	writeFile(t, scenario, `name: planted
rules:
  - name: delete-unknown-forbidden
    match: {method: DELETE, path: /v3/personal-access-tokens/ffffffffffffffffffffffffffffffff}
    respond: {status: 403}
  - name: patch-unknown-other-code
    match: {method: PATCH, path: /v2024/personal-access-tokens/ffffffffffffffffffffffffffffffff}
    respond:
      status: 404
      body: {detailCode: "404.0 Not Found", trackingId: 0123456789abcdef0123456789abcdef, messages: [{locale: en-US, localeOrigin: DEFAULT, text: The server did not find a current representation for the target resource.}]}
  - name: unknown-client-invalid
    match: {operation: token, clientId: ffffffffffffffffffffffffffffffff}
    respond:
      status: 401
      body: {error: invalid_client, error_description: Bad client credentials}
`)
	// The end user may read every token, as a tenant's custom role might allow.
	richer := filepath.Join(dir, "richer.yaml")
	writeFile(t, richer, strings.Replace(string(fixtures.Default), "    userLevels: []\n",
		"    userLevels: []\n    rights: [idn:all-personal-access-tokens:read]\n", 1))

	forbidden := []string{"status: target 200, mock 403"}
	rights := map[string][]string{}
	for _, v := range compare.Versions {
		for _, p := range []string{"list/403-user-all", "list/403-user-owner-id"} {
			rights[v.Name+"/"+p+" differs"] = forbidden
		}
	}
	cases := []struct {
		name  string
		serve []string
		flags []string // of compare
		// Each differing probe with its verdict → the differences it must report (others may follow,
		// such as the rest of a body that differs as a whole); no other probe may differ.
		want map[string][]string
	}{
		{"scenario changes statuses and bodies", []string{"--scenario", scenario}, nil, map[string][]string{
			"v3/delete/404 differs": {
				`status: target 403, mock 404`,
				`body.detailCode: target "403 Forbidden", mock "404 Not found"`,
				`body.messages[0].text: target "The server understood the request but refuses to authorize it.", mock "The server did not find a current representation for the target resource."`,
			},
			"v2024/patch/404 differs": {`body.detailCode: target "404.0 Not Found", mock "404 Not found"`},
			"token/401-unknown-client differs": {
				`body.error: target "invalid_client", mock "unauthorized"`,
				`body.error_description: target "Bad client credentials", mock "Full authentication is required to access this resource"`,
			},
		}},
		{"a lower per-owner limit", []string{"--max-tokens-per-owner", "5"}, []string{"--versions", "v3"}, map[string][]string{
			"v3/create/limit-11th differs": {
				`step: target "setup: create token 6 of 10", mock ""`,
				`body.messages[0].text: target "An identity can have at most 5 personal access tokens.", mock "An identity can have at most 10 personal access tokens."`,
			},
		}},
		{"an end user with more rights", []string{"--fixtures", richer}, []string{"--only", "*/list/*"}, rights},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg := startTarget(t, tc.serve...)
			before := tg.names(t)
			code, out, stderr := compareRun(t, append(append(credentials(tg.base), "--format", "json"), tc.flags...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, stderr)
			}
			got := differing(t, out)
			var probes, wantProbes []string
			for p := range got {
				probes = append(probes, p)
			}
			for p, lines := range tc.want {
				wantProbes = append(wantProbes, p)
				for _, l := range lines {
					if !slices.Contains(got[p], l) {
						t.Errorf("%s: no difference %q among %q", p, l, got[p])
					}
				}
			}
			slices.Sort(probes)
			slices.Sort(wantProbes)
			if diff := cmp.Diff(wantProbes, probes); diff != "" {
				t.Errorf("differing probes (-want +got):\n%s", diff)
			}
			if after := tg.names(t); !slices.Equal(after, before) {
				t.Errorf("tokens on the target after the run:\n%v\nwant as before:\n%v", after, before)
			}
		})
	}
}

// TestCompareSIGTERM stops a run midway: it deletes what it created, reports the interruption and
// exits 2.
func TestCompareSIGTERM(t *testing.T) {
	dir := t.TempDir()
	stall := filepath.Join(dir, "stall.yaml")
	// The last probe's answer takes long, so the run is surely still going when the signal comes.
	writeFile(t, stall, "name: stall\nrules:\n  - name: slow-info\n    match: {path: /oauth/info}\n    respond: {delay: 20s}\n")
	tg := startTarget(t, "--scenario", stall)
	before := tg.names(t)
	cmd := exec.Command(iscmockBinary(t), credentials(tg.base)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for line := range tg.logs {
		if strings.Contains(line, "operation=createPersonalAccessToken") && strings.Contains(line, "status=200") {
			break // the run has created a token
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want status 2\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say the run was interrupted:\n%s", stderr.String())
	}
	noSecrets(t, stdout.String()+stderr.String())
	if after := tg.names(t); !slices.Equal(after, before) {
		t.Errorf("tokens on the target after SIGTERM:\n%v\nwant as before:\n%v", after, before)
	}
}

func TestCompareRefusals(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"remote target without --yes", credentials("http://192.0.2.1:8080"), "pass --yes"},
		{"no client id", []string{"compare", "--target", "http://127.0.0.1:9", "--client-secret", "x"}, "--client-id"},
		{"unknown version", append(credentials("http://127.0.0.1:9"), "--versions", "v4"), `unknown version "v4"`},
		{"a glob that selects nothing", append(credentials("http://127.0.0.1:9"), "--only", "v3/fly/*"), "selects no probe"},
		{"unknown format", append(credentials("http://127.0.0.1:9"), "--format", "xml"), "--format"},
		{"target that does not answer", credentials("http://127.0.0.1:9"), "does not open the target"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// As its own process, with no terminal on stdin: nothing may wait for an answer.
			cmd := exec.Command(iscmockBinary(t), tc.args...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("exit %v, want status 2:\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output does not mention %q:\n%s", tc.want, out)
			}
			noSecrets(t, string(out))
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCompareRateLimit runs the busiest version's probes (v3, which also fills the admin up to the
// maximum) against a target that enforces ISC's documented limit and throttles one request
// besides: the run is never limited, and waits out the throttled request as Retry-After says
// before it tries again.
func TestCompareRateLimit(t *testing.T) {
	throttle := filepath.Join(t.TempDir(), "throttle.yaml")
	writeFile(t, throttle, `name: throttle
rules:
  - name: throttle-first-list
    match: {method: GET, path: /v3/personal-access-tokens}
    when: {calls: [1]}
    respond: {status: 429, headers: {Retry-After: "0"}}
`)
	tg := startTarget(t, "--scenario", "../../scenarios/rate-limit.yaml", "--scenario", throttle, "--journal-size", "10000")
	code, out, stderr := compareRun(t, append(credentials(tg.base), "--versions", "v3")...)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s\n%s", code, out, stderr)
	}
	res, err := http.Get(tg.base + "/__admin/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var journal []struct {
		Status int
		Rule   string
	}
	if err := json.NewDecoder(res.Body).Decode(&journal); err != nil {
		t.Fatal(err)
	}
	rules := map[string]int{}
	for _, e := range journal {
		if e.Status == http.StatusTooManyRequests {
			rules[e.Rule]++
		}
	}
	if want := map[string]int{"throttle-first-list": 1}; !cmp.Equal(rules, want) {
		t.Errorf("429s by rule: %v, want %v (the limiter must never act)", rules, want)
	}
}

// TestCompareTimeout: a target that does not answer in time is a difference, not a hang.
func TestCompareTimeout(t *testing.T) {
	stall := filepath.Join(t.TempDir(), "stall.yaml")
	writeFile(t, stall, `name: stall
rules:
  - name: stall-delete
    match: {method: DELETE, path: /v3/personal-access-tokens/ffffffffffffffffffffffffffffffff}
    respond: {delay: 20s}
`)
	tg := startTarget(t, "--scenario", stall)
	code, out, stderr := compareRun(t, append(credentials(tg.base), "--only", "v3/delete/404", "--timeout", "1s", "--format", "json")...)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s\n%s", code, out, stderr)
	}
	d := differing(t, out)["v3/delete/404 differs"]
	if len(d) == 0 || !strings.HasPrefix(d[0], `error: target "Delete: context deadline exceeded`) {
		t.Errorf("differences %q: want the target's timeout first", d)
	}
}

// TestCompareSkipsWhenFull: an admin who already holds ISC's maximum gets no token created; the
// probes that need room are skipped, and say why.
func TestCompareSkipsWhenFull(t *testing.T) {
	var more strings.Builder
	for i := 2; i <= compare.MaxTokensPerOwner; i++ {
		fmt.Fprintf(&more, "  - {id: %032x, secret: %064x, name: extra %d, owner: %s, created: 2026-02-01T00:00:00Z}\n", i, i, i, adminID)
	}
	full := filepath.Join(t.TempDir(), "full.yaml")
	writeFile(t, full, string(fixtures.Default)+more.String())
	tg := startTarget(t, "--fixtures", full)
	code, out, stderr := compareRun(t, append(credentials(tg.base), "--versions", "v3", "--format", "json")...)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s\n%s", code, out, stderr)
	}
	var r struct{ Results []compare.Result }
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, res := range r.Results {
		if res.Verdict == compare.Skipped {
			skipped = append(skipped, res.Probe)
			if !strings.Contains(res.Reason, "already holds 10 tokens") {
				t.Errorf("%s skipped because %q", res.Probe, res.Reason)
			}
		}
	}
	want := []string{"v3/create/200", "v3/create/400-missing-name", "v3/create/400-unparsable", "v3/create/403-scope", "v3/create/400-duplicate-name", "v3/create/duplicate-name-case",
		"v3/create/validity-14", "v3/create/validity-43201", "v3/create/expiry-past", "v3/create/expiry-7-months",
		"v3/create/expiry-omitted", "v3/create/never-expires", "v3/patch/200", "v3/patch/400", "v3/patch/401", "v3/patch/415",
		"v3/delete/204", "v3/delete/401", "v3/delete/403-user-deletes-admins", "v3/create/limit-11th"}
	if diff := cmp.Diff(want, skipped); diff != "" {
		t.Errorf("skipped probes (-want +got):\n%s", diff)
	}
	res, err := http.Get(tg.base + "/__admin/requests?operation=createPersonalAccessToken")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var creates []struct{ IdentityID string }
	if err := json.NewDecoder(res.Body).Decode(&creates); err != nil {
		t.Fatal(err)
	}
	for _, c := range creates {
		if c.IdentityID == adminID {
			t.Errorf("a create reached the target as the admin, who had no room")
		}
	}
}
