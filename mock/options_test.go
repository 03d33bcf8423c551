package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/iscmock/iscmock/mock"
)

// TestOptionBounds: option values that mean nothing are refused, naming the option.
func TestOptionBounds(t *testing.T) {
	for _, tc := range []struct {
		opt  mock.Option
		want string
	}{
		{mock.WithJournalSize(-5), "WithJournalSize(-5)"},
		{mock.WithJournalSize(0), "WithJournalSize(0)"},
		{mock.WithMaxTenants(-1), "WithMaxTenants(-1)"},
		{mock.WithMaxTokensPerOwner(-1), "WithMaxTokensPerOwner(-1)"},
	} {
		if _, err := mock.New(tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.want, err)
		}
	}
}

// recordingTB is a testing.TB whose Log is kept, to see what a server logs into a test.
type recordingTB struct {
	testing.TB
	mu    sync.Mutex
	lines []string
}

func (r *recordingTB) Log(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprint(args...))
}

// TestWithTestLog: each request is a line of the test's own log, with the unit of its duration in
// its name and no secret; lines stop once the test ends, even from a server that outlives it.
func TestWithTestLog(t *testing.T) {
	var inner *recordingTB
	var srv *mock.Server
	t.Run("a test", func(t *testing.T) {
		inner = &recordingTB{TB: t}
		var err error
		if srv, err = mock.New(mock.WithTestLog(inner), mock.WithClock(start)); err != nil {
			t.Fatal(err)
		}
		tok := serve(t, srv, http.MethodPost, "/oauth/token", defaultAdminCredentials, "")
		serve(t, srv, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", "", tok)
		inner.mu.Lock()
		defer inner.mu.Unlock()
		if len(inner.lines) != 2 {
			t.Fatalf("%d lines, want one per request: %q", len(inner.lines), inner.lines)
		}
		line := inner.lines[1]
		for _, want := range []string{"msg=request", "method=GET", "path=/v3/personal-access-tokens", "operation=listPersonalAccessTokens", "status=200", "durationMs="} {
			if !strings.Contains(line, want) {
				t.Errorf("line %q lacks %s", line, want)
			}
		}
		if strings.Contains(line, "time=") || strings.Contains(strings.Join(inner.lines, "\n"), mock.DefaultAdminClientSecret) || strings.Contains(line, tok) {
			t.Errorf("line %q shows the real time, a secret or a token", line)
		}
	})
	defer srv.Close()
	serve(t, srv, http.MethodPost, "/oauth/token", defaultAdminCredentials, "") // tb.Log would panic now
	inner.mu.Lock()
	defer inner.mu.Unlock()
	if len(inner.lines) != 2 {
		t.Errorf("%d lines, want none more after the test ended", len(inner.lines))
	}
}

// defaultAdminCredentials exchange the default tenant's admin PAT.
var defaultAdminCredentials = url.Values{"grant_type": {"client_credentials"}, "client_id": {mock.DefaultAdminClientID},
	"client_secret": {mock.DefaultAdminClientSecret}}.Encode()

// serve has the handler answer a request, as a server with no listener does; it returns the
// access token of a token answer.
func serve(t *testing.T, h http.Handler, method, path, form, bearer string) string {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(form))
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	var tok tokenJSON
	_ = json.Unmarshal(rec.Body.Bytes(), &tok)
	return tok.AccessToken
}
