package compare

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Version is an API version the PAT operations are served under.
type Version struct {
	Name       string
	Collection string
	// NeverExpire marks v2025 on: a null expirationDate means "never", older versions default to
	// six months.
	NeverExpire bool
}

// Versions are the API versions ISC serves the PAT API under, oldest first.
var Versions = []Version{
	{"beta", "/beta/personal-access-tokens", false},
	{"v3", "/v3/personal-access-tokens", false},
	{"v2024", "/v2024/personal-access-tokens", false},
	{"v2025", "/v2025/personal-access-tokens", true},
	{"v2026", "/v2026/personal-access-tokens", true},
	{"v1", "/personal-access-tokens/v1", true},
}

// Caller is who sends a probe's request.
type Caller string

const (
	Admin     Caller = "admin"     // the org admin's PAT given with --client-id
	User      Caller = "user"      // the end user's PAT given with --user-client-id
	Anonymous Caller = "anonymous" // no Authorization header
	// Narrow is a bearer token minted from the probe's first setup token, whose scope the setup
	// chooses: the way to reach the scope gate without a PAT of the caller's own.
	Narrow Caller = "narrow"
)

// Credentials is how a token request sends the client's id and secret.
type Credentials string

const (
	Form      Credentials = "form"      // application/x-www-form-urlencoded body
	Basic     Credentials = "basic"     // HTTP Basic, grant in the body
	Query     Credentials = "query"     // all three in the query string
	Multipart Credentials = "multipart" // multipart/form-data body
)

// Setup is a token a probe creates before its request, named after the probe, and deletes after.
type Setup struct {
	Owner Caller   // Admin or User
	Scope []string // default: none given (the API's default)
}

// Probe is one request sent alike to the target and the mock. Every probe compares the same things
// (see Compare): status, the headers ISC's answers carry, and the JSON body after normalisation.
//
// Path and Body may hold placeholders, filled alike on both sides: {created} (the id of the first
// setup token), {adminId} and {userId} (the identities behind the given PATs), {unknown} (an id no
// token has), {name} (a name unique to the run and the probe, carrying the run's prefix), {NAME}
// (the same, upper case), {future} (a month ahead), {past} (a day ago) and {far} (seven months
// ahead), the last three as ISC writes times.
type Probe struct {
	Name    string // unique; what --only matches
	Version string // the API version it exercises; "" for /oauth endpoints
	What    string // what it checks, in a line
	As      Caller
	Method  string
	Path    string
	Body    string
	// ContentType of the body; default application/json for a body, or the token endpoint's form.
	ContentType string
	// Token endpoint probes: how the credentials travel, and with which (a wrong secret, an unknown
	// client); Grant is the grant_type sent ("" for none).
	Credentials Credentials
	Client      string // "admin" (default), "wrong-secret" or "unknown"
	Grant       string
	Setup       []Setup
	// Fill creates tokens for the caller until it holds ISC's documented maximum, first.
	Fill bool
}

// MaxTokensPerOwner is ISC's documented limit of tokens per identity.
const MaxTokensPerOwner = 10

// unknownID is an id no token has, on any tenant.
const unknownID = "ffffffffffffffffffffffffffffffff"

// needsUser reports whether the probe needs the end user's PAT.
func (p Probe) needsUser() bool {
	if p.As == User || strings.Contains(p.Path, "{userId}") {
		return true
	}
	return slices.ContainsFunc(p.Setup, func(s Setup) bool { return s.Owner == User })
}

// creates counts the tokens the probe makes for an owner (Fill aside): its setup, and its request
// when that is a create that may succeed.
func (p Probe) creates(owner Caller) int {
	n := 0
	for _, s := range p.Setup {
		if s.Owner == owner {
			n++
		}
	}
	if p.Method == http.MethodPost && p.Version != "" && (p.As == owner || p.As == Narrow && owner == Admin) {
		n++
	}
	if p.Fill && p.As == owner {
		n++
	}
	return n
}

// Plan is every probe, for the given versions (all when none), in the order they run.
func Plan(versions ...string) []Probe {
	var plan []Probe
	for _, v := range Versions {
		if len(versions) == 0 || slices.Contains(versions, v.Name) {
			plan = append(plan, versionProbes(v)...)
		}
	}
	if len(versions) > 0 {
		first := slices.IndexFunc(Versions, func(v Version) bool { return slices.Contains(versions, v.Name) })
		if first >= 0 {
			plan = append(plan, limitProbe(Versions[first]))
		}
	} else {
		plan = append(plan, limitProbe(Versions[1]))
	}
	return append(plan, oauthProbes()...)
}

// Select keeps the probes whose name matches the glob, where * matches any run of characters, /
// included, as in scenario paths ("" keeps all).
func Select(plan []Probe, glob string) []Probe {
	if glob == "" {
		return plan
	}
	parts := strings.Split(glob, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re := regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
	var out []Probe
	for _, p := range plan {
		if re.MatchString(p.Name) {
			out = append(out, p)
		}
	}
	return out
}

const (
	createBody = `{"name":"{name}","scope":["sp:scopes:all"],"accessTokenValiditySeconds":3600,"expirationDate":"{future}"}`
	renameBody = `[{"op":"replace","path":"/name","value":"{name} renamed"}]`
)

func versionProbes(v Version) []Probe {
	c := v.Collection
	get := func(name, what string, as Caller, query string) Probe {
		return Probe{Name: name, What: what, As: as, Method: http.MethodGet, Path: c + query}
	}
	own := []Setup{{Owner: Admin}}
	probes := []Probe{
		get("list/200-me", "the admin lists its own tokens", Admin, "?owner-id=me"),
		get("list/200-all", "the admin lists every token of the tenant", Admin, ""),
		get("list/200-owner-id", "the admin lists by its own identity id", Admin, "?owner-id={adminId}"),
		get("list/401", "no bearer token", Anonymous, "?owner-id=me"),
		get("list/filter-isnull", "a valid filter: lastUsed isnull", Admin, "?owner-id=me&filters=lastUsed%20isnull"),
		get("list/filter-le", "a valid filter: lastUsed le a date", Admin, "?owner-id=me&filters=lastUsed%20le%20{future}"),
		get("list/400-filter-field", "a filter on a field that cannot be filtered", Admin, "?owner-id=me&filters=name%20eq%20%22x%22"),
		get("list/400-filter-syntax", "a filter that does not parse", Admin, "?owner-id=me&filters=lastUsed%20le"),
		get("list/200-trailing-slash", "the collection URL with a trailing slash, as SailPoint's docs write it", Admin, "/?owner-id=me"),
		get("list/200-user-me", "the end user lists its own tokens", User, "?owner-id=me"),
		get("list/403-user-all", "the end user lists every token", User, ""),
		get("list/403-user-owner-id", "the end user lists by its own identity id", User, "?owner-id={userId}"),

		{Name: "create/200", What: "create with every field", As: Admin, Method: http.MethodPost, Path: c, Body: createBody},
		{Name: "create/400-missing-name", What: "create without a name", As: Admin, Method: http.MethodPost, Path: c, Body: `{"scope":["sp:scopes:all"]}`},
		{Name: "create/400-unparsable", What: "a body that is not JSON", As: Admin, Method: http.MethodPost, Path: c, Body: `{"name":`},
		{Name: "create/401", What: "no bearer token", As: Anonymous, Method: http.MethodPost, Path: c, Body: createBody},
		{Name: "create/403-scope", What: "a bearer token whose scope only reads", As: Narrow, Method: http.MethodPost, Path: c, Body: createBody,
			Setup: []Setup{{Owner: Admin, Scope: []string{"sp:my-personal-access-tokens:read"}}}},
		{Name: "create/400-duplicate-name", What: "a name the owner already uses", As: Admin, Method: http.MethodPost, Path: c,
			Body: `{"name":"{name}","expirationDate":"{future}"}`, Setup: own},
		{Name: "create/duplicate-name-case", What: "a name the owner already uses, in other case", As: Admin, Method: http.MethodPost, Path: c,
			Body: `{"name":"{NAME}","expirationDate":"{future}"}`, Setup: own},
		{Name: "create/validity-14", What: "accessTokenValiditySeconds below 15", As: Admin, Method: http.MethodPost, Path: c,
			Body: `{"name":"{name}","accessTokenValiditySeconds":14,"expirationDate":"{future}"}`},
		{Name: "create/validity-43201", What: "accessTokenValiditySeconds above 43200", As: Admin, Method: http.MethodPost, Path: c,
			Body: `{"name":"{name}","accessTokenValiditySeconds":43201,"expirationDate":"{future}"}`},
		{Name: "create/expiry-past", What: "an expirationDate in the past", As: Admin, Method: http.MethodPost, Path: c,
			Body: `{"name":"{name}","expirationDate":"{past}"}`},
		{Name: "create/expiry-7-months", What: "an expirationDate seven months ahead", As: Admin, Method: http.MethodPost, Path: c,
			Body: `{"name":"{name}","expirationDate":"{far}"}`},
		{Name: "create/expiry-omitted", What: "no expirationDate, no userAwareTokenNeverExpires", As: Admin, Method: http.MethodPost, Path: c,
			Body: `{"name":"{name}"}`},
		{Name: "create/never-expires", What: "expirationDate null with userAwareTokenNeverExpires true", As: Admin, Method: http.MethodPost, Path: c,
			Body: `{"name":"{name}","expirationDate":null,"userAwareTokenNeverExpires":true}`},

		{Name: "patch/200", What: "rename one's own token", As: Admin, Method: http.MethodPatch, Path: c + "/{created}", Body: renameBody,
			ContentType: "application/json-patch+json", Setup: own},
		{Name: "patch/400", What: "replace the id", As: Admin, Method: http.MethodPatch, Path: c + "/{created}",
			Body: `[{"op":"replace","path":"/id","value":"x"}]`, ContentType: "application/json-patch+json", Setup: own},
		{Name: "patch/401", What: "no bearer token", As: Anonymous, Method: http.MethodPatch, Path: c + "/{created}", Body: renameBody,
			ContentType: "application/json-patch+json", Setup: own},
		{Name: "patch/403-other-owner", What: "the admin renames the end user's token", As: Admin, Method: http.MethodPatch, Path: c + "/{created}",
			Body: renameBody, ContentType: "application/json-patch+json", Setup: []Setup{{Owner: User}}},
		{Name: "patch/404", What: "an id no token has", As: Admin, Method: http.MethodPatch, Path: c + "/{unknown}", Body: renameBody,
			ContentType: "application/json-patch+json"},
		{Name: "patch/415", What: "a JSON Patch sent as application/json", As: Admin, Method: http.MethodPatch, Path: c + "/{created}",
			Body: renameBody, ContentType: "application/json", Setup: own},

		{Name: "delete/204", What: "delete one's own token", As: Admin, Method: http.MethodDelete, Path: c + "/{created}", Setup: own},
		{Name: "delete/401", What: "no bearer token", As: Anonymous, Method: http.MethodDelete, Path: c + "/{created}", Setup: own},
		{Name: "delete/403-user-deletes-admins", What: "the end user deletes a token of the admin", As: User, Method: http.MethodDelete,
			Path: c + "/{created}", Setup: own},
		{Name: "delete/404", What: "an id no token has", As: Admin, Method: http.MethodDelete, Path: c + "/{unknown}"},
	}
	for i := range probes {
		probes[i].Name = v.Name + "/" + probes[i].Name
		probes[i].Version = v.Name
	}
	return probes
}

// limitProbe fills the admin up to ISC's maximum and creates one more.
func limitProbe(v Version) Probe {
	return Probe{Name: v.Name + "/create/limit-11th", Version: v.Name, What: "the admin creates an 11th token",
		As: Admin, Method: http.MethodPost, Path: v.Collection, Body: `{"name":"{name}","expirationDate":"{future}"}`, Fill: true}
}

func oauthProbes() []Probe {
	token := func(name, what string, creds Credentials, client, grant string) Probe {
		return Probe{Name: "token/" + name, What: what, As: Anonymous, Method: http.MethodPost, Path: "/oauth/token",
			Credentials: creds, Client: client, Grant: grant}
	}
	return []Probe{
		token("200-form", "client credentials in a form body", Form, "admin", "client_credentials"),
		token("200-basic", "client credentials in HTTP Basic", Basic, "admin", "client_credentials"),
		token("200-query", "client credentials in the query string", Query, "admin", "client_credentials"),
		token("200-multipart", "client credentials in a multipart form", Multipart, "admin", "client_credentials"),
		token("200-grant-upper-case", "grant_type in upper case", Form, "admin", "CLIENT_CREDENTIALS"),
		token("401-wrong-secret", "a wrong client secret", Form, "wrong-secret", "client_credentials"),
		token("401-unknown-client", "a client id no token has", Form, "unknown", "client_credentials"),
		token("400-no-grant", "no grant_type", Form, "admin", ""),
		token("401-wrong-secret-no-grant", "a wrong client secret and no grant_type: which is checked first", Form, "wrong-secret", ""),
		token("400-password-grant", "grant_type password", Form, "admin", "password"),
		{Name: "oauth/info", What: "the tenant's OAuth details, unauthenticated", As: Anonymous, Method: http.MethodGet, Path: "/oauth/info"},
	}
}
