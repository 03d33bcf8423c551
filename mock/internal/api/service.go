// Package api serves ISC's Personal Access Token API and token endpoint for one tenant.
package api

import (
	"cmp"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// Claim, when set, is called before the tenant is really used (a token request with good
	// credentials); its error is the answer. A tenant made for a request keeps no slot until then.
	Claim func() error
	// Closing is closed when the server closes: requests a scenario holds stop waiting.
	Closing <-chan struct{}
	// Held has a slot for each request a scenario may hold at once, shared by the server's tenants;
	// nil for no bound.
	Held chan struct{}
	// SigningKey signs the tenant's bearer tokens; nil for one made on first use.
	SigningKey *ecdsa.PrivateKey
	// SoftRights lets the calls the rights rules would refuse go on, marked as waived.
	SoftRights bool
	// Usage counts what each identity called and lacked.
	Usage *Usage
	// TokenFailures remembers refused token requests, for the 401s of requests without a token
	// that follow them; shared by a server's tenants; nil for none.
	TokenFailures *TokenFailures
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

var (
	jsonContentType = []string{"application/json"}
	varyWithOrigin  = append(commonHeaders["Vary"][:1:1], "Origin")
)

// New returns the tenant's API.
func New(cfg Config) *Service {
	return &Service{Config: cfg, signer: auth.NewSigner(cfg.Now, cfg.SigningKey)}
}

// SigningKey is the key the tenant's bearer tokens are signed with.
func (s *Service) SigningKey() *ecdsa.PrivateKey { return s.signer.Key() }

// exchange is one request on its way through the tenant's API: its route, and what the pipeline
// learns about it for headers, the log and the journal. One allocation holds it all.
type exchange struct {
	route     route
	id        string // the token an item path names
	w         statusWriter
	path      string // as requested, tenant prefix included
	requestID string
	header    [1]string // the SLPT-Request-ID header's value
	identity  string
	clientID  string
	rule      string // the scenario rule that acted, if any
	status    int
	formRead  bool  // /oauth/token's parameters have been read ...
	formErr   error // ... with this result
	// What the journal keeps: the mock's explanation of the answer, whether the rights rules were
	// waived and what they found lacking, the secrets the answer holds, and what each side said.
	cause         string
	waived        bool
	lacked        []string
	secrets       []string
	request, resp capture
	bearer        knownBearer
}

// statusWriter remembers the status a handler wrote, and drops the body of an answer to HEAD.
type statusWriter struct {
	http.ResponseWriter
	ex   *exchange
	head bool
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
	if w.head {
		return len(b), nil
	}
	w.ex.resp.write(b)
	return w.ResponseWriter.Write(b)
}

// ServeHTTP serves the tenant's API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, id := router().lookup(r)
	s.serve(w, r, rt, id)
}

// Refuse answers a request with err, as the API answers its own errors.
func (s *Service) Refuse(w http.ResponseWriter, r *http.Request, err error) {
	s.serve(w, r, route{handle: func(*Service, *exchange, http.ResponseWriter, *http.Request) error { return err }}, "")
}

// Milliseconds is how the journal and the request log show a duration: milliseconds, to the
// microsecond, with the unit in the member's name (durationMs).
func Milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// serve runs the route with the headers every ISC response carries, lets the tenant's scenario act
// first, logs and journals the request, and turns a panic into ISC's 500 rather than a dropped
// connection.
func (s *Service) serve(w http.ResponseWriter, r *http.Request, rt route, id string) {
	start := time.Now()
	logging := s.Logger.Enabled(r.Context(), slog.LevelInfo)
	ex := &exchange{route: rt, id: id, path: s.Prefix + r.URL.Path, requestID: s.IDs.Hex(16)}
	ex.header[0] = ex.requestID
	hdr := w.Header()
	hdr["SLPT-Request-ID"] = ex.header[:] // ISC's spelling, which Set would canonicalize
	for k, v := range commonHeaders {
		hdr[k] = v
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		// A CORS-enabled gateway lets any origin read the answer, errors included.
		hdr["Access-Control-Allow-Origin"] = []string{origin}
		hdr["Vary"] = varyWithOrigin
	}
	ex.w = statusWriter{ResponseWriter: w, ex: ex, head: r.Method == http.MethodHead}
	sw := &ex.w
	defer func() {
		v := recover()
		if Recovered(s.Logger, r, v) && ex.status == 0 {
			writeError(sw, ex.requestID, errInternal)
		}
		cause := cmp.Or(ex.cause, hdr.Get(CauseHeader))
		if logging {
			attrs := []any{"method", r.Method, "path", ex.path, "operation", rt.op,
				"status", ex.status, "durationMs", Milliseconds(time.Since(start)), "identity", ex.identity, "rule", ex.rule}
			if cause != "" {
				attrs = append(attrs, "cause", cause)
			}
			if ex.waived {
				attrs = append(attrs, "waived", true)
			}
			s.Logger.Info("request", attrs...)
		}
		if rt.op == OpToken {
			s.noteToken(r, ex, cause)
		}
		s.record(ex, r, cause, time.Since(start))
		if v == http.ErrAbortHandler {
			panic(v) // a fault dropped the connection on purpose; net/http closes it quietly
		}
	}()
	LimitBody(sw, r)
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = capturedBody{r.Body, &ex.request}
	}
	// Good credentials at the token endpoint really use a tenant made for the request: claim it
	// before the scenario counts the request, so that the counts stay.
	if s.Claim != nil && rt.op == OpToken && tokenParams(ex, r) == nil {
		if _, ok, _ := s.credentials(r); ok {
			if err := s.Claim(); err != nil {
				writeError(sw, ex.requestID, err)
				return
			}
		}
	}
	if rt.gateway || !s.scripted(ex, sw, r) {
		s.run(ex, sw, r)
	}
}

// record journals the exchange, with what each side said, masked.
func (s *Service) record(ex *exchange, r *http.Request, cause string, took time.Duration) {
	ex.request.rest(r)
	request := ex.request.message(r.Header, nil, ex.bearer)
	if ex.route.op == OpToken {
		request = journal.Message{Headers: request.Headers, Body: tokenRequestBody(ex, r)}
	}
	s.Journal.Record(journal.Entry{Time: s.Now().UTC(), Method: r.Method, Path: ex.path, Query: journalQuery(r.URL.RawQuery),
		Operation: ex.route.op, Status: ex.status, IdentityID: ex.identity, ClientID: ex.clientID, Rule: ex.rule,
		RequestID: ex.requestID, Duration: took, Cause: cause, Waived: ex.waived,
		Request: request, Response: ex.resp.message(ex.w.Header(), ex.secrets, knownBearer{})})
}

// run runs the request's handler and writes the error it returns.
func (s *Service) run(ex *exchange, w http.ResponseWriter, r *http.Request) {
	if err := ex.route.handle(s, ex, w, r); err != nil {
		writeError(w, ex.requestID, err)
	}
}

// call is an authenticated API request.
type call struct {
	r      *http.Request
	v      Version
	id     string // the token the path names, for item operations
	now    time.Time
	caller store.Identity
	rights auth.Rights
	scope  []string // the token's
	soft   bool     // the rights' refusals are waived
	ex     *exchange
}

// apiHandler authenticates and authorizes the request for op, then runs it: a nil result is 204.
func apiHandler(v Version, op operation) handler {
	return func(s *Service, ex *exchange, w http.ResponseWriter, r *http.Request) error {
		claims, err := s.authenticate(ex, r)
		if err != nil {
			return err
		}
		caller, ok := s.Store.Identity(claims.IdentityID)
		if !ok {
			return withCause(unauthorized("JWT validation failed: the token's identity does not exist"),
				fmt.Sprintf("the bearer token's identity %s is no identity of this tenant (removed since it was minted)", claims.IdentityID))
		}
		if caller.Disabled {
			return withCause(unauthorized("JWT validation failed: the token's identity is disabled"),
				fmt.Sprintf("the bearer token's identity %s is disabled (PATCH /__admin/identities/%s {\"enabled\":true} enables it)",
					describe(caller), caller.ID))
		}
		ex.identity, ex.clientID = caller.ID, claims.ClientID
		c := call{r: r, v: v, id: ex.id, now: s.Now(), caller: caller, scope: claims.Scope, soft: s.SoftRights, ex: ex,
			rights: auth.Effective(caller.UserLevels, caller.Rights, claims.Scope)}
		var body any
		if !auth.Allows(claims.Scope, op.Scopes) {
			err = c.refuse("a scope of "+strings.Join(op.Scopes, " or "), fmt.Sprintf("%s needs a token scoped %s or one of %s; "+
				"the token of client %s is scoped %s", ex.route.op, auth.ScopeAll, strings.Join(op.Scopes, ", "), claims.ClientID, listed(claims.Scope)))
		}
		if err == nil {
			body, err = op.handle(s, c)
		}
		if s.Usage != nil {
			var refused *Error
			s.Usage.note(caller.ID, ex.route.op, errors.As(err, &refused) && refused.Status == http.StatusForbidden, ex.waived, ex.lacked)
		}
		if err != nil {
			return err
		}
		if body == nil {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		writeJSON(w, http.StatusOK, body)
		return nil
	}
}

// Forget forgets what the tenant learned of its clients: the bearer tokens it verified, and the
// token requests it refused.
func (s *Service) Forget() {
	s.signer.Forget()
	s.TokenFailures.forget(s.Prefix)
}

func (s *Service) authenticate(ex *exchange, r *http.Request) (*auth.Claims, error) {
	// A client that sends no token may have failed to get one: its last token request says why.
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, withCause(unauthorized("JWT validation failed: no Authorization header"),
			"no Authorization header: send Authorization: Bearer TOKEN, TOKEN from POST /oauth/token"+s.failedToken(r))
	}
	token := auth.Bearer(h)
	if token == "" {
		scheme, _, _ := strings.Cut(h, " ")
		why := fmt.Sprintf("the Authorization header uses the scheme %q, not Bearer TOKEN", scheme)
		if strings.EqualFold(scheme, "Bearer") {
			why = "the Authorization header is Bearer with no token after it" + s.failedToken(r)
		}
		return nil, withCause(unauthorized("JWT validation failed: the Authorization header is not a bearer token"), why)
	}
	claims, err := s.verify(ex, token)
	if err != nil {
		return nil, withCause(unauthorized(err.Error()), s.explainToken(token, err))
	}
	return claims, nil
}

// verify verifies a bearer token of the exchange, hashing it once for the cache of verified tokens
// and the journal's fingerprint alike.
func (s *Service) verify(ex *exchange, token string) (*auth.Claims, error) {
	if ex.bearer.token != token {
		ex.bearer = knownBearer{token, auth.DigestOf(token)}
	}
	return s.signer.VerifyDigest(token, ex.bearer.digest)
}

// Mint issues an access token for the identity, as if from a PAT with the given id and scope.
func (s *Service) Mint(identity store.Identity, clientID string, scope []string, validity time.Duration) (string, *auth.Claims, error) {
	authorities := identity.UserLevels
	if len(authorities) == 0 {
		authorities = []string{"USER"}
	}
	c := &auth.Claims{
		TenantID: s.Tenant.ID, Pod: s.Tenant.Pod, Org: s.Tenant.Org,
		IdentityID: identity.ID, UserName: identity.UserName, Authorities: authorities, Enabled: !identity.Disabled,
		ClientID: clientID, AccessType: accessType, UserID: userID(identity.ID),
		Scope: scope, Exp: s.Now().Add(validity).Unix(), JTI: s.IDs.UUID(),
	}
	token, err := s.signer.Sign(c)
	return token, c, err
}

// accessType is what ISC's tokens and token responses say of a client_credentials grant.
const accessType = "OFFLINE"

// userID stands in for ISC's user_id, a short number of the identity's login account that the
// mock does not model: derived from the identity id, so it is stable and, but for a rare
// collision, one per identity.
func userID(identityID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(identityID))
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}

// appender is a response body that writes its own JSON, straight into a pooled buffer.
type appender interface {
	appendJSON(b []byte) []byte
}

// rawJSON is a body already written, which never changes (a memo's answer).
type rawJSON []byte

func (r rawJSON) appendJSON(b []byte) []byte { return append(b, r...) }

// buffers keep response buffers between requests; ones grown past maxPooled are left to the
// collector, so a huge list does not stay in the pool.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooled = 64 << 10

// encode returns what appendJSON writes in a slice of its own, made in a pooled buffer.
func encode(appendJSON func([]byte) []byte) []byte {
	buf := buffers.Get().(*[]byte)
	*buf = appendJSON((*buf)[:0])
	out := slices.Clone(*buf)
	if cap(*buf) <= maxPooled {
		buffers.Put(buf)
	}
	return out
}

// writeJSON writes body: an appender as it writes itself, anything else through encoding/json.
func writeJSON(w http.ResponseWriter, status int, body any) {
	switch body := body.(type) {
	case rawJSON:
		if sw, ok := w.(*statusWriter); ok && !sw.head {
			sw.ex.resp.share(body)
		}
		writeBody(w, status, body)
	case appender:
		buf := buffers.Get().(*[]byte)
		*buf = body.appendJSON((*buf)[:0])
		writeBody(w, status, *buf) // a ResponseWriter does not keep what it is given
		if cap(*buf) <= maxPooled {
			buffers.Put(buf)
		}
	default:
		b, err := json.Marshal(body)
		if err != nil {
			panic(err) // response types always marshal
		}
		writeBody(w, status, b)
	}
}

// writeBody writes a JSON body. An answer to HEAD, whose body is dropped, states its length, as
// net/http cannot count what it never sees.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header()["Content-Type"] = jsonContentType
	if sw, ok := w.(*statusWriter); ok && sw.head {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ReadBody reads a body bounded by LimitBody: past MaxBody it is ISC's 413, and a read that fails
// is a 400.
func ReadBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, withCause(errTooLarge, fmt.Sprintf("the request body is larger than %d bytes (1 MiB), the most the mock reads", MaxBody))
	case err != nil:
		return nil, unparsable("The request body could not be read: %v.", err)
	}
	return b, nil
}

// requireContentType accepts the request's media type if it is want, parameters aside.
func requireContentType(r *http.Request, want string) error {
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(mt), want) {
		got := "no Content-Type"
		if mt != "" {
			got = fmt.Sprintf("Content-Type %q", strings.TrimSpace(mt))
		}
		return withCause(unsupportedMediaType(want), fmt.Sprintf("the request has %s; this operation takes %s", got, want))
	}
	return nil
}
