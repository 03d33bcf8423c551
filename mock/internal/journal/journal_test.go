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
	if got := paths(r.Entries(0, nil)); !cmp.Equal(got, []string{"1", "2"}) {
		t.Errorf("before wrapping: %v", got)
	}
	for i := 3; i <= 7; i++ {
		r.Record(Entry{Path: fmt.Sprint(i)})
	}
	if got := paths(r.Entries(0, nil)); !cmp.Equal(got, []string{"5", "6", "7"}) {
		t.Errorf("after wrapping: %v, want the last three, oldest first", got)
	}
	if got := paths(r.Entries(0, func(e *Entry) bool { return e.Path != "6" })); !cmp.Equal(got, []string{"5", "7"}) {
		t.Errorf("filtered: %v", got)
	}
	for after, want := range map[uint64][]string{0: {"5", "6", "7"}, 4: {"5", "6", "7"}, 5: {"6", "7"}, 6: {"7"}, 7: {}, 99: {}} {
		if got := paths(r.Entries(after, nil)); !cmp.Equal(got, want) || r.Count(after, nil) != len(want) {
			t.Errorf("after %d: %v (count %d), want %v", after, got, r.Count(after, nil), want)
		}
	}
	if last, gone := r.Seqs(); last != 7 || gone != 4 {
		t.Errorf("Seqs() = %d, %d after seven entries in a ring of three, want 7, 4", last, gone)
	}
	r.Clear()
	if got := r.Entries(0, nil); len(got) != 0 {
		t.Errorf("after Clear: %v", got)
	}
	if last, gone := r.Seqs(); last != 7 || gone != 7 {
		t.Errorf("Seqs() = %d, %d after Clear, want 7, 7", last, gone)
	}
	r.Record(Entry{Path: "8"})
	if got := r.Entries(0, nil); len(got) != 1 || got[0].Path != "8" || got[0].Seq != 8 {
		t.Errorf("after Clear and one more: %+v, want path 8 numbered 8 (numbering goes on)", got)
	}
	if got := paths(r.Entries(7, nil)); !cmp.Equal(got, []string{"8"}) {
		t.Errorf("after Clear, entries after 7: %v, want 8", got)
	}
}

func TestRecordBoundsEntries(t *testing.T) {
	r := New(2)
	long := "/tenants/j0/" + string(make([]byte, 60<<10))
	r.Record(Entry{Method: "GET" + string(make([]byte, 1000)), Path: long, Query: strings.Repeat("q=é&", 1000)})
	r.Record(Entry{Method: "GET", Path: "/v3/personal-access-tokens"})
	got := r.Entries(0, nil)
	if e := got[0]; len(e.Path) > MaxPath+40 || len(e.Method) > MaxMethod+40 || len(e.Query) > MaxQuery+40 || !utf8.ValidString(e.Query) ||
		!strings.HasSuffix(e.Path, fmt.Sprintf("...(cut from %d bytes)", len(long))) {
		t.Errorf("long request kept as %d-byte path %.40q..., %d-byte query, %d-byte method: want each cut on a character and marked",
			len(e.Path), e.Path, len(e.Query), len(e.Method))
	}
	if e := got[1]; e.Path != "/v3/personal-access-tokens" || e.Method != "GET" {
		t.Errorf("short request kept as %q %q", e.Method, e.Path)
	}
}

// TestBudget: headers and bodies are cut to their bounds, and a ring over its Budget drops the
// oldest entries' first, marking them, keeping the rest of each entry.
func TestBudget(t *testing.T) {
	r := New(1000)
	body := strings.Repeat("b", MaxBody+100)
	r.Record(Entry{Path: "/first", Cause: strings.Repeat("c", MaxCause*2), Request: Message{Headers: strings.Repeat("h", MaxHeaders*2), Body: body}})
	e := r.Entries(0, nil)[0]
	if len(e.Request.Body) > MaxBody+40 || len(e.Request.Headers) > MaxHeaders+40 || len(e.Cause) > MaxCause+40 ||
		!strings.HasSuffix(e.Request.Body, fmt.Sprintf("...(cut from %d bytes)", len(body))) {
		t.Errorf("an entry past its bounds: body %d, headers %d, cause %d bytes", len(e.Request.Body), len(e.Request.Headers), len(e.Cause))
	}
	per := MaxBody * 2
	n := Budget/per + 10
	for i := range n {
		r.Record(Entry{Path: fmt.Sprint("/", i), Request: Message{Body: strings.Repeat("q", MaxBody)}, Response: Message{Body: strings.Repeat("a", MaxBody)}})
	}
	held, dropped := 0, 0
	for i, e := range r.Entries(0, nil) {
		held += len(e.Request.Body) + len(e.Request.Headers) + len(e.Response.Body) + len(e.Response.Headers)
		if e.Dropped {
			if dropped++; dropped != i+1 {
				t.Fatalf("entry %d (%s) dropped after a kept one: the oldest go first", i, e.Path)
			}
			if e.Request.Body != "" || e.Path == "" {
				t.Fatalf("a dropped entry %+v: want its path, no body", e)
			}
		}
	}
	if held > Budget || dropped < 10 || r.Entries(0, nil)[len(r.Entries(0, nil))-1].Dropped {
		t.Errorf("the ring holds %d bytes of bodies (budget %d), %d entries dropped theirs", held, Budget, dropped)
	}
	r.Clear()
	r.Record(Entry{Request: Message{Body: "x"}})
	if r.bytes != 1 || r.dropped != 0 {
		t.Errorf("after Clear: %d bytes, %d dropped", r.bytes, r.dropped)
	}
}
