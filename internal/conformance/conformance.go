// Package conformance checks the mock's HTTP answers against SailPoint's official OpenAPI documents
// of the PAT API, read at test time from ../shared/specs (or ISCMOCK_SPEC_DIR); it never embeds them.
// Tests install it as http.DefaultTransport, so every response any test receives is checked and a
// violation fails the request that saw it.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
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

// Checker validates responses against the documents.
type Checker struct {
	docs map[string]*openapi3.T // by version name

	mu   sync.Mutex
	used map[string]int // deviation name → responses it explained
}

// SpecDir is ISCMOCK_SPEC_DIR, or shared/specs beside the module's root.
func SpecDir() string {
	if d := os.Getenv("ISCMOCK_SPEC_DIR"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "specs")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return filepath.Join("..", "shared", "specs")
		}
		dir = parent
	}
}

// Load reads every version's document from dir.
func Load(dir string) (*Checker, error) {
	c := &Checker{docs: map[string]*openapi3.T{}, used: map[string]int{}}
	for _, v := range Versions {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(filepath.Join(dir, v.File))
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

// Default is the checker Main installed; nil when the documents were not found.
var Default *Checker

// Unchecked is the transport beneath the checker, for tests that script answers the documents do
// not describe (scenario faults, statuses and bodies of the test's own choosing).
var Unchecked = http.DefaultTransport

// Main runs a package's tests with every response checked. Without the documents the run fails,
// since a passing package's output is hidden by go test and a warning would go unseen; setting
// ISCMOCK_SPEC_DIR=off runs the tests unchecked, on purpose.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain with work of its own after the tests: it returns the exit code.
func Run(m *testing.M) int {
	if os.Getenv("ISCMOCK_SPEC_DIR") == "off" {
		return m.Run()
	}
	c, err := Load(SpecDir())
	if err != nil {
		fmt.Fprintf(os.Stderr, "\n*** The tests check every response against SailPoint's official OpenAPI documents, "+
			"and these could not be read:\n***   %v\n"+
			"*** Put them in ../shared/specs beside the checkout (see the README), point ISCMOCK_SPEC_DIR at them,\n"+
			"*** or run unchecked with ISCMOCK_SPEC_DIR=off.\n\n", err)
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

// asErrorResponse checks a body against ErrorResponseDto (the same in every document; v1's inlines it).
func (c *Checker) asErrorResponse(body []byte) error {
	ref := c.docs["v3"].Components.Schemas["ErrorResponseDto"]
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
// forbid extra members, but a mock that adds one answers differently from ISC.
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
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, ok := s.Properties[k]
			if !ok {
				out = append(out, path+"/"+k)
				continue
			}
			out = append(out, undeclared(p.Value, v[k], path+"/"+k)...)
		}
	case []any:
		if s.Items != nil {
			for i, item := range v {
				out = append(out, undeclared(s.Items.Value, item, fmt.Sprintf("%s/%d", path, i))...)
			}
		}
	}
	return slices.Clip(out)
}
