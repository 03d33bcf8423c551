package journal

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func paths(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Path)
	}
	return out
}

func TestRing(t *testing.T) {
	r := New(3)
	for i := 1; i <= 2; i++ {
		r.Record(Entry{Path: fmt.Sprint(i)})
	}
	if got := paths(r.Entries(nil)); !cmp.Equal(got, []string{"1", "2"}) {
		t.Errorf("before wrapping: %v", got)
	}
	for i := 3; i <= 7; i++ {
		r.Record(Entry{Path: fmt.Sprint(i)})
	}
	if got := paths(r.Entries(nil)); !cmp.Equal(got, []string{"5", "6", "7"}) {
		t.Errorf("after wrapping: %v, want the last three, oldest first", got)
	}
	if got := paths(r.Entries(func(e Entry) bool { return e.Path != "6" })); !cmp.Equal(got, []string{"5", "7"}) {
		t.Errorf("filtered: %v", got)
	}
	if last, gone := r.Seqs(); last != 7 || gone != 4 {
		t.Errorf("Seqs() = %d, %d after seven entries in a ring of three, want 7, 4", last, gone)
	}
	r.Clear()
	if got := r.Entries(nil); len(got) != 0 {
		t.Errorf("after Clear: %v", got)
	}
	if last, gone := r.Seqs(); last != 7 || gone != 7 {
		t.Errorf("Seqs() = %d, %d after Clear, want 7, 7", last, gone)
	}
	r.Record(Entry{Path: "8"})
	if got := r.Entries(nil); len(got) != 1 || got[0].Path != "8" || got[0].Seq != 8 {
		t.Errorf("after Clear and one more: %+v, want path 8 numbered 8 (numbering goes on)", got)
	}
}

func TestRecordBoundsEntries(t *testing.T) {
	r := New(2)
	long := "/tenants/j0/" + string(make([]byte, 60<<10))
	r.Record(Entry{Method: "GET" + string(make([]byte, 1000)), Path: long, Query: strings.Repeat("q=é&", 1000)})
	r.Record(Entry{Method: "GET", Path: "/v3/personal-access-tokens"})
	got := r.Entries(nil)
	if e := got[0]; len(e.Path) > MaxPath+40 || len(e.Method) > MaxMethod+40 || len(e.Query) > MaxQuery+40 || !utf8.ValidString(e.Query) ||
		!strings.HasSuffix(e.Path, fmt.Sprintf("...(cut from %d bytes)", len(long))) {
		t.Errorf("long request kept as %d-byte path %.40q..., %d-byte query, %d-byte method: want each cut on a character and marked",
			len(e.Path), e.Path, len(e.Query), len(e.Method))
	}
	if e := got[1]; e.Path != "/v3/personal-access-tokens" || e.Method != "GET" {
		t.Errorf("short request kept as %q %q", e.Method, e.Path)
	}
}
