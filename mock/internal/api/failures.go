package api

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/iscmock/iscmock/mock/internal/journal"
)

// A client whose token request was refused often goes on without a token (PowerShell's SDK sends
// "Bearer " with nothing after it), and its API request's 401 then names the wrong problem. So the
// server remembers each tenant's last refused token request per remote address for a minute of the
// tenant's clock, and such a 401's cause names it. The memory is the server's, not the tenant's: a
// tenant made for a request whose credentials were refused is gone when the request ends, and the
// next request makes it anew.

// Bounds of what a server remembers of refused token requests.
const (
	MaxTokenFailures = 1000        // tenant and remote address pairs, per server
	tokenFailureFor  = time.Minute // of the tenant's clock
	maxFailureField  = 128         // bytes of an address or client id kept
	maxFailureWhy    = 512         // bytes of the refusal's cause kept
)

// TokenFailures is, for each tenant and remote address, the last token request refused; the zero
// value is ready for use, and a server's tenants share one.
type TokenFailures struct {
	mu sync.Mutex
	by map[failureKey]tokenFailure
}

type failureKey struct{ tenant, addr string }

type tokenFailure struct {
	at       time.Time
	clientID string
	status   int
	why      string
}

// remoteHost is the address a request came from, its port aside: a client opens new connections.
func remoteHost(r *http.Request) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return journal.Bounded(host, maxFailureField)
}

// noteToken remembers a token request's answer: a refusal (or no answer) replaces the address's
// last one; a token given forgets it.
func (s *Service) noteToken(r *http.Request, ex *exchange, cause string) {
	f, key := s.TokenFailures, failureKey{s.Prefix, remoteHost(r)}
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ex.status != 0 && ex.status < 400 {
		delete(f.by, key)
		return
	}
	now := s.Now()
	if f.by == nil {
		f.by = map[failureKey]tokenFailure{}
	}
	if _, ok := f.by[key]; !ok && len(f.by) >= MaxTokenFailures {
		for k := range f.by { // any one goes (map order is random)
			delete(f.by, k)
			break
		}
	}
	f.by[key] = tokenFailure{at: now, clientID: journal.Bounded(tokenClientID(ex, r), maxFailureField),
		status: ex.status, why: journal.Bounded(cause, maxFailureWhy)}
}

// failedToken is what a 401 for a request without a token adds to its cause: why the last token
// request from the same address to this tenant was refused, when that was within the last minute
// of the tenant's clock; else "".
func (s *Service) failedToken(r *http.Request) string {
	f, key := s.TokenFailures, failureKey{s.Prefix, remoteHost(r)}
	if f == nil {
		return ""
	}
	f.mu.Lock()
	last, ok := f.by[key]
	f.mu.Unlock()
	// A tenant made for each request starts its clock anew, which may then show a moment before
	// the last one's: a minute either way counts.
	ago := s.Now().Sub(last.at)
	if !ok || ago < -tokenFailureFor || ago > tokenFailureFor {
		return ""
	}
	client := "client_id " + last.clientID
	if last.clientID == "" {
		client = "no client_id"
	}
	answer := fmt.Sprintf("refused with %d", last.status)
	if last.status == 0 {
		answer = "answered with no response (a scenario's fault)"
	}
	if last.why != "" {
		answer += ": " + last.why
	}
	when := "less than a second"
	if ago >= time.Second {
		when = ago.Round(time.Second).String()
	}
	return fmt.Sprintf("; the token request from this address (%s, %s) %s before, at %s on the mock clock, was %s",
		key.addr, client, when, last.at.UTC().Format(time.RFC3339), answer)
}

// forget forgets the tenant's refused token requests.
func (f *TokenFailures) forget(tenant string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.by {
		if k.tenant == tenant {
			delete(f.by, k)
		}
	}
}
