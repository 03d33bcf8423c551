package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Answer is one side's answer to a probe, normalised: values two tenants must not share (ids,
// secrets, times, tracking ids, tokens) are replaced by the form they have (<hex32>, <date-time>,
// <jwt>, ...) or a note that they lack it, so that whatever remains must be equal.
type Answer struct {
	Step    string            `json:"step,omitempty"` // the setup step that failed, when one did
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`  // decoded JSON, or the text of another body
	Error   string            `json:"error,omitempty"` // the request got no answer
}

// Headers are the response headers compared: those the README's fidelity table lists.
var Headers = []string{"Access-Control-Expose-Headers", "Allow", "Cache-Control", "Content-Type",
	"Retry-After", "SLPT-Request-ID", "Vary", "X-Robots-Tag"}

var (
	jwtRe      = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
	msTimeRe   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	anyTimeRe  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?`)
	uuidRe     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	hex64Re    = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	hex32Re    = regexp.MustCompile(`\b[0-9a-f]{32}\b`)
	originRe   = regexp.MustCompile(`https?://[^/\s"?#]+`)
	fullHex32  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	fullHex64  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	fullUUIDRe = regexp.MustCompile(`^` + uuidRe.String() + `$`)
	fullJWTRe  = regexp.MustCompile(`^` + jwtRe.String() + `$`)
	fullNumber = regexp.MustCompile(`^[0-9]+$`)
	fullTimeRe = regexp.MustCompile(`^` + anyTimeRe.String() + `$`)
)

// normaliser turns raw answers into comparable ones.
type normaliser struct {
	run   string            // the run's id, part of every name the run gives: <run>
	names map[string]string // exact string values to replace (pseudonyms in captures); may be nil
}

func (n normaliser) answer(status int, h http.Header, body []byte) Answer {
	a := Answer{Status: status, Headers: map[string]string{}}
	for _, name := range Headers {
		if v := h.Get(name); v != "" {
			a.Headers[name] = n.text(name, v)
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return a
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		a.Body = n.text("", string(body))
		return a
	}
	a.Body = n.value("", v)
	// ISC's error bodies repeat the request id as trackingId.
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["trackingId"].(string); ok && id != h.Get("SLPT-Request-ID") {
			a.Headers["SLPT-Request-ID"] = n.text("SLPT-Request-ID", h.Get("SLPT-Request-ID")) + " (not the body's trackingId)"
		}
	}
	return a
}

func (n normaliser) value(key string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = n.value(k, e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = n.value(key, e)
		}
		return out
	case string:
		return n.text(key, v)
	}
	return v
}

// text normalises one string value; key is the member or header that holds it.
func (n normaliser) text(key, s string) string {
	switch strings.ToLower(key) {
	case "secret", "client_secret":
		return form(s, fullHex64, "<hex64>", "<secret, not 64 hex>")
	case "access_token", "refresh_token", "id_token":
		return form(s, fullJWTRe, "<jwt>", "<token, not a JWT>")
	case "user_id": // the login account's number: the mock's is its own
		return form(s, fullNumber, "<number>", "<user_id, not a number>")
	case "pod", "org", "tenantname":
		if s != "" {
			return "<" + key + ">" // the tenant's own: differs by nature
		}
	}
	if p, ok := n.names[s]; ok {
		return p
	}
	switch {
	case fullJWTRe.MatchString(s):
		return "<jwt>"
	case msTimeRe.MatchString(s):
		return "<date-time>"
	case fullTimeRe.MatchString(s):
		return "<date-time, not millisecond UTC>"
	case fullUUIDRe.MatchString(s):
		return "<uuid>"
	case fullHex64.MatchString(s):
		return "<hex64>"
	case fullHex32.MatchString(s):
		return "<hex32>"
	}
	// Free text (messages, URLs) may quote any of these.
	if n.run != "" {
		s = strings.NewReplacer(n.run, "<run>", strings.ToUpper(n.run), "<RUN>").Replace(s)
	}
	for _, m := range []struct {
		re   *regexp.Regexp
		mask string
	}{{jwtRe, "<jwt>"}, {anyTimeRe, "<date-time>"}, {uuidRe, "<uuid>"}, {hex64Re, "<hex64>"}, {hex32Re, "<hex32>"}, {originRe, "<origin>"}} {
		s = m.re.ReplaceAllString(s, m.mask)
	}
	return s
}

func form(s string, re *regexp.Regexp, ok, bad string) string {
	if re.MatchString(s) {
		return ok
	}
	return bad
}

// Compare lists how two answers differ, one line per difference, each naming where: step, error,
// status, header NAME, or a path into the body (body.messages[0].text). None means the same.
func Compare(target, mock Answer) []string {
	var d differ
	if target.Step != mock.Step {
		d.add("step", target.Step, mock.Step)
	}
	if target.Error != mock.Error {
		d.add("error", target.Error, mock.Error)
	}
	if target.Status != mock.Status {
		d.add("status", target.Status, mock.Status)
	}
	for _, h := range union(target.Headers, mock.Headers) {
		tv, tok := target.Headers[h]
		mv, mok := mock.Headers[h]
		switch {
		case !mok:
			d.missing("header "+h, "mock", tv)
		case !tok:
			d.missing("header "+h, "target", mv)
		case tv != mv:
			d.add("header "+h, tv, mv)
		}
	}
	d.value("body", target.Body, mock.Body)
	return d.out
}

type differ struct{ out []string }

func (d *differ) add(where string, target, mock any) {
	d.out = append(d.out, fmt.Sprintf("%s: target %s, mock %s", where, show(target), show(mock)))
}

func (d *differ) missing(where, side string, other any) {
	if side == "mock" {
		d.out = append(d.out, fmt.Sprintf("%s: target %s, mock has none", where, show(other)))
		return
	}
	d.out = append(d.out, fmt.Sprintf("%s: target has none, mock %s", where, show(other)))
}

func (d *differ) value(where string, t, m any) {
	tm, tIsMap := t.(map[string]any)
	mm, mIsMap := m.(map[string]any)
	if tIsMap && mIsMap {
		for _, k := range union(tm, mm) {
			tv, tok := tm[k]
			mv, mok := mm[k]
			switch {
			case !mok:
				d.missing(where+"."+k, "mock", tv)
			case !tok:
				d.missing(where+"."+k, "target", mv)
			default:
				d.value(where+"."+k, tv, mv)
			}
		}
		return
	}
	ta, tIsList := t.([]any)
	ma, mIsList := m.([]any)
	if tIsList && mIsList {
		if len(ta) != len(ma) {
			d.out = append(d.out, fmt.Sprintf("%s: target has %d items, mock %d", where, len(ta), len(ma)))
		}
		for i := range min(len(ta), len(ma)) {
			d.value(fmt.Sprintf("%s[%d]", where, i), ta[i], ma[i])
		}
		return
	}
	if !equal(t, m) {
		d.add(where, t, m)
	}
}

func equal(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// show renders a value for a difference line, short.
func show(v any) string {
	if v == nil {
		return "null"
	}
	if s, ok := v.(string); ok && s == "" {
		return `""`
	}
	return trim(jsonText(v, ""), 100)
}

// jsonText renders v as JSON, masks such as <hex32> left readable.
func jsonText(v any, indent string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func union[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return slices.Compact(keys)
}
