package mock

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/iscmock/iscmock/internal/duration"
	"github.com/iscmock/iscmock/mock/internal/api"
	"github.com/iscmock/iscmock/mock/internal/auth"
	"github.com/iscmock/iscmock/mock/internal/store"
	"github.com/iscmock/iscmock/mock/internal/ui"
)

// The admin API gives a test driving the mock over HTTP what a Go test has: reset, the clock,
// scenarios, fixtures, tokens and the request journal. Each tenant has it under its own
// /__admin; the tenant list is the root's.

type adminRoute struct {
	name   string
	method string
	path   string
	root   bool // served by the root tenant only
	open   bool // needs no admin token and stays on without the admin API
	handle func(t *Tenant, r *http.Request) (status int, body any, err error)
}

var adminTable = []adminRoute{
	{name: "health", method: http.MethodGet, path: "/health", open: true, handle: adminHealth},
	{name: "health", method: http.MethodHead, path: "/health", open: true, handle: adminHealth}, // container probes
	{name: "reset", method: http.MethodPost, path: "/reset", handle: adminReset},
	{name: "clock", method: http.MethodGet, path: "/clock", handle: adminClock},
	{name: "clock.move", method: http.MethodPost, path: "/clock", handle: adminMoveClock},
	{name: "scenario", method: http.MethodGet, path: "/scenario", handle: adminScenario},
	{name: "scenario.load", method: http.MethodPut, path: "/scenario", handle: adminLoadScenario},
	{name: "scenario.clear", method: http.MethodDelete, path: "/scenario", handle: adminClearScenario},
	{name: "fixtures", method: http.MethodGet, path: "/fixtures", handle: adminExport},
	{name: "fixtures.seed", method: http.MethodPost, path: "/fixtures", handle: adminSeed},
	{name: "tokens.mint", method: http.MethodPost, path: "/tokens", handle: adminMint},
	{name: "requests", method: http.MethodGet, path: "/requests", handle: adminRequests},
	{name: "requests.one", method: http.MethodGet, path: "/requests/{seq}", handle: adminRequest},
	{name: "requests.clear", method: http.MethodDelete, path: "/requests", handle: adminClearRequests},
	{name: "rights", method: http.MethodGet, path: "/rights", handle: adminRights},
	{name: "identities", method: http.MethodGet, path: "/identities", handle: adminIdentities},
	{name: "identities.update", method: http.MethodPatch, path: "/identities/{id}", handle: adminUpdateIdentity},
	{name: "identities.remove", method: http.MethodDelete, path: "/identities/{id}", handle: adminRemoveIdentity},
	{name: "pats", method: http.MethodGet, path: "/pats", handle: adminPATs},
	{name: "tenants", method: http.MethodGet, path: "/tenants", root: true, handle: adminTenants},
	{name: "tenants.drop", method: http.MethodDelete, path: "/tenants/{name}", root: true, handle: adminDropTenant},
	{name: "stats", method: http.MethodGet, path: "/stats", root: true, handle: adminStats},
}

// adminError is an admin failure: {"error": message, "problems": [...]}.
type adminError struct {
	status   int
	message  string
	problems []string
}

func (e *adminError) Error() string { return e.message }

var errAdminOff = adminFail(http.StatusNotFound, "the admin API is off (--no-admin); only /__admin/health answers")

func adminFail(status int, format string, args ...any) *adminError {
	return &adminError{status: status, message: fmt.Sprintf(format, args...)}
}

// invalid turns a parse error into a 400 that lists each problem.
func invalid(what string, err error) *adminError {
	e := &adminError{status: http.StatusBadRequest, message: "invalid " + what}
	for _, p := range flatten(err) {
		e.problems = append(e.problems, p.Error())
	}
	return e
}

// adminRouter is the admin route table, built once for every server; a request carries its
// tenant, and its path is the tenant's own.
var adminRouter = sync.OnceValue(func() *mux.Router {
	r := mux.NewRouter().SkipClean(true)
	for _, route := range adminTable {
		r.Handle("/__admin"+route.path, adminHandler(route)).Methods(route.method)
	}
	r.Handle("/__admin/ui", http.HandlerFunc(serveUI))
	r.PathPrefix("/__admin/ui/").Handler(http.HandlerFunc(serveUI))
	r.NotFoundHandler = http.HandlerFunc(adminNotFound)
	r.MethodNotAllowedHandler = r.NotFoundHandler
	return r
})

type tenantKey struct{}

func tenantOf(r *http.Request) *Tenant { return r.Context().Value(tenantKey{}).(*Tenant) }

// serveAdmin serves the tenant's admin API.
func (t *Tenant) serveAdmin(w http.ResponseWriter, r *http.Request) {
	adminRouter().ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, t)))
}

func adminNotFound(w http.ResponseWriter, r *http.Request) {
	writeAdmin(w, tenantOf(r).server.cfg.logger, r, "", 0, nil, adminFail(http.StatusNotFound, "no admin route %s %s", r.Method, r.URL.Path))
}

func adminHandler(route adminRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := tenantOf(r)
		cfg := t.server.cfg
		defer func() {
			if v := recover(); api.Recovered(cfg.logger, r, v) {
				writeAdmin(w, cfg.logger, r, route.name, 0, nil, fmt.Errorf("internal error: %v", v))
			}
		}()
		if route.root && t.name != "" {
			adminNotFound(w, r)
			return
		}
		var err error
		switch {
		case route.open:
		case cfg.noAdmin:
			err = errAdminOff
		case crossOrigin(r):
			err = adminFail(http.StatusForbidden, "the admin API refuses requests from another origin's web page")
		case cfg.adminToken != "" && !adminAuthorized(r, cfg.adminToken):
			err = adminFail(http.StatusUnauthorized, "admin token required: send Authorization: Bearer <the --admin-token value>")
		}
		if err == nil && !route.open && t.claim != nil {
			err = t.claim() // an admin call that passed the checks uses the tenant
		}
		status, body := 0, any(nil)
		if err == nil {
			api.LimitBody(w, r)
			status, body, err = route.handle(t, r)
		}
		writeAdmin(w, cfg.logger, r, route.name, status, body, err)
	})
}

// serveUI serves the dashboard's files. They hold no data, so they need no admin token: the page
// asks for it and sends it with every admin call. Without the admin API there is no dashboard.
func serveUI(w http.ResponseWriter, r *http.Request) {
	t := tenantOf(r)
	if t.server.cfg.noAdmin {
		writeAdmin(w, t.server.cfg.logger, r, "ui", 0, nil, errAdminOff)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/__admin/ui/")
	if !ok { // relative, so that a tenant's page stays under its prefix
		w.Header().Set("Location", "ui/")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	if strings.Contains(name, "/") || !ui.Serve(w, r, name) {
		adminNotFound(w, r)
	}
}

// crossOrigin tells a request a web page of another origin sent. A page may POST form or text
// bodies anywhere without asking first, so without this any site the user visits could reset the
// mock or move its clock; clients other than browsers send no Origin and are not affected.
func crossOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host != r.Host
}

func adminAuthorized(r *http.Request, token string) bool {
	return subtle.ConstantTimeCompare([]byte(auth.Bearer(r.Header.Get("Authorization"))), []byte(token)) == 1
}

// writeAdmin writes an admin answer and logs it; a nil body is 204.
func writeAdmin(w http.ResponseWriter, log *slog.Logger, r *http.Request, route string, status int, body any, err error) {
	if err != nil {
		var e *adminError
		var apiErr *api.Error
		switch {
		case errors.As(err, &e):
		case errors.As(err, &apiErr):
			e = adminFail(apiErr.Status, "%s", apiErr.Text)
		default:
			e = adminFail(http.StatusInternalServerError, "%v", err)
		}
		status, body = e.status, struct {
			Error    string   `json:"error"`
			Problems []string `json:"problems,omitempty"`
		}{e.message, e.problems}
	}
	level := slog.LevelInfo
	if route == "health" && status == http.StatusOK {
		level = slog.LevelDebug // a container's health check runs every few seconds: only its failures are news
	}
	log.Log(r.Context(), level, "admin", "method", r.Method, "path", r.URL.Path, "route", route, "status", status)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if h, ok := body.(withHeaders); ok {
		for k, v := range h.header {
			w.Header()[k] = v
		}
		body = h.body
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	if d, ok := body.(document); ok {
		w.Header().Set("Content-Type", d.contentType)
		w.WriteHeader(status)
		_, _ = w.Write(d.data)
		return
	}
	// Texts as they are: "<" stays "<" (served as JSON with nosniff, no page parses it as HTML).
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// decodeJSON reads a JSON object into v, refusing unknown members.
func decodeJSON(r *http.Request, v any) error {
	b, err := api.ReadBody(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return adminFail(http.StatusBadRequest, "the body must be a JSON object: %v", err)
	}
	return nil
}

func adminHealth(*Tenant, *http.Request) (int, any, error) {
	return http.StatusOK, map[string]string{"status": "ok"}, nil
}

func adminReset(t *Tenant, _ *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, t.Reset()
}

type clockJSON struct {
	Now string `json:"now"`
}

func (t *Tenant) clockNow() clockJSON {
	return clockJSON{Now: t.clock.Now().UTC().Format(time.RFC3339Nano)}
}

func adminClock(t *Tenant, _ *http.Request) (int, any, error) {
	return http.StatusOK, t.clockNow(), nil
}

func adminMoveClock(t *Tenant, r *http.Request) (int, any, error) {
	var req struct {
		Advance *string `json:"advance"`
		Set     *string `json:"set"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	switch {
	case (req.Advance == nil) == (req.Set == nil):
		return 0, nil, adminFail(http.StatusBadRequest, `give one of "advance" (a duration such as 25h) or "set" (an RFC 3339 time)`)
	case req.Advance != nil:
		d, err := duration.Parse(*req.Advance)
		if err != nil {
			return 0, nil, adminFail(http.StatusBadRequest, "advance: %v", err)
		}
		if err := t.clock.Advance(d); err != nil {
			return 0, nil, clockError("advance", err)
		}
	default:
		at, err := time.Parse(time.RFC3339Nano, *req.Set)
		if err != nil {
			return 0, nil, adminFail(http.StatusBadRequest, "set: %q is not an RFC 3339 time such as 2027-01-01T00:00:00Z", *req.Set)
		}
		if err := t.clock.Set(at); err != nil {
			return 0, nil, clockError("set", err)
		}
	}
	return http.StatusOK, t.clockNow(), nil
}

// clockError is a clock move's 400 for a time out of range, or the error of a state directory
// that could not keep the move.
func clockError(member string, err error) error {
	if errors.Is(err, errNotKept) {
		return err
	}
	return adminFail(http.StatusBadRequest, "%s: %s", member, strings.TrimPrefix(err.Error(), "iscmock: "))
}

func adminScenario(t *Tenant, _ *http.Request) (int, any, error) {
	st, ok := t.ScenarioStats()
	if !ok {
		return 0, nil, adminFail(http.StatusNotFound, "no scenario is loaded; PUT one to /__admin/scenario")
	}
	return http.StatusOK, st, nil
}

func adminLoadScenario(t *Tenant, r *http.Request) (int, any, error) {
	b, err := api.ReadBody(r)
	if err != nil {
		return 0, nil, err
	}
	sc, err := ParseScenario("scenario", b)
	if err != nil {
		return 0, nil, invalid("scenario", err)
	}
	if err := t.LoadScenario(sc); err != nil {
		return 0, nil, invalid("scenario", err)
	}
	return http.StatusNoContent, nil, nil
}

func adminClearScenario(t *Tenant, _ *http.Request) (int, any, error) {
	t.ClearScenario()
	return http.StatusNoContent, nil, nil
}

func adminSeed(t *Tenant, r *http.Request) (int, any, error) {
	b, err := api.ReadBody(r)
	if err != nil {
		return 0, nil, err
	}
	f, err := parse("fixtures", b, func(f Fixtures) error { return f.check(t.hasIdentity) })
	if err != nil {
		return 0, nil, invalid("fixtures", err)
	}
	if err := t.Seed(f); err != nil {
		if errors.Is(err, errNotKept) {
			return 0, nil, err // not the document's fault
		}
		return 0, nil, invalid("fixtures", err)
	}
	return http.StatusNoContent, nil, nil
}

// adminUpdateIdentity changes what may change of an identity without reseeding it: {"enabled": false}.
func adminUpdateIdentity(t *Tenant, r *http.Request) (int, any, error) {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Enabled == nil {
		return 0, nil, adminFail(http.StatusBadRequest, `give "enabled": true or false`)
	}
	id := mux.Vars(r)["id"]
	return identityAnswer(id, t.SetIdentityEnabled(id, *req.Enabled))
}

func adminRemoveIdentity(t *Tenant, r *http.Request) (int, any, error) {
	id := mux.Vars(r)["id"]
	return identityAnswer(id, t.RemoveIdentity(id))
}

// identityAnswer answers a change to identity id: 204, 404 for an identity the tenant lacks, or
// the change's error.
func identityAnswer(id string, err error) (int, any, error) {
	switch {
	case errors.Is(err, ErrNotFound):
		return 0, nil, adminFail(http.StatusNotFound, "no identity %q", id)
	case err != nil:
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (t *Tenant) hasIdentity(id string) bool { _, ok := t.db.Identity(id); return ok }

func adminMint(t *Tenant, r *http.Request) (int, any, error) {
	var req struct {
		IdentityID string   `json:"identityId"`
		Scope      []string `json:"scope"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if !t.hasIdentity(req.IdentityID) {
		return 0, nil, adminFail(http.StatusBadRequest, "identityId: no identity %q in this tenant", req.IdentityID)
	}
	if problem := store.ListProblem(req.Scope); problem != "" {
		return 0, nil, adminFail(http.StatusBadRequest, "scope: %s", problem)
	}
	token, expiresIn, err := t.accessToken(req.IdentityID, req.Scope)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"access_token": token, "expires_in": expiresIn}, nil
}

func adminClearRequests(t *Tenant, _ *http.Request) (int, any, error) {
	t.ClearRequests()
	return http.StatusNoContent, nil, nil
}

// adminTenants lists the tenants by name, each with how many API requests it has had.
func adminTenants(t *Tenant, _ *http.Request) (int, any, error) {
	type tenantJSON struct {
		Name     string `json:"name"`
		Requests uint64 `json:"requests"`
	}
	out := []tenantJSON{}
	for _, n := range t.server.Tenants() {
		if tt, ok := t.server.tenant(n); ok {
			last, _ := tt.journal.Seqs()
			out = append(out, tenantJSON{Name: n, Requests: last})
		}
	}
	return http.StatusOK, out, nil
}

func adminDropTenant(t *Tenant, r *http.Request) (int, any, error) {
	name := mux.Vars(r)["name"]
	switch dropped, err := t.server.DropTenant(name); {
	case err != nil:
		return 0, nil, err
	case !dropped:
		return 0, nil, adminFail(http.StatusNotFound, "no tenant %q", name)
	}
	return http.StatusNoContent, nil, nil
}

// adminStats reports the process's goroutines and heap, after a collection with ?gc=true, so a
// soak test can check that nothing grows.
func adminStats(t *Tenant, r *http.Request) (int, any, error) {
	if r.URL.Query().Get("gc") == "true" {
		runtime.GC()
		runtime.GC() // the second empties what sync.Pools kept through the first
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return http.StatusOK, map[string]any{"goroutines": runtime.NumGoroutine(), "heapBytes": m.HeapAlloc,
		"tenants": len(t.server.Tenants())}, nil
}
