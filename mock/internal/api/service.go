// Package api serves ISC's Personal Access Token API and token endpoint for one tenant.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock/internal/auth"
	"github.com/iscmock/iscmock/mock/internal/ids"
	"github.com/iscmock/iscmock/mock/internal/journal"
	"github.com/iscmock/iscmock/mock/internal/scenario"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// Tenant is what tokens and token responses say about the tenant.
type Tenant struct {
	ID  string // tenant_id, a UUID
	Org string // org, the tenant name
	Pod string
}

// Config is what a Service is built from.
type Config struct {
	// Prefix is the path the tenant is served under ("" at the root, "/tenants/NAME" for others),
	// which requests arrive without; logs and the journal show it.
	Prefix  string
	Store   *store.DB
	Faults  *scenario.Engine
	Journal *journal.Ring
	Now     func() time.Time
	IDs     *ids.Source
	Logger  *slog.Logger
	Tenant  Tenant
	// MaxTokensPerOwner bounds an identity's unmanaged tokens at create; 0 means no bound.
	MaxTokensPerOwner int
}

// Service is one tenant's API.
type Service struct {
	Config
	signer *auth.Signer
}

// commonHeaders are on every ISC response (values shared, never changed).
var commonHeaders = http.Header{
	"Cache-Control":                 {"no-cache, no-store, must-revalidate"},
	"Vary":                          {"Access-Control-Request-Headers"},
	"Access-Control-Expose-Headers": {"Retry-After,Connection,SLPT-Request-ID,Date,X-Zuul-ServiceId"},
	"X-Robots-Tag":                  {"noindex"},
}

var jsonContentType = []string{"application/json"}

// maxBody bounds request bodies; larger ones get 413.
const maxBody = 1 << 20

// New returns the tenant's API.
func New(cfg Config) *Service {
	return &Service{Config: cfg, signer: auth.NewSigner(cfg.Now)}
}

// exchange is what the request pipeline learns about one request, for headers and the log.
type exchange struct {
	service   *Service
	path      string // as requested, tenant prefix included
	requestID string
	operation string
	identity  string
	clientID  string
	rule      string // the scenario rule that acted, if any
	status    int
	formRead  bool  // /oauth/token's parameters have been read ...
	formErr   error // ... with this result
}

type exchangeKey struct{}

func exchangeOf(r *http.Request) *exchange { return r.Context().Value(exchangeKey{}).(*exchange) }

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	ex *exchange
}

func (w *statusWriter) WriteHeader(status int) {
	if w.ex.status == 0 {
		w.ex.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection, for faults that drop it.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.ex.status == 0 {
		w.ex.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP serves the tenant's API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, router()) }

// Refuse answers a request with err, as the API answers its own errors.
func (s *Service) Refuse(w http.ResponseWriter, r *http.Request, err error) {
	s.serve(w, r, endpoint("", "", func(*Service, http.ResponseWriter, *http.Request) error { return err }))
}

// serve runs h with the headers every ISC response carries, logs and journals the request, and
// turns a panic into ISC's 500 rather than a dropped connection.
func (s *Service) serve(w http.ResponseWriter, r *http.Request, h http.Handler) {
	start := time.Now()
	ex := &exchange{service: s, path: s.Prefix + r.URL.Path, requestID: s.IDs.Hex(16)}
	hdr := w.Header()
	hdr["SLPT-Request-ID"] = []string{ex.requestID} // ISC's spelling, which Set would canonicalize
	for k, v := range commonHeaders {
		hdr[k] = v
	}
	sw := &statusWriter{ResponseWriter: w, ex: ex}
	defer func() {
		v := recover()
		if v != nil && v != http.ErrAbortHandler {
			s.Logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			if ex.status == 0 {
				writeError(sw, ex.requestID, errInternal)
			}
		}
		if s.Logger.Enabled(r.Context(), slog.LevelInfo) {
			s.Logger.Info("request", "method", r.Method, "path", ex.path, "operation", ex.operation,
				"status", ex.status, "duration", time.Since(start), "identity", ex.identity, "rule", ex.rule)
		}
		s.Journal.Record(journal.Entry{Time: s.Now().UTC(), Method: r.Method, Path: ex.path, Query: journalQuery(r.URL.RawQuery),
			Operation: ex.operation, Status: ex.status, IdentityID: ex.identity, ClientID: ex.clientID, Rule: ex.rule,
			RequestID: ex.requestID, Duration: time.Since(start)})
		if v == http.ErrAbortHandler {
			panic(v) // a fault dropped the connection on purpose; net/http closes it quietly
		}
	}()
	r.Body = http.MaxBytesReader(sw, r.Body, maxBody)
	h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex)))
}

// endpoint names a route's operation, lets the tenant's scenario act first, and writes the error
// its handler returns.
func endpoint(op, version string, fn func(*Service, http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeOf(r)
		ex.operation = op
		s := ex.service
		handle := func(w http.ResponseWriter, r *http.Request) {
			if err := fn(s, w, r); err != nil {
				writeError(w, ex.requestID, err)
			}
		}
		if !s.scripted(w, r, op, version, handle) {
			handle(w, r)
		}
	})
}

// call is an authenticated API request.
type call struct {
	r      *http.Request
	v      Version
	now    time.Time
	caller store.Identity
	rights auth.Rights
}

// apiHandler authenticates and authorizes the request for op, then runs it: a nil result is 204.
func apiHandler(v Version, op operation) http.Handler {
	return endpoint(op.ID, v.Name, func(s *Service, w http.ResponseWriter, r *http.Request) error {
		claims, err := s.authenticate(r)
		if err != nil {
			return err
		}
		caller, ok := s.Store.Identity(claims.IdentityID)
		if !ok {
			return unauthorized("JWT validation failed: the token's identity does not exist")
		}
		ex := exchangeOf(r)
		ex.identity, ex.clientID = caller.ID, claims.ClientID
		if !auth.Allows(claims.Scope, op.Scopes) {
			return errForbidden
		}
		c := &call{r: r, v: v, now: s.Now(), caller: caller,
			rights: auth.Effective(caller.UserLevels, caller.Rights, claims.Scope)}
		body, err := op.handle(s, c)
		if err != nil {
			return err
		}
		if body == nil {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		writeJSON(w, http.StatusOK, body)
		return nil
	})
}

func (s *Service) authenticate(r *http.Request) (*auth.Claims, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, unauthorized("JWT validation failed: no Authorization header")
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, unauthorized("JWT validation failed: the Authorization header is not a bearer token")
	}
	claims, err := s.signer.Verify(strings.TrimSpace(token))
	if err != nil {
		return nil, unauthorized(err.Error())
	}
	return claims, nil
}

// Mint issues an access token for the identity, as if from a PAT with the given id and scope.
func (s *Service) Mint(identity store.Identity, clientID string, scope []string, validity time.Duration) (string, *auth.Claims, error) {
	authorities := identity.UserLevels
	if len(authorities) == 0 {
		authorities = []string{"USER"}
	}
	c := &auth.Claims{
		TenantID: s.Tenant.ID, Pod: s.Tenant.Pod, Org: s.Tenant.Org,
		IdentityID: identity.ID, UserName: identity.UserName, Authorities: authorities,
		ClientID: clientID, Scope: scope, Exp: s.Now().Add(validity).Unix(), JTI: s.IDs.UUID(),
	}
	token, err := s.signer.Sign(c)
	return token, c, err
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // response types always marshal
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readBody reads the request body, answering 413 past maxBody.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, errTooLarge
	case err != nil:
		return nil, badRequest(codeBadContent, "The request body could not be read: %v", err)
	}
	return b, nil
}

// requireContentType accepts the request's media type if it is want, parameters aside.
func requireContentType(r *http.Request, want string) error {
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(mt), want) {
		return unsupportedMediaType(want)
	}
	return nil
}
