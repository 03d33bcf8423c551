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
// and not what clients send: a longer path, query, method, cause, body or set of headers is cut
// and marked as such. What the ring keeps of headers and bodies in all is bounded too (Budget).
const (
	MaxPath    = 256
	MaxQuery   = 1024
	MaxMethod  = 16
	MaxCause   = 1024
	MaxBody    = 16 << 10 // of each side's body
	MaxHeaders = 8 << 10  // of each side's headers, as lines "Name: value"
	// Budget bounds the headers and bodies a ring keeps; past it, the oldest entries' are dropped.
	Budget = 2 << 20
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
	Cause      string // why the answer is not the API working normally, as Iscmock-Cause says
	Waived     bool   // a refusal the rights rules would have made, waived (soft rights)
	Request    Message
	Response   Message
	Dropped    bool // the ring dropped the headers and bodies to stay within its Budget
}

// Message is what one side of an exchange said, as the journal keeps it (masked by the recorder:
// the journal holds no secret). Its strings are kept as given, so a recorder gives strings of its
// own, not parts of a request's memory.
type Message struct {
	Headers string // "Name: value" lines
	Body    string
	// Size is the body's size as sent, when more than Body holds: a recorder keeps only the
	// start of a long body, and the journal marks it cut from this size.
	Size int
}

// size is what a message costs the ring's Budget.
func (m Message) size() int { return len(m.Headers) + len(m.Body) }

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
	bytes   int    // the headers and bodies held, at most Budget
	dropped int    // the oldest entries whose headers and bodies were dropped: a prefix
}

// New returns a ring of size entries (at least one).
func New(size int) *Ring { return &Ring{size: max(size, 1)} }

// Record adds an entry, numbering it and dropping the oldest when the ring is full. It keeps copies
// of the path, query and method, cut to their bounds, so that an entry never holds on to a request's
// memory.
func (r *Ring) Record(e Entry) {
	e.Path, e.Query, e.Method = Bounded(e.Path, MaxPath), Bounded(e.Query, MaxQuery), method(e.Method)
	e.Cause = Bounded(e.Cause, MaxCause)
	// A recorder's messages are strings of its own: kept as they are, unless too long.
	for _, m := range []*Message{&e.Request, &e.Response} {
		if len(m.Headers) > MaxHeaders {
			m.Headers = Bounded(m.Headers, MaxHeaders)
		}
		if len(m.Body) > MaxBody || m.Size > len(m.Body) {
			m.Body = cutFrom(m.Body, MaxBody, max(m.Size, len(m.Body)))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	e.Seq = r.seq
	r.bytes += e.Request.size() + e.Response.size()
	if !r.full {
		r.entries = append(r.entries, e)
		r.full = len(r.entries) == r.size
	} else {
		old := &r.entries[r.next]
		r.gone = old.Seq
		if r.dropped > 0 {
			r.dropped--
		} else {
			r.bytes -= old.Request.size() + old.Response.size()
		}
		*old = e
		r.next = (r.next + 1) % r.size
	}
	// Over the budget, the oldest entries' headers and bodies go first.
	for r.bytes > Budget && r.dropped < len(r.entries) {
		old := &r.entries[(r.next+r.dropped)%len(r.entries)]
		r.bytes -= old.Request.size() + old.Response.size()
		old.Request, old.Response, old.Dropped = Message{}, Message{}, true
		r.dropped++
	}
}

// Entries returns the entries after Seq after, oldest first, that keep says to (nil: all).
func (r *Ring) Entries(after uint64, keep func(*Entry) bool) []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Entry
	r.each(after, func(e *Entry) {
		if keep == nil || keep(e) {
			out = append(out, *e)
		}
	})
	return out
}

// Count counts the entries after Seq after that keep says to (nil: all).
func (r *Ring) Count(after uint64, keep func(*Entry) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	r.each(after, func(e *Entry) {
		if keep == nil || keep(e) {
			n++
		}
	})
	return n
}

// each calls f on the entries after Seq after, oldest first, starting at the first of them: the
// ring holds consecutive Seqs, so a poller asking for what is new reads nothing else.
func (r *Ring) each(after uint64, f func(*Entry)) {
	n := len(r.entries)
	skip := 0
	if oldest := r.seq - uint64(n) + 1; after >= oldest {
		skip = int(min(after-oldest+1, uint64(n)))
	}
	for i := skip; i < n; i++ {
		f(&r.entries[(r.next+i)%n])
	}
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
	r.entries, r.next, r.full, r.gone, r.bytes, r.dropped = r.entries[:0], 0, false, r.seq, 0, 0
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
	return Bounded(m, MaxMethod)
}

// Bounded copies s, cut to at most limit bytes (and whole characters) plus a mark saying so.
func Bounded(s string, limit int) string { return cutFrom(s, limit, len(s)) }

// cutFrom copies s, the start of a text of size bytes, cut to at most limit bytes and marked as
// cut when it does not hold the whole text.
func cutFrom(s string, limit, size int) string {
	if len(s) <= limit && size <= len(s) {
		return strings.Clone(s)
	}
	return fmt.Sprintf("%s...(cut from %d bytes)", strings.ToValidUTF8(s[:min(len(s), limit)], ""), size)
}
