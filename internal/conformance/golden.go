package conformance

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
)

// goldenHeaders are the response headers a wire shape pins.
var goldenHeaders = []string{"Access-Control-Expose-Headers", "Allow", "Cache-Control", "Content-Type", "Iscmock-Cause",
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
