package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/iscmock/iscmock/internal/openapi"
)

// The wire contract is what the checker needs of an official document and nothing else: paths,
// operations, parameters, statuses and schemas (names, types, formats, required, nullable, enums,
// bounds), every $ref resolved in place, so that how a document is bundled does not matter. It is
// derived by DeriveContract and committed under contract/, so that a checkout with no documents
// beside it is still checked. It keeps only what it knows to be structure: prose (descriptions,
// summaries, titles, examples, defaults) is left out, and a member of any other kind stops the
// derivation, so nothing new slips in unseen.

// carried are the members of each kind of object that the contract keeps as they are: names,
// types, formats, bounds. Members that hold objects are openapi.Members; security requirements
// (scheme and scope names) and a flow's scopes (their names) are carried too.
var carried = map[openapi.Kind][]string{
	openapi.Document:    {"openapi"},
	openapi.Operation:   {"operationId", "deprecated"},
	openapi.Parameter:   {"name", "in", "required", "deprecated", "allowEmptyValue", "style", "explode", "allowReserved"},
	openapi.Header:      {"required", "deprecated", "style", "explode"},
	openapi.RequestBody: {"required"},
	openapi.Schema: {"type", "format", "enum", "nullable", "required", "minimum", "maximum", "exclusiveMinimum",
		"exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
		"minProperties", "maxProperties", "readOnly", "writeOnly", "deprecated", "discriminator"},
	openapi.SecurityScheme: {"type", "scheme", "bearerFormat", "in", "name", "openIdConnectUrl"},
	openapi.OAuthFlow:      {"authorizationUrl", "tokenUrl", "refreshUrl"},
}

// prose is what a document says to people; the contract leaves it out wherever it stands.
var prose = []string{"description", "summary", "title", "example", "examples", "externalDocs", "default", "tags",
	"servers", "info", "xml", "encoding", "termsOfService", "contact", "license", "x-*"}

// DeriveContract derives the wire contract of one official document (YAML or JSON), as indented
// JSON with its members in order, so that the same document always yields the same bytes.
func DeriveContract(version string, data []byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	d := &deriver{root: plain(doc)}
	out, err := d.object(d.root, openapi.Document, "")
	if err != nil {
		return nil, err
	}
	out["info"] = map[string]any{"title": "iscmock wire contract", "version": version}
	if c, ok := d.root.(map[string]any)["components"].(map[string]any); ok {
		if schemes, ok := c["securitySchemes"]; ok {
			s, err := d.names(schemes, openapi.SecurityScheme, "/components/securitySchemes")
			if err != nil {
				return nil, err
			}
			out["components"] = map[string]any{"securitySchemes": s}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type deriver struct {
	root  any
	refs  []string // the $refs being resolved, outermost first: a cycle would never end
	count int      // objects derived: a document that references itself a great deal cannot grow without end
}

// maxNodes bounds what one document may unfold to once its references are resolved in place.
const maxNodes = 100_000

func (d *deriver) object(v any, k openapi.Kind, at string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: an object was expected", at)
	}
	if ref, ok := m["$ref"].(string); ok {
		return d.resolve(ref, k, at)
	}
	if d.count++; d.count > maxNodes {
		return nil, fmt.Errorf("%s: the document unfolds to more than %d objects", at, maxNodes)
	}
	out := map[string]any{}
	if k == openapi.Response {
		out["description"] = "" // the one member OpenAPI requires that is prose
	}
	for key, val := range m {
		path := at + "/" + pointerEscape(key)
		member, isObject := openapi.Members[k][key]
		switch {
		case slices.Contains(carried[k], key):
			out[key] = val
		case key == "security" && (k == openapi.Document || k == openapi.Operation):
			out[key] = val // scheme names, and the names of their scopes
		case key == "scopes" && k == openapi.OAuthFlow:
			out[key] = scopeNames(val)
		case key == "components" && k == openapi.Document:
			// What refs point at is resolved in place; the security schemes are DeriveContract's.
		case isProse(key) || isObject && member.Kind == openapi.Example:
		case !isObject || member.Kind == openapi.Link || member.Kind == openapi.Callback:
			return nil, fmt.Errorf("%s: the wire contract does not carry %q here; add it to internal/conformance/contract.go", path, key)
		default:
			derived, err := d.member(val, member, path)
			if err != nil {
				return nil, err
			}
			out[key] = derived
		}
	}
	return out, nil
}

func (d *deriver) member(v any, member openapi.Member, at string) (any, error) {
	switch {
	case member.Shape == openapi.ListOf:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: a list was expected", at)
		}
		out := make([]any, len(list))
		for i, item := range list {
			derived, err := d.object(item, member.Kind, at+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			out[i] = derived
		}
		return out, nil
	case member.Shape == openapi.MapOf:
		return d.names(v, member.Kind, at)
	case member.Kind == openapi.Schema:
		if b, ok := v.(bool); ok { // additionalProperties: true or false
			return b, nil
		}
	}
	return d.object(v, member.Kind, at)
}

func (d *deriver) names(v any, k openapi.Kind, at string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: an object was expected", at)
	}
	if ref, ok := m["$ref"].(string); ok { // a map given by reference
		target, err := d.lookup(ref, at)
		if err != nil {
			return nil, err
		}
		return d.names(target, k, at)
	}
	out := map[string]any{}
	for name, val := range m {
		if strings.HasPrefix(name, "x-") {
			continue
		}
		derived, err := d.object(val, k, at+"/"+pointerEscape(name))
		if err != nil {
			return nil, err
		}
		out[name] = derived
	}
	return out, nil
}

// resolve derives what a $ref inside the document points at, in place.
func (d *deriver) resolve(ref string, k openapi.Kind, at string) (map[string]any, error) {
	if slices.Contains(d.refs, ref) {
		return nil, fmt.Errorf("%s: %s refers to itself (%s): a contract resolved in place cannot hold it", at, ref, strings.Join(append(d.refs, ref), " → "))
	}
	target, err := d.lookup(ref, at)
	if err != nil {
		return nil, err
	}
	d.refs = append(d.refs, ref)
	defer func() { d.refs = d.refs[:len(d.refs)-1] }()
	return d.object(target, k, at)
}

// lookup finds the value a local $ref ("#/components/schemas/X") names.
func (d *deriver) lookup(ref, at string) (any, error) {
	pointer, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("%s: $ref %q is not inside the document (bundle it first: scripts/fetch-specs)", at, ref)
	}
	v := d.root
	for _, token := range strings.Split(pointer, "/")[1:] {
		token = strings.NewReplacer("~1", "/", "~0", "~").Replace(token)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: $ref %q: nothing at %q", at, ref, token)
		}
		if v, ok = m[token]; !ok {
			return nil, fmt.Errorf("%s: $ref %q: nothing at %q", at, ref, token)
		}
	}
	return v, nil
}

// scopeNames keeps a flow's scope names; what each means is prose.
func scopeNames(v any) map[string]any {
	out := map[string]any{}
	if m, ok := v.(map[string]any); ok {
		for name := range m {
			out[name] = ""
		}
	}
	return out
}

func isProse(key string) bool {
	return slices.Contains(prose, key) || strings.HasPrefix(key, "x-")
}

func pointerEscape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// plain turns YAML's maps with keys of other types (a status written 200 rather than '200') into
// maps with string keys, as JSON has them.
func plain(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			v[k] = plain(item)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[fmt.Sprint(k)] = plain(item)
		}
		return out
	case []any:
		for i, item := range v {
			v[i] = plain(item)
		}
	}
	return v
}
