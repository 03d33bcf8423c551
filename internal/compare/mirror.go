package compare

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/iscmock/iscmock/mock"
)

// Tenant is what a run learns of the target: the identities behind the given PATs and every token
// the admin may list. The mock that mirrors the target is seeded from it.
type Tenant struct {
	Admin      string      `json:"admin"`          // identity id behind --client-id
	AdminToken string      `json:"adminToken"`     // --client-id
	User       string      `json:"user,omitempty"` // identity id behind --user-client-id
	UserToken  string      `json:"userToken,omitempty"`
	Identities []Identity  `json:"identities"`
	Tokens     []TenantPAT `json:"personalAccessTokens"`
}

// Identity is an identity seen on the target.
type Identity struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	UserName   string   `json:"userName,omitempty"`
	UserLevels []string `json:"userLevels"`
}

// TenantPAT is a token as the target lists it; never its secret.
type TenantPAT struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Scope []string `json:"scope"`
	Owner struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"owner"`
	Created                    string  `json:"created"`
	LastUsed                   *string `json:"lastUsed"`
	Managed                    bool    `json:"managed"`
	AccessTokenValiditySeconds int     `json:"accessTokenValiditySeconds"`
	ExpirationDate             *string `json:"expirationDate"`
	UserAwareTokenNeverExpires bool    `json:"userAwareTokenNeverExpires"`
}

// mirrorVersion is the version whose list shows every field a token has.
const mirrorVersion = "v2025"

// discover mints bearer tokens on the target and reads the tenant the mock must mirror.
func (s *side) discover(ctx context.Context) (Tenant, error) {
	t := Tenant{AdminToken: s.admin.ID}
	admin, err := s.mint(ctx, s.admin)
	if err != nil {
		return t, fmt.Errorf("the admin's PAT (--client-id) does not open the target: %w", err)
	}
	s.bearer[Admin] = admin.AccessToken
	t.Admin = admin.IdentityID
	t.Identities = append(t.Identities, Identity{ID: admin.IdentityID, UserName: admin.UserName, UserLevels: levels(admin.Authorities)})
	if s.user.ID != "" {
		user, err := s.mint(ctx, s.user)
		if err != nil {
			return t, fmt.Errorf("the end user's PAT (--user-client-id) does not open the target: %w", err)
		}
		s.bearer[User] = user.AccessToken
		t.User, t.UserToken = user.IdentityID, s.user.ID
		if user.IdentityID != admin.IdentityID {
			t.Identities = append(t.Identities, Identity{ID: user.IdentityID, UserName: user.UserName, UserLevels: levels(user.Authorities)})
		}
	}
	// Every token of the tenant, if the admin may list them all; else each caller's own.
	queries := map[Caller]string{Admin: ""}
	if rep, err := s.call(ctx, mirrorVersion, Admin, http.MethodGet, collection(mirrorVersion), "", ""); err != nil {
		return t, fmt.Errorf("listing the target's tokens: %w", err)
	} else if rep.status != http.StatusOK {
		queries = map[Caller]string{Admin: "?owner-id=me"}
		if s.user.ID != "" {
			queries[User] = "?owner-id=me"
		}
	}
	seen := map[string]bool{}
	for _, as := range []Caller{Admin, User} {
		q, ok := queries[as]
		if !ok {
			continue
		}
		rep, err := s.call(ctx, mirrorVersion, as, http.MethodGet, collection(mirrorVersion)+q, "", "")
		if err != nil {
			return t, fmt.Errorf("listing the target's tokens: %w", err)
		}
		var items []TenantPAT
		if rep.status != http.StatusOK || json.Unmarshal(rep.body, &items) != nil {
			return t, fmt.Errorf("listing the target's tokens as the %s: %s answered %d", as, collection(mirrorVersion), rep.status)
		}
		for _, it := range items {
			if !seen[it.ID] {
				seen[it.ID] = true
				t.Tokens = append(t.Tokens, it)
			}
		}
	}
	for _, p := range t.Tokens {
		i := slices.IndexFunc(t.Identities, func(id Identity) bool { return id.ID == p.Owner.ID })
		if i < 0 {
			t.Identities = append(t.Identities, Identity{ID: p.Owner.ID, Name: p.Owner.Name})
		} else if t.Identities[i].Name == "" {
			t.Identities[i].Name = p.Owner.Name
		}
	}
	for i := range t.Identities {
		if t.Identities[i].Name == "" { // no token of it was listed
			t.Identities[i].Name = t.Identities[i].UserName
		}
	}
	return t, nil
}

// levels turns a token's authorities into ISC user levels: an end user's "USER" is none.
func levels(authorities []string) []string {
	out := []string{}
	for _, a := range authorities {
		if a != "USER" {
			out = append(out, a)
		}
	}
	return out
}

// held counts the tokens (managed ones aside) an identity holds.
func (t Tenant) held(identity string) int {
	n := 0
	for _, p := range t.Tokens {
		if p.Owner.ID == identity && !p.Managed {
			n++
		}
	}
	return n
}

// fixtures seeds a mock with the tenant; the given PATs keep their secrets, so the same
// credentials open both sides, and every other token gets a random one.
func (t Tenant) fixtures(secrets map[string]string) (mock.Fixtures, error) {
	var f mock.Fixtures
	for _, id := range t.Identities {
		f.Identities = append(f.Identities, mock.Identity{ID: id.ID, Name: id.Name, UserName: id.UserName, UserLevels: id.UserLevels})
	}
	for _, p := range t.Tokens {
		created, err := time.Parse(time.RFC3339, p.Created)
		if err != nil {
			return f, fmt.Errorf("token %s: created %q: %w", p.ID, p.Created, err)
		}
		pat := mock.PAT{ID: p.ID, Secret: secrets[p.ID], Name: p.Name, Owner: p.Owner.ID, Scope: p.Scope,
			AccessTokenValiditySeconds: p.AccessTokenValiditySeconds, Created: created, Managed: p.Managed,
			UserAwareTokenNeverExpires: p.UserAwareTokenNeverExpires}
		if pat.Secret == "" {
			pat.Secret = randomHex(32)
		}
		if pat.LastUsed, err = optionalTime(p.LastUsed); err != nil {
			return f, fmt.Errorf("token %s: lastUsed: %w", p.ID, err)
		}
		if pat.ExpirationDate, err = optionalTime(p.ExpirationDate); err != nil {
			return f, fmt.Errorf("token %s: expirationDate: %w", p.ID, err)
		}
		f.PersonalAccessTokens = append(f.PersonalAccessTokens, pat)
	}
	for _, id := range []string{t.AdminToken, t.UserToken} {
		if id != "" && !slices.ContainsFunc(t.Tokens, func(p TenantPAT) bool { return p.ID == id }) {
			return f, fmt.Errorf("the target did not list the token %s the run signs in with", id)
		}
	}
	return f, nil
}

func optionalTime(s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	return &t, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runID is 8 hex digits, the first a letter: the names a case-insensitivity probe upper-cases must
// differ from the run's own, or an all-digit id would normalise them to <run> rather than <RUN>.
func runID() string {
	id := []byte(randomHex(4))
	id[0] = "abcdef"[id[0]%6]
	return string(id)
}

// mirror starts an in-process mock seeded with the tenant, and the side that speaks to it. Its
// clock starts at start, or runs in real time when start is zero.
func mirror(ctx context.Context, t Tenant, admin, user Client, v *vars, start time.Time) (*side, error) {
	f, err := t.fixtures(map[string]string{admin.ID: admin.Secret, user.ID: user.Secret})
	if err != nil {
		return nil, fmt.Errorf("mirroring the target: %w", err)
	}
	opts := []mock.Option{mock.WithFixtureData(f)}
	if !start.IsZero() {
		opts = append(opts, mock.WithClock(start))
	}
	srv, err := mock.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("mirroring the target: %w", err)
	}
	s := &side{name: "mock", base: "http://iscmock.invalid", http: &http.Client{Transport: handlerTransport{srv.Handler()}},
		admin: admin, user: user, vars: v, bearer: map[Caller]string{}}
	s.unrouted = func() bool {
		reqs := srv.Requests()
		return len(reqs) > 0 && reqs[len(reqs)-1].Operation == ""
	}
	for as, c := range map[Caller]Client{Admin: admin, User: user} {
		if c.ID == "" {
			continue
		}
		info, err := s.mint(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("the mock mirroring the target refused the %s's PAT: %w", as, err)
		}
		s.bearer[as] = info.AccessToken
	}
	return s, nil
}

// handlerTransport answers requests with a handler in the same process: the mock needs no port,
// and its journal is written before the answer returns.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context())
	in.RequestURI = r.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:1"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	res := rec.Result()
	res.Request = r
	// On the wire every header name is canonical; the mock writes some as ISC spells them.
	h := http.Header{}
	for k, v := range res.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	res.Header = h
	return res, nil
}

// Loopback reports whether a target URL names this machine: only such a target may be changed
// without asking.
func Loopback(target string) bool {
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
