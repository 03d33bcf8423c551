package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock/internal/auth"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// Every answer that is not the API working normally says why in its Iscmock-Cause header, one
// line a person reads at once; the journal and the log keep it. ISC's bodies stay ISC's.

// forbidden is ISC's 403, with why.
func forbidden(cause string) *Error { return withCause(errForbidden, cause) }

// notFound is ISC's 404, with what was looked for.
func notFound(cause string) *Error { return withCause(errNotFound, cause) }

func withCause(e *Error, cause string) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// need lets the call go on if the caller holds right, else refuses it (see refuse); what is the
// operation as the right depends on it ("listPersonalAccessTokens without owner-id").
func (c call) need(right auth.Right, what string) error {
	if c.rights.Has(right) {
		return nil
	}
	return c.refuse(right.Name(), fmt.Sprintf("%s needs %s (%s has it, or an identity given it as an extra right); %s",
		what, right.Name(), auth.GrantedBy(right), c.who()))
}

// refuse answers ISC's 403 with cause, noting that the caller lacked what; with soft rights it
// lets the call go on instead, marking the answer as one the rights would have refused.
func (c call) refuse(lacked, cause string) error {
	c.ex.lacked = append(c.ex.lacked, lacked)
	if !c.soft {
		return forbidden(cause)
	}
	c.ex.waived = true
	c.ex.cause = joinCause(c.ex.cause, "soft: would be 403: "+cause)
	setCause(c.ex.w.Header(), c.ex.cause)
	return nil
}

func joinCause(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// who describes the caller for an explanation: which identity, with which levels, holding which
// rights through which token.
func (c call) who() string {
	has := "no right of this API"
	if names := c.rights.Names(); len(names) > 0 {
		has = strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s has %s, through a token of client %s scoped %s", describe(c.caller), has, c.ex.clientID, listed(c.scope))
}

// describe names an identity: its id, name and user levels.
func describe(id store.Identity) string {
	levels := "end user"
	if len(id.UserLevels) > 0 {
		levels = strings.Join(id.UserLevels, ",")
	}
	return fmt.Sprintf("%s (%s, %s)", id.ID, id.Name, levels)
}

// listed writes a list of names, the first few of them: a scope may hold a hundred.
func listed(names []string) string {
	const shown = 8
	if len(names) == 0 {
		return "[]"
	}
	if len(names) <= shown {
		return "[" + strings.Join(names, " ") + "]"
	}
	return fmt.Sprintf("[%s ... and %d more]", strings.Join(names[:shown], " "), len(names)-shown)
}

// explainToken says why a bearer token was refused, for a person: when it expired, or which tenant
// signed it, read from its own claims (unverified: they only explain the refusal).
func (s *Service) explainToken(token string, err error) string {
	var invalid *auth.ErrInvalid
	if !errors.As(err, &invalid) {
		return err.Error()
	}
	c, alg := auth.Peek(token)
	at := func(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) }
	now := s.Now().UTC().Format(time.RFC3339)
	switch {
	case c == nil:
		return "the bearer token is not a JWT (three base64url parts, signed with ES256 by this tenant): it is malformed"
	case invalid.Reason == auth.ReasonExpired:
		return fmt.Sprintf("the bearer token (client %s) expired at %s on the mock clock, which shows %s", c.ClientID, at(c.Exp), now)
	case invalid.Reason == auth.ReasonNotYetValid:
		return fmt.Sprintf("the bearer token (client %s) is not valid before its issue time, after %s on the mock clock", c.ClientID, now)
	case alg != "ES256":
		return fmt.Sprintf("the bearer token is signed with %q; this tenant signs with ES256 and accepts nothing else", alg)
	case c.TenantID != s.Tenant.ID && c.TenantID != "":
		return fmt.Sprintf("the bearer token was signed by another tenant (org %q, tenant_id %s), not this one (org %q): each tenant signs "+
			"with a key of its own", c.Org, c.TenantID, s.Tenant.Org)
	}
	return "the bearer token's signature does not match this tenant's key: it was changed, or signed by another iscmock server " +
		"(each makes keys of its own)"
}

// noSuchRoute is the cause of a 404 for a path the API does not serve.
func noSuchRoute(r *http.Request) string {
	return fmt.Sprintf("no route %s %s: the API serves /{beta,v3,v2024,v2025,v2026}/personal-access-tokens[/{id}], "+
		"/personal-access-tokens/v1[/{id}], /oauth/token and /oauth/info", r.Method, r.URL.Path)
}
