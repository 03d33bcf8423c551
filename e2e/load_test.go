package e2e_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestLoopbackLoad drives the real binary, serving an owner's full page of ten tokens
// (testdata/fixtures/ten-pats.yaml), and a bare net/http server answering the same bytes, each its
// own process, with wrk over loopback: rounds alternate mock and bare, and the ratio of their
// total rates is printed. It runs only with ISCMOCK_LOAD=1 (ISCMOCK_LOAD_CONCURRENCY, default 32;
// ISCMOCK_LOAD_SECONDS per round, default 5; ISCMOCK_LOAD_ROUNDS per server, default 2) and needs
// wrk on PATH.
func TestLoopbackLoad(t *testing.T) {
	if os.Getenv("ISCMOCK_LOAD") == "" {
		t.Skip("set ISCMOCK_LOAD=1 to run the loopback load comparison")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("the loopback load needs wrk (apt-get install wrk)")
	}
	concurrency := envInt("ISCMOCK_LOAD_CONCURRENCY", 32)
	seconds := envInt("ISCMOCK_LOAD_SECONDS", 5)
	rounds := envInt("ISCMOCK_LOAD_ROUNDS", 2)

	base, _, _ := startBinary(t, "--fixtures", "../testdata/fixtures/ten-pats.yaml")
	res, err := http.Post(base+"/__admin/tokens", "application/json", strings.NewReader(`{"identityId":"`+tenPATsOwner+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok tokenJSON
	if err := decodeBody(res, &tok); err != nil {
		t.Fatal(err)
	}
	const path = "/v3/personal-access-tokens?owner-id=me"
	// The bare server is a process of its own too, answering with the very bytes and headers the
	// mock sends.
	sample := get(t, base+path, tok.AccessToken)
	if n := strings.Count(string(sample.Body), `"owner"`); n != 10 {
		t.Fatalf("the list has %d tokens, want 10", n)
	}
	bareURL := startBare(t, sample)

	var mock, bare load
	for range rounds { // alternated, so that both see the machine's changing load alike
		mock.add(t, wrk(t, base+path, tok.AccessToken, concurrency, seconds))
		bare.add(t, wrk(t, bareURL+path, tok.AccessToken, concurrency, seconds))
	}
	// The goal is a ratio of at least 0.6. It is printed, not asserted: throughput on a shared
	// machine is too noisy for a pass/fail test.
	fmt.Printf("loopback load, wrk, %d connections, %d rounds of %ds each, alternated, %d CPUs, %d-byte list of 10 tokens:\n"+
		"  iscmock    %8.0f req/s (%d errors)\n  net/http   %8.0f req/s (%d errors)\n  ratio      %8.2f (goal: at least 0.60)\n",
		concurrency, rounds, seconds, runtime.NumCPU(), len(sample.Body), mock.rate(), mock.errors, bare.rate(), bare.errors, mock.rate()/bare.rate())
	if mock.errors+bare.errors > 0 {
		t.Errorf("%d errors against iscmock, %d against net/http", mock.errors, bare.errors)
	}
}

// tenPATsOwner owns the ten tokens of testdata/fixtures/ten-pats.yaml.
const tenPATsOwner = "2c9180867b50d088017b554662fb4a10"

// load sums wrk rounds against one server.
type load struct {
	requests, errors int
	seconds          float64
}

func (l *load) add(t *testing.T, r wrkResult) {
	t.Logf("%s: %.0f req/s, %d errors", r.url, float64(r.requests)/r.seconds, r.errors)
	l.requests += r.requests
	l.errors += r.errors
	l.seconds += r.seconds
}

func (l *load) rate() float64 { return float64(l.requests) / l.seconds }

type wrkResult struct {
	url              string
	requests, errors int
	seconds          float64
}

var (
	wrkTotal   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m),`)
	wrkErrors  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSeconds = map[string]float64{"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}
)

// wrk runs wrk against url with two threads and reads its summary: every socket error and every
// answer but a 2xx counts as an error.
func wrk(t *testing.T, url, token string, connections, seconds int) wrkResult {
	t.Helper()
	out, err := exec.Command("wrk", "-t2", fmt.Sprintf("-c%d", connections), fmt.Sprintf("-d%ds", seconds),
		"-H", "Authorization: Bearer "+token, url).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	m := wrkTotal.FindSubmatch(out)
	if m == nil {
		t.Fatalf("wrk printed no total:\n%s", out)
	}
	r := wrkResult{url: url}
	r.requests, _ = strconv.Atoi(string(m[1]))
	secs, _ := strconv.ParseFloat(string(m[2]), 64)
	r.seconds = secs * wrkSeconds[string(m[3])]
	if m := wrkErrors.FindSubmatch(out); m != nil {
		for _, n := range m[1:] {
			k, _ := strconv.Atoi(string(n))
			r.errors += k
		}
	}
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		k, _ := strconv.Atoi(string(m[1]))
		r.errors += k
	}
	return r
}

// bareServeEnv makes the test binary a bare net/http server instead of running tests: the load
// test starts it as its own process, like the mock's.
const bareServeEnv = "ISCMOCK_BARE_SERVE"

// startBare runs this test binary as a bare server answering every request with r.
func startBare(t *testing.T, r response) string {
	t.Helper()
	headers, _ := json.Marshal(r.Header)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), bareServeEnv+"=1", "ISCMOCK_BARE_HEADERS="+string(headers), "ISCMOCK_BARE_BODY="+string(r.Body))
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// serveBare is the bare server's whole life: print its URL, answer until killed.
func serveBare() {
	var header http.Header
	_ = json.Unmarshal([]byte(os.Getenv("ISCMOCK_BARE_HEADERS")), &header)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println("http://" + l.Addr().String())
	_ = http.Serve(l, baseline(http.StatusOK, header, []byte(os.Getenv("ISCMOCK_BARE_BODY"))))
}

func envInt(name string, dflt int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return dflt
}

func get(t *testing.T, url, token string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", url, res.StatusCode, b)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func decodeBody(res *http.Response, v any) error {
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}
