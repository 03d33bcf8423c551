package filter

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// UnsupportedError is a filter that parses but uses a field or operator the collection does not serve.
type UnsupportedError struct {
	Pos int
	Msg string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("unsupported filter at position %d: %s", e.Pos, e.Msg)
}

// TimeField is a nullable date-time field filtered with "le" and "isnull", the operators ISC
// serves on lastUsed.
type TimeField struct{ Name string }

var timeOps = []string{"le", "isnull"}

// Compile turns e into the set of field values it accepts. Terms on other fields or with other
// operators are UnsupportedErrors; values that are not unquoted date-times are errors too.
//
// Logic is two-valued: a null field satisfies only isnull, so "not lastUsed le X" includes
// never-used tokens.
func (f TimeField) Compile(e Expr) (Set, error) {
	switch e := e.(type) {
	case *Binary:
		l, err := f.Compile(e.L)
		if err != nil {
			return Set{}, err
		}
		r, err := f.Compile(e.R)
		if err != nil {
			return Set{}, err
		}
		if e.Op == "and" {
			return l.intersect(r), nil
		}
		return l.union(r), nil
	case *Not:
		x, err := f.Compile(e.X)
		if err != nil {
			return Set{}, err
		}
		return x.complement(), nil
	case *Unary:
		if err := f.check(e.Pos, e.Field, e.Op); err != nil {
			return Set{}, err
		}
		return Set{Null: true}, nil
	case *Compare:
		if err := f.check(e.Pos, e.Field, e.Op); err != nil {
			return Set{}, err
		}
		v := e.Values[0]
		if v.Quoted {
			return Set{}, &UnsupportedError{Pos: v.Pos, Msg: fmt.Sprintf("%s takes an unquoted date-time such as 2023-02-05T10:59:27.214Z, not the string %q", f.Name, v.Text)}
		}
		t, err := time.Parse(time.RFC3339Nano, v.Text)
		if err != nil {
			return Set{}, &UnsupportedError{Pos: v.Pos, Msg: fmt.Sprintf("%q is not a date-time; %s takes an ISO-8601 date-time such as 2023-02-05T10:59:27.214Z", v.Text, f.Name)}
		}
		return Set{Ranges: []Range{{math.MinInt64, Millis(t)}}}, nil
	}
	panic(fmt.Sprintf("filter: unknown expression %T", e))
}

func (f TimeField) check(pos int, field, op string) error {
	if field != f.Name {
		return &UnsupportedError{Pos: pos, Msg: fmt.Sprintf("field %q cannot be filtered; supported: %s (%s)", field, f.Name, strings.Join(timeOps, ", "))}
	}
	for _, o := range timeOps {
		if o == op {
			return nil
		}
	}
	return &UnsupportedError{Pos: pos, Msg: fmt.Sprintf("operator %q is not supported for %s; supported: %s", op, f.Name, strings.Join(timeOps, ", "))}
}
