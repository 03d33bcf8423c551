// Package journal keeps a tenant's most recent API requests in a fixed-size ring, so a
// long-running server's memory stays flat however much traffic it sees.
package journal

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Bounds on what an entry keeps of a request, so that the journal's worst case follows its size
// and not what clients send: a longer path, query or method is cut and marked as such.
const (
	MaxPath   = 256
	MaxQuery  = 1024
	MaxMethod = 16
)

// Entry is one request as the journal records it.
type Entry struct {
	Seq        uint64 // numbers the tenant's requests from 1; never reused, even after Clear
	Time       time.Time
	Method     string
	Path       string
	Query      string // the raw query, secrets masked
	Operation  string
	Status     int
	IdentityID string
	ClientID   string
	Rule       string // the scenario rule (or "rateLimit") that acted, if any
	RequestID  string // the SLPT-Request-ID the answer carried
	Duration   time.Duration
}

// Ring holds the last size entries. It grows to size as entries come, so an idle tenant costs
// nothing.
type Ring struct {
	mu      sync.Mutex
	size    int
	entries []Entry
	next    int    // where the next entry goes once the ring is full
	full    bool   // len(entries) == size and the oldest is at next
	seq     uint64 // the last entry's Seq
	gone    uint64 // entries up to this Seq were dropped or cleared
}

// New returns a ring of size entries (at least one).
func New(size int) *Ring { return &Ring{size: max(size, 1)} }

// Record adds an entry, numbering it and dropping the oldest when the ring is full. It keeps copies
// of the path, query and method, cut to their bounds, so that an entry never holds on to a request's
// memory.
func (r *Ring) Record(e Entry) {
	e.Path, e.Query, e.Method = bounded(e.Path, MaxPath), bounded(e.Query, MaxQuery), method(e.Method)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	e.Seq = r.seq
	if !r.full {
		r.entries = append(r.entries, e)
		r.full = len(r.entries) == r.size
		return
	}
	r.gone = r.entries[r.next].Seq
	r.entries[r.next] = e
	r.next = (r.next + 1) % r.size
}

// Entries returns the entries, oldest first, that keep says to.
func (r *Ring) Entries(keep func(Entry) bool) []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Entry
	add := func(es []Entry) {
		for _, e := range es {
			if keep == nil || keep(e) {
				out = append(out, e)
			}
		}
	}
	add(r.entries[r.next:])
	add(r.entries[:r.next])
	return out
}

// Seqs reports the Seq of the last entry recorded (how many there have been) and the Seq up to
// which entries are no longer held, so a reader polling for new entries can tell which of those it
// has seen were dropped or cleared.
func (r *Ring) Seqs() (last, gone uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq, r.gone
}

// Clear empties the ring; numbering goes on.
func (r *Ring) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.entries) // keeps the ring's room, but none of the entries' memory
	r.entries, r.next, r.full, r.gone = r.entries[:0], 0, false, r.seq
}

// methods are the ones an entry keeps without a copy.
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// method is m as an entry keeps it: a shared constant for the usual methods, else a bounded copy.
func method(m string) string {
	for _, known := range methods {
		if m == known {
			return known
		}
	}
	return bounded(m, MaxMethod)
}

// bounded copies s, cut to at most limit bytes (and whole characters) plus a mark saying so.
func bounded(s string, limit int) string {
	if len(s) <= limit {
		return strings.Clone(s)
	}
	return fmt.Sprintf("%s...(cut from %d bytes)", strings.ToValidUTF8(s[:limit], ""), len(s))
}
