package mock_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock"
)

// TestFilesOnDisk: the mock reads regular files only, and at most their bound; a FIFO or a device
// is refused at once rather than read forever or waited on.
func TestFilesOnDisk(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sized := func(name string, size int64) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil { // sparse: no disk used
			t.Fatal(err)
		}
		return p
	}
	bigFixtures, bigScenario := sized("big.yaml", mock.MaxFixtureFile+1), sized("big-scenario.yaml", mock.MaxScenarioFile+1)
	fixtures := func(p string) error { _, err := mock.LoadFixtures(p); return err }
	scenario := func(p string) error { _, err := mock.LoadScenarioFile(p); return err }
	server := func(p string) error { _, err := mock.New(mock.WithFixtures(p)); return err }
	for _, tc := range []struct {
		name string
		load func(string) error
		path string
		want string
	}{
		{"fixtures from a FIFO", fixtures, fifo, fifo + ": is a named pipe; give a regular file"},
		{"scenario from a FIFO", scenario, fifo, "is a named pipe"},
		{"server with fixtures from a FIFO", server, fifo, "is a named pipe"},
		{"fixtures from /dev/zero", fixtures, "/dev/zero", "/dev/zero: is a device"},
		{"scenario from /dev/urandom", scenario, "/dev/urandom", "/dev/urandom: is a device"},
		{"fixtures from a directory", fixtures, dir, "is a directory"},
		{"fixtures past their bound", fixtures, bigFixtures, fmt.Sprintf("larger than %d bytes", mock.MaxFixtureFile)},
		{"scenario past its bound", scenario, bigScenario, fmt.Sprintf("larger than %d bytes", mock.MaxScenarioFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tc.load(tc.path) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%v, want an error with %q", err, tc.want)
				}
			case <-time.After(10 * time.Second): // a guard against hanging, not a timing check
				t.Fatal("still reading after 10 s")
			}
		})
	}
}

// TestYAMLAliases: no document the mock reads may use an alias, wherever it stands: fixtures,
// scenarios, admin uploads and validate alike refuse them with the file, line and field. The
// scenario here is about 100 KB whose aliases stand for 300 MB.
func TestYAMLAliases(t *testing.T) {
	scenarioBomb := "rules:\n  - respond:\n      status: 500\n      headers: {X-A: &big " + strings.Repeat("x", 100<<10) + "}\n      body:\n" + strings.Repeat("        - *big\n", 3000)
	fixtureBomb := "identities:\n  - {id: a, name: A}\npersonalAccessTokens:\n  - id: p\n    secret: s\n    name: n\n    owner: a\n    scope:\n      - &s " + strings.Repeat("y", 90) + "\n" + strings.Repeat("      - *s\n", 90)
	merge := "rateLimit: &rl {requests: 1, window: 1s}\nrules:\n  - name: x\n    respond: {status: 500}\n    match:\n      <<: *rl\n"
	for _, tc := range []struct {
		name, doc string
		parse     func(string, []byte) error
		want      string
	}{
		{"scenario body", scenarioBomb, parseScenario, "s.yaml:6: rules[0].respond.body[0]: aliases (*big) are not supported; write the value out"},
		{"fixture scope", fixtureBomb, parseFixtures, "s.yaml:10: personalAccessTokens[0].scope[1]: aliases (*s) are not supported"},
		{"merge key", merge, parseScenario, "s.yaml:6: rules[0].match.<<: aliases (*rl) are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			grown := heapGrowth(func() { err = tc.parse("s.yaml", []byte(tc.doc)) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%.200v\nwant an error with %q", err, tc.want)
			}
			if grown > 16<<20 {
				t.Errorf("parsing a %d-byte document left %d bytes", len(tc.doc), grown)
			}
		})
	}
	srv := newServer(t)
	adminErr(t, admin(t, srv, http.MethodPut, "/__admin/scenario", scenarioBomb), http.StatusBadRequest, "scenario:6: rules[0].respond.body[0]: aliases (*big) are not supported")
	adminErr(t, admin(t, srv, http.MethodPost, "/__admin/fixtures", fixtureBomb), http.StatusBadRequest, "fixtures:10: personalAccessTokens[0].scope[1]: aliases")
	path := filepath.Join(t.TempDir(), "bomb.yaml")
	if err := os.WriteFile(path, []byte(scenarioBomb), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mock.LoadScenarioFile(path); err == nil || !strings.Contains(err.Error(), path+":6: rules[0].respond.body[0]: aliases") {
		t.Errorf("scenario file: %.200v", err)
	}
	if _, err := mock.ParseScenario("ok.yaml", []byte("rules:\n  - name: &n anchored only\n    respond: {status: 500}\n")); err != nil {
		t.Errorf("an anchor without aliases: %v", err)
	}
}

func parseScenario(name string, data []byte) error {
	_, err := mock.ParseScenario(name, data)
	return err
}
func parseFixtures(name string, data []byte) error {
	_, err := mock.ParseFixtures(name, data)
	return err
}
