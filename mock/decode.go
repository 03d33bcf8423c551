package mock

// The one decoder for every document the mock reads (fixtures, scenarios, admin uploads): strict
// YAML (so JSON too) into typed structs, with errors that name the file, line and field.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iscmock/iscmock/internal/duration"
	"github.com/iscmock/iscmock/mock/internal/durable"
)

// parse decodes a document strictly and checks it; errors name the file, line and field. Every
// problem is reported at once: what could not be decoded, and what the check finds in the rest.
func parse[T any](name string, data []byte, check func(T) error) (T, error) {
	var v T
	lines, err := decodeStrict(data, &v)
	if lines != nil {
		err = errors.Join(err, besides(check(v), err))
	}
	return v, located(name, lines, err)
}

// besides keeps the problems the check found that are not the decoding's consequences: none about
// a field that could not be decoded, or about what holds it or what it holds.
func besides(checked, decoding error) error {
	if checked == nil || decoding == nil {
		return checked
	}
	var undecoded []string
	for _, e := range flatten(decoding) {
		var fe *fieldError
		if !errors.As(e, &fe) {
			return nil // the document as a whole could not be read
		}
		if !fe.ignored {
			undecoded = append(undecoded, fe.path)
		}
	}
	var errs []error
	for _, e := range flatten(checked) {
		var fe *fieldError
		if errors.As(e, &fe) && !slices.ContainsFunc(undecoded, func(p string) bool { return related(p, fe.path) }) {
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

// related tells paths one of which holds the other (or the same path): a.b holds a.b.c and a.b[0].
func related(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == "" || b == a || strings.HasPrefix(b, a) && (b[len(a)] == '.' || b[len(a)] == '[')
}

// Bounds on the files the mock reads: a fixture file holds tens of thousands of tokens, a
// scenario what an admin upload may.
const (
	MaxFixtureFile  = 16 << 20
	MaxScenarioFile = 1 << 20
)

// readFile parses the file at path with parse. It reads regular files only (a FIFO or a device
// would block or never end) and at most limit bytes of them.
func readFile[T any](path string, limit int64, parse func(name string, data []byte) (T, error)) (T, error) {
	var zero T
	data, err := readBounded(durable.OS, path, limit)
	if err != nil {
		return zero, err
	}
	return parse(path, data)
}

// ValidateFile checks a fixture or scenario file, telling them apart by content: a document with
// identities or personalAccessTokens is a fixture file, any other a scenario. kind says which it
// was read as ("fixtures" or "scenario"); err holds every problem, each naming file, line and field.
func ValidateFile(path string) (kind string, err error) {
	data, err := readBounded(durable.OS, path, MaxFixtureFile)
	if err != nil {
		return "", err
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // a document that does not parse is the parser's to report
	if len(root.Content) > 0 && root.Content[0].Kind == yaml.MappingNode {
		for i := 0; i < len(root.Content[0].Content); i += 2 {
			if k := root.Content[0].Content[i].Value; k == "identities" || k == "personalAccessTokens" {
				_, err := ParseFixtures(path, data)
				return "fixtures", err
			}
		}
	}
	if len(data) > MaxScenarioFile {
		return "scenario", tooLarge(path, MaxScenarioFile)
	}
	_, err = ParseScenario(path, data)
	return "scenario", err
}

// readBounded reads at most limit bytes of the regular file at path.
func readBounded(fsys durable.FS, path string, limit int64) ([]byte, error) {
	f, err := openBounded(fsys, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	switch {
	case err != nil:
		return nil, err
	case int64(len(data)) > limit:
		return nil, tooLarge(path, limit)
	}
	return data, nil
}

// openBounded opens the file at path if it is a regular file: a FIFO or a device would block or
// never end.
func openBounded(fsys durable.FS, path string) (durable.File, error) {
	// Stat before opening: opening a FIFO blocks until something writes to it.
	info, err := fsys.Stat(path)
	if err != nil {
		return nil, unreadable(path, err)
	}
	if err := regular(path, info); err != nil {
		return nil, err
	}
	f, err := fsys.Open(path)
	if err != nil {
		return nil, unreadable(path, err)
	}
	if info, err = f.Stat(); err == nil { // what was opened, should the path have changed since
		err = regular(path, info)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func tooLarge(path string, limit int64) error {
	return fmt.Errorf("%s: larger than %d bytes, the most such a file may hold", path, limit)
}

// unreadable says what to do about a file the server may not read, as a mounted file in a
// container often is: the user it runs as is not the file's.
func unreadable(path string, err error) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return fmt.Errorf("%w: iscmock, running as %s, may not read it; make it readable to everyone (chmod 644 %s) and its directories searchable (chmod 755)",
		err, runningAs(), path)
}

// runningAs names the user the server runs as, for errors that depend on it.
func runningAs() string {
	if uid := os.Getuid(); uid >= 0 {
		return fmt.Sprintf("uid %d", uid)
	}
	return "its user"
}

func regular(path string, info os.FileInfo) error {
	if info.Mode().IsRegular() {
		return nil
	}
	kind := "not a regular file"
	switch t := info.Mode().Type(); {
	case t&os.ModeDir != 0:
		kind = "a directory"
	case t&os.ModeNamedPipe != 0:
		kind = "a named pipe"
	case t&(os.ModeDevice|os.ModeCharDevice) != 0:
		kind = "a device"
	case t&os.ModeSocket != 0:
		kind = "a socket"
	}
	return fmt.Errorf("%s: is %s; give a regular file", path, kind)
}

// fieldError is a problem with one field of a document, named by its path (identities[0].id).
type fieldError struct {
	path    string
	line    int // 0 when unknown
	msg     string
	ignored bool // a field that was left out (unknown), which the rest can be checked without
}

func (e *fieldError) Error() string { return e.path + ": " + e.msg }

func fieldErr(path, format string, args ...any) error {
	return &fieldError{path: path, msg: fmt.Sprintf(format, args...)}
}

// located prefixes each field error with the file name and the field's line, in line order.
func located(name string, lines map[string]int, err error) error {
	if err == nil {
		return nil
	}
	type problem struct {
		line int
		err  error
	}
	var errs []problem
	for _, e := range flatten(err) {
		var fe *fieldError
		if errors.As(e, &fe) {
			line := fe.line
			for p := fe.path; line == 0 && p != ""; p = parent(p) {
				line = lines[p]
			}
			errs = append(errs, problem{line, fmt.Errorf("%s:%d: %w", name, line, fe)})
		} else {
			errs = append(errs, problem{0, fmt.Errorf("%s: %w", name, e)})
		}
	}
	// In the file's order, as a person reads it.
	slices.SortStableFunc(errs, func(a, b problem) int { return a.line - b.line })
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e.err
	}
	return errors.Join(out...)
}

// parent is the path of the field or list that holds path: a.b[1].c → a.b[1] → a.b → a.
func parent(path string) string {
	return path[:max(strings.LastIndexAny(path, ".["), 0)]
}

// flatten lists the errors joined in err, however deeply.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

// decodeStrict decodes YAML into out, a pointer to a struct, refusing unknown fields and values of
// the wrong kind. It returns the line of every field path it saw, for later errors.
func decodeStrict(data []byte, out any) (map[string]int, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	lines := map[string]int{}
	if len(root.Content) == 0 {
		return lines, nil // an empty document is an empty tenant
	}
	if err := refuseAliases(root.Content[0], ""); err != nil {
		return nil, err // nothing was decoded, so there is nothing to check
	}
	err := decodeNode(root.Content[0], reflect.ValueOf(out).Elem(), "", lines)
	return lines, err
}

// refuseAliases reports every alias in a document. One rule for every document the mock reads: a
// few bytes of aliases can stand for gigabytes of values, so a document must spell its values out
// (anchors alone are harmless). Without aliases, what a document holds is bounded by its size.
func refuseAliases(n *yaml.Node, path string) error {
	path = strings.TrimPrefix(path, ".")
	switch n.Kind {
	case yaml.AliasNode:
		return &fieldError{path: path, line: n.Line, msg: fmt.Sprintf("aliases (*%s) are not supported; write the value out", n.Value)}
	case yaml.MappingNode:
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode { // an aliased key, a merge key's value, or a key that holds one
				errs = append(errs, refuseAliases(k, path))
			}
			errs = append(errs, refuseAliases(n.Content[i+1], path+"."+k.Value))
		}
		return errors.Join(errs...)
	case yaml.SequenceNode:
		var errs []error
		for i, item := range n.Content {
			errs = append(errs, refuseAliases(item, fmt.Sprintf("%s[%d]", path, i)))
		}
		return errors.Join(errs...)
	}
	return nil
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
)

func decodeNode(n *yaml.Node, v reflect.Value, path string, lines map[string]int) error {
	path = strings.TrimPrefix(path, ".")
	lines[path] = n.Line
	fail := func(format string, args ...any) error {
		return &fieldError{path: path, line: n.Line, msg: fmt.Sprintf(format, args...)}
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && t.Elem() != timeType:
		if n.Tag == "!!null" {
			return nil
		}
		v.Set(reflect.New(t.Elem()))
		return decodeNode(n, v.Elem(), path, lines)
	case t.Kind() == reflect.Struct && t != timeType:
		if n.Kind != yaml.MappingNode {
			return fail("must be a mapping")
		}
		fields := map[string]int{}
		var names []string
		for i := range t.NumField() {
			tag := t.Field(i).Tag.Get("yaml")
			fields[tag] = i
			names = append(names, tag)
		}
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			idx, ok := fields[k.Value]
			if !ok {
				errs = append(errs, &fieldError{path: strings.TrimPrefix(path+"."+k.Value, "."), line: k.Line, ignored: true,
					msg: fmt.Sprintf("unknown field; known fields: %s", strings.Join(names, ", "))})
				continue
			}
			errs = append(errs, decodeNode(val, v.Field(idx), path+"."+k.Value, lines))
		}
		return errors.Join(errs...)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		if n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return fail("must be a list")
		}
		v.Set(reflect.MakeSlice(t, len(n.Content), len(n.Content)))
		var errs []error
		for i, item := range n.Content {
			errs = append(errs, decodeNode(item, v.Index(i), fmt.Sprintf("%s[%d]", path, i), lines))
		}
		return errors.Join(errs...)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode && n.Tag != "!!null" {
			return fail("must be a list")
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode && n.Tag != "!!null" {
			return fail("must be a mapping")
		}
	case t.Kind() == reflect.Interface: // any value: a body
	case t == durationType:
		d, err := duration.Parse(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || err != nil {
			return fail("must be a duration such as 250ms, 10s or 3d")
		}
		v.SetInt(int64(d))
		return nil
	default:
		if n.Kind != yaml.ScalarNode {
			return fail("must be a single value")
		}
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, "line "); i >= 0 {
			if _, rest, ok := strings.Cut(msg[i:], ": "); ok {
				msg = rest
			}
		}
		return fail("%s", msg)
	}
	return nil
}
