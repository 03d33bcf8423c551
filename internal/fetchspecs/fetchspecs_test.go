package fetchspecs_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/iscmock/iscmock/internal/conformance"
	"github.com/iscmock/iscmock/internal/fetchspecs"
)

// prefix puts the fixture repository below the server's root, as on raw.githubusercontent.com, so
// that a ref escaping the repository still reaches the server and can be seen not to be fetched.
const prefix = "/sailpoint-oss/api-specs/81ef79d0"

// upstream serves testdata/upstream, with some files replaced, and counts the requests.
type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string]int // path below prefix, or the full path for others
}

func serve(t *testing.T, override map[string]http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{hits: map[string]int{}}
	files := http.FileServer(http.Dir("testdata/upstream"))
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := strings.CutPrefix(r.URL.Path, prefix+"/")
		u.mu.Lock()
		if ok {
			u.hits[p]++
		} else {
			u.hits[r.URL.Path]++
		}
		u.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if h := override[p]; h != nil {
			h(w, r)
			return
		}
		r = r.Clone(r.Context())
		r.URL.Path = "/" + p
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) base() string { return u.srv.URL + prefix }

func (u *upstream) count(p string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[p]
}

func body(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(s)) }
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func run(t *testing.T, o fetchspecs.Options) (string, error) {
	t.Helper()
	var out bytes.Buffer
	o.Out = &out
	err := fetchspecs.Run(context.Background(), o)
	return out.String(), err
}

// snapshot is a directory's files and their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(data)
	}
	return m
}

// oldDir is an output directory holding an earlier document and a file of someone else's.
func oldDir(t *testing.T) string {
	dir := t.TempDir()
	for name, data := range map[string]string{"README.md": "kept\n", "sailpoint-pat.v3.yaml": "old\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRun(t *testing.T) {
	up := serve(t, nil)
	dir := oldDir(t)
	out, err := run(t, fetchspecs.Options{BaseURL: up.base(), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("one line per file written, nothing else left", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(fetchspecs.Versions) {
			t.Fatalf("output:\n%s", out)
		}
		files := snapshot(t, dir)
		if files["README.md"] != "kept\n" || len(files) != 1+len(fetchspecs.Versions) {
			t.Errorf("directory holds %d files, README %q", len(files), files["README.md"])
		}
		for i, v := range fetchspecs.Versions {
			if !strings.HasPrefix(lines[i], "wrote "+filepath.Join(dir, v.File())+" ") {
				t.Errorf("line %d: %q", i, lines[i])
			}
			if !strings.HasPrefix(files[v.File()], "# The ") {
				t.Errorf("%s does not start with its provenance comment", v.File())
			}
		}
	})

	t.Run("each file fetched once, dropped paths not at all", func(t *testing.T) {
		for p, n := range up.hits {
			if n != 1 {
				t.Errorf("%s fetched %d times", p, n)
			}
		}
		for _, p := range []string{"idn/beta/paths/other-things.yaml", "idn/v3/paths/other-things.yaml",
			"idn/apis/personal-access-tokens/paths/personal-access-tokens-v1-bulk-update.yaml"} {
			if up.count(p) != 0 {
				t.Errorf("%s was fetched", p)
			}
		}
	})

	t.Run("documents resolved", func(t *testing.T) {
		cases := []struct {
			version, list, item string
			schemas             []string // some component schemas it must hold
		}{
			{"beta", "/personal-access-tokens", "/personal-access-tokens/{id}", []string{"JsonPatchOperation"}},
			{"v3", "/personal-access-tokens", "/personal-access-tokens/{id}", []string{"ErrorResponseDto", "LocaleOrigin"}},
			{"v2024", "/personal-access-tokens", "/personal-access-tokens/{id}", []string{"ErrorResponseDto"}},
			{"v2025", "/personal-access-tokens", "/personal-access-tokens/{id}", []string{"Scopes", "Expiry"}},
			{"v2026", "/personal-access-tokens", "/personal-access-tokens/{id}", []string{"TokenName", "Scopes"}},
			{"v1", "/personal-access-tokens/v1", "/personal-access-tokens/v1/{id}", []string{"getpersonalaccesstokenresponse", "errorresponsedto"}},
		}
		for _, c := range cases {
			t.Run(c.version, func(t *testing.T) {
				doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(dir, "sailpoint-pat."+c.version+".yaml"))
				if err != nil {
					t.Fatal(err)
				}
				if doc.Paths.Len() != 2 || doc.Paths.Value(c.list) == nil || doc.Paths.Value(c.item) == nil {
					t.Fatalf("paths: %v", doc.Paths.InMatchingOrder())
				}
				list, item := doc.Paths.Value(c.list), doc.Paths.Value(c.item)
				if list.Get == nil || list.Post == nil || item.Patch == nil || item.Delete == nil {
					t.Fatal("an operation is missing")
				}
				listed := list.Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value.Items.Value
				if id := listed.Properties["owner"].Value.Properties["id"]; id == nil || !id.Value.Type.Is("string") {
					t.Errorf("list item's owner has no id string: %+v", listed.Properties["owner"].Value)
				}
				patch := item.Patch.RequestBody.Value.Content.Get("application/json-patch+json").Schema.Value.Items.Value
				if patch.Properties["op"] == nil {
					t.Error("patch operation has no op")
				}
				bad := item.Patch.Responses.Status(404).Value.Content.Get("application/json").Schema.Value
				if bad.Properties["messages"].Value.Items.Value.Properties["localeOrigin"] == nil {
					t.Error("404's ErrorResponseDto has no messages[].localeOrigin")
				}
				// The tests' wire contract can be derived from it, as the drift check does.
				data, err := os.ReadFile(filepath.Join(dir, "sailpoint-pat."+c.version+".yaml"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conformance.DeriveContract(c.version, data); err != nil {
					t.Errorf("no wire contract derives from it: %v", err)
				}
				for _, name := range c.schemas {
					if doc.Components.Schemas[name] == nil {
						t.Errorf("no component schema %s among %v", name, keys(doc.Components.Schemas))
					}
				}
				if doc.Components.SecuritySchemes["userAuth"] == nil || len(doc.Security) != 1 {
					t.Error("no userAuth scheme or root-level security")
				}
				if len(doc.Tags) != 1 || doc.Tags[0].Name != "Personal Access Tokens" {
					t.Errorf("tags: %v", doc.Tags)
				}
			})
		}
	})

	t.Run("checker accepts conforming responses and refuses others", func(t *testing.T) {
		c, err := conformance.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		const token = `{"id":"t1","name":"n","scopes":null,"owner":{"type":"IDENTITY","id":"o1","name":"owner"},"created":"2024-01-02T03:04:05Z"%s}`
		list := func(extra string) string { return "[" + strings.Replace(token, "%s", extra, 1) + "]" }
		badOwner := `[{"id":"t1","name":"n","scopes":null,"owner":{"type":"IDENTITY","id":7},"created":"2024-01-02T03:04:05Z"}]`
		const errBody = `{"detailCode":"404.0 Not found","trackingId":"x","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"no"}]}`
		cases := []struct {
			name, method, path string
			status             int
			body               string
			ok                 bool
		}{
			{"beta list", "GET", "/beta/personal-access-tokens", 200, list(""), true},
			{"beta owner id not a string", "GET", "/beta/personal-access-tokens", 200, badOwner, false},
			{"v3 list", "GET", "/v3/personal-access-tokens", 200, list(""), true},
			{"v3 owner id not a string", "GET", "/v3/personal-access-tokens", 200, badOwner, false},
			{"v3 list item without owner", "GET", "/v3/personal-access-tokens", 200, `[{"id":"t1","name":"n","scopes":null,"created":"2024-01-02T03:04:05Z"}]`, false},
			{"v3 create without secret", "POST", "/v3/personal-access-tokens", 200, strings.Replace(token, "%s", "", 1), false},
			{"v3 patch 404", "PATCH", "/v3/personal-access-tokens/t1", 404, errBody, true},
			{"v3 patch 404 with a bad localeOrigin", "PATCH", "/v3/personal-access-tokens/t1", 404, strings.Replace(errBody, "DEFAULT", "ELSEWHERE", 1), false},
			{"v3 unknown path's 404 as ErrorResponseDto", "GET", "/v3/nothing", 404, errBody, true},
			{"v2024 owner id not a string", "GET", "/v2024/personal-access-tokens", 200, badOwner, false},
			{"v2025 null expirationDate", "GET", "/v2025/personal-access-tokens", 200, list(`,"expirationDate":null`), true},
			{"v2025 scopes not a list", "GET", "/v2025/personal-access-tokens", 200, strings.Replace(list(""), `"scopes":null`, `"scopes":"all"`, 1), false},
			{"v2026 list", "GET", "/v2026/personal-access-tokens", 200, list(""), true},
			{"v2026 owner id not a string", "GET", "/v2026/personal-access-tokens", 200, badOwner, false},
			{"v1 list", "GET", "/personal-access-tokens/v1", 200, list(""), true},
			{"v1 owner id not a string", "GET", "/personal-access-tokens/v1", 200, badOwner, false},
			{"v1 delete", "DELETE", "/personal-access-tokens/v1/t1", 204, "", true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req := httptest.NewRequest(tc.method, "http://mock"+tc.path, nil)
				h := http.Header{}
				if tc.body != "" {
					h.Set("Content-Type", "application/json")
				}
				err := c.Check(req, tc.status, h, []byte(tc.body))
				if (err == nil) != tc.ok {
					t.Errorf("Check: %v, want ok=%v", err, tc.ok)
				}
			})
		}
	})
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// A schema that contains itself through its file stays one component that refers to itself.
func TestRunRecursiveSchema(t *testing.T) {
	up := serve(t, map[string]http.HandlerFunc{
		"idn/v3/schemas/PatOwner.yaml": body("type: object\nproperties:\n  id:\n    type: string\n" +
			"  delegate:\n    $ref: './PatOwner.yaml'\n"),
	})
	dir := t.TempDir()
	if _, err := run(t, fetchspecs.Options{BaseURL: up.base(), Dir: dir}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "sailpoint-pat.v3.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any
			}
		}
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if ref := doc.Components.Schemas["PatOwner"].Properties["delegate"]["$ref"]; ref != "#/components/schemas/PatOwner" {
		t.Fatalf("delegate: %v", ref)
	}
	c, err := conformance.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://mock/v3/personal-access-tokens", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	nested := `[{"id":"t","name":"n","scopes":null,"owner":{"id":"a","delegate":{"id":%s}},"created":"2024-01-02T03:04:05Z"}]`
	if err := c.Check(req, 200, h, []byte(strings.Replace(nested, "%s", `"b"`, 1))); err != nil {
		t.Errorf("nested owner refused: %v", err)
	}
	if err := c.Check(req, 200, h, []byte(strings.Replace(nested, "%s", `7`, 1))); err == nil {
		t.Error("nested owner with a numeric id accepted")
	}
}

func TestRunFailures(t *testing.T) {
	const patOwner = "idn/v3/schemas/PatOwner.yaml"
	ownerRef := func(ref string) map[string]http.HandlerFunc {
		return map[string]http.HandlerFunc{patOwner: body("type: object\nproperties:\n  id:\n    $ref: '" + ref + "'\n")}
	}
	cases := []struct {
		name     string
		override map[string]http.HandlerFunc
		options  fetchspecs.Options
		want     []string // in the error; BASE stands for the base URL
		unread   string   // a path the server must not have been asked for
	}{
		// beta is built first, and uses v3's responses.
		{name: "referenced file missing", override: map[string]http.HandlerFunc{"idn/v3/schemas/LocaleOrigin.yaml": status(404)},
			want: []string{"beta: idn/v3/schemas/ErrorMessageDto.yaml: $ref \"../../v3/schemas/LocaleOrigin.yaml\": " +
				"GET BASE/idn/v3/schemas/LocaleOrigin.yaml: HTTP 404 Not Found"}},
		{name: "root failing", override: map[string]http.HandlerFunc{"idn/sailpoint-api.beta.yaml": status(500)},
			want: []string{"beta: GET BASE/idn/sailpoint-api.beta.yaml: HTTP 500 Internal Server Error"}},
		{name: "ref escaping the repository", override: ownerRef("../../../../secret.yaml"),
			want:   []string{patOwner + `: $ref "../../../../secret.yaml": leaves the repository`},
			unread: "/sailpoint-oss/api-specs/secret.yaml"},
		{name: "ref to another host", override: ownerRef("https://elsewhere.example.test/x.yaml"),
			want: []string{patOwner + `: $ref "https://elsewhere.example.test/x.yaml": refers outside the repository`}},
		{name: "absolute path", override: ownerRef("/etc/passwd"), want: []string{"absolute paths are not followed"}},
		{name: "pointer missing from its file", override: ownerRef("./LocaleOrigin.yaml#/nothing"),
			want: []string{`idn/v3/schemas/LocaleOrigin.yaml has no "/nothing"`}},
		{name: "file over the size bound", override: map[string]http.HandlerFunc{patOwner: body(strings.Repeat("#", fetchspecs.DefaultMaxBytes+1))},
			want: []string{"GET BASE/" + patOwner + ": more than the limit of 8388608 bytes"}},
		{name: "declared size over the bound", override: map[string]http.HandlerFunc{patOwner: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(9<<20))
			w.WriteHeader(200)
		}}, want: []string{"GET BASE/" + patOwner + ": 9437184 bytes, more than the limit of 8388608"}},
		{name: "alias bomb", override: map[string]http.HandlerFunc{patOwner: body(aliasBomb())},
			want: []string{"the document grows past 200000 YAML nodes"}},
		{name: "ref cycle between schema files", override: map[string]http.HandlerFunc{
			patOwner:                            body("$ref: './PatOwnerAgain.yaml'\n"),
			"idn/v3/schemas/PatOwnerAgain.yaml": body("$ref: './PatOwner.yaml'\n"),
		}, want: []string{`idn/v3/schemas/PatOwnerAgain.yaml: $ref "./PatOwner.yaml": ref cycle`}},
		{name: "path item including itself", override: map[string]http.HandlerFunc{
			"idn/v3/paths/personal-access-token.yaml": body("$ref: './personal-access-token.yaml'\n"),
		}, want: []string{"ref cycle: the path item includes itself"}},
		{name: "malformed YAML", override: map[string]http.HandlerFunc{patOwner: body("type: object\nproperties: [unclosed\n")},
			want: []string{"BASE/" + patOwner + ": not YAML"}},
		{name: "ref where OpenAPI allows none", override: map[string]http.HandlerFunc{
			"idn/v3/paths/personal-access-token.yaml": body("delete:\n  $ref: './elsewhere.yaml'\n"),
		}, want: []string{`idn/v3/paths/personal-access-token.yaml: $ref "./elsewhere.yaml": OpenAPI allows no $ref here`}},
		{name: "PAT path missing from a root", override: map[string]http.HandlerFunc{
			"idn/sailpoint-api.v2024.yaml": body("openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths: {}\n"),
		}, want: []string{"v2024: idn/sailpoint-api.v2024.yaml: no path /personal-access-tokens"}},
		{name: "result not valid OpenAPI", override: map[string]http.HandlerFunc{"idn/v3/responses/404.yaml": body("content: {}\n")},
			want: []string{"beta: the bundled document is not valid OpenAPI: invalid components: response \"404\""}},
		{name: "too many files", options: fetchspecs.Options{MaxFiles: 3}, want: []string{"more than 3 files to fetch"}},
		{name: "request timeout", options: fetchspecs.Options{Timeout: 50 * time.Millisecond},
			// The first file fetched, so that no other request has to beat the short timeout.
			override: map[string]http.HandlerFunc{"idn/sailpoint-api.beta.yaml": func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
			want:     []string{"beta: GET BASE/idn/sailpoint-api.beta.yaml: ", "Client.Timeout exceeded"}},
		{name: "redirect to another host", override: map[string]http.HandlerFunc{patOwner: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://elsewhere.example.test/PatOwner.yaml", http.StatusFound)
		}}, want: []string{"GET BASE/" + patOwner + ": redirected to another host"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := serve(t, tc.override)
			existing, missing := oldDir(t), filepath.Join(t.TempDir(), "new")
			before := snapshot(t, existing)
			for _, dir := range []string{existing, missing} {
				o := tc.options
				o.BaseURL, o.Dir = up.base(), dir
				out, err := run(t, o)
				if err == nil {
					t.Fatalf("no error; output:\n%s", out)
				}
				for _, w := range tc.want {
					if w = strings.ReplaceAll(w, "BASE", up.base()); !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\nwant it to contain %q", err, w)
					}
				}
				if out != "" {
					t.Errorf("output on failure: %q", out)
				}
			}
			if after := snapshot(t, existing); !equal(before, after) {
				t.Errorf("directory changed: %v", keys(after))
			}
			if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("missing directory made: %v", err)
			}
			if tc.unread != "" && up.count(tc.unread) != 0 {
				t.Errorf("%s was fetched", tc.unread)
			}
		})
	}
}

// aliasBomb is a few hundred bytes of YAML whose aliases expand to 10^9 nodes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	return "type: object\nexample:\n  " + strings.ReplaceAll(strings.TrimSuffix(b.String(), "\n"), "\n", "\n  ") + "\n"
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// The script builds the command and runs it from the caller's directory.
func TestScript(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	up := serve(t, nil)
	cases := []struct {
		name string
		args func(dir string) []string
		env  func(dir string) []string
		fail string // in stderr when the run must fail
	}{
		{name: "DIR and ISCMOCK_SPECS_URL",
			args: func(dir string) []string { return []string{dir} },
			env:  func(string) []string { return []string{"ISCMOCK_SPECS_URL=" + up.base()} }},
		{name: "--base-url over the variable, DIR where the tests look",
			args: func(string) []string { return []string{"--base-url", up.base()} },
			env: func(dir string) []string {
				return []string{"ISCMOCK_SPECS_URL=http://127.0.0.1:1/unused", "ISCMOCK_SPEC_DIR=" + dir}
			}},
		{name: "HTTP failure",
			args: func(dir string) []string { return []string{dir} },
			env:  func(string) []string { return []string{"ISCMOCK_SPECS_URL=" + up.base() + "/nothing"} },
			fail: "fetch-specs: beta: GET " + up.base() + "/nothing/idn/sailpoint-api.beta.yaml: HTTP 404 Not Found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command("../../scripts/fetch-specs", tc.args(dir)...)
			cmd.Env = append(os.Environ(), tc.env(dir)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.fail != "" {
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), tc.fail) {
					t.Fatalf("%v\nstderr: %s\nwant exit 1 and %q", err, stderr.String(), tc.fail)
				}
				if len(snapshot(t, dir)) != 0 {
					t.Error("files written on failure")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if n := strings.Count(stdout.String(), "wrote "+dir+"/"); n != len(fetchspecs.Versions) {
				t.Errorf("stdout:\n%s", stdout.String())
			}
			if _, err := conformance.Load(dir); err != nil {
				t.Error(err)
			}
		})
	}
}
