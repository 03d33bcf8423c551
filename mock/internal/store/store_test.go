package store

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock/internal/filter"
)

// TestListMatchesScan: List, walking owners and binary searches, answers what a scan of every token
// would, as tokens are seeded, moved, used and deleted.
func TestListMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := New()
	// "a" is a prefix of "ab": owner scans must not mix them; hex ids have their own, compact keys.
	owners := []string{"a", "ab", "b", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdee"}
	var ids []Identity
	for _, o := range owners {
		ids = append(ids, Identity{ID: o, Name: o})
	}
	var pats []PAT
	for i := range 300 {
		p := PAT{ID: fmt.Sprintf("%032d", i), Name: fmt.Sprint(i), OwnerID: owners[rng.IntN(len(owners))],
			Created: base.Add(time.Duration(rng.IntN(1000)) * time.Minute)}
		if rng.IntN(3) > 0 || p.OwnerID == "ab" || p.OwnerID == owners[3] { // no null lastUsed for a scan of the owner before to stop at
			p.LastUsed = base.Add(time.Duration(rng.IntN(100)) * time.Hour)
		}
		pats = append(pats, p)
	}
	if err := db.Seed(ids, pats); err != nil {
		t.Fatal(err)
	}
	byID := map[string]PAT{}
	for _, p := range pats {
		byID[p.ID] = p
	}
	check := func(round int) {
		t.Helper()
		for i := range 200 {
			set := filter.Set{Null: rng.IntN(2) == 0}
			lo := int64(math.MinInt64)
			for range rng.IntN(3) {
				a := filter.Millis(base.Add(time.Duration(rng.IntN(120)-10) * time.Hour))
				b := a + int64(rng.IntN(20))*3600e3
				if a > lo {
					set.Ranges = append(set.Ranges, filter.Range{Lo: a, Hi: b})
					lo = b + 2
				}
			}
			if i%5 == 0 {
				set = filter.All() // open-ended ranges run to the end of an owner's tokens
			}
			q := Query{LastUsed: &set}
			if i%2 == 0 {
				q.Owner = owners[rng.IntN(len(owners))]
			}
			var want []string
			for _, p := range byID {
				if (q.Owner == "" || p.OwnerID == q.Owner) && set.Contains(p.LastUsed) {
					want = append(want, p.ID)
				}
			}
			var got []string
			for _, p := range db.List(q) {
				got = append(got, p.ID)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d, query %+v %+v: List %v, scan %v", round, q, set, got, want)
			}
		}
	}
	check(0)
	// Tokens move between owners (a seed replacing them), change lastUsed and go: every list follows.
	for round := 1; round <= 5; round++ {
		for range 60 {
			id := fmt.Sprintf("%032d", rng.IntN(len(pats)))
			p, ok := byID[id]
			switch {
			case !ok:
			case rng.IntN(3) == 0:
				if err := db.Delete(id, func(PAT) error { return nil }); err != nil {
					t.Fatal(err)
				}
				delete(byID, id)
			case rng.IntN(2) == 0:
				p.OwnerID = owners[rng.IntN(len(owners))]
				p.Name = fmt.Sprint(p.Name, "-", round) // unique at the new owner
				if err := db.Seed(nil, []PAT{p}); err != nil {
					t.Fatal(err)
				}
				byID[id] = p
			default:
				p.LastUsed = base.Add(time.Duration(rng.IntN(100)) * time.Hour)
				if _, err := db.Update(id, func(q PAT) (PAT, error) { q.LastUsed = p.LastUsed; return q, nil }); err != nil {
					t.Fatal(err)
				}
				byID[id] = p
			}
		}
		check(round)
	}
}

func TestCreateRules(t *testing.T) {
	db := New()
	if err := db.Seed([]Identity{{ID: "o"}}, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := db.Create(PAT{ID: fmt.Sprint(i), Name: fmt.Sprint("t", i), OwnerID: "o"}, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Create(PAT{ID: "m", Name: "managed", OwnerID: "o", Managed: true}, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(PAT{ID: "x", Name: "x", OwnerID: "o"}, 2); !errors.Is(err, ErrOwnerLimit) {
		t.Errorf("third token: %v, want ErrOwnerLimit", err)
	}
	if err := db.Create(PAT{ID: "y", Name: "T0", OwnerID: "o"}, 0); !errors.Is(err, ErrNameTaken) {
		t.Errorf("duplicate name: %v, want ErrNameTaken", err)
	}
	if _, err := db.Update("1", func(p PAT) (PAT, error) { p.Name = "t0"; return p, nil }); !errors.Is(err, ErrNameTaken) {
		t.Errorf("rename onto another name: %v, want ErrNameTaken", err)
	}
	if _, err := db.Update("1", func(p PAT) (PAT, error) { p.Name = "T1"; return p, nil }); err != nil {
		t.Errorf("rename in another case: %v", err)
	}
	if err := db.Seed(nil, []PAT{{ID: "z", Name: "z", OwnerID: "nobody"}}); !errors.Is(err, ErrUnknownOwner) {
		t.Errorf("seed for an unknown owner: %v", err)
	}
}

// TestUpdateNeverMutates: a snapshot taken before an update still sees the old token, and so does
// the store a clone was made from.
func TestUpdateNeverMutates(t *testing.T) {
	proto := New()
	if err := proto.Seed([]Identity{{ID: "o"}}, []PAT{{ID: "p", Name: "old", OwnerID: "o", Scope: []string{"a"}}}); err != nil {
		t.Fatal(err)
	}
	db := proto.Clone()
	if _, err := db.Update("p", func(p PAT) (PAT, error) { p.Name = "new"; p.Scope[0] = "b"; return p, nil }); err != nil {
		t.Fatal(err)
	}
	if p, _ := db.PAT("p"); p.Name != "new" || p.Scope[0] != "b" {
		t.Errorf("after update %+v", p)
	}
	if p, _ := proto.PAT("p"); p.Name != "old" || p.Scope[0] != "a" {
		t.Errorf("the prototype after its clone's update: %+v", p)
	}
	_ = db.Reset(nil)
	if p, _ := db.PAT("p"); p.Name != "old" || p.Scope[0] != "a" {
		t.Errorf("after reset %+v: the update mutated the stored object", p)
	}
}

// TestMemo: a value is made once per state, every change starts afresh, and the memo keeps at most
// MaxMemoValues values and MaxMemoBytes bytes.
func TestMemo(t *testing.T) {
	db := New()
	made := 0
	get := func(key string, size int) []byte {
		return db.Memo([]byte(key), func() []byte { made++; return make([]byte, size) })
	}
	get("a", 1)
	get("a", 1)
	if made != 1 {
		t.Errorf("made %d times in one state, want once", made)
	}
	if err := db.Seed([]Identity{{ID: "o"}}, nil); err != nil {
		t.Fatal(err)
	}
	get("a", 1)
	if made != 2 {
		t.Errorf("made %d times across a change, want twice", made)
	}
	_ = db.Reset(nil)
	for i := range MaxMemoValues + 1 {
		get(fmt.Sprint(i), 1)
	}
	made = 0
	get(fmt.Sprint(MaxMemoValues), 1)
	get("0", 1)
	if made != 1 {
		t.Errorf("past %d values: %d made again, want only the one over the bound", MaxMemoValues, made)
	}
	_ = db.Reset(nil)
	made = 0
	get("big", MaxMemoBytes)
	get("more", 1)
	get("more", 1)
	get("big", MaxMemoBytes)
	if made != 3 {
		t.Errorf("past %d bytes: %d made, want the first big value kept and the small one made each time", MaxMemoBytes, made)
	}
}

// TestIdentitiesFollowChanges: an identity read once is read again after it changes, whatever
// changed in between.
func TestIdentitiesFollowChanges(t *testing.T) {
	db := New()
	if err := db.Seed([]Identity{{ID: "o", Name: "before"}}, nil); err != nil {
		t.Fatal(err)
	}
	name := func() string { i, _ := db.Identity("o"); return i.Name }
	if got := name(); got != "before" {
		t.Fatalf("name %q", got)
	}
	if err := db.Create(PAT{ID: "p", Name: "p", OwnerID: "o"}, 0); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "before" {
		t.Errorf("after a token's change: %q", got)
	}
	if err := db.Seed([]Identity{{ID: "o", Name: "after"}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "after" {
		t.Errorf("after the identity's change: %q, want after", got)
	}
	_ = db.Reset(nil)
	if _, ok := db.Identity("o"); ok {
		t.Error("after reset: the identity is still read")
	}
}

// TestUpdateOutsideTheWriteLock: a change runs without the store's write lock (another writer may
// commit meanwhile), and is committed only onto the state it saw: when the token changed, the
// change runs again on the new state, and no update is lost.
func TestUpdateOutsideTheWriteLock(t *testing.T) {
	db := New()
	if err := db.Seed([]Identity{{ID: "o", Name: "O"}}, []PAT{{ID: "p", Name: "p", OwnerID: "o", Scope: []string{"a"}}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var runs int
	var got PAT
	var err error
	go func() {
		defer close(done)
		got, err = db.Update("p", func(p PAT) (PAT, error) {
			runs++
			if runs == 1 {
				// Both would wait forever for the write lock if the change held it.
				if err := db.Create(PAT{ID: "q", Name: "q", OwnerID: "o"}, 0); err != nil {
					t.Error(err)
				}
				if _, err := db.Update("p", func(p PAT) (PAT, error) { p.Name = "renamed meanwhile"; return p, nil }); err != nil {
					t.Error(err)
				}
			}
			p.Scope = append(p.Scope, "b")
			return p, nil
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // a guard against the deadlock, not a timing check
		t.Fatal("a write inside a change waited for the write lock")
	}
	if err != nil || runs != 2 || got.Name != "renamed meanwhile" || !slices.Equal(got.Scope, []string{"a", "b"}) {
		t.Errorf("update: %+v, %v after %d runs; want both changes, the second run on the renamed token", got, err, runs)
	}
	if p, _ := db.PAT("p"); p.Name != "renamed meanwhile" || !slices.Equal(p.Scope, []string{"a", "b"}) {
		t.Errorf("stored %+v", p)
	}
}

// TestRemoveIdentity: an identity goes with its tokens and no one else's, even an owner whose id it
// prefixes; disabling keeps everything.
func TestRemoveIdentity(t *testing.T) {
	db := New()
	ids := []Identity{{ID: "a", Name: "a"}, {ID: "ab", Name: "ab"}, {ID: "0123456789abcdef0123456789abcdef", Name: "hex"}}
	pats := []PAT{{ID: "1", Name: "1", OwnerID: "a"}, {ID: "2", Name: "2", OwnerID: "a"}, {ID: "3", Name: "3", OwnerID: "ab"},
		{ID: "4", Name: "4", OwnerID: ids[2].ID}}
	if err := db.Seed(ids, pats); err != nil {
		t.Fatal(err)
	}
	if err := db.SetDisabled("a", true); err != nil {
		t.Fatal(err)
	}
	if id, _ := db.Identity("a"); !id.Disabled || len(db.List(Query{Owner: "a"})) != 2 {
		t.Errorf("disabled identity %+v: want disabled, its two tokens kept", id)
	}
	if err := db.RemoveIdentity("a"); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, p := range db.List(Query{}) {
		left = append(left, p.ID)
	}
	if _, ok := db.Identity("a"); ok || !slices.Equal(left, []string{"3", "4"}) {
		t.Errorf("after removing a: identity still there %v, tokens left %v; want gone, [3 4]", ok, left)
	}
	if err := db.RemoveIdentity("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing it again: %v, want ErrNotFound", err)
	}
	if err := db.SetDisabled("a", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("enabling a removed identity: %v, want ErrNotFound", err)
	}
}

// FuzzSeed holds Seed to a model: the tokens of the store, each replaced by the seed's token of its
// id (which may name another owner), must leave every owner's names unique ignoring case; then
// the store lists exactly those tokens, else the seed fails and changes nothing. Tokens of the
// store are among the seed's, of the same owner or another.
func FuzzSeed(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte("1A@0X020A001"))
	f.Fuzz(func(t *testing.T, plan []byte) {
		owners := []Identity{{ID: "o1"}, {ID: "o2"}, {ID: "o3"}}
		names := []string{"alpha", "ALPHA", "beta", "Beta", "ſtar", "Star", "gamma"}
		token := func(a, b byte) PAT {
			return PAT{ID: fmt.Sprintf("%02x", a%16), Name: names[int(b)%len(names)], OwnerID: owners[int(a/16)%3].ID,
				LastUsed: time.UnixMilli(int64(b) * 1000)}
		}
		db := New()
		if err := db.Seed(owners, nil); err != nil {
			t.Fatal(err)
		}
		model := map[string]PAT{}
		// The first half is seeded one token at a time, the store's tokens before the seed.
		half := len(plan) / 4 * 2
		for i := 0; i+1 < half; i += 2 {
			p := token(plan[i], plan[i+1])
			next := maps.Clone(model)
			next[p.ID] = p
			if valid(next) != (db.Seed(nil, []PAT{p}) == nil) {
				t.Fatalf("seeding %+v into %v: the model and the store disagree", p, model)
			}
			if valid(next) {
				model = next
			}
		}
		var seed []PAT
		next := maps.Clone(model)
		for i := half; i+1 < len(plan) && len(seed) < 40; i += 2 {
			p := token(plan[i], plan[i+1])
			if !slices.ContainsFunc(seed, func(q PAT) bool { return q.ID == p.ID }) { // a seed lists a token once
				seed = append(seed, p)
				next[p.ID] = p
			}
		}
		err := db.Seed(nil, seed)
		if valid(next) != (err == nil) {
			t.Fatalf("seeding %v into %v: model valid %v, store %v", seed, model, valid(next), err)
		}
		if err == nil {
			model = next
		}
		for _, o := range owners {
			var want []string
			for _, p := range model {
				if p.OwnerID == o.ID {
					want = append(want, p.ID)
				}
			}
			slices.Sort(want)
			var got []string
			for _, p := range db.List(Query{Owner: o.ID}) {
				got = append(got, p.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("owner %s lists %v, want %v", o.ID, got, want)
			}
		}
		// The whole tenant's list, and a filter on lastUsed, read the owners' lists' bounds.
		early := filter.Set{Null: true, Ranges: []filter.Range{{Lo: math.MinInt64, Hi: 100_000}}}
		for _, q := range []Query{{}, {LastUsed: &early}} {
			n := 0
			for _, p := range model {
				if q.LastUsed == nil || q.LastUsed.Contains(p.LastUsed) {
					n++
				}
			}
			if got := db.List(q); len(got) != n {
				t.Fatalf("%+v lists %d tokens, want %d", q, len(got), n)
			}
		}
	})
}

// valid tells tokens whose names are unique per owner, ignoring case.
func valid(tokens map[string]PAT) bool {
	for _, a := range tokens {
		for _, b := range tokens {
			if a.ID != b.ID && a.OwnerID == b.OwnerID && strings.EqualFold(a.Name, b.Name) {
				return false
			}
		}
	}
	return true
}
