package e2e_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock"
)

// BenchmarkStartOnStateDir measures how long the binary takes, on a state directory, from its
// start until its health check answers, and its resident memory then (the kernel's high-water
// mark, MB-peak-rss): 100 tenants of ten tokens (the default --max-tenants), 10,000 of them
// (--max-tenants 0), one tenant at the 64 MiB bound of a state file, and 100 of them, which take
// about 10 GB of memory (the server gets GOMEMLIMIT=14GiB, without which its heap would outgrow a
// 24 GB machine). All but the first run only with ISCMOCK_BENCH_LARGE=1 (the last writes 6.4 GB and
// takes minutes a round: -benchtime 1x).
func BenchmarkStartOnStateDir(b *testing.B) {
	for _, tc := range []struct {
		name     string
		tenants  int
		tokens   int // of each tenant, ten to an owner, over at most 100 owners
		large    bool
		memLimit string // GOMEMLIMIT, if any
	}{
		{"100 tenants of 10 tokens", 100, 10, false, ""},
		{"10,000 tenants of 10 tokens", 10_000, 10, true, ""},
		{"one tenant at the 64 MiB bound", 1, 170_000, true, ""},
		{"100 tenants at the 64 MiB bound", 100, 170_000, true, "14GiB"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.large && os.Getenv("ISCMOCK_BENCH_LARGE") == "" {
				b.Skip("set ISCMOCK_BENCH_LARGE=1 for the large state directories")
			}
			dir := stateDirOf(b, tc.tenants, tc.tokens)
			var rss float64
			for b.Loop() {
				rss = max(rss, startUntilHealthy(b, dir, tc.memLimit))
			}
			b.ReportMetric(rss, "MB-peak-rss")
		})
	}
}

// stateDirOf makes a state directory of the given tenants, each a copy of one tenant's file of the
// given tokens, ten to an owner, over at most 100 owners.
func stateDirOf(b *testing.B, tenants, tokens int) string {
	b.Helper()
	dir := b.TempDir()
	owners := mock.Fixtures{}
	for o := range min(100, max(1, tokens/10)) {
		owners.Identities = append(owners.Identities, mock.Identity{ID: fmt.Sprintf("%032x", o), Name: fmt.Sprint("owner ", o)})
	}
	srv, err := mock.New(mock.WithStateDir(dir), mock.WithFixtureData(owners), mock.WithMaxTokensPerOwner(0))
	if err != nil {
		b.Fatal(err)
	}
	var pats mock.Fixtures
	for i := range tokens {
		pats.PersonalAccessTokens = append(pats.PersonalAccessTokens, mock.PAT{ID: fmt.Sprintf("%032x", 1<<40+i),
			Secret: fmt.Sprintf("%064x", i), Name: fmt.Sprint("token ", i), Owner: owners.Identities[i%len(owners.Identities)].ID})
	}
	if err := srv.Seed(pats); err != nil {
		b.Fatal(err)
	}
	srv.Close()
	root, err := os.ReadFile(filepath.Join(dir, "root.json"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range tenants {
		name := fmt.Sprint("t", i)
		data := bytes.Replace(root, []byte(`"tenant": ""`), []byte(`"tenant": `+strconv.Quote(name)), 1)
		if err := os.WriteFile(filepath.Join(dir, "tenants", name+".json"), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// startUntilHealthy starts the binary on dir, waits for its health check to answer 200 (the time
// measured), and returns its peak resident memory in MB.
func startUntilHealthy(b *testing.B, dir, memLimit string) float64 {
	b.Helper()
	cmd := exec.Command(iscmockBinary(b), "serve", "--addr", "127.0.0.1:0", "--state-dir", dir, "--max-tenants", "0")
	if memLimit != "" {
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+memLimit)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	first, err := bufio.NewReader(out).ReadString('\n')
	_, base, ok := strings.Cut(strings.TrimSpace(first), " serving ")
	if err != nil || !ok {
		b.Fatalf("the binary printed %q, %v", first, err)
	}
	for {
		res, err := http.Get(base + "/__admin/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(time.Millisecond) // the next try; the time is the benchmark's measure
	}
	b.StopTimer()
	defer b.StartTimer()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0 // not Linux: no figure
	}
	for line := range strings.Lines(string(status)) {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")))
			return float64(n) / 1024
		}
	}
	return 0
}
