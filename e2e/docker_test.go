package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The image as users run it, through the docker CLI: built from the unmodified Dockerfile by
// scripts/build-image (or named by ISCMOCK_IMAGE), each container under a name of its own and
// removed, with its anonymous volumes, when its test ends.

// maxImageBytes bounds the image: the static binary and distroless.
const maxImageBytes = 25_000_000

var (
	engine struct {
		once sync.Once
		err  error
	}
	image struct {
		once  sync.Once
		name  string
		built bool // by this run, so removed at its end
		err   error
	}
)

// requireEngine skips the test where no Docker engine answers, and fails it under CI, which
// always has one.
func requireEngine(t *testing.T) {
	t.Helper()
	engine.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
			engine.err = fmt.Errorf("docker info: %v: %s", err, bytes.TrimSpace(out))
		}
	})
	if engine.err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no Docker engine answers, and CI must test the image: %v", engine.err)
	}
	t.Skipf("no Docker engine answers, so the image is not tested here: %v", engine.err)
}

// dockerImage is the image under test: ISCMOCK_IMAGE, else one this run builds once.
func dockerImage(t *testing.T) string {
	t.Helper()
	requireEngine(t)
	image.once.Do(func() {
		if name := os.Getenv("ISCMOCK_IMAGE"); name != "" {
			image.name = name
			return
		}
		name := "iscmock-e2e:" + unique()
		out, err := exec.Command(filepath.Join("..", "scripts", "build-image"), name).CombinedOutput()
		if err != nil {
			image.err = fmt.Errorf("scripts/build-image: %v\n%s", err, out)
			return
		}
		image.name, image.built = name, true
	})
	if image.err != nil {
		t.Fatal(image.err)
	}
	return image.name
}

// removeBuiltImage removes the image this run built, if it built one (TestMain calls it last).
func removeBuiltImage() {
	if image.built {
		_ = exec.Command("docker", "rmi", "-f", image.name).Run()
	}
}

// runLabel marks this run's containers, so that what a killed run left behind can be found:
// ISCMOCK_E2E_RUN (CI sets it, and removes what carries it), else one of this process's own.
var runLabel = sync.OnceValue(func() string {
	if id := os.Getenv("ISCMOCK_E2E_RUN"); id != "" {
		return id
	}
	return unique()
})

func unique() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// docker runs the docker CLI and returns what it printed, trimmed.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerOutput(args...)
	if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func dockerOutput(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hung engine fails the test, not the run
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// container is one iscmock container of a test.
type container struct {
	t    *testing.T
	name string
	port string // the container's port, published on a free loopback port
}

// createContainer makes a container of the image listening on port, with docker run's options
// (say -e, -v, --read-only) before the image and serve's arguments after it, and removes it when
// the test ends. start starts it.
func createContainer(t *testing.T, port string, options []string, args ...string) *container {
	t.Helper()
	img := dockerImage(t)
	c := &container{t: t, name: "iscmock-e2e-" + unique(), port: port}
	create := append([]string{"create", "--name", c.name, "--label", "org.iscmock.e2e=" + runLabel(), "-p", "127.0.0.1::" + port}, options...)
	docker(t, append(append(create, img), args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs of %s:\n%s", c.name, c.logs())
		}
		_, _ = dockerOutput("rm", "-f", "-v", c.name)
	})
	return c
}

// runContainer creates a container, starts it and waits until it serves.
func runContainer(t *testing.T, port string, options []string, args ...string) *container {
	t.Helper()
	c := createContainer(t, port, options, args...)
	c.start()
	c.waitServing()
	return c
}

func (c *container) start() { docker(c.t, "start", c.name) }

// waitServing waits until the server says it serves; the line comes after the listener is up.
func (c *container) waitServing() {
	c.t.Helper()
	c.waitLog(`"msg":"serving"`, " serving http://")
}

// waitLog follows the container's log until a line has one of the texts. A container that stops
// first fails the test.
func (c *container) waitLog(texts ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "logs", "--follow", c.name)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw // the banner is on stdout, the request log on stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { pw.CloseWithError(cmd.Wait()) }()
	defer func() { cancel(); _, _ = io.Copy(io.Discard, pr) }()
	for lines := bufio.NewScanner(pr); lines.Scan(); {
		for _, text := range texts {
			if strings.Contains(lines.Text(), text) {
				return
			}
		}
	}
	c.t.Fatalf("%s stopped before its log showed %q (state %s)", c.name, texts, docker(c.t, "inspect", "-f", "{{json .State}}", c.name))
}

// base is the URL the host reaches the container's server at.
func (c *container) base() string {
	c.t.Helper()
	hostPort := docker(c.t, "port", c.name, c.port+"/tcp")
	hostPort, _, _ = strings.Cut(hostPort, "\n") // one line per address family
	return "http://" + hostPort
}

// logs is what the container printed on stdout and stderr.
func (c *container) logs() string {
	out, _ := exec.Command("docker", "logs", c.name).CombinedOutput()
	return string(out)
}

// wait waits for the container to stop and returns its exit code.
func (c *container) wait() int {
	c.t.Helper()
	code, err := strconv.Atoi(docker(c.t, "wait", c.name))
	if err != nil {
		c.t.Fatal(err)
	}
	return code
}

// uids are the user ids of the container's processes, as the engine reports them.
func (c *container) uids() []string {
	c.t.Helper()
	rows := strings.Split(docker(c.t, "top", c.name, "-o", "pid,uid"), "\n")
	var uids []string
	for _, row := range rows[1:] { // a heading first
		if f := strings.Fields(row); len(f) == 2 {
			uids = append(uids, f[1])
		}
	}
	return uids
}

// inspect decodes docker inspect's view of the container.
func (c *container) inspect() containerState {
	c.t.Helper()
	var states []containerState
	if err := json.Unmarshal([]byte(docker(c.t, "inspect", c.name)), &states); err != nil || len(states) != 1 {
		c.t.Fatalf("docker inspect %s: %v", c.name, err)
	}
	return states[0]
}

type containerState struct {
	Config struct {
		User        string
		Healthcheck struct{ StartPeriod time.Duration }
	}
	State struct {
		Status    string
		ExitCode  int
		OOMKilled bool
		StartedAt time.Time
		Health    *struct {
			Status string
			Log    []struct {
				End      time.Time
				ExitCode int
			}
		}
	}
}

// checkLogs checks that every line the container printed is one JSON object and that none
// shows a secret.
func checkLogs(t *testing.T, logs string, secrets ...string) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var record map[string]any
		if err := json.Unmarshal([]byte(line), &record); err != nil {
			t.Errorf("log line %d is not one JSON object: %q", i+1, line)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log shows a secret (%.8s...)", s)
		}
	}
}

// TestContainerWalkthrough: `docker run -d -p 127.0.0.1::8080 IMAGE` serves the default tenant; the
// README's curl walkthrough passes; the server runs as nonroot (65532); its log is JSON, a line a
// record, with no secret.
func TestContainerWalkthrough(t *testing.T) {
	c := runContainer(t, "8080", nil)
	secrets := walkthrough(t, c.base())
	c.waitLog(`"operation":"deletePersonalAccessToken"`) // the log is written in bursts
	if uids := c.uids(); len(uids) != 1 || uids[0] != "65532" {
		t.Errorf("process uids %v, want 65532", uids)
	}
	checkLogs(t, c.logs(), secrets...)
}

// TestContainerHealthy: the image's HEALTHCHECK brings the container to healthy within its start
// period, as CI services that wait on health need.
func TestContainerHealthy(t *testing.T) {
	c := createContainer(t, "8080", nil)
	c.start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	events := exec.CommandContext(ctx, "docker", "events", "--since", c.inspect().State.StartedAt.Add(-time.Second).Format(time.RFC3339Nano),
		"--filter", "container="+c.name, "--filter", "event=health_status", "--format", "{{.Status}}")
	stdout, _ := events.StdoutPipe()
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = events.Wait() }()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("no health status event: %v", lines.Err())
	}
	if status := lines.Text(); status != "health_status: healthy" {
		t.Fatalf("first health status %q, want healthy", status)
	}
	st := c.inspect()
	if st.State.Health == nil || st.State.Health.Status != "healthy" || len(st.State.Health.Log) == 0 {
		t.Fatalf("health %+v", st.State.Health)
	}
	first := st.State.Health.Log[0]
	if took := first.End.Sub(st.State.StartedAt); first.ExitCode != 0 || took > st.Config.Healthcheck.StartPeriod {
		t.Errorf("first check: exit %d, %v after the start; want healthy within the start period (%v)", first.ExitCode, took, st.Config.Healthcheck.StartPeriod)
	}
}

// TestContainerHardened: read-only root, every capability dropped and no new privileges, as a
// careful CI fleet runs it: it still serves, as uid 65532.
func TestContainerHardened(t *testing.T) {
	c := runContainer(t, "8080", []string{"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"})
	walkthrough(t, c.base())
	if uids := c.uids(); len(uids) != 1 || uids[0] != "65532" {
		t.Errorf("process uids %v, want 65532", uids)
	}
	if user := c.inspect().Config.User; user != "nonroot:nonroot" {
		t.Errorf("image user %q", user)
	}
}

// TestContainerBadFiles: a mounted file that cannot be loaded stops the container at once with a
// non-zero code and the file's name and line in its log; it never passes a health check.
func TestContainerBadFiles(t *testing.T) {
	private := filepath.Join(t.TempDir(), "private.yaml") // its owner's alone: not uid 65532's
	if err := os.WriteFile(private, []byte("identities: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		options []string
		want    string
	}{
		{"fixtures", []string{"-v", mount(t, "testdata/fixtures/bad.yaml", "/fixtures.yaml"), "-e", "ISCMOCK_FIXTURES=/fixtures.yaml"},
			"/fixtures.yaml:9: personalAccessTokens[0].accessTokenValiditySeconds"},
		{"scenario", []string{"-v", mount(t, "testdata/scenarios/bad.yaml", "/scenario.yaml"), "-e", "ISCMOCK_SCENARIO=/scenario.yaml"},
			`/scenario.yaml:6: rules[0].fault: unknown fault \"explode\"`},
		{"missing file", []string{"-e", "ISCMOCK_FIXTURES=/nowhere.yaml"}, "/nowhere.yaml"},
		{"unreadable file", []string{"-v", private + ":/fixtures.yaml:ro", "-e", "ISCMOCK_FIXTURES=/fixtures.yaml"},
			"permission denied: iscmock, running as uid 65532, may not read it; make it readable to everyone (chmod 644 /fixtures.yaml)"},
		{"bad variable", []string{"-e", "ISCMOCK_JOURNAL_SIZE=0"}, "--journal-size (ISCMOCK_JOURNAL_SIZE) must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := createContainer(t, "8080", tc.options)
			c.start()
			if code := c.wait(); code == 0 {
				t.Errorf("exit code 0, want non-zero")
			}
			logs := c.logs()
			if !strings.Contains(logs, tc.want) {
				t.Errorf("log %q lacks %q", logs, tc.want)
			}
			checkLogs(t, logs)
			if h := c.inspect().State.Health; h != nil {
				for _, check := range h.Log {
					if check.ExitCode == 0 {
						t.Errorf("a health check passed: %+v", h)
					}
				}
			}
		})
	}
}

// mount is a -v argument that mounts the repository's file read-only at target.
func mount(t *testing.T, file, target string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", file))
	if err != nil {
		t.Fatal(err)
	}
	return abs + ":" + target + ":ro"
}

// TestContainerEnv: every ISCMOCK_* variable serve documents works in the container
// (ISCMOCK_STATE_DIR: TestContainerState and TestContainerStateDiskFull).
func TestContainerEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		port    string // the container's port; default 8080
		options []string
		check   func(t *testing.T, c *container, base string)
	}{
		{name: "ISCMOCK_ADDR", port: "9090", options: []string{"-e", "ISCMOCK_ADDR=0.0.0.0:9090"},
			check: func(t *testing.T, c *container, base string) {
				walkthrough(t, base)
				if out, err := dockerOutput("exec", c.name, "/iscmock", "health"); err != nil || out != "healthy" {
					t.Errorf("the health check does not follow ISCMOCK_ADDR: %q %v", out, err)
				}
			}},
		{name: "ISCMOCK_FIXTURES", options: []string{"-v", mount(t, "testdata/fixtures/tenant.yaml", "/fixtures.yaml"), "-e", "ISCMOCK_FIXTURES=/fixtures.yaml"},
			check: func(t *testing.T, c *container, base string) {
				if ids := adminGet(t, base, "", "/__admin/identities"); !strings.Contains(ids, "Fiona Fixture") || strings.Contains(ids, "Alice Admin") {
					t.Errorf("identities %s: want the file's, not the default tenant's", ids)
				}
				wantStatus(t, tokenRequest(base, "86f1dc6fe8f54414950454cbb11278fa", "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"), http.StatusUnauthorized)
			}},
		{name: "ISCMOCK_SCENARIO", options: []string{"-v", mount(t, "scenarios/token-throttled.yaml", "/s/throttled.yaml"),
			"-v", mount(t, "scenarios/slow-list.yaml", "/s/slow.yaml"), "-e", "ISCMOCK_SCENARIO=/s/throttled.yaml,/s/slow.yaml"},
			check: func(t *testing.T, c *container, base string) {
				for _, want := range []int{429, 429, 200} {
					wantStatus(t, defaultToken(base), want)
				}
				if rules := adminGet(t, base, "", "/__admin/scenario"); !strings.Contains(rules, "slow-lists") {
					t.Errorf("the second file's rule is not loaded: %s", rules)
				}
			}},
		{name: "ISCMOCK_ADMIN_TOKEN", options: []string{"-e", "ISCMOCK_ADMIN_TOKEN=s3cret"},
			check: func(t *testing.T, c *container, base string) {
				wantStatus(t, send(base, "", http.MethodGet, "/__admin/requests", ""), http.StatusUnauthorized)
				wantStatus(t, send(base, "s3cret", http.MethodGet, "/__admin/requests", ""), http.StatusOK)
				checkLogs(t, c.logs(), "s3cret")
			}},
		{name: "ISCMOCK_RIGHTS", options: []string{"-e", "ISCMOCK_RIGHTS=soft"},
			check: func(t *testing.T, c *container, base string) { softRights(t, base) }},
		{name: "ISCMOCK_NO_ADMIN", options: []string{"-e", "ISCMOCK_NO_ADMIN=true"},
			check: func(t *testing.T, c *container, base string) {
				wantStatus(t, send(base, "", http.MethodGet, "/__admin/requests", ""), http.StatusNotFound)
				wantStatus(t, send(base, "", http.MethodGet, "/__admin/health", ""), http.StatusOK)
			}},
		{name: "ISCMOCK_JOURNAL_SIZE", options: []string{"-e", "ISCMOCK_JOURNAL_SIZE=1"},
			check: func(t *testing.T, c *container, base string) {
				wantStatus(t, defaultToken(base), http.StatusOK)
				wantStatus(t, defaultToken(base), http.StatusOK)
				var journal []json.RawMessage
				if err := json.Unmarshal([]byte(adminGet(t, base, "", "/__admin/requests")), &journal); err != nil || len(journal) != 1 {
					t.Errorf("journal of %d requests (%v), want 1", len(journal), err)
				}
			}},
		{name: "ISCMOCK_MAX_TENANTS", options: []string{"-e", "ISCMOCK_MAX_TENANTS=1"},
			check: func(t *testing.T, c *container, base string) {
				wantStatus(t, defaultToken(base+"/tenants/one"), http.StatusOK)
				wantStatus(t, defaultToken(base+"/tenants/two"), http.StatusBadRequest)
			}},
		{name: "ISCMOCK_RATE_LIMIT", options: []string{"-e", "ISCMOCK_RATE_LIMIT=isc"},
			check: func(t *testing.T, c *container, base string) {
				// One window holds all the calls: the mock clock stands still between them.
				wantStatus(t, send(base, "", http.MethodPost, "/__admin/clock", `{"set":"2030-01-01T00:00:00Z"}`), http.StatusOK)
				bearer := accessToken(t, defaultToken(base))
				list := func() *http.Response {
					return send(base, bearer, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", "")
				}
				for i := range 100 {
					if res := list(); res.StatusCode != http.StatusOK {
						t.Fatalf("call %d: %d, want 200", i+1, res.StatusCode)
					}
				}
				res := list()
				wantStatus(t, res, http.StatusTooManyRequests)
				if res.Header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
			}},
		{name: "ISCMOCK_LOG_FORMAT", options: []string{"-e", "ISCMOCK_LOG_FORMAT=text"},
			check: func(t *testing.T, c *container, base string) {
				if first, _, _ := strings.Cut(c.logs(), "\n"); !strings.Contains(first, " serving http://127.0.0.1:8080") {
					t.Errorf("first line %q, want the text banner", first)
				}
			}},
		{name: "ISCMOCK_MAX_TOKENS_PER_OWNER", options: []string{"-e", "ISCMOCK_MAX_TOKENS_PER_OWNER=2"},
			check: func(t *testing.T, c *container, base string) {
				bearer := accessToken(t, defaultToken(base))
				for _, want := range []int{200, 400} { // Alice has one token already
					wantStatus(t, send(base, bearer, http.MethodPost, "/v3/personal-access-tokens", `{"name":"n`+strconv.Itoa(want)+`"}`), want)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := tc.port
			if port == "" {
				port = "8080"
			}
			c := runContainer(t, port, tc.options)
			tc.check(t, c, c.base())
		})
	}
}

// TestContainerStop: docker stop while a scenario holds requests: the held requests get their
// answers and the server exits 0 by itself, well before docker's kill after 10 s.
func TestContainerStop(t *testing.T) {
	c := runContainer(t, "8080", nil)
	base := c.base()
	hold := "rules:\n  - name: hold\n    match: {operation: listPersonalAccessTokens}\n    respond: {delay: 30s}\n"
	if res := send(base, "", http.MethodPut, "/__admin/scenario", hold); res.StatusCode != http.StatusNoContent {
		t.Fatalf("loading the scenario: %d %s", res.StatusCode, body(res))
	}
	bearer := accessToken(t, defaultToken(base))

	const held = 4
	statuses := make(chan int, held)
	for range held {
		go func() {
			res := send(base, bearer, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", "")
			statuses <- res.StatusCode
		}()
	}
	for matched := ""; !strings.Contains(matched, `"matched":`+strconv.Itoa(held)); { // until every request is held
		res := send(base, "", http.MethodGet, "/__admin/scenario", "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("scenario state: %d %s", res.StatusCode, body(res))
		}
		matched = string(body(res))
	}

	since := time.Now().Add(-time.Second).Format(time.RFC3339Nano)
	docker(t, "stop", c.name)
	for range held {
		if status := <-statuses; status != http.StatusOK {
			t.Errorf("a held request got %d at the stop, want 200", status)
		}
	}
	st := c.inspect()
	if st.State.ExitCode != 0 || st.State.OOMKilled {
		t.Fatalf("exit code %d after docker stop, want 0 (137 is docker's kill)", st.State.ExitCode)
	}
	// The engine's own clock: from the SIGTERM it sent to the process's end.
	events := docker(t, "events", "--since", since, "--until", time.Now().Add(time.Second).Format(time.RFC3339Nano),
		"--filter", "container="+c.name, "--format", "{{.Action}} {{.TimeNano}}")
	var term, died int64
	for _, e := range strings.Split(events, "\n") {
		action, nanos, _ := strings.Cut(e, " ")
		n, _ := strconv.ParseInt(nanos, 10, 64)
		switch {
		case strings.HasPrefix(action, "kill") && term == 0:
			term = n
		case action == "die":
			died = n
		}
	}
	if term == 0 || died == 0 {
		t.Fatalf("events %q: want a kill (SIGTERM) and a die", events)
	}
	took := time.Duration(died - term)
	t.Logf("exited %v after SIGTERM", took)
	if took > 3*time.Second {
		t.Errorf("exited %v after SIGTERM: want well under docker's 10 s", took)
	}
}

// TestContainerImageSize: the image stays small (the README states its size).
func TestContainerImageSize(t *testing.T) {
	img := dockerImage(t)
	size, err := strconv.ParseInt(docker(t, "image", "inspect", "-f", "{{.Size}}", img), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %.1f MB", img, float64(size)/1e6)
	if size > maxImageBytes {
		t.Errorf("image %s is %d bytes, over the bound of %d", img, size, maxImageBytes)
	}
}

// TestContainerLabels: the image names its source, licence, version and commit, as scripts/build-image
// and the release workflow give them.
func TestContainerLabels(t *testing.T) {
	img := dockerImage(t)
	var labels map[string]string
	if err := json.Unmarshal([]byte(docker(t, "image", "inspect", "-f", "{{json .Config.Labels}}", img)), &labels); err != nil {
		t.Fatal(err)
	}
	if labels["org.opencontainers.image.source"] != "https://github.com/iscmock/iscmock" ||
		labels["org.opencontainers.image.licenses"] != "MIT" {
		t.Errorf("labels %v: want the source https://github.com/iscmock/iscmock and the licence MIT", labels)
	}
	if v := labels["org.opencontainers.image.version"]; v == "" || v == "dev" {
		t.Errorf("version label %q: want what the build was given", v)
	}
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		if want := strings.TrimSpace(string(out)); labels["org.opencontainers.image.revision"] != want {
			t.Errorf("revision label %q, want the commit %s", labels["org.opencontainers.image.revision"], want)
		}
	}
	for name := range labels {
		if !strings.HasPrefix(name, "org.opencontainers.image.") {
			t.Errorf("label %s: a base image's label the image inherited", name)
		}
	}
}

func tokenRequest(base, id, secret string) *http.Response {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	res, err := http.PostForm(base+"/oauth/token", form)
	return answered(res, err)
}

// defaultToken asks for a token with the default tenant's org admin's credentials.
func defaultToken(base string) *http.Response {
	return tokenRequest(base, "86f1dc6fe8f54414950454cbb11278fa", "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9")
}

func adminGet(t *testing.T, base, adminToken, path string) string {
	t.Helper()
	res := send(base, adminToken, http.MethodGet, path, "")
	wantStatus(t, res, http.StatusOK)
	return string(body(res))
}

// send makes a request with a bearer token (an access token, or the admin token; "" for none) and a
// JSON body ("" for none): a JSON patch for PATCH. It accepts JSON, which the admin API's export
// answers in.
func send(base, bearer, method, path, reqBody string) *http.Response {
	req, _ := http.NewRequest(method, base+path, strings.NewReader(reqBody))
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	switch {
	case reqBody != "" && method == http.MethodPatch:
		req.Header.Set("Content-Type", "application/json-patch+json")
	case reqBody != "":
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	return answered(res, err)
}

// answered reads the body into the response, or makes a response of status 0 from a transport
// error, so that a failed request fails the test that looks at its status.
func answered(res *http.Response, err error) *http.Response {
	if err != nil {
		return &http.Response{Status: err.Error(), Header: http.Header{}, Body: io.NopCloser(strings.NewReader(err.Error()))}
	}
	b, readErr := io.ReadAll(res.Body)
	res.Body.Close()
	if readErr != nil {
		b = []byte(readErr.Error())
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res
}

func body(res *http.Response) []byte {
	b, _ := io.ReadAll(res.Body)
	res.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

func wantStatus(t *testing.T, res *http.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Errorf("%s %v: %d %s, want %d", requestOf(res), res.Status, res.StatusCode, body(res), want)
	}
}

func requestOf(res *http.Response) string {
	if res.Request == nil {
		return "request"
	}
	return res.Request.Method + " " + res.Request.URL.Path
}

func accessToken(t *testing.T, res *http.Response) string {
	t.Helper()
	var tok tokenJSON
	if err := json.Unmarshal(body(res), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token response %d %s: want an access_token (%v)", res.StatusCode, body(res), err)
	}
	return tok.AccessToken
}

// TestContainerState: the README's persistent container, -v VOLUME:/state -e
// ISCMOCK_STATE_DIR=/state with --read-only, replaced by a new one on the same volume, still has
// the token created before, which still mints access tokens, and honours the bearer tokens the
// first one minted.
func TestContainerState(t *testing.T) {
	requireEngine(t)
	volume := "iscmock-e2e-state-" + unique()
	docker(t, "volume", "create", "--label", "org.iscmock.e2e="+runLabel(), volume)
	t.Cleanup(func() { _, _ = dockerOutput("volume", "rm", "-f", volume) })
	options := []string{"--read-only", "-v", volume + ":/state", "-e", "ISCMOCK_STATE_DIR=/state"}

	first := runContainer(t, "8080", options)
	base := first.base()
	bearer := accessToken(t, defaultToken(base))
	res := send(base, bearer, http.MethodPost, "/v3/personal-access-tokens", `{"name":"kept across restarts"}`)
	wantStatus(t, res, http.StatusOK)
	var created struct{ ID, Secret string }
	if err := json.Unmarshal(body(res), &created); err != nil {
		t.Fatal(err)
	}
	docker(t, "stop", first.name)

	second := runContainer(t, "8080", options)
	base = second.base()
	wantStatus(t, tokenRequest(base, created.ID, created.Secret), http.StatusOK)
	res = send(base, bearer, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", "")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(string(body(res)), created.ID) {
		t.Errorf("after the restart the list lacks the token created before: %s", body(res))
	}
	checkLogs(t, second.logs(), created.Secret, bearer)
}

// TestContainerStateDiskFull: on a state volume too small for what is asked of it, a create is
// answered with ISC's 500 and changes nothing, and the server keeps serving.
func TestContainerStateDiskFull(t *testing.T) {
	requireEngine(t)
	c := runContainer(t, "8080", []string{"--read-only", "--tmpfs", "/state:rw,size=64k,uid=65532,gid=65532", "-e", "ISCMOCK_STATE_DIR=/state",
		"-e", "ISCMOCK_MAX_TOKENS_PER_OWNER=0"})
	base := c.base()
	bearer := accessToken(t, defaultToken(base))
	list := func() string {
		res := send(base, bearer, http.MethodGet, "/v3/personal-access-tokens", "")
		wantStatus(t, res, http.StatusOK)
		return string(body(res))
	}
	for i := range 1000 {
		name := fmt.Sprintf("filler %d %s", i, strings.Repeat("x", 200))
		before := list()
		res := send(base, bearer, http.MethodPost, "/v3/personal-access-tokens", fmt.Sprintf(`{"name":%q}`, name))
		if res.StatusCode == http.StatusOK {
			continue
		}
		wantStatus(t, res, http.StatusInternalServerError)
		if b := string(body(res)); !strings.Contains(b, `"detailCode":"500.0 Internal Fault"`) {
			t.Errorf("the full disk's answer %s is not ISC's 500", b)
		}
		if cause := res.Header.Get("Iscmock-Cause"); !strings.Contains(cause, "no space left on device") {
			t.Errorf("Iscmock-Cause %q does not say the disk is full", cause)
		}
		if after := list(); after != before {
			t.Errorf("the refused create changed the list")
		}
		wantStatus(t, send(base, "", http.MethodGet, "/__admin/health", ""), http.StatusOK)
		return
	}
	t.Fatal("1000 creates fit in 64 KiB: the state is not being written")
}
