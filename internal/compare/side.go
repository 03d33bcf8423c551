package compare

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client is a PAT's client id and secret.
type Client struct{ ID, Secret string }

// side is one tenant the probes run against: the target, or the mock that mirrors it. It keeps
// the tokens it created until they are deleted.
type side struct {
	name    string // "target" or "mock"
	base    string
	http    *http.Client
	limit   *limiter // nil: no limit
	admin   Client
	user    Client // zero without the end user's PAT
	vars    *vars
	bearer  map[Caller]string
	created []created
	// unrouted reports whether the last request reached no route (the mock's journal knows);
	// nil on the target.
	unrouted     func() bool
	lastUnrouted bool // the last probe's request reached no route
}

// created is a token this run made and has not yet deleted.
type created struct {
	id, secret, collection string
	owner                  Caller
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// maxBody bounds what is read of an answer.
const maxBody = 4 << 20

// maxRetries bounds the retries of a throttled request; maxRetryAfter bounds one wait.
const (
	maxRetries    = 3
	maxRetryAfter = time.Minute
)

// request sends one request, waiting for the rate budget first and honouring Retry-After.
// key names the client the request counts against.
func (s *side) request(ctx context.Context, key, version string, req func() (*http.Request, error)) (reply, error) {
	for attempt := 0; ; attempt++ {
		if s.limit != nil {
			if err := s.limit.wait(ctx, key+" "+version); err != nil {
				return reply{}, err
			}
		}
		r, err := req()
		if err != nil {
			return reply{}, err
		}
		send := ctx
		if r.Method == http.MethodPost {
			// A POST sent is let finish (the client's timeout bounds it), even when the run is
			// interrupted: cut short, a create may still land on the target after the final sweep
			// has listed the run's tokens, and stay there. The run stops once it is answered.
			send = context.WithoutCancel(ctx)
		}
		res, err := s.http.Do(r.WithContext(send))
		if err != nil {
			return reply{}, scrubURL(err)
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
		res.Body.Close()
		if err != nil {
			return reply{}, err
		}
		if res.StatusCode != http.StatusTooManyRequests || attempt == maxRetries || s.limit == nil {
			return reply{res.StatusCode, res.Header, body}, nil
		}
		wait := time.Second
		if secs, err := strconv.Atoi(strings.TrimSpace(res.Header.Get("Retry-After"))); err == nil && secs >= 0 {
			wait = min(time.Duration(secs)*time.Second, maxRetryAfter)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return reply{}, ctx.Err()
		}
	}
}

// scrubURL drops the URL from a transport error: a token request may carry a secret in its query.
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// call sends an API request as caller; the body is JSON unless contentType says otherwise.
func (s *side) call(ctx context.Context, version string, as Caller, method, path, contentType, body string) (reply, error) {
	bearer := s.bearer[as]
	key := string(as)
	if bearer != "" {
		key = clientOf(bearer)
	}
	return s.request(ctx, key, version, func() (*http.Request, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r, err := http.NewRequest(method, s.base+path, rd)
		if err != nil {
			return nil, err
		}
		if body != "" {
			if contentType == "" {
				contentType = "application/json"
			}
			r.Header.Set("Content-Type", contentType)
		}
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		r.Header.Set("Accept", "application/json")
		return r, nil
	})
}

// tokenRequest asks /oauth/token for a bearer token, sending the credentials as creds says.
func (s *side) tokenRequest(ctx context.Context, c Client, creds Credentials, grant string) (reply, error) {
	return s.request(ctx, "oauth", "", func() (*http.Request, error) {
		params := url.Values{}
		if grant != "" {
			params.Set("grant_type", grant)
		}
		if creds != Basic {
			params.Set("client_id", c.ID)
			params.Set("client_secret", c.Secret)
		}
		var r *http.Request
		var err error
		switch creds {
		case Query:
			r, err = http.NewRequest(http.MethodPost, s.base+"/oauth/token?"+params.Encode(), nil)
		case Multipart:
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			for _, k := range []string{"grant_type", "client_id", "client_secret"} {
				if v := params.Get(k); v != "" {
					_ = w.WriteField(k, v)
				}
			}
			_ = w.Close()
			if r, err = http.NewRequest(http.MethodPost, s.base+"/oauth/token", &b); err == nil {
				r.Header.Set("Content-Type", w.FormDataContentType())
			}
		default:
			if r, err = http.NewRequest(http.MethodPost, s.base+"/oauth/token", strings.NewReader(params.Encode())); err == nil {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		}
		if err == nil && creds == Basic {
			r.SetBasicAuth(c.ID, c.Secret)
		}
		return r, err
	})
}

// tokenInfo is what a token response and its JWT say about the identity behind a PAT.
type tokenInfo struct {
	AccessToken string `json:"access_token"`
	IdentityID  string `json:"identity_id"`
	UserName    string `json:"user_name"`
	Scope       string `json:"scope"`
	ExpiresIn   int    `json:"expires_in"`
	Authorities []string
}

// mint exchanges a PAT for a bearer token.
func (s *side) mint(ctx context.Context, c Client) (tokenInfo, error) {
	rep, err := s.tokenRequest(ctx, c, Form, "client_credentials")
	if err != nil {
		return tokenInfo{}, err
	}
	var info tokenInfo
	if rep.status != http.StatusOK || json.Unmarshal(rep.body, &info) != nil || info.AccessToken == "" {
		return tokenInfo{}, fmt.Errorf("/oauth/token answered %d", rep.status)
	}
	var claims struct {
		Authorities []string `json:"authorities"`
	}
	if parts := strings.Split(info.AccessToken, "."); len(parts) == 3 {
		if payload, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(payload, &claims)
		}
	}
	info.Authorities = claims.Authorities
	return info, nil
}

// clientOf reads the client_id claim of a bearer token, which ISC's limit counts by.
func clientOf(bearer string) string {
	var claims struct {
		ClientID string `json:"client_id"`
	}
	if parts := strings.Split(bearer, "."); len(parts) == 3 {
		if payload, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(payload, &claims)
		}
	}
	if claims.ClientID == "" {
		return "bearer"
	}
	return claims.ClientID
}

// limiter keeps each client within a budget of requests per window and API version, as ISC
// counts them, with real time.
type limiter struct {
	budget int
	window time.Duration

	mu   sync.Mutex
	sent map[string][]time.Time
}

func newLimiter(budget int, window time.Duration) *limiter {
	return &limiter{budget: budget, window: window, sent: map[string][]time.Time{}}
}

func (l *limiter) wait(ctx context.Context, key string) error {
	for {
		l.mu.Lock()
		now := time.Now()
		times := l.sent[key]
		for len(times) > 0 && now.Sub(times[0]) >= l.window {
			times = times[1:]
		}
		if len(times) < l.budget {
			l.sent[key] = append(times, now)
			l.mu.Unlock()
			return nil
		}
		l.sent[key] = times
		wait := l.window - now.Sub(times[0])
		l.mu.Unlock()
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
