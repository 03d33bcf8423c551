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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscmock/iscmock/internal/conformance"
)

// TestLoopbackLoad drives the real binary and a bare net/http server answering the same list JSON
// with the same concurrency over loopback, and prints both throughputs and their ratio. It runs
// only with ISCMOCK_LOAD=1 (ISCMOCK_LOAD_CONCURRENCY, default 32; ISCMOCK_LOAD_SECONDS, default 5).
func TestLoopbackLoad(t *testing.T) {
	if os.Getenv("ISCMOCK_LOAD") == "" {
		t.Skip("set ISCMOCK_LOAD=1 to run the loopback load comparison")
	}
	concurrency := envInt("ISCMOCK_LOAD_CONCURRENCY", 32)
	duration := time.Duration(envInt("ISCMOCK_LOAD_SECONDS", 5)) * time.Second

	base, _, _ := startBinary(t)
	res, err := http.Post(base+"/__admin/tokens", "application/json", strings.NewReader(`{"identityId":"`+defaultAdmin+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok tokenJSON
	if err := decodeBody(res, &tok); err != nil {
		t.Fatal(err)
	}
	target := base + "/v3/personal-access-tokens?owner-id=me"

	// The bare server is a process of its own too, answering with the very bytes and headers the
	// mock sends.
	sample := get(t, target, tok.AccessToken)
	bareURL := startBare(t, sample)

	mockRate, mockErrs := drive(target, tok.AccessToken, concurrency, duration)
	bareRate, bareErrs := drive(bareURL+"/v3/personal-access-tokens?owner-id=me", tok.AccessToken, concurrency, duration)
	// The goal is a ratio of at least 0.6. It is printed, not asserted: throughput on a shared
	// machine is too noisy for a pass/fail test.
	fmt.Printf("loopback load, %d clients for %v each, %d CPUs:\n  iscmock    %8.0f req/s (%d errors)\n  net/http   %8.0f req/s (%d errors)\n  ratio      %8.2f (goal: at least 0.60)\n",
		concurrency, duration, runtime.NumCPU(), mockRate, mockErrs, bareRate, bareErrs, mockRate/bareRate)
	if mockErrs+bareErrs > 0 {
		t.Errorf("%d errors against iscmock, %d against net/http", mockErrs, bareErrs)
	}
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

// drive sends GETs from concurrency clients for d and returns the rate of 200s and the errors.
func drive(url, token string, concurrency int, d time.Duration) (float64, int64) {
	tr := conformance.Unchecked.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	var ok, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / d.Seconds(), failed.Load()
}

func decodeBody(res *http.Response, v any) error {
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}
