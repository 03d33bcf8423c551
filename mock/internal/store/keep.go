package store

import (
	"sync"

	"github.com/hashicorp/go-memdb"
)

// Frozen is one committed state of a store, as a keeper writes it, with what the keeper keeps along
// with the store (a clock's offset), read under the same write lock; nothing changes it. The zero
// Frozen is no state at all.
type Frozen struct {
	db    *memdb.MemDB
	Aside int64
}

// IsZero tells the zero Frozen.
func (f Frozen) IsZero() bool { return f.db == nil }

// Dump returns the state's identities, ordered by id, and its tokens, secrets included, oldest first.
func (f Frozen) Dump() ([]Identity, []PAT) { return dump(f.db.Txn(false)) }

// Each calls identity for each of the state's identities, ordered by id, then pat for each of its
// tokens, secrets included, owner by owner: one at a time, each left as soon as it is given, so
// that a state as large as a state file may hold is written out in a constant space. It stops at
// the first error.
func (f Frozen) Each(identity func(Identity) error, pat func(PAT) error) error {
	txn := f.db.Txn(false)
	it, err := txn.Get(tIdentity, ixID)
	must(err)
	for o := it.Next(); o != nil; o = it.Next() {
		if err := identity(*o.(*Identity)); err != nil {
			return err
		}
	}
	owners, err := txn.LowerBound(tPAT, ixID, []byte{tagOwned}) // every owner's list, and nothing else
	must(err)
	for o := owners.Next(); o != nil; o = owners.Next() {
		for _, r := range o.(*owned).records {
			if err := pat(r.pat(r.ID(), true)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Freeze is the store's current state, with aside read under its write lock.
func (d *DB) Freeze(aside func() int64) Frozen {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Frozen{d.db.Load().Snapshot(), aside()}
}

// keeper makes a store's changes durable: see Keep.
type keeper struct {
	keep  func(Frozen) error
	aside func() int64
	undo  func(aside int64)

	mu   sync.Mutex // one keep at a time; held while a failed keep puts the store back
	kept uint64     // the last change kept
	last Frozen     // the state kept last, which a failed keep returns to
}

// epoch is the time between two failed keeps. A failed keep ends the current one: its changes
// after the last one kept are gone.
type epoch struct {
	ended bool
	kept  uint64 // when ended: the last change kept
	err   error  // when ended: why
}

// Keep makes every later change of d wait, before its method returns, until keep has kept a state
// that holds it. keep is called one call at a time, with the newest state, so that changes made
// meanwhile share one call. aside is read with each state, under the store's write lock, for what
// the caller keeps along with the store. When keep fails, the store goes back to the state of its
// last success, undo puts back what the caller keeps along with it (it gets that state's aside, and
// runs under the store's write lock, as the functions given to Change do), and every change since
// that success fails with keep's error: none of them is left half made. The current state is kept
// at once, unless it is kept already (kept: the store was loaded from what keep writes).
func (d *DB) Keep(keep func(Frozen) error, aside func() int64, undo func(aside int64), kept bool) error {
	k := &keeper{keep: keep, aside: aside, undo: undo, last: d.Freeze(aside)}
	if !kept {
		if err := keep(k.last); err != nil {
			return err
		}
	}
	d.keeper.Store(k)
	return nil
}

// Change runs fn as a change of the store: under its write lock and, with a keeper, kept before
// Change returns. Every change of the store goes through it; callers use it for what they keep
// along with the store (a clock). An error of fn's is no change.
func (d *DB) Change(fn func() error) error {
	d.mu.Lock()
	if err := fn(); err != nil {
		d.mu.Unlock()
		return err
	}
	d.changes++
	n, epoch := d.changes, d.epoch
	d.mu.Unlock()
	if d.keeper.Load() == nil {
		return nil
	}
	return d.wait(n, epoch)
}

// wait returns once change n of epoch is kept, keeping the newest state if no keep has yet.
func (d *DB) wait(n uint64, in *epoch) error {
	k := d.keeper.Load()
	k.mu.Lock()
	defer k.mu.Unlock()
	switch { // an epoch ends only under k.mu
	case in.ended && n > in.kept:
		return in.err // put back by a failed keep: the change is gone
	case n <= k.kept:
		return nil
	}
	d.mu.Lock()
	newest, through := Frozen{d.db.Load().Snapshot(), k.aside()}, d.changes
	d.mu.Unlock()
	if err := k.keep(newest); err != nil {
		d.mu.Lock()
		d.db.Store(k.last.db.Snapshot())
		d.publish(true)
		k.undo(k.last.Aside)
		d.epoch.ended, d.epoch.kept, d.epoch.err = true, k.kept, err
		d.epoch = &epoch{}
		d.mu.Unlock()
		return err
	}
	k.kept, k.last = through, newest
	return nil
}
