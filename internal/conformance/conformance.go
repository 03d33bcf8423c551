// Package conformance checks the mock's HTTP answers against SailPoint's official OpenAPI documents
// of the PAT API. Tests install it as http.DefaultTransport, so every response any test receives is
// checked and a violation fails the request that saw it. It reads the documents at test time from
// ../shared/specs (or ISCMOCK_SPEC_DIR) and never embeds them; where they are absent it checks
// against the wire contract derived from them (contract/), which a test holds to the documents
// wherever they are present.
package conformance

//go:generate go run ./gencontract

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Versions maps each API version to the path prefix it is served under and its document.
var Versions = []struct{ Name, Prefix, File string }{
	{"beta", "/beta", "sailpoint-pat.beta.yaml"},
	{"v3", "/v3", "sailpoint-pat.v3.yaml"},
	{"v2024", "/v2024", "sailpoint-pat.v2024.yaml"},
	{"v2025", "/v2025", "sailpoint-pat.v2025.yaml"},
	{"v2026", "/v2026", "sailpoint-pat.v2026.yaml"},
	{"v1", "", "sailpoint-pat.v1.yaml"}, // its paths carry the version: /personal-access-tokens/v1
}

// ContractFile is where a version's wire contract is kept, in contract/.
func ContractFile(version string) string { return "sailpoint-pat." + version + ".json" }

// RegenerateContract is the command that derives contract/ anew from the documents.
const RegenerateContract = "go generate ./internal/conformance"

//go:embed contract
var contracts embed.FS

// Checker validates responses against the documents, or their contract.
type Checker struct {
	docs   map[string]*openapi3.T // by version name
	source string

	mu   sync.Mutex
	used map[string]int // deviation name → responses it explained
}

// Source says what the checker checks against.
func (c *Checker) Source() string { return c.source }

// SpecDir is where the documents are looked for: ISCMOCK_SPEC_DIR, or shared/specs beside the
// module's root. explicit tells that the variable named it, so that it must hold them.
func SpecDir() (dir string, explicit bool) {
	if d := os.Getenv("ISCMOCK_SPEC_DIR"); d != "" {
		return d, true
	}
	return filepath.Join(ModuleRoot(), "..", "shared", "specs"), false
}

// ModuleRoot is the directory of the module's go.mod, found from the working directory up ("." if
// none is).
func ModuleRoot() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}

// Load reads every version's document from dir.
func Load(dir string) (*Checker, error) {
	return load("the official documents in "+dir, func(v string) (*openapi3.T, error) {
		return openapi3.NewLoader().LoadFromFile(filepath.Join(dir, fileOf(v)))
	})
}

// LoadContract reads the committed wire contract of every version.
func LoadContract() (*Checker, error) {
	return load("the wire contract derived from the official documents (internal/conformance/contract)", func(v string) (*openapi3.T, error) {
		data, err := contracts.ReadFile("contract/" + ContractFile(v))
		if err != nil {
			return nil, err
		}
		return openapi3.NewLoader().LoadFromData(data)
	})
}

// LoadDefault is what Main checks against: the documents where SpecDir finds them, else the
// contract.
func LoadDefault() (*Checker, error) { return loadFrom(SpecDir()) }

// loadFrom loads the documents in dir. A directory named by ISCMOCK_SPEC_DIR must hold them; so
// must the default one, once it holds any of them, since half a set is a mistake to point out.
// Only a default directory without any of them leaves the contract to check against.
func loadFrom(dir string, explicit bool) (*Checker, error) {
	if !explicit && !slices.ContainsFunc(Versions, func(v struct{ Name, Prefix, File string }) bool {
		_, err := os.Stat(filepath.Join(dir, v.File))
		return !errors.Is(err, fs.ErrNotExist)
	}) {
		return LoadContract()
	}
	return Load(dir)
}

func fileOf(version string) string {
	for _, v := range Versions {
		if v.Name == version {
			return v.File
		}
	}
	return ""
}

func load(source string, read func(version string) (*openapi3.T, error)) (*Checker, error) {
	c := &Checker{docs: map[string]*openapi3.T{}, used: map[string]int{}, source: source}
	for _, v := range Versions {
		doc, err := read(v.Name)
		if err != nil {
			return nil, err
		}
		// The documents' own defaults and examples are not all valid (see the specs' README).
		if err := doc.Validate(context.Background(), openapi3.DisableSchemaDefaultsValidation(), openapi3.DisableExamplesValidation()); err != nil {
			return nil, fmt.Errorf("%s: %w", v.File, err)
		}
		c.docs[v.Name] = doc
	}
	return c, nil
}

// Default is the checker Main installed; nil when the tests run unchecked.
var Default *Checker

// Unchecked is the transport beneath the checker, for tests that script answers the documents do
// not describe (scenario faults, statuses and bodies of the test's own choosing).
var Unchecked = http.DefaultTransport

// Main runs a package's tests with every response checked: against the documents where they are,
// else against their wire contract. ISCMOCK_SPEC_DIR=off runs the tests unchecked, on purpose; a
// directory it names that does not hold the documents fails the run, since whoever set it meant it.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain with work of its own after the tests: it returns the exit code.
func Run(m *testing.M) int {
	if os.Getenv("ISCMOCK_SPEC_DIR") == "off" {
		return m.Run()
	}
	c, err := LoadDefault()
	if err != nil {
		fmt.Fprintf(os.Stderr, "\n*** The tests check every response against SailPoint's official OpenAPI documents, "+
			"and these could not be read:\n***   %v\n"+
			"*** Fetch them with scripts/fetch-specs, point ISCMOCK_SPEC_DIR at them, leave it unset to check against\n"+
			"*** the committed wire contract, or run unchecked with ISCMOCK_SPEC_DIR=off.\n\n", err)
		return 1
	}
	Default = c
	http.DefaultTransport = c.Transport(http.DefaultTransport)
	return m.Run()
}

// Transport checks every response that passes through it; a violation becomes the round trip's
// error, so the test that made the request fails with it.
func (c *Checker) Transport(base http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		res, err := base.RoundTrip(req)
		if err != nil {
			return res, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		if err := c.Check(req, res.StatusCode, res.Header, body); err != nil {
			return nil, fmt.Errorf("conformance: %s %s → %d %s\n%w", req.Method, req.URL.Path, res.StatusCode, body, err)
		}
		return res, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// tenantName is what the mock accepts as a tenant name in /tenants/NAME.
var tenantName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Route finds the documented operation a request path and method reach, if any.
func (c *Checker) Route(method, path string) (version string, route *routers.Route) {
	if rest, ok := strings.CutPrefix(path, "/tenants/"); ok {
		name, tail, _ := strings.Cut(rest, "/")
		if !tenantName.MatchString(name) {
			return "", nil // no tenant answers there: the mock's own 404
		}
		path = "/" + tail
	}
	// The mock serves collections with a trailing slash as without one.
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	for _, v := range Versions {
		rest, ok := strings.CutPrefix(path, v.Prefix)
		if !ok || v.Prefix == "" && !strings.HasPrefix(path, "/personal-access-tokens/v1") {
			continue
		}
		doc := c.docs[v.Name]
		for tmpl, item := range doc.Paths.Map() {
			if !matches(tmpl, rest) {
				continue
			}
			if op := item.GetOperation(method); op != nil {
				return v.Name, &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: method, Operation: op}
			}
		}
	}
	return "", nil
}

// matches compares a path with a template whose {params} stand for one segment.
func matches(tmpl, path string) bool {
	t, p := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(t) != len(p) {
		return false
	}
	for i := range t {
		if strings.HasPrefix(t[i], "{") {
			if p[i] == "" {
				return false
			}
		} else if t[i] != p[i] {
			return false
		}
	}
	return true
}

// Check validates one response. Answers outside the documents (the token endpoint, unknown
// paths, the admin API) are not checked here, but an ErrorResponseDto-shaped 404 or 405 for an
// unknown path must still match that schema.
func (c *Checker) Check(req *http.Request, status int, header http.Header, body []byte) error {
	if req.Method == http.MethodHead {
		return nil // no body to check
	}
	version, route := c.Route(req.Method, req.URL.Path)
	if route == nil {
		if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && isAPIPath(req.URL.Path) {
			return c.asErrorResponse(body)
		}
		return nil
	}
	err := c.validate(req, route, status, header, body)
	if err == nil {
		return nil
	}
	for _, d := range Deviations {
		if d.conforms(c, response{req, version, route, status, header, body}) {
			c.mu.Lock()
			c.used[d.Name]++
			c.mu.Unlock()
			return nil
		}
	}
	return err
}

func isAPIPath(path string) bool {
	return !strings.HasPrefix(path, "/oauth/") && !strings.Contains(path, "/__admin")
}

// Used reports how many responses each deviation explained.
func (c *Checker) Used() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.used)
}

// validate checks a response against its operation in the document, allowing no deviation.
func (c *Checker) validate(req *http.Request, route *routers.Route, status int, header http.Header, body []byte) error {
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return err
	}
	if len(body) == 0 {
		return nil
	}
	ref := route.Operation.Responses.Status(status)
	mt := ref.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	if extra := undeclared(mt.Schema.Value, v, ""); len(extra) > 0 {
		return fmt.Errorf("properties the document does not declare: %s", strings.Join(extra, ", "))
	}
	return nil
}

// asErrorResponse checks a body against ErrorResponseDto, the same in every document: v3's answer
// to a patch of an unknown token has it (a contract inlines it where a document refers to it).
func (c *Checker) asErrorResponse(body []byte) error {
	ref := c.docs["v3"].Paths.Value("/personal-access-tokens/{id}").Patch.Responses.Status(http.StatusNotFound).Value.
		Content.Get("application/json").Schema
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		return err
	}
	if extra := undeclared(ref.Value, v, ""); len(extra) > 0 {
		return fmt.Errorf("properties ErrorResponseDto does not declare: %s", strings.Join(extra, ", "))
	}
	if m, ok := v.(map[string]any); !ok || m["detailCode"] == nil || m["trackingId"] == nil || m["messages"] == nil {
		return errors.New("ErrorResponseDto without detailCode, trackingId or messages")
	}
	return nil
}

// undeclared lists the object members a schema does not declare, recursively: the documents do not
// forbid extra members, but a mock that adds one answers differently from ISC. Where an object has
// one, the declared members it lacks are named beside it, since a renamed member shows as both.
func undeclared(s *openapi3.Schema, v any, path string) []string {
	if s == nil {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if len(s.Properties) == 0 {
			return nil
		}
		var extra, nested []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p, ok := s.Properties[k]
			if !ok {
				extra = append(extra, path+"/"+k)
				continue
			}
			nested = append(nested, undeclared(p.Value, v[k], path+"/"+k)...)
		}
		if len(extra) > 0 {
			var absent []string
			for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
				if _, ok := v[k]; !ok {
					absent = append(absent, k)
				}
			}
			if len(absent) > 0 {
				extra[len(extra)-1] += fmt.Sprintf(" (declared, and absent from %s: %s)", cmp.Or(path, "the body"), strings.Join(absent, ", "))
			}
		}
		out = append(extra, nested...)
	case []any:
		if s.Items != nil {
			for i, item := range v {
				out = append(out, undeclared(s.Items.Value, item, fmt.Sprintf("%s/%d", path, i))...)
			}
		}
	}
	return slices.Clip(out)
}
