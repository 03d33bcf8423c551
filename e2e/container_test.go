package e2e_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dockerfile is the image's recipe, one instruction a line, continuations joined.
type dockerfile struct {
	instructions []string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		d.instructions = append(d.instructions, cur.String())
		cur.Reset()
	}
	return d
}

// all returns the arguments of every instruction with the keyword, in order.
func (d dockerfile) all(keyword string) []string {
	var out []string
	for _, in := range d.instructions {
		if k, rest, _ := strings.Cut(in, " "); strings.EqualFold(k, keyword) {
			out = append(out, rest)
		}
	}
	return out
}

// final returns the arguments of the keyword's last instruction in the final stage.
func (d dockerfile) final(keyword string) string {
	stage := 0
	for i, in := range d.instructions {
		if strings.HasPrefix(strings.ToUpper(in), "FROM ") {
			stage = i
		}
	}
	last := ""
	for _, in := range d.instructions[stage:] {
		if k, rest, _ := strings.Cut(in, " "); strings.EqualFold(k, keyword) {
			last = rest
		}
	}
	return last
}

// env returns the variables the ENV instructions set (KEY=VALUE form, no quoting).
func (d dockerfile) env() map[string]string {
	env := map[string]string{}
	for _, in := range d.all("ENV") {
		for _, kv := range strings.Fields(in) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	return env
}

func execForm(t *testing.T, s string) []string {
	t.Helper()
	var args []string
	if err := json.Unmarshal([]byte(s), &args); err != nil {
		t.Fatalf("%q is not in exec form: %v", s, err)
	}
	return args
}

// TestDockerfile checks the image recipe's shape; docker_test.go builds and runs it.
func TestDockerfile(t *testing.T) {
	d := readDockerfile(t)
	froms := d.all("FROM")
	if len(froms) < 2 {
		t.Fatalf("FROM %v: want a multi-stage build", froms)
	}
	// The build stage runs on the builder's platform and cross-compiles for the target's.
	if !regexp.MustCompile(`^--platform=\$BUILDPLATFORM golang:1\.\d+\.\d+(-\w+)?(@sha256:[0-9a-f]{64})? AS build$`).MatchString(froms[0]) {
		t.Errorf("builder %q: want golang pinned to a patch release, on the build platform", froms[0])
	}
	if args := d.all("ARG"); len(args) == 0 || !strings.HasPrefix(args[0], "BUILDPLATFORM=") {
		t.Errorf("ARG %v: want BUILDPLATFORM with a default first, for the legacy builder, which sets none", args)
	}
	if last := froms[len(froms)-1]; !strings.HasPrefix(last, "gcr.io/distroless/static") && last != "scratch" {
		t.Errorf("final stage %q: want distroless static or scratch", last)
	}
	build := strings.Join(d.all("RUN"), "\n")
	for _, want := range []string{"GOOS=${TARGETOS:-linux}", "GOARCH=${TARGETARCH:-", "CGO_ENABLED=0", "-trimpath", "-buildid=",
		"-X main.version=", "./cmd/iscmock"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build lacks %s", want)
		}
	}
	if user := d.final("USER"); user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q: want a non-root user", user)
	}
	if d.final("EXPOSE") != "8080" {
		t.Errorf("EXPOSE %q, want 8080", d.final("EXPOSE"))
	}
	if got := execForm(t, d.final("ENTRYPOINT")); len(got) != 1 || got[0] != "/iscmock" {
		t.Errorf("ENTRYPOINT %v", got)
	}
	if got := execForm(t, d.final("CMD")); strings.Join(got, " ") != "serve" {
		t.Errorf("CMD %v, want serve (the address is ISCMOCK_ADDR, which the health check reads too)", got)
	}
	if env := d.env(); env["ISCMOCK_ADDR"] != "0.0.0.0:8080" || env["ISCMOCK_LOG_FORMAT"] != "json" {
		t.Errorf("ENV %v: want ISCMOCK_ADDR=0.0.0.0:8080 and ISCMOCK_LOG_FORMAT=json", env)
	}
	labels := map[string]string{}
	for _, m := range regexp.MustCompile(`(\S+)="([^"]*)"`).FindAllStringSubmatch(d.final("LABEL"), -1) {
		labels[m[1]] = m[2]
	}
	for name, want := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/iscmock/iscmock",
		"org.opencontainers.image.licenses": "MIT",
		"org.opencontainers.image.version":  "${VERSION}",
		"org.opencontainers.image.revision": "${REVISION}",
	} {
		if labels[name] != want {
			t.Errorf("LABEL %s=%q, want %q", name, labels[name], want)
		}
	}
	hc := d.final("HEALTHCHECK")
	_, cmd, ok := strings.Cut(hc, "CMD ")
	if !ok || strings.Join(execForm(t, cmd), " ") != "/iscmock health" {
		t.Errorf("HEALTHCHECK %q: want the binary's own health command, in exec form", hc)
	}
}

// TestImageCommand starts the static binary as the image's ENTRYPOINT, CMD and ENV would (on a free
// port instead of 8080) and checks health, a token and a list call over TCP, where no engine runs.
func TestImageCommand(t *testing.T) {
	d := readDockerfile(t)
	cmd := exec.Command(imageBuild.binary(t), execForm(t, d.final("CMD"))...)
	cmd.Env = os.Environ()
	for k, v := range d.env() {
		if k == "ISCMOCK_ADDR" {
			host, _, _ := net.SplitHostPort(v)
			v = net.JoinHostPort(host, "0")
		}
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = io.Discard
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	base := jsonBanner(t, first, "image-test")
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("banner URL %q: want loopback for the wildcard address", base)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))

	health := exec.Command(imageBuild.binary(t), "health")
	health.Env = append(os.Environ(), "ISCMOCK_ADDR=0.0.0.0:"+port) // a wildcard host is checked on loopback
	if out, err := health.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "healthy" {
		t.Errorf("health: %v %s", err, out)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"86f1dc6fe8f54414950454cbb11278fa"},
		"client_secret": {"1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"}}
	res, err := http.PostForm(base+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok tokenJSON
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != 200 {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, base+"/v3/personal-access-tokens?owner-id=me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("list: %v %v", res, err)
	}
	res.Body.Close()
}

func TestHealthCommandFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	out, err := exec.Command(iscmockBinary(t), "health", "--url", "http://"+addr).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "unhealthy") {
		t.Errorf("health with nothing listening: %v %s; want exit 1", err, out)
	}
}

// TestGracefulStop: SIGTERM lets a request in flight finish, then the process exits 0.
func TestGracefulStop(t *testing.T) {
	base, _, cmd := startBinary(t)
	slow := "rules:\n  - name: slow\n    match: {operation: listPersonalAccessTokens}\n    respond: {delay: 300ms}\n"
	req, _ := http.NewRequest(http.MethodPut, base+"/__admin/scenario", strings.NewReader(slow))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("loading the scenario: %v %v", res, err)
	}
	tokReq, _ := http.NewRequest(http.MethodPost, base+"/__admin/tokens", strings.NewReader(`{"identityId":"2c9180867b50d088017b554662fb281e"}`))
	res, err := http.DefaultClient.Do(tokReq)
	if err != nil {
		t.Fatal(err)
	}
	var tok tokenJSON
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()

	result := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+"/v3/personal-access-tokens?owner-id=me", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			result <- 0
			return
		}
		res.Body.Close()
		result <- res.StatusCode
	}()
	// Wait until the slow list is in flight: its rule has matched.
	for {
		res, err := http.Get(base + "/__admin/scenario")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), `"matched":1`) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if status := <-result; status != http.StatusOK {
		t.Errorf("the request in flight at SIGTERM got %d, want 200", status)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("no exit within a minute of SIGTERM")
	}
}

// TestLogs: one JSON line per request with what an operator needs, and never a secret or token.
func TestLogs(t *testing.T) {
	cmd := exec.Command(iscmockBinary(t), "serve", "--addr", "127.0.0.1:0", "--log-format", "json")
	stdout, _ := cmd.StdoutPipe()
	var logs strings.Builder
	var mu sync.Mutex
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	logDone := make(chan struct{})
	go func() {
		b, _ := io.ReadAll(stderr)
		mu.Lock()
		logs.Write(b)
		mu.Unlock()
		close(logDone)
	}()
	first, _ := bufio.NewReader(stdout).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	base := jsonBanner(t, first, "dev")

	const secret = "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"
	if strings.Contains(first, secret) {
		t.Errorf("the JSON banner shows a secret: %s", first)
	}
	res, err := http.Post(base+"/oauth/token?grant_type=client_credentials&client_id=86f1dc6fe8f54414950454cbb11278fa&client_secret="+secret, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var tok tokenJSON
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, base+"/v3/personal-access-tokens?owner-id=me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-logDone

	mu.Lock()
	defer mu.Unlock()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per request:\n%s", len(lines), logs.String())
	}
	list := lines[1]
	for _, key := range []string{"method", "path", "operation", "status", "durationMs", "identity", "rule"} {
		if _, ok := list[key]; !ok {
			t.Errorf("log line lacks %s: %v", key, list)
		}
	}
	if list["operation"] != "listPersonalAccessTokens" || list["status"] != float64(200) || list["identity"] != "2c9180867b50d088017b554662fb281e" {
		t.Errorf("log line %v", list)
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), tok.AccessToken) {
		t.Error("the log shows a secret or a token")
	}
}

// jsonBanner checks the first line serve prints with a JSON log (one log record naming the version,
// the base URL and each token's client id) and returns the base URL.
func jsonBanner(t *testing.T, line, version string) string {
	t.Helper()
	var banner struct {
		Msg, Version, URL    string
		PersonalAccessTokens []struct{ ClientID string }
	}
	if err := json.Unmarshal([]byte(line), &banner); err != nil || banner.Msg != "serving" || banner.Version != version ||
		!strings.HasPrefix(banner.URL, "http://") || len(banner.PersonalAccessTokens) == 0 || banner.PersonalAccessTokens[0].ClientID == "" {
		t.Fatalf("first line %q: want a JSON banner with version %s, the URL and the tokens' client ids (%v)", line, version, err)
	}
	return banner.URL
}
