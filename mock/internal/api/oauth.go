package api

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock/internal/store"
)

// tokenResponse is ISC's answer to a client_credentials grant, fields in the authentication
// guide's order, with user_name where the SDKs read it.
type tokenResponse struct {
	AccessToken         string `json:"access_token"`
	TokenType           string `json:"token_type"`
	ExpiresIn           int    `json:"expires_in"`
	Scope               string `json:"scope"`
	AccessType          string `json:"accessType"`
	TenantID            string `json:"tenant_id"`
	Internal            bool   `json:"internal"`
	Pod                 string `json:"pod"`
	StrongAuthSupported bool   `json:"strong_auth_supported"`
	Org                 string `json:"org"`
	UserID              string `json:"user_id"`
	IdentityID          string `json:"identity_id"`
	UserName            string `json:"user_name"`
	StrongAuth          bool   `json:"strong_auth"`
	Enabled             bool   `json:"enabled"`
	JTI                 string `json:"jti"`
}

// lastUsedEvery is how often ISC refreshes a token's lastUsed: "only once a day".
const lastUsedEvery = 24 * time.Hour

var (
	errBadCredentials = oauthError(http.StatusUnauthorized, "unauthorized", "Full authentication is required to access this resource")
	errPATExpired     = oauthError(http.StatusUnauthorized, "invalid_client", "Personal access token has expired")
	errOwnerDisabled  = oauthError(http.StatusUnauthorized, "unauthorized", "User is disabled")
)

// token: POST /oauth/token with grant_type=client_credentials and a PAT's id and secret, from a
// form body, a multipart form, the query string or HTTP Basic, as real clients send them.
//
// As in the framework ISC's only observed refusal comes from, the client is authenticated before
// the grant is read: bad credentials are 401 whatever the grant, and only an authenticated client
// learns that its grant is missing or unsupported (400).
func (s *Service) token(ex *exchange, w http.ResponseWriter, r *http.Request) error {
	if err := tokenParams(ex, r); err != nil {
		return err
	}
	pat, owner, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	switch grant := r.Form.Get("grant_type"); {
	case grant == "":
		return withCause(oauthError(http.StatusBadRequest, "invalid_request", "Missing grant type"),
			"no grant_type: send grant_type=client_credentials with the client id and secret")
	case !strings.EqualFold(grant, "client_credentials"):
		return withCause(oauthError(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+grant),
			fmt.Sprintf("grant_type %q: a personal access token is exchanged with grant_type=client_credentials", grant))
	}
	validity := time.Duration(pat.AccessTokenValiditySeconds) * time.Second
	token, claims, err := s.Mint(owner, pat.ID, pat.Scope, validity)
	if err != nil {
		return err
	}
	now := s.Now()
	if pat.LastUsed.IsZero() || now.Sub(pat.LastUsed) >= lastUsedEvery {
		if err := s.touch(pat.ID, now); err != nil {
			return err
		}
	}
	ex.identity, ex.clientID = owner.ID, pat.ID
	ex.secrets = append(ex.secrets, token) // the client's alone: the journal names it by its fingerprint
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: token, TokenType: "bearer", ExpiresIn: pat.AccessTokenValiditySeconds,
		Scope: strings.Join(pat.Scope, " "), AccessType: claims.AccessType, TenantID: claims.TenantID, Pod: claims.Pod,
		Org: claims.Org, UserID: claims.UserID, IdentityID: owner.ID, UserName: owner.UserName, Enabled: claims.Enabled,
		JTI: claims.JTI,
	})
	return nil
}

// credentials returns the token a token request names, and whether its secret is that token's;
// when it is not, why not, for a person (never the secret). The request's parameters must have
// been read (tokenParams).
func (s *Service) credentials(r *http.Request) (store.PAT, bool, string) {
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
	}
	pat, known := s.Store.PAT(id)
	// Compare even for an unknown id, so the answer takes as long either way.
	match := subtle.ConstantTimeCompare([]byte(pat.Secret), []byte(secret)) == 1
	switch {
	case id == "":
		return pat, false, "no client_id: send client_id and client_secret (form fields, or HTTP Basic)"
	case !known:
		return pat, false, fmt.Sprintf("client_id %s is no personal access token of this tenant", id)
	case secret == "":
		return pat, false, fmt.Sprintf("no client_secret for client_id %s", id)
	case !match:
		return pat, false, fmt.Sprintf("the client_secret is not client_id %s's", id)
	}
	return pat, true, ""
}

// authenticateClient finds the PAT whose id and secret the request carries (HTTP Basic, else the
// parameters) and its owner; it refuses an expired token and a disabled owner.
func (s *Service) authenticateClient(r *http.Request) (store.PAT, store.Identity, error) {
	pat, ok, why := s.credentials(r)
	if !ok {
		return store.PAT{}, store.Identity{}, withCause(errBadCredentials, why)
	}
	if now := s.Now(); !pat.ExpirationDate.IsZero() && !now.Before(pat.ExpirationDate) {
		return store.PAT{}, store.Identity{}, withCause(errPATExpired, fmt.Sprintf("client_id %s's token expired at %s on the mock clock, "+
			"which shows %s", pat.ID, pat.ExpirationDate.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	owner, ok := s.Store.Identity(pat.OwnerID)
	switch {
	case !ok:
		return store.PAT{}, store.Identity{}, withCause(errBadCredentials, fmt.Sprintf("client_id %s's owner %s is no identity of this tenant", pat.ID, pat.OwnerID))
	case owner.Disabled:
		return store.PAT{}, store.Identity{}, withCause(errOwnerDisabled, fmt.Sprintf("client_id %s belongs to %s, which is disabled", pat.ID, describe(owner)))
	}
	return pat, owner, nil
}

// oauthInfo is GET /oauth/info: how a client reaches the tenant's OAuth endpoints, fields in the
// authentication guide's order.
type oauthInfo struct {
	TenantID          string `json:"tenantId"`
	TenantName        string `json:"tenantName"`
	AuthorizeEndpoint string `json:"authorizeEndpoint"`
	TokenEndpoint     string `json:"tokenEndpoint"`
	CloudDomainURL    string `json:"cloudDomainUrl"`
	LogoutURL         string `json:"logoutUrl"`
	Pod               string `json:"pod"`
}

// info: GET /oauth/info, unauthenticated, with URLs built from the base URL the client used. The
// mock serves one host, so the authorize and logout URLs (ISC's login and UI hosts) are on it too.
func (s *Service) info(_ *exchange, w http.ResponseWriter, r *http.Request) error {
	base := s.baseURL(r)
	writeJSON(w, http.StatusOK, oauthInfo{
		TenantID: s.Tenant.ID, TenantName: s.Tenant.Org, AuthorizeEndpoint: base + "/oauth/authorize",
		TokenEndpoint: base + "/oauth/token", CloudDomainURL: base, LogoutURL: base + "/logout", Pod: s.Tenant.Pod,
	})
	return nil
}

// forwardedHost is a host[:port] a proxy may pass on; anything else in X-Forwarded-Host is ignored.
var forwardedHost = regexp.MustCompile(`^([A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

// baseURL is the tenant's base URL as the client reached it: through a proxy, the scheme and host
// of X-Forwarded-Proto and X-Forwarded-Host (their first values, when well-formed).
func (s *Service) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := firstValue(r.Header.Get("X-Forwarded-Host")); forwardedHost.MatchString(h) {
		host = h
	}
	return scheme + "://" + host + s.Prefix
}

// firstValue is the first of a header's comma-separated values, which the client's side of a
// chain of proxies added.
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// tokenClientID is the client id a token request names (HTTP Basic, else the parameters), known or
// not.
func tokenClientID(ex *exchange, r *http.Request) string {
	id, _, ok := r.BasicAuth()
	if !ok && tokenParams(ex, r) == nil {
		id = r.Form.Get("client_id")
	}
	return id
}

// tokenParams reads the token request's parameters, once: the scenario may ask first, and both
// must see the same failure.
func tokenParams(ex *exchange, r *http.Request) error {
	if !ex.formRead {
		ex.formRead, ex.formErr = true, readTokenParams(r)
	}
	return ex.formErr
}

func readTokenParams(r *http.Request) error {
	err := r.ParseForm()
	if err == nil {
		if err = r.ParseMultipartForm(MaxBody); errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return withCause(oauthError(http.StatusRequestEntityTooLarge, "invalid_request", errTooLarge.Text),
			fmt.Sprintf("the request body is larger than %d bytes (1 MiB), the most the mock reads", MaxBody))
	case err != nil:
		return oauthError(http.StatusBadRequest, "invalid_request", "The request parameters could not be read: "+err.Error())
	}
	return nil
}

// touch records that the token minted an access token now, at most once a day. A token deleted
// meanwhile is no error: the exchange happened before the delete.
func (s *Service) touch(id string, now time.Time) error {
	_, err := s.Store.Update(id, func(p store.PAT) (store.PAT, error) {
		if p.LastUsed.IsZero() || now.Sub(p.LastUsed) >= lastUsedEvery {
			p.LastUsed = store.Millis(now)
		}
		return p, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
