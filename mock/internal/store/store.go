// Package store holds a tenant's identities and personal access tokens in go-memdb, indexed for the
// queries the API serves. Stored objects are never mutated: every change inserts a fresh copy, so
// snapshots stay valid and readers never see a half-applied update.
package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/iscmock/iscmock/mock/internal/filter"
)

// Identity is a user of the tenant.
type Identity struct {
	ID         string
	Name       string // display name, shown as owner.name
	UserName   string // login name, shown as user_name in tokens
	UserLevels []string
	Rights     []string // extra rights beyond those of the user levels
}

// PAT is a personal access token. Zero times mean null: never used, never expires.
type PAT struct {
	ID                         string
	Secret                     string
	Name                       string
	OwnerID                    string
	Scope                      []string
	AccessTokenValiditySeconds int
	Created                    time.Time
	LastUsed                   time.Time
	ExpirationDate             time.Time
	UserAwareTokenNeverExpires bool
	Managed                    bool
}

// Errors the store reports; the API maps them to ISC's responses.
var (
	ErrNotFound     = errors.New("not found")
	ErrNameTaken    = errors.New("name already used by another token of the same owner")
	ErrOwnerLimit   = errors.New("owner has reached the token limit")
	ErrUnknownOwner = errors.New("owner is not an identity of the tenant")
)

const (
	tIdentity = "identity"
	tPAT      = "pat"

	ixID            = "id"
	ixOwnerLastUsed = "owner_lastUsed"
	ixLastUsed      = "lastUsed"
)

var schema = &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
	tIdentity: {Name: tIdentity, Indexes: map[string]*memdb.IndexSchema{
		ixID: {Name: ixID, Unique: true, Indexer: keyIndex(func(o any) []byte { return str(o.(*Identity).ID) })},
	}},
	tPAT: {Name: tPAT, Indexes: map[string]*memdb.IndexSchema{
		ixID: {Name: ixID, Unique: true, Indexer: keyIndex(func(o any) []byte { return str(o.(*PAT).ID) })},
		ixOwnerLastUsed: {Name: ixOwnerLastUsed, Indexer: keyIndex(func(o any) []byte {
			p := o.(*PAT)
			return append(str(p.OwnerID), timeKey(p.LastUsed)...)
		})},
		ixLastUsed: {Name: ixLastUsed, Indexer: keyIndex(func(o any) []byte { return timeKey(o.(*PAT).LastUsed) })},
	}},
}}

// keyIndex is an index whose lookup arguments are keys built the same way as fromObject builds them.
type keyIndex func(o any) []byte

func (f keyIndex) FromObject(o any) (bool, []byte, error) { return true, f(o), nil }

func (f keyIndex) FromArgs(args ...any) ([]byte, error) {
	var key []byte
	for _, a := range args {
		b, ok := a.([]byte)
		if !ok {
			return nil, fmt.Errorf("store: index argument %T is not a key", a)
		}
		key = append(key, b...)
	}
	return key, nil
}

func str(s string) []byte { return append([]byte(s), 0) }

// timeKey orders null before every instant, and instants by time.
func timeKey(t time.Time) []byte {
	if t.IsZero() {
		return []byte{0}
	}
	return millisKey(filter.Millis(t))
}

func millisKey(n int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{1}, uint64(n)^(1<<63))
}

// DB is one tenant's state. Reads run on an immutable snapshot; writes are serialized by memdb.
type DB struct {
	db   atomic.Pointer[memdb.MemDB]
	base *memdb.MemDB
}

// New returns an empty store.
func New() *DB {
	db, err := memdb.NewMemDB(schema)
	if err != nil {
		panic(err) // the schema is static: an error here is a programming error
	}
	d := &DB{base: db.Snapshot()}
	d.db.Store(db)
	return d
}

// Clone returns a store that starts from d's current state, as its own: changes to either do not
// reach the other. It costs the same however much d holds.
func (d *DB) Clone() *DB {
	c := &DB{base: d.db.Load().Snapshot()}
	c.db.Store(c.base.Snapshot())
	return c
}

// Checkpoint makes the current state the one Reset returns to.
func (d *DB) Checkpoint() { d.base = d.db.Load().Snapshot() }

// Reset discards every change since the last Checkpoint.
func (d *DB) Reset() { d.db.Store(d.base.Snapshot()) }

func (d *DB) read() *memdb.Txn  { return d.db.Load().Txn(false) }
func (d *DB) write() *memdb.Txn { return d.db.Load().Txn(true) }

// Identity returns the identity with the given id.
func (d *DB) Identity(id string) (Identity, bool) {
	o, err := d.read().First(tIdentity, ixID, str(id))
	if err != nil || o == nil {
		return Identity{}, false
	}
	return *o.(*Identity), true
}

// Identities returns every identity, ordered by id.
func (d *DB) Identities() []Identity {
	it, err := d.read().Get(tIdentity, ixID)
	if err != nil {
		panic(err)
	}
	var out []Identity
	for o := it.Next(); o != nil; o = it.Next() {
		out = append(out, *o.(*Identity))
	}
	return out
}

// PAT returns the token with the given id.
func (d *DB) PAT(id string) (PAT, bool) {
	return getPAT(d.read(), id)
}

func getPAT(txn *memdb.Txn, id string) (PAT, bool) {
	o, err := txn.First(tPAT, ixID, str(id))
	if err != nil || o == nil {
		return PAT{}, false
	}
	return *o.(*PAT), true
}

// Seed adds or replaces identities and tokens as one change: either all of them are stored or none.
// Seeded tokens are exempt from the per-owner limit, but names stay unique per owner.
func (d *DB) Seed(ids []Identity, pats []PAT) error {
	txn := d.write()
	defer txn.Abort()
	for _, id := range ids {
		id.UserLevels = slices.Clone(id.UserLevels)
		id.Rights = slices.Clone(id.Rights)
		must(txn.Insert(tIdentity, &id))
	}
	for _, p := range pats {
		if o, _ := txn.First(tIdentity, ixID, str(p.OwnerID)); o == nil {
			return fmt.Errorf("token %s: %w", p.ID, ErrUnknownOwner)
		}
		if err := checkName(txn, p); err != nil {
			return fmt.Errorf("token %s: %w", p.ID, err)
		}
		insertPAT(txn, p)
	}
	txn.Commit()
	return nil
}

// Create stores a new token, enforcing unique names per owner and, when limit > 0, at most limit
// tokens per owner (managed tokens are not counted).
func (d *DB) Create(p PAT, limit int) error {
	txn := d.write()
	defer txn.Abort()
	if err := checkName(txn, p); err != nil {
		return err
	}
	if limit > 0 && countUnmanaged(txn, p.OwnerID) >= limit {
		return ErrOwnerLimit
	}
	insertPAT(txn, p)
	txn.Commit()
	return nil
}

// Update replaces the token with id by what change returns; an error from change aborts the update.
// change gets a copy and may modify it freely.
func (d *DB) Update(id string, change func(PAT) (PAT, error)) (PAT, error) {
	txn := d.write()
	defer txn.Abort()
	old, ok := getPAT(txn, id)
	if !ok {
		return PAT{}, ErrNotFound
	}
	old.Scope = slices.Clone(old.Scope)
	p, err := change(old)
	if err != nil {
		return PAT{}, err
	}
	p.ID, p.OwnerID = id, old.OwnerID
	if err := checkName(txn, p); err != nil {
		return PAT{}, err
	}
	insertPAT(txn, p)
	txn.Commit()
	return p, nil
}

// Delete removes the token with id.
func (d *DB) Delete(id string) error {
	txn := d.write()
	defer txn.Abort()
	o, err := txn.First(tPAT, ixID, str(id))
	if err != nil || o == nil {
		return ErrNotFound
	}
	must(txn.Delete(tPAT, o))
	txn.Commit()
	return nil
}

// Query selects tokens: of one owner when Owner is set, and with lastUsed in LastUsed when it is set.
type Query struct {
	Owner    string
	LastUsed *filter.Set
}

// List returns the tokens the query selects, oldest first. It walks only the index ranges the
// query names, never the whole tenant.
func (d *DB) List(q Query) []PAT {
	txn := d.read()
	set := filter.All()
	if q.LastUsed != nil {
		set = *q.LastUsed
	}
	index, prefix := ixLastUsed, []byte(nil)
	if q.Owner != "" {
		index, prefix = ixOwnerLastUsed, str(q.Owner)
	}
	var out []PAT
	scan := func(from []byte, keep func(*PAT) bool) {
		it, err := txn.LowerBound(tPAT, index, append(slices.Clone(prefix), from...))
		must(err)
		for o := it.Next(); o != nil; o = it.Next() {
			p := o.(*PAT)
			if q.Owner != "" && p.OwnerID != q.Owner || !keep(p) {
				return
			}
			out = append(out, *p)
		}
	}
	if set.Null {
		scan([]byte{0}, func(p *PAT) bool { return p.LastUsed.IsZero() })
	}
	for _, r := range set.Ranges {
		scan(millisKey(r.Lo), func(p *PAT) bool { return !p.LastUsed.IsZero() && filter.Millis(p.LastUsed) <= r.Hi })
	}
	slices.SortFunc(out, func(a, b PAT) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return out
}

func insertPAT(txn *memdb.Txn, p PAT) {
	p.Scope = slices.Clone(p.Scope)
	must(txn.Insert(tPAT, &p))
}

// checkName enforces unique names per owner, ignoring case, the token itself excluded.
func checkName(txn *memdb.Txn, p PAT) error {
	it, err := txn.LowerBound(tPAT, ixOwnerLastUsed, str(p.OwnerID))
	must(err)
	for o := it.Next(); o != nil; o = it.Next() {
		q := o.(*PAT)
		if q.OwnerID != p.OwnerID {
			break
		}
		if q.ID != p.ID && strings.EqualFold(q.Name, p.Name) {
			return ErrNameTaken
		}
	}
	return nil
}

func countUnmanaged(txn *memdb.Txn, owner string) int {
	it, err := txn.LowerBound(tPAT, ixOwnerLastUsed, str(owner))
	must(err)
	n := 0
	for o := it.Next(); o != nil; o = it.Next() {
		q := o.(*PAT)
		if q.OwnerID != owner {
			break
		}
		if !q.Managed {
			n++
		}
	}
	return n
}

// must panics on memdb errors that only a schema mistake can cause.
func must(err error) {
	if err != nil {
		panic(err)
	}
}
