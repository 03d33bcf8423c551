// Package ids makes the identifiers, secrets and request ids of a tenant from one seedable source, so
// that a seeded server hands out the same values on every run.
package ids

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync"
)

// Valid reports whether s is what the mock takes as an identity or token id, or a tenant name:
// 1 to 64 letters, digits, '-' or '_' (ISC's ids are 32 hex characters).
func Valid(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Source is a goroutine-safe random source.
type Source struct {
	mu  sync.Mutex
	rng *rand.ChaCha8
}

// New returns a source seeded with seed.
func New(seed uint64) *Source {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return &Source{rng: rand.NewChaCha8(s)}
}

// MarshalBinary returns the source's state, from which UnmarshalBinary goes on with the same values.
func (s *Source) MarshalBinary() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.MarshalBinary()
}

// UnmarshalBinary restores a state of MarshalBinary's.
func (s *Source) UnmarshalBinary(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.UnmarshalBinary(b)
}

// RandomSeed returns a seed from crypto/rand, for servers whose caller gave none.
func RandomSeed() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:]) // never fails on supported platforms
	return binary.LittleEndian.Uint64(b[:])
}

// fill fills b with random bytes.
func (s *Source) fill(b []byte) {
	s.mu.Lock()
	_, _ = s.rng.Read(b) // ChaCha8.Read never fails
	s.mu.Unlock()
}

// Hex returns n random bytes as 2n lower-case hex characters.
func (s *Source) Hex(n int) string {
	var buf [3 * 32]byte // every value the mock makes fits: no allocation but the string's
	b := buf[:]
	if 3*n > len(buf) {
		b = make([]byte, 3*n)
	}
	raw := b[2*n : 3*n] // read from the end, written as hex at the start
	s.fill(raw)
	hex.Encode(b[:2*n], raw)
	return string(b[:2*n])
}

// UUID returns a random version 4 UUID in its dashed form.
func (s *Source) UUID() string {
	b := make([]byte, 16)
	s.fill(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
