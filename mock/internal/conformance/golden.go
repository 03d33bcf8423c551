package conformance

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// Update makes Golden rewrite the files instead of comparing: go test ./... -update. Every test
// package runs through Main, so the flag exists in each.
var Update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenHeaders are the response headers a wire shape pins.
var goldenHeaders = []string{"Access-Control-Expose-Headers", "Allow", "Cache-Control", "Content-Type",
	"Retry-After", "SLPT-Request-ID", "Vary", "X-Robots-Tag"}

// maskers replace values that differ from run to run by what they are, most specific first.
var maskers = []struct {
	re   *regexp.Regexp
	mask string
}{
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`), "<jwt>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<date-time>"},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<uuid>"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "<hex64>"},
	{regexp.MustCompile(`\b[0-9a-f]{32}\b`), "<hex32>"},
}

// Shape renders a response's wire shape: status, the headers that matter, and the JSON body in its
// own key order, with variable values masked.
func Shape(status int, header http.Header, body []byte) []byte {
	mask := func(b []byte) []byte {
		for _, m := range maskers {
			b = m.re.ReplaceAll(b, []byte(m.mask))
		}
		return b
	}
	headers := map[string]string{}
	for _, h := range goldenHeaders {
		if v := header.Get(h); v != "" {
			headers[h] = string(mask([]byte(v)))
		}
	}
	shape := struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body,omitempty"`
	}{status, headers, nil}
	if len(body) > 0 {
		shape.Body = mask(body)
		if !json.Valid(shape.Body) {
			shape.Body, _ = json.Marshal(string(shape.Body))
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // keep the masks readable: <hex32>, not \u003chex32\u003e
	enc.SetIndent("", "  ")
	if err := enc.Encode(shape); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// Golden compares got with the file at path, or writes it under -update.
func Golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./... -update to write it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the response (go test ./... -update rewrites it):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
