package store

import (
	"errors"
	"fmt"
	"slices"
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
	}, func() { undone.Add(1) })
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

// TestChangeKeptWithTheStore: a change of Change's is kept like a store's, and put back with it.
func TestChangeKeptWithTheStore(t *testing.T) {
	db := New()
	clock, keptClock := 0, -1
	fail := false
	if err := db.Keep(func(Frozen) error {
		if fail {
			return errors.New("read-only")
		}
		keptClock = clock
		return nil
	}, func() { clock = keptClock }); err != nil {
		t.Fatal(err)
	}
	if err := db.Change(func() error { clock = 5; return nil }); err != nil || keptClock != 5 {
		t.Fatalf("Change: %v; kept clock %d, want 5", err, keptClock)
	}
	fail = true
	if err := db.Change(func() error { clock = 9; return nil }); err == nil || clock != 5 {
		t.Fatalf("a failed keep: %v; clock %d, want it back at 5", err, clock)
	}
	refused := errors.New("out of range")
	if err := db.Change(func() error { return refused }); err != refused {
		t.Fatalf("Change returned %v, want fn's error", err)
	}
}
