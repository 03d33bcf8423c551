package mock_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
)

// TestStateDirGoesOn: a random tenant, changed through the API, and a server started on a copy of
// its state directory answer every list, filter and token exchange alike; the second verifies
// the first's bearer tokens and goes on with the same clock.
func TestStateDirGoesOn(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x57a7e))
			dir := t.TempDir()
			src := mock.NewServer(t, mock.WithFixtureData(randomFixtures(rng)), mock.WithClock(start), mock.WithStateDir(dir))
			bearer := token(t, src, adminID) // minted before the changes, which may disable its identity
			changeAtRandom(t, src, rng)

			dst := mock.NewServer(t, mock.WithFixtureData(randomFixtures(rng)), mock.WithStateDir(copyDir(t, dir)))
			if diff := cmp.Diff(src.Export(), dst.Export()); diff != "" {
				t.Fatalf("state after a restart (-before +after):\n%s", diff)
			}
			if d := dst.Clock().Now().Sub(src.Clock().Now()); d.Abs() > time.Minute {
				t.Errorf("the clock moved by %v over the restart", d)
			}
			// Verified by the key kept: the answer is the first server's, 401 for a disabled identity included.
			mine := request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: bearer}
			if a, b := do(t, src, mine), do(t, dst, mine); a.Status != b.Status || string(a.Body) != string(b.Body) {
				t.Errorf("a bearer token from before: %d %s\nafter the restart: %d %s", a.Status, a.Body, b.Status, b.Body)
			}
			sameAnswers(t, src, dst, rng)
		})
	}
}

// copyDir copies a state directory's files, as a backup taken while its server runs would.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			return os.Mkdir(filepath.Join(out, rel), 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(out, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStateDirKeepsEveryChange: each kind of change is in the state directory when it returns,
// tenants made and dropped included, and Reset goes back to the fixtures, not to the kept state.
func TestStateDirKeepsEveryChange(t *testing.T) {
	dir := t.TempDir()
	restart := func(srv *mock.Server) *mock.Server {
		srv.Close()
		return newServer(t, mock.WithStateDir(dir))
	}
	srv := newServer(t, mock.WithStateDir(dir))
	created := createPAT(t, srv, adminID, "kept")
	srv = restart(srv)
	if _, ok := srv.PAT(created); !ok {
		t.Fatal("a created token is gone after a restart")
	}

	steps := []struct {
		name   string
		change func(*mock.Server) error
		check  func(*mock.Server) string
	}{
		{"identity disabled", func(s *mock.Server) error { return s.SetIdentityEnabled(userID, false) },
			func(s *mock.Server) string {
				if id, _ := s.Identity(userID); id.Enabled == nil || *id.Enabled {
					return "the identity is enabled again"
				}
				return ""
			}},
		{"clock moved", func(s *mock.Server) error { return s.Clock().Set(start.AddDate(1, 0, 0)) },
			func(s *mock.Server) string {
				if now := s.Clock().Now(); now.Before(start.AddDate(1, 0, 0)) {
					return fmt.Sprintf("the clock shows %v", now)
				}
				return ""
			}},
		{"token deleted", func(s *mock.Server) error {
			res := do(t, s, request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + created, Token: token(t, s, adminID)})
			res.wantStatus(t, http.StatusNoContent)
			return nil
		}, func(s *mock.Server) string {
			if _, ok := s.PAT(created); ok {
				return "the deleted token is back"
			}
			return ""
		}},
		{"identity removed", func(s *mock.Server) error { return s.RemoveIdentity(auditorID) },
			func(s *mock.Server) string {
				if _, ok := s.Identity(auditorID); ok {
					return "the removed identity is back"
				}
				return ""
			}},
		{"tenant made", func(s *mock.Server) error { _, err := s.OpenTenant("team-a"); return err },
			func(s *mock.Server) string {
				if got := s.Tenants(); !cmp.Equal(got, []string{"team-a"}) {
					return fmt.Sprintf("tenants %v", got)
				}
				return ""
			}},
		{"tenant dropped", func(s *mock.Server) error { _, err := s.DropTenant("team-a"); return err },
			func(s *mock.Server) string {
				if got := s.Tenants(); len(got) != 0 {
					return fmt.Sprintf("tenants %v", got)
				}
				return ""
			}},
		{"reset", func(s *mock.Server) error { return s.Reset() },
			func(s *mock.Server) string {
				if diff := cmp.Diff(newServer(t).Export(), s.Export()); diff != "" {
					return "not the fixtures after a reset:\n" + diff
				}
				return ""
			}},
	}
	for _, step := range steps {
		if err := step.change(srv); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		srv = restart(srv)
		if problem := step.check(srv); problem != "" {
			t.Errorf("%s, then a restart: %s", step.name, problem)
		}
	}
}

// createPAT creates a token through the API and returns its id.
func createPAT(t *testing.T, srv *mock.Server, owner, name string) string {
	t.Helper()
	var p patJSON
	do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, owner),
		Body: fmt.Sprintf(`{"name":%q}`, name)}).wantStatus(t, http.StatusOK).decode(t, &p)
	return p.ID
}

// TestStateDirSeededIDsGoOn: a seeded server started again on its state goes on with the ids after
// the ones it made, never making one twice.
func TestStateDirSeededIDsGoOn(t *testing.T) {
	dir := t.TempDir()
	first := newServer(t, mock.WithSeed(7), mock.WithStateDir(dir))
	a := createPAT(t, first, adminID, "before")
	first.Close()
	second := newServer(t, mock.WithSeed(7), mock.WithStateDir(dir))
	b := createPAT(t, second, adminID, "after")
	if a == b {
		t.Fatalf("the restarted server made id %s again", a)
	}
	for _, id := range []string{a, b} {
		if _, ok := second.PAT(id); !ok {
			t.Errorf("token %s is missing", id)
		}
	}
}

// TestStateDirFailedWriteChangesNothing: when the tenant's file cannot be written, every kind of
// write is answered with ISC's 500 (the admin API's for admin calls) and changes nothing; the
// server keeps serving, and keeps writing once it can again.
func TestStateDirFailedWriteChangesNothing(t *testing.T) {
	dir := t.TempDir()
	srv := newServer(t, mock.WithStateDir(dir))
	bearer := token(t, srv, adminID)
	before := srv.Export()
	clockBefore := srv.Clock().Now()
	// A directory where the file is makes every replacement of it fail.
	file := filepath.Join(dir, "root.json")
	if err := os.Rename(file, file+".good"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(file, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	const cause = "could not be kept"
	api := []request{
		{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: bearer, Body: `{"name":"lost"}`},
		{Method: http.MethodPatch, Path: "/beta/personal-access-tokens/" + adminPAT, Token: bearer,
			Body: `[{"op":"replace","path":"/name","value":"lost"}]`},
		{Method: http.MethodDelete, Path: "/v2025/personal-access-tokens/" + adminPAT, Token: bearer},
	}
	for _, r := range api {
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			do(t, srv, r).wantError(t, http.StatusInternalServerError, "500.0 Internal Fault", "An internal fault occurred.", cause)
		})
	}
	exchange := do(t, srv, request{Method: http.MethodPost, Path: "/oauth/token", ContentType: "application/x-www-form-urlencoded",
		Body: grantForm(mock.PAT{ID: adminPAT, Secret: secret})}) // its first use sets lastUsed
	exchange.wantStatus(t, http.StatusInternalServerError)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/__admin/reset", ""},
		{http.MethodPost, "/__admin/clock", `{"advance":"48h"}`},
		{http.MethodPost, "/__admin/fixtures", `{"identities":[{"id":"new-one","name":"New"}]}`},
		{http.MethodPatch, "/__admin/identities/" + userID, `{"enabled":false}`},
		{http.MethodDelete, "/__admin/identities/" + auditorID, ""},
	} {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			adminErr(t, admin(t, srv, r.method, r.path, r.body), http.StatusInternalServerError, cause)
		})
	}
	if diff := cmp.Diff(before, srv.Export()); diff != "" {
		t.Errorf("failed writes changed the state (-before +after):\n%s", diff)
	}
	if d := srv.Clock().Now().Sub(clockBefore); d > time.Minute {
		t.Errorf("a failed clock move moved the clock by %v", d)
	}
	list(t, srv, "/v3/personal-access-tokens", bearer) // still serving

	if err := os.RemoveAll(file); err != nil {
		t.Fatal(err)
	}
	id := createPAT(t, srv, adminID, "kept")
	srv.Close()
	again := newServer(t, mock.WithStateDir(dir))
	if _, ok := again.PAT(id); !ok {
		t.Error("a write after the disk recovered is not kept")
	}
	if temps, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(temps) > 0 {
		t.Errorf("failed writes left %v", temps)
	}
}

// TestStateDirBounded: a change that would make the tenant's file larger than MaxStateFile (here
// lowered to 1 MiB, to be quick) fails and changes nothing.
func TestStateDirBounded(t *testing.T) {
	limit := mock.LowerStateFileLimit(t, 1<<20)
	srv := newServer(t, mock.WithStateDir(t.TempDir()))
	scope := make([]string, 100)
	for i := range scope {
		scope[i] = fmt.Sprintf("%03d%s", i, strings.Repeat("s", 97))
	}
	var big mock.Fixtures
	for i := range limit / (100 * 100) {
		big.PersonalAccessTokens = append(big.PersonalAccessTokens, mock.PAT{ID: fmt.Sprintf("b%031d", i), Secret: secret,
			Name: fmt.Sprint("big ", i), Owner: adminID, Scope: scope, Created: start})
	}
	before := srv.Export()
	err := srv.Seed(big)
	if err == nil || !strings.Contains(err.Error(), "more than the") {
		t.Fatalf("seeding past the bound: %v", err)
	}
	if diff := cmp.Diff(before, srv.Export()); diff != "" {
		t.Errorf("the refused seed changed the state:\n%s", diff)
	}
}

// TestStateDirBadFiles: a state file that cannot be loaded stops the server, naming the file, the
// line and the field; so does a directory another server uses.
func TestStateDirBadFiles(t *testing.T) {
	good := func(t *testing.T) string {
		dir := t.TempDir()
		srv := newServer(t, mock.WithStateDir(dir))
		srv.Close()
		data, err := os.ReadFile(filepath.Join(dir, "root.json"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}(t)
	for _, tc := range []struct {
		name, file, data, want string
	}{
		{"not JSON", "root.json", "{", "root.json"},
		{"other format", "root.json", strings.Replace(good, `"state/1"`, `"state/9"`, 1), `root.json:2: iscmock: must be "state/1"`},
		{"another tenant's", "tenants/a.json", good, `a.json:3: tenant: is "", but the file is tenant "a"'s`},
		{"bad clock", "root.json", regexpReplace(good, `"clockOffset": "[^"]*"`, `"clockOffset": "soon"`), "clockOffset: must be a duration"},
		{"bad key", "root.json", regexpReplace(good, `"signingKey": "[^"]*"`, `"signingKey": "AAAA"`), "signingKey: must be a PKCS #8 key"},
		{"bad fixtures", "root.json", strings.Replace(good, `"name": "Ada Admin"`, `"name": ""`, 1), "fixtures.identities[0].name"},
		{"unknown field", "root.json", strings.Replace(good, `"tenant":`, `"tenent":`, 1), "tenent: unknown field"},
		{"bad tenant name", "tenants/no good.json", good, "not a tenant's file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := mock.New(mock.WithFixtureData(testFixtures()), mock.WithStateDir(dir))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error with %q", err, tc.want)
			}
		})
	}
	t.Run("in use", func(t *testing.T) {
		dir := t.TempDir()
		newServer(t, mock.WithStateDir(dir))
		_, err := mock.New(mock.WithStateDir(dir))
		if err == nil || !strings.Contains(err.Error(), "in use by another iscmock server") {
			t.Fatalf("a second server on one directory: %v", err)
		}
	})
	t.Run("more tenants than the bound", func(t *testing.T) {
		dir := t.TempDir()
		srv := newServer(t, mock.WithStateDir(dir))
		for _, n := range []string{"a", "b", "c"} {
			if _, err := srv.OpenTenant(n); err != nil {
				t.Fatal(err)
			}
		}
		srv.Close()
		_, err := mock.New(mock.WithStateDir(dir), mock.WithMaxTenants(2))
		if err == nil || !strings.Contains(err.Error(), "holds 3 tenants, more than the 2") {
			t.Fatalf("New: %v", err)
		}
	})
}

func regexpReplace(s, expr, with string) string {
	return regexp.MustCompile(expr).ReplaceAllLiteralString(s, with)
}
