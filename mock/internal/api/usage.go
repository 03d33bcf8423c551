package api

import (
	"cmp"
	"maps"
	"slices"
	"sync"
)

// Usage counts, for each identity, the operations it called and what the rights rules found it
// lacked: what a run in soft rights teaches about the rights an integration's account needs. Its
// size follows the tenant's identities, the operations (a handful) and the rights (as many).
type Usage struct {
	mu sync.Mutex
	by map[string]*identityUsage
}

type identityUsage struct {
	ops    map[string]*OperationUsage
	lacked map[string]int
}

// IdentityUsage is what one identity did, and lacked.
type IdentityUsage struct {
	Identity   string
	Operations []OperationUsage // by operation
	Lacked     []Lacked         // most often lacked first
}

// OperationUsage counts an identity's calls of one operation: those the rights refused (403),
// and those they would have, waived (soft rights).
type OperationUsage struct {
	Operation              string
	Calls, Refused, Waived int
}

// Lacked is a right, a scope or a rule the rights found an identity lacking, and how often.
type Lacked struct {
	What  string
	Count int
}

// note counts a call of op by identity.
func (u *Usage) note(identity, op string, refused, waived bool, lacked []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.by == nil {
		u.by = map[string]*identityUsage{}
	}
	iu := u.by[identity]
	if iu == nil {
		iu = &identityUsage{ops: map[string]*OperationUsage{}, lacked: map[string]int{}}
		u.by[identity] = iu
	}
	o := iu.ops[op]
	if o == nil {
		o = &OperationUsage{Operation: op}
		iu.ops[op] = o
	}
	o.Calls++
	if refused {
		o.Refused++
	}
	if waived {
		o.Waived++
	}
	for _, l := range lacked {
		iu.lacked[l]++
	}
}

// Report is every identity's usage, by identity.
func (u *Usage) Report() []IdentityUsage {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := []IdentityUsage{}
	for _, id := range slices.Sorted(maps.Keys(u.by)) {
		iu := u.by[id]
		r := IdentityUsage{Identity: id, Operations: []OperationUsage{}, Lacked: []Lacked{}}
		for _, op := range slices.Sorted(maps.Keys(iu.ops)) {
			r.Operations = append(r.Operations, *iu.ops[op])
		}
		for what, n := range iu.lacked {
			r.Lacked = append(r.Lacked, Lacked{What: what, Count: n})
		}
		slices.SortFunc(r.Lacked, func(a, b Lacked) int { return cmp.Or(b.Count-a.Count, cmp.Compare(a.What, b.What)) })
		out = append(out, r)
	}
	return out
}

// Clear forgets everything counted.
func (u *Usage) Clear() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.by = nil
}
