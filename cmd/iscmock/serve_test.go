package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock"
)

func TestHTTPServerTimeouts(t *testing.T) {
	s := httpServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Errorf("server %+v: want read-header, read, write and idle timeouts and a header bound", s)
	}
}

func TestLocalURL(t *testing.T) {
	cases := map[string]string{
		"":               "http://127.0.0.1:8080",
		"0.0.0.0:8080":   "http://127.0.0.1:8080",
		"[::]:9000":      "http://127.0.0.1:9000",
		":7000":          "http://127.0.0.1:7000",
		"10.1.2.3:8080":  "http://10.1.2.3:8080",
		"localhost:8081": "http://localhost:8081",
	}
	for addr, want := range cases {
		if got := localURL(addr); got != want {
			t.Errorf("localURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestServeRefusesBadFlags: values that mean nothing are refused before anything starts, naming
// the flag.
func TestServeRefusesBadFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a server that starts anyway stops at once
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"negative journal", []string{"--journal-size=-5"}, "", "--journal-size (ISCMOCK_JOURNAL_SIZE) must be at least 1; got -5"},
		{"empty journal", []string{"--journal-size=0"}, "", "--journal-size"},
		{"negative tenants", []string{"--max-tenants=-1"}, "", "--max-tenants (ISCMOCK_MAX_TENANTS) must be 0 (no bound) or more; got -1"},
		{"empty scenario names", nil, ",", "--scenario (ISCMOCK_SCENARIO) has an empty file name"},
		{"an empty scenario name among others", nil, ",../../scenarios/rate-limit.yaml", "--scenario (ISCMOCK_SCENARIO) has an empty file name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("ISCMOCK_SCENARIO", tc.env)
			}
			var stdout, stderr bytes.Buffer
			err := run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve %v: %v, want an error with %q", tc.args, err, tc.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("serve printed %q before refusing", stdout.String())
			}
		})
	}
}

// TestServeHonoursSignalsWhileLoading: a stop signal that comes before the server is up stops it
// at once; nothing is printed, nothing served.
func TestServeHonoursSignalsWhileLoading(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--fixtures", "../../testdata/fixtures/tenant.yaml"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "stopped before loading") || stdout.Len() > 0 {
		t.Errorf("serve after a signal: %v, printed %q; want it stopped before loading", err, stdout.String())
	}
}

// TestUnusedConnsClosed: at a stop, a connection that has sent no request for unusedAfter is closed
// (Shutdown would wait 5 s for it); a young one and one in use are left to Shutdown.
func TestUnusedConnsClosed(t *testing.T) {
	var u unusedConns
	conn := func(state http.ConnState) (server, client net.Conn) {
		server, client = net.Pipe()
		t.Cleanup(func() { server.Close(); client.Close() })
		u.track(server, http.StateNew)
		if state != http.StateNew {
			u.track(server, state)
		}
		return server, client
	}
	_, oldClient := conn(http.StateNew)
	young, youngClient := conn(http.StateNew)
	_, activeClient := conn(http.StateActive)
	for c := range u.opened {
		if c != young {
			u.opened[c] = time.Now().Add(-unusedAfter)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one sweep
	u.closeWhileShuttingDown(ctx)

	if _, err := oldClient.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("an old unused connection: read %v, want EOF (closed)", err)
	}
	for name, c := range map[string]net.Conn{"young": youngClient, "active": activeClient} {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the %s connection: read %v, want it open", name, err)
		}
	}
	if _, ok := u.opened[young]; !ok || len(u.opened) != 1 {
		t.Errorf("tracked %v, want only the young one", u.opened)
	}
}

// TestBannerShowsTwenty: a tenant of 25 tokens shows its first 20 and says how to list the rest,
// in the text banner and the JSON one, and no secret in the JSON one.
func TestBannerShowsTwenty(t *testing.T) {
	f := mock.Fixtures{Identities: []mock.Identity{{ID: strings.Repeat("a", 32), Name: "Ann Owner", UserLevels: []string{"ORG_ADMIN"}}}}
	for i := range 25 {
		f.PersonalAccessTokens = append(f.PersonalAccessTokens, mock.PAT{ID: fmt.Sprintf("%032x", i+1),
			Secret: fmt.Sprintf("%064x", i+1), Name: fmt.Sprint("token ", i+1), Owner: f.Identities[0].ID})
	}
	srv, err := mock.New(mock.WithFixtureData(f))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	lines := strings.Split(banner("http://127.0.0.1:1", srv), "\n")
	if got := len(lines); got != 3+20+1+2 { // three lines, 20 tokens, the rest, the empty line and after it
		t.Errorf("banner of %d lines:\n%s", got, strings.Join(lines, "\n"))
	}
	if want := "  ... and 5 more (GET http://127.0.0.1:1/__admin/pats lists them)"; lines[23] != want {
		t.Errorf("after 20 tokens: %q, want %q", lines[23], want)
	}

	var out bytes.Buffer
	jsonBanner(&out, "http://127.0.0.1:1", srv)
	var logged struct {
		Tokens []bannerToken `json:"personalAccessTokens"`
		More   int           `json:"morePersonalAccessTokens"`
	}
	if err := json.Unmarshal(out.Bytes(), &logged); err != nil {
		t.Fatal(err)
	}
	if len(logged.Tokens) != 20 || logged.More != 5 || strings.Contains(out.String(), f.PersonalAccessTokens[0].Secret) {
		t.Errorf("JSON banner: %d tokens, %d more, want 20 and 5, and no secret: %s", len(logged.Tokens), logged.More, out.String())
	}
}
