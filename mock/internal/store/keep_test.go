package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestKeepAllOrNothing: writers race a keeper that fails every third keep. Every change that
// returned nil is in the state kept last and in the store; every change that failed is in neither;
// and the store always equals what was kept, as a failed keep puts it back.
func TestKeepAllOrNothing(t *testing.T) {
	db := New()
	if err := db.Seed([]Identity{{ID: "o"}}, nil); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		kept   []PAT
		keeps  atomic.Int64
		undone atomic.Int64
	)
	full := errors.New("disk full")
	err := db.Keep(func(f Frozen) error {
		if keeps.Add(1)%3 == 0 {
			return full
		}
		_, pats := f.Dump()
		mu.Lock()
		kept = pats
		mu.Unlock()
		return nil
	}, func() int64 { return 0 }, func(int64) { undone.Add(1) }, false)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok, failed sync.Map
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("w%di%d", w, i)
				switch err := db.Create(PAT{ID: id, Name: id, OwnerID: "o"}, 0); {
				case err == nil:
					ok.Store(id, true)
				case errors.Is(err, full):
					failed.Store(id, true)
				default:
					t.Errorf("create %s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()
	names := func(pats []PAT) []string {
		var out []string
		for _, p := range pats {
			out = append(out, p.ID)
		}
		slices.Sort(out)
		return out
	}
	var want []string
	ok.Range(func(k, _ any) bool { want = append(want, k.(string)); return true })
	slices.Sort(want)
	failed.Range(func(k, _ any) bool {
		if slices.Contains(want, k.(string)) {
			t.Errorf("%s both failed and succeeded", k)
		}
		return true
	})
	if got := names(kept); !slices.Equal(got, want) {
		t.Errorf("kept %d tokens, want the %d that succeeded", len(got), len(want))
	}
	if got := names(db.List(Query{})); !slices.Equal(got, want) {
		t.Errorf("store holds %d tokens, want the %d that succeeded", len(got), len(want))
	}
	if undone.Load() == 0 || len(want) == 0 {
		t.Fatalf("the test did not exercise both outcomes: %d undone, %d kept", undone.Load(), len(want))
	}
}

// TestChangeKeptWithTheStore: what the caller keeps along with the store (a clock) is read with
// each state, under the same lock, and a failed keep puts back the value of the state kept last.
func TestChangeKeptWithTheStore(t *testing.T) {
	db := New()
	var clock atomic.Int64
	keptClock := int64(-1)
	fail := false
	if err := db.Keep(func(f Frozen) error {
		if fail {
			return errors.New("read-only")
		}
		keptClock = f.Aside
		return nil
	}, clock.Load, clock.Store, false); err != nil {
		t.Fatal(err)
	}
	if keptClock != 0 {
		t.Fatalf("the state at Keep kept with clock %d, want 0", keptClock)
	}
	if err := db.Change(func() error { clock.Store(5); return nil }); err != nil || keptClock != 5 {
		t.Fatalf("Change: %v; kept clock %d, want 5", err, keptClock)
	}
	fail = true
	if err := db.Change(func() error { clock.Store(9); return nil }); err == nil || clock.Load() != 5 {
		t.Fatalf("a failed keep: %v; clock %d, want it back at 5", err, clock.Load())
	}
	refused := errors.New("out of range")
	if err := db.Change(func() error { return refused }); err != refused {
		t.Fatalf("Change returned %v, want fn's error", err)
	}
}

// TestKeepWhatIsKept: a store loaded from what its keeper wrote is not written again at Keep.
func TestKeepWhatIsKept(t *testing.T) {
	db := New()
	keeps := 0
	keep := func(Frozen) error { keeps++; return nil }
	if err := db.Keep(keep, func() int64 { return 0 }, func(int64) {}, true); err != nil || keeps != 0 {
		t.Fatalf("Keep of a kept state: %v, %d keeps, want none", err, keeps)
	}
	if err := db.Seed([]Identity{{ID: "o"}}, nil); err != nil || keeps != 1 {
		t.Fatalf("a change: %v, %d keeps, want 1", err, keeps)
	}
}

// TestFrozenEach: Each gives what Dump gives (tokens owner by owner), and stops at the first error.
func TestFrozenEach(t *testing.T) {
	db := New()
	if err := db.Seed([]Identity{{ID: "b"}, {ID: "a"}}, []PAT{{ID: "t2", Name: "2", OwnerID: "a"}, {ID: "t1", Name: "1", OwnerID: "b"}}); err != nil {
		t.Fatal(err)
	}
	f := db.Freeze(func() int64 { return 0 })
	ids, pats := f.Dump()
	var gotIDs []Identity
	var gotPATs []PAT
	err := f.Each(func(i Identity) error { gotIDs = append(gotIDs, i); return nil }, func(p PAT) error { gotPATs = append(gotPATs, p); return nil })
	byID := func(a, b PAT) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(pats, byID)
	slices.SortFunc(gotPATs, byID)
	if err != nil || !slices.EqualFunc(ids, gotIDs, func(a, b Identity) bool { return a.ID == b.ID }) ||
		!slices.EqualFunc(pats, gotPATs, func(a, b PAT) bool { return a.ID == b.ID && a.Secret == b.Secret }) {
		t.Fatalf("Each gave %v and %v, %v; Dump %v and %v", gotIDs, gotPATs, err, ids, pats)
	}
	stop := errors.New("stop")
	calls := 0
	if err := f.Each(func(Identity) error { return nil }, func(PAT) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("Each went on after an error: %v, %d calls", err, calls)
	}
}
