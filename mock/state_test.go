package mock_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/mock"
	"github.com/iscmock/iscmock/mock/internal/durable"
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
		{"clock before 1970", "root.json", regexpReplace(good, `"clockOffset": "[^"]*"`, `"clockOffset": "-500000h"`),
			"root.json:5: clockOffset: -500000h puts the clock at 1969-"},
		{"clock past 2200", "root.json", regexpReplace(good, `"clockOffset": "[^"]*"`, `"clockOffset": "1600000h"`),
			"outside the 1970-01-01 to 2200-01-01 it may show"},
		{"bad key", "root.json", regexpReplace(good, `"signingKey": "[^"]*"`, `"signingKey": "AAAA"`), "signingKey: must be a PKCS #8 key"},
		{"bad fixtures", "root.json", strings.Replace(good, `"name":"Ada Admin"`, `"name":""`, 1), "fixtures.identities[0].name"},
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
		mock.LowerStateDirWait(t, 0)
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

// faultyFS is the real file system, but for the failures a test turns on: every directory sync
// fails, or temporary files cannot be made (so that nothing can be written).
type faultyFS struct {
	durable.FS
	syncDirFails, createFails atomic.Bool
	writes                    atomic.Int64 // files made
}

func (f *faultyFS) SyncDir(dir string) error {
	if f.syncDirFails.Load() {
		return errors.New("input/output error (a test's)")
	}
	return f.FS.SyncDir(dir)
}

func (f *faultyFS) CreateTemp(dir, pattern string) (durable.File, error) {
	if f.createFails.Load() {
		return nil, errors.New("no space left on device (a test's)")
	}
	f.writes.Add(1)
	return f.FS.CreateTemp(dir, pattern)
}

// TestStateDirUnsettledWriteIsPutBack: when the directory's sync fails after a file was renamed
// into place, the write is answered as not kept, and the file is put back first: a server started
// on the directory afterwards has the state from before, for every kind of write.
func TestStateDirUnsettledWriteIsPutBack(t *testing.T) {
	cases := []struct {
		name  string
		write func(t *testing.T, srv *mock.Server) error
	}{
		{"create", func(t *testing.T, srv *mock.Server) error {
			return statusError(do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: token(t, srv, adminID), Body: `{"name":"lost"}`}))
		}},
		{"patch", func(t *testing.T, srv *mock.Server) error {
			return statusError(do(t, srv, request{Method: http.MethodPatch, Path: "/v3/personal-access-tokens/" + adminPAT, Token: token(t, srv, adminID),
				Body: `[{"op":"replace","path":"/name","value":"lost"}]`}))
		}},
		{"seed", func(t *testing.T, srv *mock.Server) error {
			return srv.Seed(mock.Fixtures{Identities: []mock.Identity{{ID: "lost-one", Name: "Lost"}}})
		}},
		{"clock move", func(t *testing.T, srv *mock.Server) error { return srv.Clock().Advance(48 * time.Hour) }},
		{"tenant made", func(t *testing.T, srv *mock.Server) error { _, err := srv.OpenTenant("lost-tenant"); return err }},
		{"tenant dropped", func(t *testing.T, srv *mock.Server) error { _, err := srv.DropTenant("kept-tenant"); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fsys := &faultyFS{FS: durable.OS}
			srv := newServer(t, mock.WithStateDir(dir), mock.WithStateFS(fsys))
			if _, err := srv.OpenTenant("kept-tenant"); err != nil {
				t.Fatal(err)
			}
			before, clock, tenants := srv.Export(), srv.Clock().Now(), srv.Tenants()

			fsys.syncDirFails.Store(true)
			if err := tc.write(t, srv); err == nil || !strings.Contains(err.Error(), "could not be") {
				t.Fatalf("an unsettled write: %v, want it refused", err)
			}
			if diff := cmp.Diff(before, srv.Export()); diff != "" || !cmp.Equal(tenants, srv.Tenants()) {
				t.Errorf("the refused write changed the server (-before +after):\n%s\ntenants %v", diff, srv.Tenants())
			}
			fsys.syncDirFails.Store(false)
			srv.Close()

			again := newServer(t, mock.WithStateDir(dir))
			if diff := cmp.Diff(before, again.Export()); diff != "" {
				t.Errorf("after a restart, the refused write is there (-before +after):\n%s", diff)
			}
			if got := again.Tenants(); !cmp.Equal(tenants, got) {
				t.Errorf("after a restart, tenants %v, want %v", got, tenants)
			}
			if d := again.Clock().Now().Sub(clock); d > time.Minute {
				t.Errorf("after a restart, the refused clock move is there: %v on", d)
			}
		})
	}
}

// statusError is an API answer other than a success as an error holding its cause.
func statusError(res response) error {
	if res.Status < 300 {
		return nil
	}
	return fmt.Errorf("%d %s: %s", res.Status, res.Body, res.Header.Get("Iscmock-Cause"))
}

// TestStateDirUnsettledUntilAWriteIsKept: when the file cannot be put back either, the write's 500
// says that it may come back after a restart, and so does every write's until one is kept; the
// first kept write settles the file.
func TestStateDirUnsettledUntilAWriteIsKept(t *testing.T) {
	dir := t.TempDir()
	fsys := &faultyFS{FS: durable.OS}
	srv := newServer(t, mock.WithStateDir(dir), mock.WithStateFS(fsys))
	bearer := token(t, srv, adminID)
	create := func(name string) response {
		return do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: bearer, Body: fmt.Sprintf(`{"name":%q}`, name)})
	}

	fsys.syncDirFails.Store(true)
	written := fsys.writes.Load()
	res := create("unsettled")
	// The write reached the file; its put-back failed with the same sync.
	if fsys.writes.Load() != written+2 {
		t.Fatalf("%d files written, want the write and its put-back", fsys.writes.Load()-written)
	}
	res.wantError(t, http.StatusInternalServerError, "500.0 Internal Fault", "An internal fault occurred.", "putting its file back failed too")
	fsys.createFails.Store(true)
	create("refused").wantError(t, http.StatusInternalServerError, "500.0 Internal Fault", "An internal fault occurred.",
		"an earlier failed write may still be in its file: writes fail until one is kept")

	fsys.syncDirFails.Store(false)
	fsys.createFails.Store(false)
	kept := createPAT(t, srv, adminID, "kept")
	srv.Close()
	again := newServer(t, mock.WithStateDir(dir))
	var names []string
	for _, p := range again.PATs() {
		names = append(names, p.Name)
	}
	if !slices.Contains(names, "kept") || slices.Contains(names, "unsettled") || slices.Contains(names, "refused") {
		t.Errorf("after a kept write and a restart: %v, want kept (%s) and neither refused write", names, kept)
	}
}

// TestStateDirTenantNamesDoNotFold: with a state directory, a tenant name that differs only in
// case from one the server holds is refused, so that no two tenants' files are one file where case
// is ignored: the mapping from names to files, folded as such a file system folds it, stays
// one-to-one. A name freed by a drop may be taken in another case.
func TestStateDirTenantNamesDoNotFold(t *testing.T) {
	dir := t.TempDir()
	srv := newServer(t, mock.WithStateDir(dir))
	for _, name := range []string{"job", "Job-2", "job-3"} {
		if _, err := srv.OpenTenant(name); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"JOB", "jOb", "job-2"} {
		if _, err := srv.OpenTenant(name); err == nil || !strings.Contains(err.Error(), "400.1.409 Reference conflict") ||
			!strings.Contains(err.Error(), "differs only in case") {
			t.Errorf("OpenTenant(%q): %v, want a 400 naming the clash", name, err)
		}
	}
	// Over HTTP too: the tenant's first real use is refused, in ISC's shape.
	res := do(t, srv, request{Method: http.MethodPost, Path: "/tenants/JOB/oauth/token", ContentType: "application/x-www-form-urlencoded",
		Body: grantForm(mock.PAT{ID: adminPAT, Secret: secret})})
	res.wantStatus(t, http.StatusBadRequest)
	if !strings.Contains(string(res.Body), "differs only in case") {
		t.Errorf("the refusal's body %s does not say why", res.Body)
	}
	if _, err := srv.DropTenant("job"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.OpenTenant("JOB"); err != nil {
		t.Fatalf("a name freed by a drop, in another case: %v", err)
	}
	folded := map[string]string{}
	for _, name := range append(srv.Tenants(), "") {
		f := strings.ToLower(srv.StatePath(name)) // as a case-ignoring file system sees it
		if other, ok := folded[f]; ok {
			t.Errorf("tenants %q and %q share the file %s where case is ignored", other, name, f)
		}
		folded[f] = name
	}
	srv.Close()
	if got := newServer(t, mock.WithStateDir(dir)).Tenants(); !cmp.Equal(got, []string{"JOB", "Job-2", "job-3"}) {
		t.Errorf("after a restart: %v", got)
	}
	// Without a state directory there are no files to share, and nothing is refused.
	free := newServer(t)
	for _, name := range []string{"job", "JOB"} {
		if _, err := free.OpenTenant(name); err != nil {
			t.Errorf("OpenTenant(%q) without a state directory: %v", name, err)
		}
	}
}

// TestStateDirStartWritesNothing: a server started on a state directory reads every tenant's file
// and writes none; the root's is written only if it has none yet.
func TestStateDirStartWritesNothing(t *testing.T) {
	dir := t.TempDir()
	fsys := &faultyFS{FS: durable.OS}
	first := newServer(t, mock.WithStateDir(dir), mock.WithStateFS(fsys))
	if fsys.writes.Load() != 1 {
		t.Errorf("a new state directory: %d files written, want root.json", fsys.writes.Load())
	}
	for i := range 5 {
		if _, err := first.OpenTenant(fmt.Sprint("t", i)); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()
	fsys.writes.Store(0)
	again := newServer(t, mock.WithStateDir(dir), mock.WithStateFS(fsys))
	if n := fsys.writes.Load(); n != 0 || len(again.Tenants()) != 5 {
		t.Errorf("a start on 6 kept tenants wrote %d files and has %d tenants; want none written, 5 tenants", n, len(again.Tenants()))
	}
}

// TestStateDirWaitsForTheServerBefore: a server started on a directory another one holds waits
// for it, up to a bound; it starts as soon as the other closes, with everything the other kept.
func TestStateDirWaitsForTheServerBefore(t *testing.T) {
	mock.LowerStateDirWait(t, 200*time.Millisecond)
	dir := t.TempDir()
	first := newServer(t, mock.WithStateDir(dir))
	if _, err := mock.New(mock.WithStateDir(dir)); err == nil || !strings.Contains(err.Error(), "in use by another iscmock server (waited 200ms") {
		t.Fatalf("a second server on a held directory: %v", err)
	}
	mock.LowerStateDirWait(t, time.Minute)
	id := createPAT(t, first, adminID, "written last")
	second := make(chan *mock.Server)
	go func() {
		srv, err := mock.New(mock.WithStateDir(dir))
		if err != nil {
			t.Error(err)
		}
		second <- srv
	}()
	first.Close() // whenever the second is waiting: it starts after
	srv := <-second
	if srv == nil {
		t.FailNow()
	}
	defer srv.Close()
	if _, ok := srv.PAT(id); !ok {
		t.Error("the token the first server wrote last is missing")
	}
}

// blockingFS holds up one operation ("rename" into place, or "remove") on one tenant's file until
// released.
type blockingFS struct {
	durable.FS
	op, file string        // "remove", "large.json"
	waiting  chan struct{} // the operation has begun
	release  chan struct{}
}

func newBlockingFS(op, file string) *blockingFS {
	return &blockingFS{FS: durable.OS, op: op, file: file, waiting: make(chan struct{}), release: make(chan struct{})}
}

func (b *blockingFS) hold(op, path string) {
	if op == b.op && filepath.Base(path) == b.file {
		b.waiting <- struct{}{}
		<-b.release
	}
}

func (b *blockingFS) Remove(path string) error {
	b.hold("remove", path)
	return b.FS.Remove(path)
}

func (b *blockingFS) Rename(from, to string) error {
	b.hold("rename", to)
	return b.FS.Rename(from, to)
}

// TestStateDirClaimHoldsUpNoOtherTenant: a new tenant's file is written outside the server's lock,
// so that while a claim waits on the disk, other tenants are made and served, and the waiting one
// is not served before its file is kept.
func TestStateDirClaimHoldsUpNoOtherTenant(t *testing.T) {
	fsys := newBlockingFS("rename", "slow.json")
	srv := newServer(t, mock.WithStateDir(t.TempDir()), mock.WithStateFS(fsys))
	claimed := make(chan error)
	go func() { _, err := srv.OpenTenant("slow"); claimed <- err }()
	<-fsys.waiting
	other, err := srv.OpenTenant("other") // during the claim's write
	if err != nil {
		t.Fatal(err)
	}
	list(t, srv, "/tenants/other/v3/personal-access-tokens?owner-id=me", token(t, other, adminID))
	if got := srv.Tenants(); !cmp.Equal(got, []string{"other"}) {
		t.Errorf("tenants %v while slow's file is written, want other alone", got)
	}
	fsys.release <- struct{}{}
	if err := <-claimed; err != nil {
		t.Fatal(err)
	}
	if got := srv.Tenants(); !cmp.Equal(got, []string{"other", "slow"}) {
		t.Errorf("tenants %v, want other and slow", got)
	}
}

// TestStateDirDropHoldsUpNoOtherTenant: a tenant's file is removed outside the server's lock, so
// that while a large tenant's drop waits on the disk, other tenants are made and served.
func TestStateDirDropHoldsUpNoOtherTenant(t *testing.T) {
	fsys := newBlockingFS("remove", "large.json")
	srv := newServer(t, mock.WithStateDir(t.TempDir()), mock.WithStateFS(fsys))
	if _, err := srv.OpenTenant("large"); err != nil {
		t.Fatal(err)
	}
	dropped := make(chan error)
	go func() { _, err := srv.DropTenant("large"); dropped <- err }()
	<-fsys.waiting
	other, err := srv.OpenTenant("other") // during the drop's removal
	if err != nil {
		t.Fatal(err)
	}
	list(t, srv, "/tenants/other/v3/personal-access-tokens?owner-id=me", token(t, other, adminID))
	fsys.release <- struct{}{}
	if err := <-dropped; err != nil {
		t.Fatal(err)
	}
	if got := srv.Tenants(); !cmp.Equal(got, []string{"other"}) {
		t.Errorf("tenants %v, want other alone", got)
	}
}
