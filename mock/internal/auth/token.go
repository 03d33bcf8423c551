// Package auth mints and verifies the tenant's bearer tokens and decides what a caller may do.
package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is the claim set of an ISC access token minted from a personal access token, in the order
// of the token in the authentication guide's token response.
type Claims struct {
	TenantID            string   `json:"tenant_id"`
	Internal            bool     `json:"internal"`
	Pod                 string   `json:"pod"`
	Org                 string   `json:"org"`
	IdentityID          string   `json:"identity_id"`
	UserName            string   `json:"user_name"`
	StrongAuth          bool     `json:"strong_auth"`
	Authorities         []string `json:"authorities"`
	Enabled             bool     `json:"enabled"`
	ClientID            string   `json:"client_id"`
	AccessType          string   `json:"accessType"`
	StrongAuthSupported bool     `json:"strong_auth_supported"`
	UserID              string   `json:"user_id"`
	Scope               []string `json:"scope"`
	Exp                 int64    `json:"exp"`
	JTI                 string   `json:"jti"`
	// ISC's tokens carry neither; a token that does is held to them.
	NotBefore *int64 `json:"nbf,omitempty"`
	IssuedAt  *int64 `json:"iat,omitempty"`
}

// The jwt library reads the registered claims through these methods.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Exp, 0)), nil
}
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error)  { return numericDate(c.IssuedAt), nil }
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) { return numericDate(c.NotBefore), nil }

func numericDate(secs *int64) *jwt.NumericDate {
	if secs == nil {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(*secs, 0))
}
func (c *Claims) GetIssuer() (string, error)             { return "", nil }
func (c *Claims) GetSubject() (string, error)            { return "", nil }
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return nil, nil }

// Signer signs tokens with ES256, as ISC does, under a key of its own: a token signed by another
// Signer (another server or tenant) never verifies. The key always comes from crypto/rand, even when
// the server's other randomness is seeded, so that no two servers share one.
type Signer struct {
	key func() *ecdsa.PrivateKey
	now func() time.Time

	mu            sync.RWMutex
	verified      map[Digest]*Claims // by the token's digest: tokens whose signature checked out
	verifiedBytes int                // what verified holds, as claimSize counts it
}

// VerifiedBudget bounds the memory of a signer's cache of verified tokens (about 3,000 typical
// ones); a token that would pass it evicts a quarter of the budget's worth, at random. A token's cost
// is its claims, not its length (see claimSize).
const VerifiedBudget = 2 << 20

// Bearer returns the token of an Authorization header value "Bearer TOKEN" (the scheme in any
// case), or "" when the value is not one.
func Bearer(header string) string {
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// NewSigner makes a signer whose expiry checks use now, signing with key. A nil key is made on
// first use, so a server that never sees a token does not pay for one.
func NewSigner(now func() time.Time, key *ecdsa.PrivateKey) *Signer {
	if key != nil {
		return &Signer{now: now, key: func() *ecdsa.PrivateKey { return key }}
	}
	return &Signer{now: now, key: sync.OnceValue(func() *ecdsa.PrivateKey {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(fmt.Sprintf("auth: generating a P-256 key: %v", err)) // crypto/rand does not fail
		}
		return key
	})}
}

// Key is the signing key, made now if it was not yet.
func (s *Signer) Key() *ecdsa.PrivateKey { return s.key() }

// Sign returns the compact JWT for c.
func (s *Signer) Sign(c *Claims) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodES256, c).SignedString(s.key())
}

// ErrInvalid wraps every reason a bearer token is refused; its text is ISC's 401 message.
type ErrInvalid struct{ Reason string }

// The reasons of ErrInvalid.
const (
	ReasonExpired     = "JWT is expired"
	ReasonNotYetValid = "JWT is not valid yet"
	ReasonMalformed   = "JWT is malformed"
	ReasonSignature   = "JWT signature does not match"
	ReasonInvalid     = "JWT is invalid"
)

// Peek reads a token's claims and algorithm without checking anything: only to explain why it
// was refused. It returns nil claims for what is no JWT.
func Peek(token string) (*Claims, string) {
	var c Claims
	t, _, err := jwt.NewParser().ParseUnverified(token, &c)
	if err != nil {
		return nil, ""
	}
	alg, _ := t.Header["alg"].(string)
	return &c, alg
}

func (e *ErrInvalid) Error() string { return "JWT validation failed: " + e.Reason }

// Digest is a token's SHA-256, by which verified tokens are cached and fingerprinted.
type Digest [sha256.Size]byte

// DigestOf hashes the token in place: a copy would cost every request its length in garbage.
func DigestOf(token string) Digest {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// Verify checks the signature, the algorithm and expiry on the signer's clock and returns the
// claims, which the caller must not change. A signature is checked once per token; expiry every
// time, as the clock may have moved.
func (s *Signer) Verify(token string) (*Claims, error) { return s.VerifyDigest(token, DigestOf(token)) }

// VerifyDigest is Verify for a token whose digest the caller has taken.
func (s *Signer) VerifyDigest(token string, digest Digest) (*Claims, error) {
	s.mu.RLock()
	c, ok := s.verified[digest]
	s.mu.RUnlock()
	if !ok {
		var err error
		if c, err = s.verify(token); err != nil {
			return nil, err
		}
		s.remember(digest, c)
	}
	// The signature was checked once; the times are checked on every use, as the clock moves.
	now := s.now()
	switch {
	case !now.Before(time.Unix(c.Exp, 0)):
		return nil, &ErrInvalid{ReasonExpired}
	case c.NotBefore != nil && now.Before(time.Unix(*c.NotBefore, 0)),
		c.IssuedAt != nil && now.Before(time.Unix(*c.IssuedAt, 0)):
		return nil, &ErrInvalid{ReasonNotYetValid}
	}
	return c, nil
}

func (s *Signer) remember(digest Digest, c *Claims) {
	size := claimSize(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verified == nil {
		s.verified = map[Digest]*Claims{}
	}
	if _, ok := s.verified[digest]; ok || size > VerifiedBudget {
		return
	}
	if s.verifiedBytes+size > VerifiedBudget {
		// Map order is random: a random quarter goes, so a working set a little over the budget
		// still mostly hits, where starting over would miss every time.
		for d, old := range s.verified {
			delete(s.verified, d)
			s.verifiedBytes -= claimSize(old)
			if s.verifiedBytes+size <= VerifiedBudget*3/4 {
				break
			}
		}
	}
	s.verified[digest] = c
	s.verifiedBytes += size
}

// Forget empties the cache of verified tokens; they are checked again on their next use.
func (s *Signer) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verified, s.verifiedBytes = nil, 0
}

// claimSize is what a cached token costs: its digest, the map entry, the claims and their strings.
// TestVerifiedCacheCost holds it to the heap the runtime reports.
func claimSize(c *Claims) int {
	n := 480
	for _, s := range [...]string{c.TenantID, c.Pod, c.Org, c.IdentityID, c.UserName, c.ClientID, c.JTI} {
		n += len(s) + len(s)/8 // allocations round up to size classes
	}
	for _, list := range [...][]string{c.Authorities, c.Scope} {
		for _, s := range list {
			n += 32 + len(s) + len(s)/8
		}
	}
	return n
}

func (s *Signer) verify(token string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return &s.key().PublicKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithTimeFunc(s.now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	switch {
	case err == nil:
		return &c, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, &ErrInvalid{ReasonExpired}
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return nil, &ErrInvalid{ReasonNotYetValid}
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, &ErrInvalid{ReasonMalformed}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, &ErrInvalid{ReasonSignature}
	}
	return nil, &ErrInvalid{ReasonInvalid}
}

// Fingerprint names a token without revealing it, where the mock shows which token was used.
func Fingerprint(token string) string {
	var b [len("sha256:") + 12]byte
	return string(AppendFingerprint(b[:0], token))
}

// AppendFingerprint appends the token's Fingerprint to b.
func AppendFingerprint(b []byte, token string) []byte { return DigestOf(token).AppendFingerprint(b) }

// AppendFingerprint appends the Fingerprint of the token of this digest to b.
func (d Digest) AppendFingerprint(b []byte) []byte {
	return hex.AppendEncode(append(b, "sha256:"...), d[:6])
}
