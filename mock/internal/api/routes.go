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
	handle func(*Service, *call) (any, error)
}

// Operation names, as the spec's operationIds; "token" is /oauth/token.
const (
	OpList   = "listPersonalAccessTokens"
	OpCreate = "createPersonalAccessToken"
	OpPatch  = "patchPersonalAccessToken"
	OpDelete = "deletePersonalAccessToken"
	OpToken  = "token"
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

// router is the one route table, built once for every server: each operation in every version,
// plus the token endpoint. Its handlers serve the tenant whose Service the request carries, at
// the tenant's own paths.
var router = sync.OnceValue(func() *mux.Router {
	// SkipClean: a path with dot segments or doubled slashes is not redirected but answered as it
	// stands (a 404 in ISC's shape), so ids such as ".." never reach another route.
	r := mux.NewRouter().SkipClean(true)
	for _, v := range Versions {
		for _, op := range operations {
			path := v.Collection
			if op.Item {
				path += "/{id}"
			}
			r.Handle(path, apiHandler(v, op)).Methods(op.Method)
		}
	}
	r.Handle("/oauth/token", endpoint(OpToken, "", (*Service).token)).Methods(http.MethodPost)
	r.NotFoundHandler = endpoint("", "", func(*Service, http.ResponseWriter, *http.Request) error { return errNotFound })
	r.MethodNotAllowedHandler = endpoint("", "", func(_ *Service, w http.ResponseWriter, req *http.Request) error {
		w.Header().Set("Allow", strings.Join(allowed(r, req), ", "))
		return methodNotAllowed(req.Method)
	})
	return r
})

// allowed lists the methods the router serves on the request's path, for the Allow header.
func allowed(r *mux.Router, req *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(req.Context())
		probe.Method = m
		var match mux.RouteMatch
		if r.Match(probe, &match) && match.MatchErr == nil {
			out = append(out, m)
		}
	}
	return out
}
