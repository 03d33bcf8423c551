package mock_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/iscmock/iscmock/mock"
)

// seedFiles adds every file matching the glob to the fuzz corpus.
func seedFiles(f *testing.F, glob string) {
	f.Helper()
	files, _ := filepath.Glob(glob)
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParseScenario: any document parses or fails with an error; none panics, and a parsed one
// loads into a server.
func FuzzParseScenario(f *testing.F) {
	seedFiles(f, filepath.Join("..", "scenarios", "*.yaml"))
	seedFiles(f, filepath.Join("..", "testdata", "scenarios", "*.yaml"))
	f.Add([]byte(`{"rules":[{"when":{"calls":[1]},"respond":{"status":429,"body":{"a":[1,{"b":null}]}}}]}`))
	srv, err := mock.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := mock.ParseScenario("fuzz.yaml", data)
		if err != nil {
			return
		}
		if err := srv.LoadScenario(s); err != nil {
			t.Fatalf("parsed but does not load: %v", err)
		}
	})
}

// FuzzParseFixtures: any document parses or fails with an error; none panics, and a parsed one
// seeds a server.
func FuzzParseFixtures(f *testing.F) {
	seedFiles(f, filepath.Join("..", "testdata", "fixtures", "*"))
	seedFiles(f, filepath.Join("..", "fixtures", "*.yaml"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fx, err := mock.ParseFixtures("fuzz.yaml", data)
		if err != nil {
			return
		}
		if _, err := mock.New(mock.WithFixtureData(fx)); err != nil {
			t.Fatalf("parsed but does not load: %v", err)
		}
	})
}

// fuzzTenant is a server for a fuzz target, with the admin API off so that no input can load a
// scenario that holds requests for seconds.
func fuzzTenant(f *testing.F) (*mock.Server, http.Handler, string) {
	srv, err := mock.New(mock.WithFixtureData(testFixtures()), mock.WithClock(start), mock.WithoutAdmin())
	if err != nil {
		f.Fatal(err)
	}
	tok, _ := srv.AccessToken(userID)
	return srv, srv.Handler(), tok
}

// serveChecked serves r in process and checks the properties every answer has: no 5xx (a panic
// comes out as ISC's 500), a JSON body in one of ISC's shapes for every 4xx, and nothing changed
// by a refused request.
func serveChecked(t *testing.T, srv *mock.Server, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	before := srv.PATs()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	switch {
	case w.Code >= 500:
		t.Fatalf("%s %s: %d %s", r.Method, r.URL, w.Code, w.Body)
	case w.Code >= 400:
		if r.Method != http.MethodHead && !iscShaped(w.Body.Bytes()) {
			t.Fatalf("%s %s: %d with a body in no ISC shape: %q", r.Method, r.URL, w.Code, w.Body)
		}
		if diff := cmp.Diff(before, srv.PATs()); diff != "" {
			t.Fatalf("%s %s: refused with %d, yet the tenant changed:\n%s", r.Method, r.URL, w.Code, diff)
		}
	}
	return w
}

// iscShaped reports whether an error body is ErrorResponseDto, the bearer-token 401, the OAuth
// error or the 429 body.
func iscShaped(body []byte) bool {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, dto := m["detailCode"]
	_, trackingID := m["trackingId"]
	_, oauth := m["error_description"]
	_, bearer := m["error"]
	_, throttled := m["message"]
	return dto && trackingID || oauth || bearer && len(m) == 1 || throttled && len(m) == 1
}

// FuzzPatch applies any body as a JSON Patch to the user's token, in a modern and a legacy version.
func FuzzPatch(f *testing.F) {
	srv, h, tok := fuzzTenant(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []string{"/v3", "/v2025"} {
			r := httptest.NewRequest(http.MethodPatch, v+"/personal-access-tokens/"+userPAT, bytes.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+tok)
			r.Header.Set("Content-Type", "application/json-patch+json")
			if w := serveChecked(t, srv, h, r); w.Code == http.StatusOK {
				p, _ := srv.PAT(userPAT)
				if p.Name == "" || p.Scope == nil || len(p.Name) > 1020 {
					t.Fatalf("patch %q left %+v", body, p)
				}
			}
		}
	})
}

// FuzzToken sends any parameters to /oauth/token. An input is three parts: the Content-Type, a
// line break, the query string, a line break, the body.
func FuzzToken(f *testing.F) {
	srv, h, _ := fuzzTenant(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		parts := bytes.SplitN(data, []byte("\n"), 3)
		for len(parts) < 3 {
			parts = append(parts, nil)
		}
		u := &url.URL{Path: "/oauth/token", RawQuery: string(parts[1])}
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(parts[2]))
		r.URL, r.RequestURI = u, u.String()
		r.Header.Set("Content-Type", string(parts[0]))
		if w := serveChecked(t, srv, h, r); w.Code == http.StatusOK && !strings.Contains(w.Body.String(), `"access_token":"`) {
			t.Fatalf("200 without a token: %s", w.Body)
		}
	})
}

// FuzzBearer sends any Authorization header: only a token this tenant signed gets through.
func FuzzBearer(f *testing.F) {
	srv, h, tok := fuzzTenant(f)
	f.Add([]byte("Bearer " + tok))
	f.Fuzz(func(t *testing.T, header []byte) {
		r := httptest.NewRequest(http.MethodGet, "/v3/personal-access-tokens?owner-id=me", nil)
		r.Header["Authorization"] = []string{string(header)}
		w := serveChecked(t, srv, h, r)
		if w.Code == http.StatusOK && strings.TrimSpace(strings.TrimPrefix(string(header), "Bearer")) != tok {
			t.Fatalf("accepted %q", header)
		}
	})
}

// FuzzHandler sends any HTTP request (an input is the request as it goes on the wire).
func FuzzHandler(f *testing.F) {
	srv, h, tok := fuzzTenant(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		r.Header.Set("Authorization", strings.ReplaceAll(r.Header.Get("Authorization"), "$TOKEN", tok))
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		serveChecked(t, srv, h, r)
	})
}

// FuzzYAMLAliases: a document with an alias anywhere is refused by both parsers, naming a line;
// one without is never worth more than a small multiple of its size once parsed.
func FuzzYAMLAliases(f *testing.F) {
	f.Add([]byte("rules:\n  - respond: {status: 500, headers: {X: &a v}, body: [*a, *a]}\n"))
	f.Add([]byte("identities:\n  - &i {id: a, name: A}\n  - *i\n"))
	f.Add([]byte("rateLimit: &rl {requests: 1, window: 1s}\nrules:\n  - match: {<<: *rl}\n    respond: {status: 500}\n"))
	f.Add([]byte("identities:\n  - {id: a, name: &n A, rights: [*n, *n]}\n"))
	f.Add([]byte("rules:\n  - name: &n x\n    respond: {status: 500}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var root yaml.Node
		if yaml.Unmarshal(data, &root) != nil {
			return
		}
		aliased := hasAlias(&root)
		sc, errS := mock.ParseScenario("fuzz.yaml", data)
		fx, errF := mock.ParseFixtures("fuzz.yaml", data)
		if aliased {
			for _, err := range []error{errS, errF} {
				if err == nil || !strings.Contains(err.Error(), "aliases (*") || !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
					t.Fatalf("a document with an alias: %v", err)
				}
			}
			return
		}
		for _, v := range []any{sc, fx} {
			if b, err := json.Marshal(v); err == nil && len(b) > 64*len(data)+1024 {
				t.Fatalf("a %d-byte document parsed into %d bytes", len(data), len(b))
			}
		}
	})
}

func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

// FuzzStateFile: any root tenant file either stops the server with an error or loads; one that
// loads is written back by the next change as the same state, which loads again to the same tenant.
func FuzzStateFile(f *testing.F) {
	dir := f.TempDir()
	srv, err := mock.New(mock.WithFixtureData(testFixtures()), mock.WithStateDir(dir))
	if err != nil {
		f.Fatal(err)
	}
	srv.Close()
	seedFiles(f, filepath.Join(dir, "root.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "root.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		first, err := mock.New(mock.WithStateDir(dir))
		if err != nil {
			return
		}
		want := first.Export()
		if err := first.Clock().Advance(0); err != nil { // a change: the file is written anew
			t.Fatalf("writing back a state that loaded: %v", err)
		}
		first.Close()
		again, err := mock.New(mock.WithStateDir(dir))
		if err != nil {
			t.Fatalf("loaded, written back, and then refused: %v", err)
		}
		defer again.Close()
		if diff := cmp.Diff(want, again.Export()); diff != "" {
			t.Fatalf("the state written back differs (-first +again):\n%s", diff)
		}
	})
}
