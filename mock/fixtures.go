package mock

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iscmock/iscmock/mock/internal/store"
)

// Fixtures is a tenant's state as a fixture file states it (YAML, or JSON), with the field names of
// the API's JSON.
type Fixtures struct {
	Identities           []Identity `yaml:"identities"`
	PersonalAccessTokens []PAT      `yaml:"personalAccessTokens"`
}

// Identity is a user of the tenant.
type Identity struct {
	ID   string `yaml:"id"`   // owner.id of its tokens; ISC ids are 32 hex characters
	Name string `yaml:"name"` // owner.name in responses
	// UserName is the login name tokens carry as user_name; by default the name, lower case, with
	// dots for spaces.
	UserName   string   `yaml:"userName"`
	UserLevels []string `yaml:"userLevels"` // ISC user levels such as ORG_ADMIN; none = end user
	Rights     []string `yaml:"rights"`     // rights beyond those of the user levels
}

// PAT is a personal access token. Nil times are null: never used, never expires.
type PAT struct {
	ID                         string     `yaml:"id"`     // client_id at /oauth/token
	Secret                     string     `yaml:"secret"` // client_secret
	Name                       string     `yaml:"name"`
	Owner                      string     `yaml:"owner"`                      // identity id
	Scope                      []string   `yaml:"scope"`                      // default [sp:scopes:all]
	AccessTokenValiditySeconds int        `yaml:"accessTokenValiditySeconds"` // default 43200
	Created                    time.Time  `yaml:"created"`                    // default: when loaded
	LastUsed                   *time.Time `yaml:"lastUsed"`
	ExpirationDate             *time.Time `yaml:"expirationDate"`
	// UserAwareTokenNeverExpires is forced true for a token without ExpirationDate, as the API
	// requires of a token that never expires.
	UserAwareTokenNeverExpires bool `yaml:"userAwareTokenNeverExpires"`
	Managed                    bool `yaml:"managed"`
}

// ParseFixtures reads a fixture document, YAML or JSON. Errors name the field and its line; name is
// the file name they start with.
func ParseFixtures(name string, data []byte) (Fixtures, error) {
	return parse(name, data, func(f Fixtures) error { return f.check(nil) })
}

// LoadFixtures reads and parses a fixture file.
func LoadFixtures(path string) (Fixtures, error) { return readFile(path, ParseFixtures) }

// parse decodes a document strictly and checks it; errors name the file, line and field.
func parse[T any](name string, data []byte, check func(T) error) (T, error) {
	var v T
	lines, err := decodeStrict(data, &v)
	if err == nil {
		err = check(v)
	}
	return v, located(name, lines, err)
}

// readFile parses the file at path with parse.
func readFile[T any](path string, parse func(name string, data []byte) (T, error)) (T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var zero T
		return zero, err
	}
	return parse(path, data)
}

// fieldError is a problem with one field of a document, named by its path (identities[0].id).
type fieldError struct {
	path string
	line int // 0 when unknown
	msg  string
}

func (e *fieldError) Error() string { return e.path + ": " + e.msg }

func fieldErr(path, format string, args ...any) error {
	return &fieldError{path: path, msg: fmt.Sprintf(format, args...)}
}

// located prefixes each field error with the file name and the field's line.
func located(name string, lines map[string]int, err error) error {
	if err == nil {
		return nil
	}
	var errs []error
	for _, e := range flatten(err) {
		var fe *fieldError
		if errors.As(e, &fe) {
			line := fe.line
			for p := fe.path; line == 0 && p != ""; p = parent(p) {
				line = lines[p]
			}
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, fe))
		} else {
			errs = append(errs, fmt.Errorf("%s: %w", name, e))
		}
	}
	return errors.Join(errs...)
}

// parent is the path of the field or list that holds path: a.b[1].c → a.b[1] → a.b → a.
func parent(path string) string {
	return path[:max(strings.LastIndexAny(path, ".["), 0)]
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// check validates the fixtures as a whole. known tells identities that exist already, so that a
// later seed can add tokens to them.
func (f Fixtures) check(known func(id string) bool) error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, fieldErr(path, format, args...)) }
	ids := map[string]bool{}
	for i, id := range f.Identities {
		p := fmt.Sprintf("identities[%d]", i)
		checkID(add, p, "identity", id.ID, ids)
		if strings.TrimSpace(id.Name) == "" {
			add(p+".name", "is required")
		}
		checkValues(add, p+".userLevels", id.UserLevels)
		checkValues(add, p+".rights", id.Rights)
	}
	pats := map[string]bool{}
	names := map[string]bool{}
	for i, t := range f.PersonalAccessTokens {
		p := fmt.Sprintf("personalAccessTokens[%d]", i)
		checkID(add, p, "token", t.ID, pats)
		if t.Secret == "" {
			add(p+".secret", "is required")
		}
		if err := store.NameProblem(t.Name); err != "" {
			add(p+".name", "%s", err)
		}
		switch {
		case t.Owner == "":
			add(p+".owner", "is required")
		case !ids[t.Owner] && (known == nil || !known(t.Owner)):
			add(p+".owner", "identity %s is not in identities", t.Owner)
		}
		key := t.Owner + "\x00" + strings.ToLower(t.Name)
		if names[key] {
			add(p+".name", "%q is already the name of another token of %s (names are unique per owner, ignoring case)", t.Name, t.Owner)
		}
		names[key] = true
		checkValues(add, p+".scope", t.Scope)
		if v := t.AccessTokenValiditySeconds; v != 0 && (v < store.MinValidity || v > store.MaxValidity) {
			add(p+".accessTokenValiditySeconds", "must be between %d and %d; got %d", store.MinValidity, store.MaxValidity, v)
		}
	}
	return errors.Join(errs...)
}

type addFunc func(path, format string, args ...any)

// checkID checks an id's form and that it is listed once.
func checkID(add addFunc, path, kind, id string, seen map[string]bool) {
	switch {
	case !idPattern.MatchString(id):
		add(path+".id", "must be 1 to 64 letters, digits, '-' or '_' (ISC uses 32 hex characters); got %q", id)
	case seen[id]:
		add(path+".id", "%s %s is listed twice", kind, id)
	}
	seen[id] = true
}

// checkValues refuses blank entries in a list of names.
func checkValues(add addFunc, path string, values []string) {
	for i, v := range values {
		if strings.TrimSpace(v) == "" {
			add(fmt.Sprintf("%s[%d]", path, i), "must not be empty")
		}
	}
}

// toStore converts checked fixtures into store records, filling defaults as of now.
func (f Fixtures) toStore(now time.Time) ([]store.Identity, []store.PAT) {
	ids := make([]store.Identity, len(f.Identities))
	for i, id := range f.Identities {
		user := id.UserName
		if user == "" {
			user = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(id.Name)), " ", ".")
		}
		ids[i] = store.Identity{ID: id.ID, Name: id.Name, UserName: user, UserLevels: id.UserLevels, Rights: id.Rights}
	}
	pats := make([]store.PAT, len(f.PersonalAccessTokens))
	ms := func(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
	for i, t := range f.PersonalAccessTokens {
		p := store.PAT{
			ID: t.ID, Secret: t.Secret, Name: t.Name, OwnerID: t.Owner, Scope: t.Scope,
			AccessTokenValiditySeconds: t.AccessTokenValiditySeconds, Created: ms(t.Created),
			UserAwareTokenNeverExpires: t.UserAwareTokenNeverExpires || t.ExpirationDate == nil, Managed: t.Managed,
		}
		if p.Scope == nil {
			p.Scope = []string{store.DefaultScope}
		}
		if p.AccessTokenValiditySeconds == 0 {
			p.AccessTokenValiditySeconds = store.DefaultValidity
		}
		if p.Created.IsZero() {
			p.Created = ms(now)
		}
		if t.LastUsed != nil {
			p.LastUsed = ms(*t.LastUsed)
		}
		if t.ExpirationDate != nil {
			p.ExpirationDate = ms(*t.ExpirationDate)
		}
		pats[i] = p
	}
	return ids, pats
}

func fromStoreIdentity(id store.Identity) Identity {
	return Identity{ID: id.ID, Name: id.Name, UserName: id.UserName, UserLevels: slices.Clone(id.UserLevels), Rights: slices.Clone(id.Rights)}
}

func fromStorePAT(p store.PAT) PAT {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return PAT{
		ID: p.ID, Secret: p.Secret, Name: p.Name, Owner: p.OwnerID, Scope: slices.Clone(p.Scope),
		AccessTokenValiditySeconds: p.AccessTokenValiditySeconds, Created: p.Created, LastUsed: opt(p.LastUsed),
		ExpirationDate: opt(p.ExpirationDate), UserAwareTokenNeverExpires: p.UserAwareTokenNeverExpires, Managed: p.Managed,
	}
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
	err := decodeNode(root.Content[0], reflect.ValueOf(out).Elem(), "", lines)
	return lines, err
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
	if n.Kind == yaml.AliasNode {
		return fail("aliases are not supported")
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
				errs = append(errs, &fieldError{path: strings.TrimPrefix(path+"."+k.Value, "."), line: k.Line,
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
	case t == durationType && n.Tag != "!!str":
		return fail("must be a duration such as 250ms or 10s")
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
