package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// clock is a settable time for the signer.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func claims(exp time.Time) *Claims {
	return &Claims{IdentityID: "id", ClientID: "client", Scope: []string{ScopeAll}, Exp: exp.Unix(), JTI: "j"}
}

func sec(t time.Time) *int64 { s := t.Unix(); return &s }

func TestVerify(t *testing.T) {
	c := newClock(t0)
	s := NewSigner(c.now, nil)
	sign := func(cl *Claims) string {
		tok, err := s.Sign(cl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(claims(t0.Add(time.Hour)))
	parts := strings.Split(good, ".")
	other, _ := NewSigner(c.now, nil).Sign(claims(t0.Add(time.Hour)))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	pub, _ := x509.MarshalPKIXPublicKey(&s.key().PublicKey)
	hs256, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(t0.Add(time.Hour))).SignedString(pub) // algorithm confusion
	otherKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	es384, _ := jwt.NewWithClaims(jwt.SigningMethodES384, claims(t0.Add(time.Hour))).SignedString(otherKey)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"id"`, `"admin"`, 1))) + "." + parts[2]
	notYet := claims(t0.Add(2 * time.Hour))
	notYet.NotBefore = sec(t0.Add(time.Hour))
	issuedLater := claims(t0.Add(2 * time.Hour))
	issuedLater.IssuedAt = sec(t0.Add(time.Hour))

	cases := []struct {
		name, token, reason string
	}{
		{"valid", good, ""},
		{"another signer's key", other, "signature does not match"},
		{"alg none", none, "signature does not match"},
		{"HS256 keyed with the public key", hs256, "signature does not match"},
		{"ES384", es384, "signature does not match"},
		{"tampered claims", tampered, "signature does not match"},
		{"expired", sign(claims(t0.Add(-time.Second))), "JWT is expired"},
		{"not before", sign(notYet), "JWT is not valid yet"},
		{"issued in the future", sign(issuedLater), "JWT is not valid yet"},
		{"garbage", "a.b.c", "JWT is malformed"},
		{"empty", "", "JWT is malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the second time from the cache, if the first succeeded
				got, err := s.Verify(tc.token)
				switch {
				case tc.reason == "" && (err != nil || got.IdentityID != "id"):
					t.Fatalf("Verify: %v %v", got, err)
				case tc.reason != "" && (err == nil || !strings.Contains(err.Error(), tc.reason)):
					t.Fatalf("error %v, want one saying %q", err, tc.reason)
				}
			}
		})
	}
}

// TestVerifyCacheFollowsTheClock: a cached token expires, and is not yet valid, as the clock says.
func TestVerifyCacheFollowsTheClock(t *testing.T) {
	c := newClock(t0)
	s := NewSigner(c.now, nil)
	cl := claims(t0.Add(time.Hour))
	cl.IssuedAt = sec(t0)
	tok, _ := s.Sign(cl)
	if _, err := s.Verify(tok); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(time.Hour))
	if _, err := s.Verify(tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an hour later: %v, want expired", err)
	}
	c.set(t0.Add(-time.Minute))
	if _, err := s.Verify(tok); err == nil || !strings.Contains(err.Error(), "not valid yet") {
		t.Errorf("a minute before it was issued: %v, want not valid yet", err)
	}
}

func TestVerifyCacheIsBounded(t *testing.T) {
	c := newClock(t0)
	s := NewSigner(c.now, nil)
	for i := range 5000 {
		cl := claims(t0.Add(time.Hour))
		cl.JTI = fmt.Sprint(i)
		tok, _ := s.Sign(cl)
		if _, err := s.Verify(tok); err != nil {
			t.Fatal(err)
		}
		if s.verifiedBytes > VerifiedBudget {
			t.Fatalf("%d bytes cached after %d tokens, budget %d", s.verifiedBytes, i+1, VerifiedBudget)
		}
	}
	s.Forget()
	if len(s.verified) != 0 || s.verifiedBytes != 0 {
		t.Errorf("after Forget: %d tokens, %d bytes", len(s.verified), s.verifiedBytes)
	}
}

// TestVerifiedCacheCost: what claimSize counts for a cached token is at least what it costs the
// heap, for the smallest and the largest claims, so the budget bounds the real memory.
func TestVerifiedCacheCost(t *testing.T) {
	big := make([]string, 100)
	for i := range big {
		big[i] = fmt.Sprintf("sp:%03d:%s", i, strings.Repeat("x", 93))
	}
	for _, tc := range []struct {
		name  string
		scope []string
		n     int
	}{{"small claims", []string{ScopeAll}, 1500}, {"largest claims", big, 30}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock(t0)
			s := NewSigner(c.now, nil)
			toks := make([]string, tc.n)
			for i := range toks {
				cl := claims(t0.Add(time.Hour))
				cl.Scope, cl.Authorities, cl.JTI = tc.scope, tc.scope, fmt.Sprintf("%036d", i)
				toks[i], _ = s.Sign(cl)
			}
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			before := m.HeapAlloc
			for _, tok := range toks {
				if _, err := s.Verify(tok); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&m)
			runtime.KeepAlive(toks)
			per := (int64(m.HeapAlloc) - int64(before)) / int64(tc.n)
			counted := int64(s.verifiedBytes / len(s.verified))
			t.Logf("%s: %d bytes per cached token on the heap, %d counted", tc.name, per, counted)
			if len(s.verified) != tc.n || per > counted {
				t.Errorf("%d cached; %d bytes each on the heap, more than the %d counted", len(s.verified), per, counted)
			}
		})
	}
}

func TestRights(t *testing.T) {
	cases := []struct {
		name                  string
		levels, extra, scopes []string
		want                  Rights
	}{
		{"end user, all scopes", nil, nil, []string{ScopeAll}, Rights(MyRead | MyManage)},
		{"org admin, all scopes", []string{"ORG_ADMIN"}, nil, []string{ScopeAll}, Rights(MyRead | MyManage | AllRead | AllManage | ManagedRead)},
		{"org admin, all-read scope", []string{"ORG_ADMIN"}, nil, []string{"sp:all-personal-access-tokens:read"}, Rights(AllRead | MyRead)},
		{"end user, all-manage scope it lacks", nil, nil, []string{"sp:all-personal-access-tokens:manage"}, Rights(MyManage | MyRead)},
		{"extra right", nil, []string{"idn:managed-personal-access-tokens:read"}, []string{ScopeAll}, Rights(MyRead | MyManage | ManagedRead)},
		{"default scope", []string{"ORG_ADMIN"}, nil, []string{"sp:scopes:default"}, 0},
		{"unknown scope", nil, nil, []string{"sp:unknown"}, 0},
	}
	for _, tc := range cases {
		if got := Effective(tc.levels, tc.extra, tc.scopes); got != tc.want {
			t.Errorf("%s: %b, want %b", tc.name, got, tc.want)
		}
	}
}

// BenchmarkSign is the ES256 signing that /oauth/token does for every token it mints: its cost on
// its own, beside which the endpoint's is read.
func BenchmarkSign(b *testing.B) {
	s := NewSigner(newClock(t0).now, nil)
	c := &Claims{TenantID: "1b2c3d4e-0000-4000-8000-000000000000", Pod: "mock01-useast1", Org: "iscmock",
		IdentityID: "2c9180867b50d088017b554662fb281e", UserName: "alice.admin", Authorities: []string{"ORG_ADMIN"},
		ClientID: "86f1dc6fe8f54414950454cbb11278fa", Scope: []string{ScopeAll}, Exp: t0.Add(12 * time.Hour).Unix(),
		JTI: "0f8fad5b-d9cb-469f-a165-70867728950e"}
	_, _ = s.Sign(c) // the key is made on first use
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBearer(t *testing.T) {
	for header, want := range map[string]string{
		"Bearer abc":    "abc",
		"bearer abc":    "abc",
		"BEARER  abc  ": "abc",
		"Basic abc":     "",
		"Bearer":        "",
		"Bearer ":       "",
		"abc":           "",
		"":              "",
	} {
		if got := Bearer(header); got != want {
			t.Errorf("Bearer(%q) = %q, want %q", header, got, want)
		}
	}
}

// TestSignerWithKey: a signer given another's key verifies its tokens, as a server restarted from
// its state directory verifies the bearer tokens it minted before.
func TestSignerWithKey(t *testing.T) {
	c := newClock(t0)
	before := NewSigner(c.now, nil)
	token, err := before.Sign(claims(t0.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(c.now, before.Key()).Verify(token); err != nil {
		t.Errorf("a signer with the same key: %v", err)
	}
	if _, err := NewSigner(c.now, nil).Verify(token); err == nil {
		t.Error("a signer with a key of its own verified another's token")
	}
}
