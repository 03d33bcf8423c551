package api

import (
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
}

// handler serves a request; the error it returns is written as ISC's error body.
type handler func(s *Service, ex *exchange, w http.ResponseWriter, r *http.Request) error

// resource is a path of the route table, with its routes by method.
type resource map[string]route

// routeTable is the one route table, built once for every server: each operation in every
// version, plus the token and info endpoints. gorilla/mux matches the path; the resource it maps to picks the
// route by method, so that matching a request copies nothing into its context.
type routeTable struct {
	paths     *mux.Router
	resources map[*mux.Route]resource
}

var router = sync.OnceValue(func() *routeTable {
	// SkipClean: a path with dot segments or doubled slashes is not redirected but answered as it
	// stands (a 404 in ISC's shape), so ids such as ".." never reach another route.
	t := &routeTable{paths: mux.NewRouter().SkipClean(true), resources: map[*mux.Route]resource{}}
	add := func(path, method string, rt route) {
		for r, res := range t.resources {
			if tpl, _ := r.GetPathTemplate(); tpl == path {
				res[method] = rt
				return
			}
		}
		t.resources[t.paths.Path(path)] = resource{method: rt}
	}
	for _, v := range Versions {
		for _, op := range operations {
			path := v.Collection
			if op.Item {
				path += "/{id}"
			}
			add(path, op.Method, route{op: op.ID, version: v.Name, handle: apiHandler(v, op)})
		}
	}
	add("/oauth/token", http.MethodPost, route{op: OpToken, handle: (*Service).token})
	add("/oauth/info", http.MethodGet, route{op: OpInfo, handle: (*Service).info})
	return t
})

var notFound = route{handle: func(*Service, *exchange, http.ResponseWriter, *http.Request) error { return errNotFound }}

// lookup finds the request's route and the path's variables.
func (t *routeTable) lookup(r *http.Request) (route, map[string]string) {
	var match mux.RouteMatch
	if !t.paths.Match(r, &match) {
		return notFound, nil
	}
	res := t.resources[match.Route]
	if rt, ok := res[r.Method]; ok {
		return rt, match.Vars
	}
	return route{handle: func(_ *Service, _ *exchange, w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", strings.Join(res.allowed(), ", "))
		return methodNotAllowed(r.Method)
	}}, nil
}

// allowed lists the resource's methods, for the Allow header.
func (res resource) allowed() []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if _, ok := res[m]; ok {
			out = append(out, m)
		}
	}
	return out
}
