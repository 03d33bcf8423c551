package store

import (
	"sync"

	"github.com/hashicorp/go-memdb"
)

// Frozen is one committed state of a store, as a keeper writes it; nothing changes it.
type Frozen struct{ db *memdb.MemDB }

// Dump returns the state's identities, ordered by id, and its tokens, secrets included, oldest first.
func (f Frozen) Dump() ([]Identity, []PAT) { return dump(f.db.Txn(false)) }

// keeper makes a store's changes durable: see Keep.
type keeper struct {
	keep func(Frozen) error
	undo func()

	mu   sync.Mutex   // one keep at a time; held while a failed keep puts the store back
	kept uint64       // the last change kept
	last *memdb.MemDB // the state kept last, which a failed keep returns to
}

// epoch is the time between two failed keeps. A failed keep ends the current one: its changes
// after the last one kept are gone.
type epoch struct {
	ended bool
	kept  uint64 // when ended: the last change kept
	err   error  // when ended: why
}

// Keep makes every later change of d wait, before its method returns, until keep has kept a state
// that holds it, and keeps the current state at once. keep is called one call at a time, with the
// newest state, so that changes made meanwhile share one call. When keep fails, the store goes back
// to the state of its last success, undo puts back whatever the caller keeps along with the store
// (it runs under the store's write lock, as the functions given to Change do), and every change
// since that success fails with keep's error: none of them is left half made. Keep is called before
// the store changes, and again only if it failed.
func (d *DB) Keep(keep func(Frozen) error, undo func()) error {
	k := &keeper{keep: keep, undo: undo, last: d.db.Load().Snapshot()}
	if err := keep(Frozen{k.last}); err != nil {
		return err
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
	newest, through := d.db.Load().Snapshot(), d.changes
	d.mu.Unlock()
	if err := k.keep(Frozen{newest}); err != nil {
		d.mu.Lock()
		d.db.Store(k.last.Snapshot())
		d.publish(true)
		k.undo()
		d.epoch.ended, d.epoch.kept, d.epoch.err = true, k.kept, err
		d.epoch = &epoch{}
		d.mu.Unlock()
		return err
	}
	k.kept, k.last = through, newest
	return nil
}
