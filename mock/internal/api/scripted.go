package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock/internal/auth"
	"github.com/iscmock/iscmock/mock/internal/scenario"
)

// errTooMany is the gateway's 429; writeError gives it ISC's body.
var errTooMany = &Error{Status: http.StatusTooManyRequests}

// rateLimitRule names the limiter where logs and the journal name the rule that acted.
const rateLimitRule = "rateLimit"

// scripted lets the running scenario act on a request before its handler does. It returns true when
// the request has been answered (or dropped) and the handler must not run.
func (s *Service) scripted(ex *exchange, w http.ResponseWriter, r *http.Request) bool {
	if s.Faults == nil {
		return false
	}
	op := ex.route.op
	d := s.Faults.Decide(scenario.Request{Operation: op, Version: ex.route.version, Method: r.Method, Path: r.URL.Path,
		Caller: func() scenario.Caller { return s.caller(ex, r) }})
	if d.RetryAfter == 0 && d.Action == nil {
		return false
	}
	// Who called, for the journal, whatever answers: read from the request, answering nothing.
	if !d.Known {
		d.Caller = s.caller(ex, r)
	}
	ex.identity, ex.clientID = d.Caller.Identity, d.Caller.ClientID
	if d.RetryAfter > 0 {
		ex.rule = rateLimitRule
		w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfter))
		writeError(w, ex.requestID, withCause(errTooMany, limited(d, ex.route.version)))
		return true
	}
	a := d.Action
	ex.rule = d.Rule
	ex.cause = fmt.Sprintf("scenario rule %q acted on its matching call %d: %s", d.Rule, d.Call, a.Describe())
	setCause(w.Header(), ex.cause)
	if !s.sleep(r.Context(), a.Delay, d.Released) {
		abort(w, r, "", false) // the client left while we waited
		return true
	}
	switch a.Fault {
	case scenario.FaultReset:
		abort(w, r, a.Fault, true)
	case scenario.FaultEmpty:
		// Promise a body, send the headers, then hang up: the client reads an unexpected EOF.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1024")
		markFault(w, r, a.Fault)
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		abort(w, r, a.Fault, false)
	case scenario.FaultMalformed:
		// The request is served for real; only its answer arrives cut in half.
		rec := httptest.NewRecorder()
		s.run(ex, rec, r)
		body := rec.Body.Bytes()
		body = body[:len(body)/2]
		if len(body) == 0 {
			body = []byte(`{"`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	case scenario.FaultTimeout:
		abort(w, r, a.Fault, false) // the delay above was the wait
	default:
		if a.Status == 0 {
			return false // a slow but normal answer
		}
		respond(w, ex, a)
	}
	return true
}

// respond writes a scripted status: the rule's body, or ISC's for the status.
func respond(w http.ResponseWriter, ex *exchange, a *scenario.Action) {
	for k, v := range a.Headers {
		w.Header().Set(k, v)
	}
	switch {
	case a.Body != nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.Status)
		if a.Status != http.StatusNoContent && a.Status != http.StatusNotModified {
			_, _ = w.Write(a.Body)
		}
	case a.Status < 400:
		w.WriteHeader(a.Status)
	default:
		writeError(w, ex.requestID, withCause(statusError(a.Status, ex.route.op == OpToken), ex.cause))
	}
}

// statusError is ISC's error for a status, in the shape the endpoint uses.
func statusError(status int, oauth bool) *Error {
	text := http.StatusText(status)
	switch {
	case status == http.StatusTooManyRequests:
		return errTooMany
	case oauth && status < 500:
		return oauthError(status, strings.ToLower(strings.ReplaceAll(text, " ", "_")), text)
	}
	for _, e := range []*Error{errForbidden, errNotFound, errInternal} {
		if e.Status == status {
			return e
		}
	}
	switch {
	case status == http.StatusUnauthorized:
		return unauthorized("JWT validation failed: " + text)
	case status == http.StatusBadRequest:
		return badRequest(codeBadContent, "The request was syntactically correct but its content is semantically invalid.")
	}
	return &Error{Status: status, Code: fmt.Sprintf("%d %s", status, text), Text: text + "."}
}

// limited explains the rate limiter's 429: the limit, the window and the count in it.
func limited(d scenario.Decision, version string) string {
	l := d.Limit
	who := "the tenant as a whole"
	switch l.Per {
	case "client":
		who = "client " + d.Caller.ClientID
	case "token":
		who = "token " + auth.Fingerprint(d.Caller.Token)
	}
	end := d.Window.Add(l.Window)
	return fmt.Sprintf("rate limit of %d requests per %s per %s and API version: %s made %d in %s's window %s to %s on the mock clock; "+
		"Retry-After is the seconds to the window's end", l.Requests, l.Window, l.Per, who, d.Count, version,
		d.Window.UTC().Format(time.TimeOnly), end.UTC().Format(time.TimeOnly))
}

// caller tells the scenario who is calling: from the bearer token, or at the token endpoint from
// the client credentials.
func (s *Service) caller(ex *exchange, r *http.Request) scenario.Caller {
	if ex.route.op == OpToken {
		id := tokenClientID(ex, r)
		pat, _ := s.Store.PAT(id)
		return scenario.Caller{ClientID: id, Identity: pat.OwnerID}
	}
	claims, err := s.verify(ex, auth.Bearer(r.Header.Get("Authorization")))
	if err != nil {
		return scenario.Caller{}
	}
	return scenario.Caller{Identity: claims.IdentityID, ClientID: claims.ClientID, Token: claims.JTI}
}

// sleep waits d, or less if the client goes away (false), or the scenario is cleared or replaced,
// or the server closes (true: the wait is over). It does not wait when Held is full.
func (s *Service) sleep(ctx context.Context, d time.Duration, released <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	if s.Held != nil {
		select {
		case s.Held <- struct{}{}:
			defer func() { <-s.Held }()
		default:
			return true // as many requests are held as may be: this one is not
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-released:
	case <-s.Closing:
	case <-ctx.Done():
		return false
	}
	return true
}

// FaultHeader names the fault that would have dropped the connection, in a response written
// without one (Handler called directly, with a recorder).
const FaultHeader = "Iscmock-Fault"

// served reports whether an http.Server serves the request, so there is a connection to drop.
func served(r *http.Request) bool { return r.Context().Value(http.ServerContextKey) != nil }

// markFault names the fault in the response when there is no connection to act it out on.
func markFault(w http.ResponseWriter, r *http.Request, fault string) {
	if !served(r) && fault != "" {
		w.Header().Set(FaultHeader, fault)
	}
}

// abort drops the connection without (the rest of) an answer; rst makes it a TCP reset where the
// connection allows. Under an http.Server it does not return: http.ErrAbortHandler tells the
// server to close quietly. Called directly there is no connection and nothing may panic in the
// caller: the response ends as it stands, marked with FaultHeader.
func abort(w http.ResponseWriter, r *http.Request, fault string, rst bool) {
	if !served(r) {
		markFault(w, r, fault)
		return
	}
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		if tcp, ok := conn.(*net.TCPConn); ok && rst {
			_ = tcp.SetLinger(0)
		}
		_ = conn.Close()
	}
	panic(http.ErrAbortHandler)
}
