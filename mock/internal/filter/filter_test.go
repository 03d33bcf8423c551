package filter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var lastUsed = TimeField{Name: "lastUsed"}

// eval is the reference meaning of a supported expression on one value (zero time = null).
func eval(e Expr, t time.Time) bool {
	switch e := e.(type) {
	case *Binary:
		if e.Op == "and" {
			return eval(e.L, t) && eval(e.R, t)
		}
		return eval(e.L, t) || eval(e.R, t)
	case *Not:
		return !eval(e.X, t)
	case *Unary:
		return t.IsZero()
	case *Compare:
		v, _ := time.Parse(time.RFC3339Nano, e.Values[0].Text)
		return !t.IsZero() && !t.After(v)
	}
	panic(fmt.Sprintf("%T", e))
}

// probes are the values worth testing an expression on: null, the extremes, and each date it
// names with its neighbours, all whole milliseconds as stored values are.
func probes(e Expr) []time.Time {
	out := []time.Time{{}, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), time.Unix(0, 0)}
	var walk func(Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *Binary:
			walk(e.L)
			walk(e.R)
		case *Not:
			walk(e.X)
		case *Compare:
			if v, err := time.Parse(time.RFC3339Nano, e.Values[0].Text); err == nil {
				v = v.Truncate(time.Millisecond)
				out = append(out, v.Add(-time.Millisecond), v, v.Add(time.Millisecond))
			}
		}
	}
	walk(e)
	return out
}

// render prints the parse tree with explicit parentheses.
func render(e Expr) string {
	switch e := e.(type) {
	case *Binary:
		return "(" + render(e.L) + " " + e.Op + " " + render(e.R) + ")"
	case *Not:
		return "(not " + render(e.X) + ")"
	case *Unary:
		return e.Field + " " + e.Op
	case *Compare:
		var vs []string
		for _, v := range e.Values {
			if v.Quoted {
				vs = append(vs, fmt.Sprintf("%q", v.Text))
			} else {
				vs = append(vs, v.Text)
			}
		}
		return e.Field + " " + e.Op + " " + strings.Join(vs, ",")
	}
	return "?"
}

func TestPrecedence(t *testing.T) {
	cases := []struct{ in, want string }{
		{"not a eq 1 or b eq 2 and c eq 3", "((not a eq 1) or (b eq 2 and c eq 3))"},
		{"a eq 1 and b eq 2 or c eq 3", "((a eq 1 and b eq 2) or c eq 3)"},
		{"a eq 1 and (b eq 2 or c eq 3)", "(a eq 1 and (b eq 2 or c eq 3))"},
		{"not not a isnull", "(not (not a isnull))"},
		{"a eq 1 or b eq 2 or c eq 3", "((a eq 1 or b eq 2) or c eq 3)"},
		{`name in ("a b", "c\"d")`, `name in "a b","c\"d"`},
		{"pr name", "name pr"},
		{"  lastUsed   le\t2023-02-05T10:59:27.214Z ", "lastUsed le 2023-02-05T10:59:27.214Z"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := render(e); got != tc.want {
				t.Errorf("parsed as %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCompileMatchesEval(t *testing.T) {
	const a, b = "2026-01-01T00:00:00Z", "2026-06-01T00:00:00.5Z"
	exprs := []string{
		"lastUsed isnull",
		"lastUsed le " + a,
		"not lastUsed le " + a,
		"lastUsed le " + b + " and not lastUsed le " + a,
		"lastUsed le " + a + " or lastUsed isnull",
		"not (lastUsed le " + a + " or lastUsed isnull)",
		"lastUsed le " + a + " and lastUsed le " + b,
		"lastUsed le " + b + " or lastUsed le " + a,
		"not not lastUsed isnull",
		"lastUsed isnull and not lastUsed isnull",
		"lastUsed le " + a + " or not lastUsed le " + a,
	}
	for _, s := range exprs {
		t.Run(s, func(t *testing.T) { checkAgainstEval(t, s) })
	}
}

func checkAgainstEval(t *testing.T, s string) {
	t.Helper()
	e, err := Parse(s)
	if err != nil {
		return
	}
	set, err := lastUsed.Compile(e)
	if err != nil {
		var u *UnsupportedError
		if !errors.As(err, &u) {
			t.Fatalf("Compile(%q): error %T %v, want *UnsupportedError", s, err, err)
		}
		return
	}
	for i, r := range set.Ranges {
		if r.Lo > r.Hi || i > 0 && set.Ranges[i-1].Hi >= r.Lo-1 {
			t.Fatalf("Compile(%q) = %+v: ranges not sorted, disjoint and apart", s, set.Ranges)
		}
	}
	for _, p := range probes(e) {
		if got, want := set.Contains(p), eval(e, p); got != want {
			t.Errorf("%q on %v: set says %v, evaluation %v (set %+v)", s, p, got, want, set)
		}
	}
}

func TestSyntaxErrorPositions(t *testing.T) {
	cases := []struct {
		in  string
		pos int
	}{
		{"", 1},
		{"lastUsed", 9},
		{"lastUsed le", 12},
		{"(lastUsed isnull", 17},
		{"lastUsed isnull )", 17},
		{`lastUsed eq "abc`, 13},
		{`lastUsed eq "a\x"`, 15},
		{"lastUsed in (1 2)", 16},
		{"é le", 5}, // positions count characters, not bytes
		{"a eq \xff", 6},
		{strings.Repeat("(", maxDepth+1) + "a isnull" + strings.Repeat(")", maxDepth+1), maxDepth + 1},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want a SyntaxError", err)
			}
			if se.Pos != tc.pos {
				t.Errorf("position %d, want %d (%v)", se.Pos, tc.pos, err)
			}
		})
	}
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"lastUsed le 2023-02-05T10:59:27.214Z",
		"lastUsed isnull",
		"not (lastUsed le 2026-01-01T00:00:00Z or lastUsed isnull) and lastUsed le 2027-01-01T00:00:00+01:00",
		`name in ("a","b") or pr x`,
		`lastUsed le "2026-01-01T00:00:00Z"`,
		"((((lastUsed isnull))))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := Parse(s)
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || se.Pos < 1 || se.Pos > len([]rune(s))+1) {
			t.Fatalf("Parse(%q): %v, want a SyntaxError within the input", s, err)
		}
		checkAgainstEval(t, s)
	})
}
