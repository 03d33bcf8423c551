package filter

import (
	"math"
	"slices"
	"time"
)

// Set is a set of values of a nullable timestamp field: whether null is in it, plus disjoint closed
// ranges of instants in Unix milliseconds (ISC's precision), in ascending order. The filter algebra on it is exact, so a
// store can answer any and/or/not combination of supported terms with index range scans.
type Set struct {
	Null   bool
	Ranges []Range
}

// Range is the closed interval [Lo, Hi] in Unix milliseconds.
type Range struct{ Lo, Hi int64 }

// All is the set of every value, null included.
func All() Set { return Set{Null: true, Ranges: []Range{{math.MinInt64, math.MaxInt64}}} }

// Contains reports whether the value, to the millisecond, is in the set; a zero time stands for null.
func (s Set) Contains(t time.Time) bool {
	if t.IsZero() {
		return s.Null
	}
	n := Millis(t)
	for _, r := range s.Ranges {
		if n >= r.Lo && n <= r.Hi {
			return true
		}
	}
	return false
}

// Millis maps t onto the set's number line: whole milliseconds, rounded down. Every time.Time an
// RFC 3339 text can name fits.
func Millis(t time.Time) int64 { return t.UnixMilli() }

func (s Set) complement() Set {
	out := Set{Null: !s.Null}
	next := int64(math.MinInt64)
	open := true // whether next is a valid start (false once MaxInt64 has been covered)
	for _, r := range s.Ranges {
		if r.Lo > next {
			out.Ranges = append(out.Ranges, Range{next, r.Lo - 1})
		}
		if r.Hi == math.MaxInt64 {
			open = false
			break
		}
		next = r.Hi + 1
	}
	if open {
		out.Ranges = append(out.Ranges, Range{next, math.MaxInt64})
	}
	return out
}

func (s Set) union(o Set) Set {
	all := append(slices.Clone(s.Ranges), o.Ranges...)
	slices.SortFunc(all, func(a, b Range) int {
		switch {
		case a.Lo < b.Lo:
			return -1
		case a.Lo > b.Lo:
			return 1
		}
		return 0
	})
	out := Set{Null: s.Null || o.Null}
	for _, r := range all {
		n := len(out.Ranges)
		// Merge overlapping or touching ranges; r.Lo-1 cannot underflow when last.Hi >= r.Lo-1 matters.
		if n > 0 && (out.Ranges[n-1].Hi == math.MaxInt64 || r.Lo <= out.Ranges[n-1].Hi+1) {
			out.Ranges[n-1].Hi = max(out.Ranges[n-1].Hi, r.Hi)
			continue
		}
		out.Ranges = append(out.Ranges, r)
	}
	return out
}

func (s Set) intersect(o Set) Set {
	// De Morgan keeps the algebra in two primitives that are easy to get right.
	return s.complement().union(o.complement()).complement()
}
