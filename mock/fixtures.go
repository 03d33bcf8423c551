package mock

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock/internal/ids"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// Fixtures is a tenant's state as a fixture file states it (YAML, or JSON), with the field names of
// the API's JSON.
type Fixtures struct {
	Identities           []Identity `yaml:"identities" json:"identities"`
	PersonalAccessTokens []PAT      `yaml:"personalAccessTokens" json:"personalAccessTokens"`
}

// Identity is a user of the tenant.
type Identity struct {
	ID   string `yaml:"id" json:"id"`     // owner.id of its tokens; ISC ids are 32 hex characters
	Name string `yaml:"name" json:"name"` // owner.name in responses
	// UserName is the login name tokens carry as user_name; by default the name, lower case, with
	// dots for spaces.
	UserName   string   `yaml:"userName" json:"userName"`
	UserLevels []string `yaml:"userLevels" json:"userLevels"` // ISC user levels such as ORG_ADMIN; none = end user
	Rights     []string `yaml:"rights" json:"rights"`         // rights beyond those of the user levels
	// Enabled false disables the identity: its tokens mint no access tokens and its bearer tokens
	// get 401. Nil (the default) or true: enabled.
	Enabled *bool `yaml:"enabled" json:"enabled"`
}

// PAT is a personal access token. Nil times are null: never used, never expires.
type PAT struct {
	ID                         string     `yaml:"id" json:"id"`         // client_id at /oauth/token
	Secret                     string     `yaml:"secret" json:"secret"` // client_secret
	Name                       string     `yaml:"name" json:"name"`
	Owner                      string     `yaml:"owner" json:"owner"`                                           // identity id
	Scope                      []string   `yaml:"scope" json:"scope"`                                           // default [sp:scopes:all]
	AccessTokenValiditySeconds int        `yaml:"accessTokenValiditySeconds" json:"accessTokenValiditySeconds"` // default 43200
	Created                    time.Time  `yaml:"created" json:"created"`                                       // default: when loaded
	LastUsed                   *time.Time `yaml:"lastUsed" json:"lastUsed"`
	ExpirationDate             *time.Time `yaml:"expirationDate" json:"expirationDate"`
	// UserAwareTokenNeverExpires is forced true for a token without ExpirationDate, as the API
	// requires of a token that never expires.
	UserAwareTokenNeverExpires bool `yaml:"userAwareTokenNeverExpires" json:"userAwareTokenNeverExpires"`
	Managed                    bool `yaml:"managed" json:"managed"`
}

// ParseFixtures reads a fixture document, YAML or JSON. Errors name the field and its line; name is
// the file name they start with.
func ParseFixtures(name string, data []byte) (Fixtures, error) {
	return parse(name, data, func(f Fixtures) error { return f.check(nil) })
}

// LoadFixtures reads and parses a fixture file: a regular file of at most MaxFixtureFile bytes.
func LoadFixtures(path string) (Fixtures, error) {
	return readFile(path, MaxFixtureFile, ParseFixtures)
}

// check validates the fixtures as a whole. known tells identities that exist already, so that a
// later seed can add tokens to them.
func (f Fixtures) check(known func(id string) bool) error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, fieldErr(path, format, args...)) }
	ids := map[string]bool{}
	for i, id := range f.Identities {
		p := fmt.Sprintf("identities[%d]", i)
		checkID(add, p, "identity", id.ID, ids)
		if problem := store.NameProblem(id.Name); problem != "" {
			add(p+".name", "%s", problem)
		}
		if problem := store.NameProblem(id.UserName); id.UserName != "" && problem != "" {
			add(p+".userName", "%s", problem)
		}
		checkList(add, p+".userLevels", id.UserLevels)
		checkList(add, p+".rights", id.Rights)
	}
	pats := map[string]bool{}
	names := map[string]bool{}
	for i, t := range f.PersonalAccessTokens {
		p := fmt.Sprintf("personalAccessTokens[%d]", i)
		checkID(add, p, "token", t.ID, pats)
		if t.Secret == "" || len(t.Secret) > store.MaxNameLength {
			add(p+".secret", "is required, at most %d characters", store.MaxNameLength)
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
		checkList(add, p+".scope", t.Scope)
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
	case !ids.Valid(id):
		add(path+".id", "must be 1 to 64 letters, digits, '-' or '_' (ISC uses 32 hex characters); got %q", id)
	case seen[id]:
		add(path+".id", "%s %s is listed twice", kind, id)
	}
	seen[id] = true
}

// checkList holds a scope, user-level or rights list to the bounds every access token relies on.
func checkList(add addFunc, path string, values []string) {
	if problem := store.ListProblem(values); problem != "" {
		add(path, "%s", problem)
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
		ids[i] = store.Identity{ID: id.ID, Name: id.Name, UserName: user, UserLevels: id.UserLevels, Rights: id.Rights,
			Disabled: id.Enabled != nil && !*id.Enabled}
	}
	pats := make([]store.PAT, len(f.PersonalAccessTokens))
	for i, t := range f.PersonalAccessTokens {
		p := store.PAT{
			ID: t.ID, Secret: t.Secret, Name: t.Name, OwnerID: t.Owner, Scope: t.Scope,
			AccessTokenValiditySeconds: t.AccessTokenValiditySeconds, Created: store.Millis(t.Created),
			UserAwareTokenNeverExpires: t.UserAwareTokenNeverExpires || t.ExpirationDate == nil, Managed: t.Managed,
		}
		if p.Scope == nil {
			p.Scope = store.DefaultScopes()
		}
		if p.AccessTokenValiditySeconds == 0 {
			p.AccessTokenValiditySeconds = store.DefaultValidity
		}
		if p.Created.IsZero() {
			p.Created = store.Millis(now)
		}
		if t.LastUsed != nil {
			p.LastUsed = store.Millis(*t.LastUsed)
		}
		if t.ExpirationDate != nil {
			p.ExpirationDate = store.Millis(*t.ExpirationDate)
		}
		pats[i] = p
	}
	return ids, pats
}

func fromStoreIdentity(id store.Identity) Identity {
	enabled := !id.Disabled
	return Identity{ID: id.ID, Name: id.Name, UserName: id.UserName, UserLevels: slices.Clone(id.UserLevels),
		Rights: slices.Clone(id.Rights), Enabled: &enabled}
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
