package api

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/mux"
)

// Version is one API version that serves the PAT operations.
type Version struct {
	Name       string // beta, v3, v2024, v2025, v2026, v1
	Collection string // path of the collection
	// NeverExpire marks the versions (v2025 on) where a null expirationDate means "never" and
	// userAwareTokenNeverExpires exists; older versions default to six months.
	NeverExpire bool
}

// Versions lists every version the mock serves, oldest first.
var Versions = []Version{
	{Name: "beta", Collection: "/beta/personal-access-tokens"},
	{Name: "v3", Collection: "/v3/personal-access-tokens"},
	{Name: "v2024", Collection: "/v2024/personal-access-tokens"},
	{Name: "v2025", Collection: "/v2025/personal-access-tokens", NeverExpire: true},
	{Name: "v2026", Collection: "/v2026/personal-access-tokens", NeverExpire: true},
	{Name: "v1", Collection: "/personal-access-tokens/v1", NeverExpire: true},
}

// operation is one PAT operation as the spec defines it, served the same way in every version.
type operation struct {
	ID     string // operationId; the v1 document adds a V1 suffix, the mock uses one name for all
	Method string
	Item   bool     // on /{id} rather than the collection
	Scopes []string // the spec's security scopes: a token needs one of them, or sp:scopes:all
	handle func(*Service, call) (any, error)
}

// Operation names, as the spec's operationIds; "token" is /oauth/token and "info" /oauth/info.
const (
	OpList   = "listPersonalAccessTokens"
	OpCreate = "createPersonalAccessToken"
	OpPatch  = "patchPersonalAccessToken"
	OpDelete = "deletePersonalAccessToken"
	OpToken  = "token"
	OpInfo   = "info"
)

const (
	scopeMyRead    = "sp:my-personal-access-tokens:read"
	scopeMyManage  = "sp:my-personal-access-tokens:manage"
	scopeAllRead   = "sp:all-personal-access-tokens:read"
	scopeAllManage = "sp:all-personal-access-tokens:manage"
)

var operations = []operation{
	{ID: OpList, Method: http.MethodGet, Scopes: []string{scopeMyRead, scopeMyManage, scopeAllRead, scopeAllManage},
		handle: (*Service).listPATs},
	{ID: OpCreate, Method: http.MethodPost, Scopes: []string{scopeMyManage, scopeAllManage},
		handle: (*Service).createPAT},
	{ID: OpPatch, Method: http.MethodPatch, Item: true, Scopes: []string{scopeMyManage},
		handle: (*Service).patchPAT},
	{ID: OpDelete, Method: http.MethodDelete, Item: true, Scopes: []string{scopeMyManage, scopeAllManage},
		handle: (*Service).deletePAT},
}

// route is what serves one method of one path: an operation of a version, /oauth/token, or one of
// the refusals.
type route struct {
	op, version string
	handle      handler
	// gateway routes are answered as ISC's gateway answers them, before any scenario (preflights).
	gateway bool
}

// handler serves a request; the error it returns is written as ISC's error body.
type handler func(s *Service, ex *exchange, w http.ResponseWriter, r *http.Request) error

// resource is a path of the route table, with its routes by method.
type resource map[string]route

// routeTable is the one route table, built once for every server: each operation in every
// version, plus the token and info endpoints. gorilla/mux matches the path; the resource it maps to
// picks the route by method, so that matching a request copies nothing into its context.
//
// Matching tries each route's regular expression in turn, which costs a write more than its
// store does; so the paths the templates spell out (and item paths: a collection, a slash and an
// id) are looked up by their text first, in maps made from the same table.
type routeTable struct {
	paths     *mux.Router
	resources map[*mux.Route]resource
	literal   map[string]resource // by template, for templates without variables
	items     map[string]resource // by the collection of an item template, "{collection}/{id}"
}

var router = sync.OnceValue(func() *routeTable {
	// SkipClean: a path with dot segments or doubled slashes is not redirected but answered as it
	// stands (a 404 in ISC's shape), so ids such as ".." never reach another route.
	t := &routeTable{paths: mux.NewRouter().SkipClean(true), resources: map[*mux.Route]resource{}}
	add := func(method string, rt route, paths ...string) {
		for _, path := range paths {
			res := t.resource(path)
			res[method] = rt
			if method == http.MethodGet {
				res[http.MethodHead] = rt // answered like GET, without the body
			}
		}
	}
	// SailPoint's docs and CLI write collection URLs with a trailing slash, which the gateway
	// takes: so does the mock, for collections and the OAuth endpoints.
	for _, v := range Versions {
		for _, op := range operations {
			rt := route{op: op.ID, version: v.Name, handle: apiHandler(v, op)}
			if op.Item {
				add(op.Method, rt, v.Collection+"/"+itemVar)
			} else {
				add(op.Method, rt, v.Collection, v.Collection+"/")
			}
		}
	}
	add(http.MethodPost, route{op: OpToken, handle: (*Service).token}, "/oauth/token", "/oauth/token/")
	add(http.MethodGet, route{op: OpInfo, handle: (*Service).info}, "/oauth/info", "/oauth/info/")
	t.literal, t.items = map[string]resource{}, map[string]resource{}
	for r, res := range t.resources {
		res[http.MethodOptions] = route{gateway: true, handle: func(_ *Service, _ *exchange, w http.ResponseWriter, r *http.Request) error {
			answerOptions(w, r, res.allowed())
			return nil
		}}
		tpl, _ := r.GetPathTemplate()
		if collection, ok := strings.CutSuffix(tpl, "/"+itemVar); ok {
			t.items[collection] = res
		} else {
			t.literal[tpl] = res
		}
	}
	return t
})

// resource returns the resource of a path template, adding it if new.
func (t *routeTable) resource(path string) resource {
	for r, res := range t.resources {
		if tpl, _ := r.GetPathTemplate(); tpl == path {
			return res
		}
	}
	res := resource{}
	t.resources[t.paths.Path(path)] = res
	return res
}

var noRoute = route{handle: func(_ *Service, _ *exchange, _ http.ResponseWriter, r *http.Request) error {
	return notFound(noSuchRoute(r))
}}

// itemVar is the variable of an item path, the token's id.
const itemVar = "{id}"

// lookup finds the request's route and, for an item, the id the path names.
func (t *routeTable) lookup(r *http.Request) (route, string) {
	res, id, ok := t.spelled(r.URL.Path)
	if !ok {
		var match mux.RouteMatch
		if !t.paths.Match(r, &match) {
			return noRoute, ""
		}
		res, id = t.resources[match.Route], match.Vars["id"]
	}
	if rt, ok := res[r.Method]; ok {
		return rt, id
	}
	return route{handle: func(_ *Service, _ *exchange, w http.ResponseWriter, r *http.Request) error {
		allowed := strings.Join(res.allowed(), ", ")
		w.Header().Set("Allow", allowed)
		return withCause(methodNotAllowed(r.Method), fmt.Sprintf("%s is not a method of %s, which allows %s", r.Method, r.URL.Path, allowed))
	}}, ""
}

// spelled finds the resource of a path that a template spells out, or that is an item template's
// collection, a slash and an id (mux's {id} takes one segment, not empty), with the id; it reports
// false for any other path, which mux matches. FuzzRouteLookup holds it to mux's answers.
func (t *routeTable) spelled(path string) (res resource, id string, ok bool) {
	if res, ok := t.literal[path]; ok {
		return res, "", true
	}
	i := strings.LastIndexByte(path, '/')
	if i < 0 || i == len(path)-1 {
		return nil, "", false
	}
	res, ok = t.items[path[:i]]
	return res, path[i+1:], ok
}

// allowed lists the resource's methods, for the Allow header.
func (res resource) allowed() []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions} {
		if _, ok := res[m]; ok {
			out = append(out, m)
		}
	}
	return out
}

// preflightMaxAge is how long a browser may keep a preflight's answer (the mock's choice).
const preflightMaxAge = "3600"

// answerOptions answers OPTIONS on a route as a CORS-enabled gateway does, before any token check
// or scenario: a browser's preflight learns the methods and gets the headers it asked for; any
// other OPTIONS learns the methods from Allow.
func answerOptions(w http.ResponseWriter, r *http.Request, methods []string) {
	h := w.Header()
	h.Set("Allow", strings.Join(methods, ", "))
	if r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", strings.Join(methods, ","))
		if asked := r.Header.Values("Access-Control-Request-Headers"); len(asked) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(asked, ","))
		}
		h.Set("Access-Control-Max-Age", preflightMaxAge)
	}
	w.WriteHeader(http.StatusOK)
}
