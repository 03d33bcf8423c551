// Package journal keeps a tenant's most recent API requests in a fixed-size ring, so a
// long-running server's memory stays flat however much traffic it sees.
package journal

import (
	"sync"
	"time"
)

// Entry is one request as the journal records it.
type Entry struct {
	Time       time.Time
	Method     string
	Path       string
	Operation  string
	Status     int
	IdentityID string
	ClientID   string
	Rule       string // the scenario rule (or "rateLimit") that acted, if any
}

// Ring holds the last Size entries.
type Ring struct {
	mu      sync.Mutex
	entries []Entry
	next    int  // where the next entry goes
	full    bool // entries has wrapped
}

// New returns a ring of size entries (at least one).
func New(size int) *Ring { return &Ring{entries: make([]Entry, max(size, 1))} }

// Record adds an entry, dropping the oldest when the ring is full.
func (r *Ring) Record(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries[r.next] = e
	r.next = (r.next + 1) % len(r.entries)
	r.full = r.full || r.next == 0
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
	if r.full {
		add(r.entries[r.next:])
	}
	add(r.entries[:r.next])
	return out
}

// Clear empties the ring.
func (r *Ring) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.entries)
	r.next, r.full = 0, false
}
