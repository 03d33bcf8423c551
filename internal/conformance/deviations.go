package conformance

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/routers"
)

// Deviation is a known difference between the mock and an official document, kept because the
// document contradicts the service or is silent. Each is listed here once, with its reason, and
// allows for exactly that difference: the rest of the response must still conform.
type Deviation struct {
	Name   string
	Reason string
	// conforms reports whether the response matches its document once this difference is allowed for.
	conforms func(c *Checker, r response) bool
}

type response struct {
	req     *http.Request
	version string
	route   *routers.Route
	status  int
	header  http.Header
	body    []byte
}

// Deviations are all the differences the mock knowingly keeps.
var Deviations = []Deviation{
	{
		Name: "never-expiring-expirationDate-null",
		Reason: "A token that never expires (v2025 on, or a fixture) has expirationDate null, as v2025+ list items " +
			"document; the v3 and v2024 list/patch schemas and every version's create schema still call the field " +
			"non-nullable (the specs' README lists this defect).",
		conforms: func(c *Checker, r response) bool {
			if r.status != http.StatusOK {
				return false
			}
			var v any
			if json.Unmarshal(r.body, &v) != nil || !replaceNullExpiry(v) {
				return false
			}
			fixed, _ := json.Marshal(v)
			return c.validate(r.req, r.route, r.status, r.header, fixed) == nil
		},
	},
	{
		Name: "net/http-refusal",
		Reason: "net/http itself answers 431 (headers too large) in plain text before any handler runs; the " +
			"mock never sees such a request, as ISC's application would not behind its gateway.",
		conforms: func(_ *Checker, r response) bool {
			return r.status == http.StatusRequestHeaderFieldsTooLarge && strings.HasPrefix(r.header.Get("Content-Type"), "text/plain")
		},
	},
	{
		Name: "undocumented-refusal-status",
		Reason: "405 (with Allow), 413 and 415 are HTTP-level refusals that the documents do not list; the mock " +
			"answers them in ISC's ErrorResponseDto.",
		conforms: func(c *Checker, r response) bool {
			switch r.status {
			case http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
				return c.asErrorResponse(r.body) == nil
			}
			return false
		},
	},
}

// placeholderExpiry stands in for a null expirationDate when checking everything else.
const placeholderExpiry = "2099-12-31T23:59:59.999Z"

// replaceNullExpiry puts a date where a token shows expirationDate null; it reports whether it did.
func replaceNullExpiry(v any) bool {
	found := false
	switch v := v.(type) {
	case []any:
		for _, item := range v {
			found = replaceNullExpiry(item) || found
		}
	case map[string]any:
		if e, ok := v["expirationDate"]; ok && e == nil {
			v["expirationDate"] = placeholderExpiry
			found = true
		}
	}
	return found
}
