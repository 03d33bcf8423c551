// Package store holds a tenant's identities and personal access tokens in go-memdb, indexed for the
// queries the API serves. Stored objects are never mutated: every change inserts a fresh copy, so
// snapshots stay valid and readers never see a half-applied update.
package store

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

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
	// Disabled identities' tokens mint no access tokens, and their bearer tokens are refused.
	Disabled bool
}

// PAT is a personal access token. Zero times mean null: never used, never expires. Times are kept
// to the millisecond, as ISC keeps them.
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

// record is a PAT as stored: compact, since a tenant may hold a hundred thousand of them. Ids and
// secrets in lower-case hex, as ISC makes them, are kept as their raw bytes.
type record struct {
	id, secret, name, owner    string
	scope                      *[]string
	created, lastUsed, expires int64 // Unix milliseconds; null is math.MinInt64
	validity                   int32
	hexID, hexSecret           bool
	neverExpiresAck, managed   bool
}

// isHex reports whether s is lower-case hex of whole bytes, which the store keeps as raw bytes.
func isHex(s string) bool {
	if len(s) == 0 || len(s)%2 != 0 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// packInto appends s to b: lower-case hex as raw bytes, at half the size; other text as it is.
func packInto(b []byte, s string) ([]byte, bool) {
	if !isHex(s) {
		return append(b, s...), false
	}
	b, _ = hex.AppendDecode(b, []byte(s)) // checked above: cannot fail
	return b, true
}

func unpack(s string, isHex bool) string {
	if isHex {
		return hex.EncodeToString([]byte(s))
	}
	return s
}

const null = math.MinInt64

func millis(t time.Time) int64 {
	if t.IsZero() {
		return null
	}
	return filter.Millis(t)
}

func fromMillis(ms int64) time.Time {
	if ms == null {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// defaultScope is shared by every record that has it; stored slices are never changed.
var defaultScope = &[]string{DefaultScope}

func toRecord(p PAT) *record {
	scope := defaultScope
	if !slices.Equal(p.Scope, *defaultScope) {
		s := slices.Clone(p.Scope)
		scope = &s
	}
	r := &record{name: p.Name, owner: p.OwnerID, scope: scope,
		validity: int32(p.AccessTokenValiditySeconds), created: millis(p.Created), lastUsed: millis(p.LastUsed),
		expires: millis(p.ExpirationDate), neverExpiresAck: p.UserAwareTokenNeverExpires, managed: p.Managed}
	var buf [128]byte // the id and the secret share one allocation
	b, hexID := packInto(buf[:0], p.ID)
	n := len(b)
	b, hexSecret := packInto(b, p.Secret)
	both := string(b)
	r.id, r.hexID, r.secret, r.hexSecret = both[:n], hexID, both[n:], hexSecret
	return r
}

// ID is the token's id as the API shows it.
func (r *record) ID() string { return unpack(r.id, r.hexID) }

// idLen is the length of the token's id as the API shows it.
func (r *record) idLen() int {
	if r.hexID {
		return 2 * len(r.id)
	}
	return len(r.id)
}

// appendID appends the token's id as the API shows it.
func (r *record) appendID(b []byte) []byte {
	if r.hexID {
		return hex.AppendEncode(b, []byte(r.id))
	}
	return append(b, r.id...)
}

// pat is the record as a PAT with the given id (r.ID(), or a slice of a string shared by a list);
// without secret, Secret stays empty (and unpacking it is saved).
func (r *record) pat(id string, secret bool) PAT {
	p := PAT{ID: id, Name: r.name, OwnerID: r.owner, Scope: *r.scope,
		AccessTokenValiditySeconds: int(r.validity), Created: fromMillis(r.created), LastUsed: fromMillis(r.lastUsed),
		ExpirationDate: fromMillis(r.expires), UserAwareTokenNeverExpires: r.neverExpiresAck, Managed: r.managed}
	if secret {
		p.Secret = unpack(r.secret, r.hexSecret)
	}
	return p
}

const (
	tIdentity = "identity"
	tPAT      = "pat"

	ixID = "id"
)

// owned is one owner's tokens, ordered by lastUsed (null first), then id: what an owner's list and
// the lastUsed filters read, by binary search, and what a write checks names and the limit
// against. Owners without tokens have none.
type owned struct {
	key     []byte // ownedKey(owner), made once for all the owner's lists
	owner   string
	records []*record
	// The least and the greatest lastUsed, kept here so that a filter passes over an owner with no
	// token in its ranges without reading the tokens, which lie anywhere in memory.
	first, last int64
}

func newOwned(key []byte, owner string, records []*record) *owned {
	return &owned{key: key, owner: owner, records: records, first: records[0].lastUsed, last: records[len(records)-1].lastUsed}
}

// A token has one index entry, by id, and a place in its owner's owned, which is kept in the same
// table, under a key of its own: an index entry costs about 400 bytes in go-memdb, and a write
// copies the nodes on its path in each tree it touches (and in the root that holds the trees), so
// a token's write touches one tree, not two or three, and no second index by owner costs memory.
// The whole tenant is walked owner by owner, so that its filters cost what the owners and the
// answer number, never the tokens.
var schema = &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
	tIdentity: {Name: tIdentity, Indexes: map[string]*memdb.IndexSchema{
		ixID: {Name: ixID, Unique: true, Indexer: keyIndex(func(o any) []byte { return key(o.(*Identity).ID) })},
	}},
	tPAT: {Name: tPAT, Indexes: map[string]*memdb.IndexSchema{
		ixID: {Name: ixID, Unique: true, Indexer: keyIndex(func(o any) []byte {
			if o, ok := o.(*owned); ok {
				return o.key
			}
			r := o.(*record)
			return packedKey(r.id, r.hexID)
		})},
	}},
}}

// keyIndex is an index whose lookup arguments are keys built the same way as fromObject builds them.
type keyIndex func(o any) []byte

func (f keyIndex) FromObject(o any) (bool, []byte, error) { return true, f(o), nil }

func (f keyIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) == 1 { // the store's lookups pass one key, made for the lookup alone
		if b, ok := args[0].([]byte); ok {
			return b, nil
		}
	}
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

// key encodes an id for the indexes. Every write copies the nodes on its path, edges and all, so
// keys are laid out to keep those nodes narrow: lower-case hex (ISC's ids) as the half bytes of its
// raw bytes, closed by hexEnd, so that no node has more than 17 branches, even where many ids share
// a long prefix and differ in one byte; anything else as itself after tagOther, closed by 0. The
// closings keep keys prefix-free.
func key(id string) []byte { return appendKey(make([]byte, 0, len(id)+2), id) }

// appendKey appends id's key to k.
func appendKey(k []byte, id string) []byte {
	if !isHex(id) {
		return append(append(append(k, tagOther), id...), 0)
	}
	for i := range len(id) {
		k = append(k, unhex(id[i]))
	}
	return append(k, hexEnd)
}

// packedKey is key for an id already packed.
func packedKey(s string, isHex bool) []byte {
	if !isHex {
		return key(s) // s is the id itself
	}
	k := make([]byte, 0, 2*len(s)+1)
	for i := range len(s) {
		k = append(k, s[i]>>4, s[i]&0xf)
	}
	return append(k, hexEnd)
}

// ownedKey is the key of an owner's tokens, after every token's.
func ownedKey(owner string) []byte {
	return appendKey(append(make([]byte, 0, len(owner)+3), tagOwned), owner)
}

// Keys of hex ids are half bytes (0 to 15) closed by hexEnd; other keys start with tagOther, and
// owners' lists with tagOwned.
const (
	hexEnd   = 16
	tagOther = 17
	tagOwned = 18
)

// unhex is the value of a lower-case hex digit.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// DB is one tenant's state. Reads run on an immutable snapshot; writes are serialized by memdb.
type DB struct {
	db   atomic.Pointer[memdb.MemDB]
	base *memdb.MemDB

	// current is the latest state, shared by every reader; every commit publishes a new one,
	// committing and publishing under mu, so that states are published in the order they were
	// made and none is seen before it is published.
	current atomic.Pointer[state]
	mu      sync.Mutex
	// changes counts the changes made (under mu), each made in the epoch current then.
	changes uint64
	epoch   *epoch
	keeper  atomic.Pointer[keeper] // nil unless Keep was called
}

// state is one committed state as readers see it: a read transaction (reads change nothing in it,
// so it is shared, and a read does not pay for a transaction of its own), the identities read so
// far, since every authenticated request looks up its caller, and values made from it alone (Memo).
// The memo goes with the state; the identities stay from state to state until a change of
// identities, and hold at most the tenant's identities.
type state struct {
	txn        *memdb.Txn
	identities *identities

	mu        sync.RWMutex
	memo      map[string][]byte
	memoBytes int
}

type identities struct {
	mu   sync.RWMutex
	read map[string]Identity
}

// Bounds of a state's memo: a state that stays long (a read-only tenant) keeps at most this much.
const (
	MaxMemoValues = 64
	MaxMemoBytes  = 1 << 20
)

// Memo returns the value make makes from the current state, made once per state: every change to
// the store starts a new state with an empty memo, so a value never outlives what it was made from.
// make must read nothing but the store, and the value must not be changed. Past MaxMemoValues or
// MaxMemoBytes, values are made but not kept.
func (d *DB) Memo(key []byte, make func() []byte) []byte {
	st := d.current.Load()
	st.mu.RLock()
	v, ok := st.memo[string(key)] // looked up without a copy of the key
	st.mu.RUnlock()
	if ok {
		return v
	}
	v = make()
	st.mu.Lock()
	if len(st.memo) < MaxMemoValues && st.memoBytes+len(v) <= MaxMemoBytes {
		st.memo[string(key)] = v
		st.memoBytes += len(v)
	}
	st.mu.Unlock()
	return v
}

// New returns an empty store.
func New() *DB {
	db, err := memdb.NewMemDB(schema)
	if err != nil {
		panic(err) // the schema is static: an error here is a programming error
	}
	d := &DB{base: db.Snapshot(), epoch: &epoch{}}
	d.db.Store(db)
	d.publish(true)
	return d
}

// Clone returns a store that starts from d's current state, as its own: changes to either do not
// reach the other. It costs the same however much d holds.
func (d *DB) Clone() *DB {
	c := &DB{base: d.db.Load().Snapshot(), epoch: &epoch{}}
	c.db.Store(c.base.Snapshot())
	c.publish(true)
	return c
}

// Reset discards every change since the store was made or cloned. also, when not nil, runs as part
// of the same change, under the write lock (a clock going back along with the store).
func (d *DB) Reset(also func()) error {
	return d.Change(func() error {
		d.db.Store(d.base.Snapshot())
		d.publish(true)
		if also != nil {
			also()
		}
		return nil
	})
}

// Load replaces the current state with exactly these identities and tokens, as one change; Reset
// still returns to the state the store was made or cloned with.
func (d *DB) Load(ids []Identity, pats []PAT) error {
	loaded := New()
	if err := loaded.Seed(ids, pats); err != nil {
		return err
	}
	return d.Change(func() error { d.db.Store(loaded.db.Load()); d.publish(true); return nil })
}

// publish makes the latest state the one readers see; d.mu is held, except while d is new.
// Its maps are made here, on the writer's path, not on the first reader's.
func (d *DB) publish(identitiesChanged bool) {
	st := &state{txn: d.db.Load().Txn(false), memo: make(map[string][]byte, 1)}
	if prev := d.current.Load(); prev != nil && !identitiesChanged {
		st.identities = prev.identities
	} else {
		st.identities = &identities{read: make(map[string]Identity, 1)}
	}
	d.current.Store(st)
}

// write runs fn in a write transaction and publishes what it wrote, unless it fails. The
// transaction is opened under the write lock: a writer must never hold one of a state that Reset,
// Load or a failed keep has just replaced, or its change would go to a state nobody reads.
func (d *DB) write(identitiesChanged bool, fn func(*memdb.Txn) error) error {
	return d.Change(func() error {
		txn := d.db.Load().Txn(true)
		defer txn.Abort()
		if err := fn(txn); err != nil {
			return err
		}
		txn.Commit()
		d.publish(identitiesChanged)
		return nil
	})
}

func (d *DB) read() *memdb.Txn { return d.current.Load().txn }

// Identity returns the identity with the given id.
func (d *DB) Identity(id string) (Identity, bool) {
	st := d.current.Load()
	st.identities.mu.RLock()
	i, ok := st.identities.read[id]
	st.identities.mu.RUnlock()
	if ok {
		return i, true
	}
	o, err := st.txn.First(tIdentity, ixID, key(id))
	if err != nil || o == nil {
		return Identity{}, false
	}
	i = *o.(*Identity)
	st.identities.mu.Lock()
	st.identities.read[id] = i
	st.identities.mu.Unlock()
	return i, true
}

// Identities returns every identity, ordered by id.
func (d *DB) Identities() []Identity {
	it, err := d.read().Get(tIdentity, ixID)
	must(err)
	var out []Identity
	for o := it.Next(); o != nil; o = it.Next() {
		out = append(out, *o.(*Identity))
	}
	return out
}

// SetDisabled disables or enables the identity with the given id.
func (d *DB) SetDisabled(id string, disabled bool) error {
	return d.write(true, func(txn *memdb.Txn) error {
		identity := first[Identity](txn, tIdentity, key(id))
		if identity == nil {
			return ErrNotFound
		}
		changed := *identity
		changed.Disabled = disabled
		must(txn.Insert(tIdentity, &changed))
		return nil
	})
}

// RemoveIdentity removes the identity with the given id and all its tokens, as one change.
func (d *DB) RemoveIdentity(id string) error {
	return d.write(true, func(txn *memdb.Txn) error {
		identity := first[Identity](txn, tIdentity, key(id))
		if identity == nil {
			return ErrNotFound
		}
		if o := first[owned](txn, tPAT, ownedKey(identity.ID)); o != nil {
			for _, r := range o.records {
				must(txn.Delete(tPAT, r))
			}
			must(txn.Delete(tPAT, o))
		}
		must(txn.Delete(tIdentity, identity))
		return nil
	})
}

// PAT returns the token with the given id.
func (d *DB) PAT(id string) (PAT, bool) {
	r := first[record](d.read(), tPAT, key(id))
	if r == nil {
		return PAT{}, false
	}
	return r.pat(id, true), true
}

// first is the object of the table whose id's key is k, or nil.
func first[T any](txn *memdb.Txn, table string, k []byte) *T {
	o, err := txn.First(table, ixID, k)
	must(err)
	if o == nil {
		return nil
	}
	return o.(*T)
}

// Seed adds or replaces identities and tokens as one change: either all of them are stored or none.
// Seeded tokens are exempt from the per-owner limit, but names stay unique per owner.
func (d *DB) Seed(ids []Identity, pats []PAT) error {
	return d.write(len(ids) > 0, func(txn *memdb.Txn) error {
		for _, id := range ids {
			id.UserLevels = slices.Clone(id.UserLevels)
			id.Rights = slices.Clone(id.Rights)
			must(txn.Insert(tIdentity, &id))
		}
		// An owner's tokens are seeded together, its list made once: a state file may hold a
		// hundred thousand tokens of one owner, whose list a token at a time would copy as often.
		// The rules hold of the state the seed leaves, not of the order it lists tokens in: the
		// tokens that change owner leave their old owners' lists first.
		var owners []string
		byOwner := map[string][]PAT{}
		seen := make(map[string]bool, len(pats))
		for _, p := range pats {
			if seen[p.ID] { // fixture documents are checked for this: the order of their tokens does not matter
				return fmt.Errorf("token %s: listed twice", p.ID)
			}
			seen[p.ID] = true
			o, _ := txn.First(tIdentity, ixID, key(p.OwnerID))
			if o == nil {
				return fmt.Errorf("token %s: %w", p.ID, ErrUnknownOwner)
			}
			p.OwnerID = o.(*Identity).ID // one copy of the owner's id, however many tokens it has
			if _, ok := byOwner[p.OwnerID]; !ok {
				owners = append(owners, p.OwnerID)
			}
			byOwner[p.OwnerID] = append(byOwner[p.OwnerID], p)
			if old := first[record](txn, tPAT, key(p.ID)); old != nil && old.owner != p.OwnerID {
				unown(txn, old)
			}
		}
		for _, owner := range owners {
			if err := seedOwner(txn, owner, byOwner[owner]); err != nil {
				return err
			}
		}
		return nil
	})
}

// seedOwner adds tokens to an owner's, replacing those of the same ids, as Seed does.
func seedOwner(txn *memdb.Txn, owner string, pats []PAT) error {
	list := first[owned](txn, tPAT, ownedKey(owner))
	var records []*record
	listKey := ownedKey(owner)
	if list != nil {
		records, listKey = slices.Clone(list.records), list.key
	}
	replaced := map[*record]bool{}
	news := make([]*record, len(pats))
	for i, p := range pats {
		news[i] = toRecord(p)
		if old := first[record](txn, tPAT, key(p.ID)); old != nil {
			replaced[old] = true // the owner's: others left their lists above
		}
	}
	records = append(slices.DeleteFunc(records, func(r *record) bool { return replaced[r] }), news...)
	names := make(map[string]bool, len(records))
	for _, r := range records {
		k := foldKey(r.name)
		if names[k] {
			return fmt.Errorf("token %s: %w", r.ID(), ErrNameTaken)
		}
		names[k] = true
	}
	for _, r := range news {
		must(txn.Insert(tPAT, r))
	}
	slices.SortFunc(records, compareRecords)
	must(txn.Insert(tPAT, newOwned(listKey, owner, records)))
	return nil
}

// foldKey is the same for two names that strings.EqualFold holds equal: each rune replaced by the
// least of those that fold to it.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}

// Create stores a new token, enforcing unique names per owner and, when limit > 0, at most limit
// tokens per owner (managed tokens are not counted).
func (d *DB) Create(p PAT, limit int) error {
	return d.write(false, func(txn *memdb.Txn) error {
		owner := first[owned](txn, tPAT, ownedKey(p.OwnerID))
		if err := checkOwner(owner, p, limit); err != nil {
			return err
		}
		put(txn, owner, nil, toRecord(p))
		return nil
	})
}

// Update replaces the token with id by what change returns; an error from change aborts the
// update. change gets a copy and may modify it freely. It runs outside the write lock, on the token
// as a snapshot holds it, so a slow change (a long patch) holds up no other writer; the result is
// committed only if the token has not changed meanwhile (compare and swap), else change runs again
// on the new state. Each retry means another writer succeeded, so updates always progress.
func (d *DB) Update(id string, change func(PAT) (PAT, error)) (PAT, error) {
	for {
		old := first[record](d.read(), tPAT, key(id))
		if old == nil {
			return PAT{}, ErrNotFound
		}
		p := old.pat(old.ID(), true)
		p.Scope = slices.Clone(p.Scope)
		p, err := change(p)
		if err != nil {
			return PAT{}, err
		}
		p.ID, p.OwnerID = old.ID(), old.owner
		r := toRecord(p)
		swapped, err := d.swap(old, r, p)
		switch {
		case err != nil:
			return PAT{}, err
		case swapped:
			return r.pat(p.ID, true), nil
		}
	}
}

// swap stores r in place of old, if old is still the stored record; p is r as a PAT.
func (d *DB) swap(old, r *record, p PAT) (bool, error) {
	swapped := false
	err := d.write(false, func(txn *memdb.Txn) error {
		if first[record](txn, tPAT, key(p.ID)) != old {
			return errMoved
		}
		owner := first[owned](txn, tPAT, ownedKey(p.OwnerID))
		if err := checkOwner(owner, p, 0); err != nil {
			return err
		}
		put(txn, owner, old, r)
		swapped = true
		return nil
	})
	if err == errMoved {
		return false, nil
	}
	return swapped, err
}

// errMoved aborts a swap whose token another writer changed first.
var errMoved = errors.New("changed meanwhile")

// Delete removes the token with id if allow, given the token, returns nil; its error aborts.
func (d *DB) Delete(id string, allow func(PAT) error) error {
	return d.write(false, func(txn *memdb.Txn) error {
		r := first[record](txn, tPAT, key(id))
		if r == nil {
			return ErrNotFound
		}
		if err := allow(r.pat(id, false)); err != nil {
			return err
		}
		unown(txn, r)
		must(txn.Delete(tPAT, r))
		return nil
	})
}

// put stores r in place of old, the stored token with its id, if any; owner is r's owner's
// tokens, as stored (nil for none).
func put(txn *memdb.Txn, owner *owned, old, r *record) {
	if old != nil && old.owner != r.owner {
		unown(txn, old)
		old = nil
	}
	var records []*record
	var listKey []byte
	if owner != nil {
		records, listKey = owner.records, owner.key
	} else {
		listKey = ownedKey(r.owner)
	}
	next := make([]*record, 0, len(records)+1)
	for _, x := range records {
		if x != old {
			next = append(next, x)
		}
	}
	i, _ := slices.BinarySearchFunc(next, r, compareRecords)
	must(txn.Insert(tPAT, newOwned(listKey, r.owner, slices.Insert(next, i, r))))
	must(txn.Insert(tPAT, r))
}

// unown takes the stored token r out of its owner's tokens.
func unown(txn *memdb.Txn, r *record) {
	o := first[owned](txn, tPAT, ownedKey(r.owner))
	if len(o.records) == 1 {
		must(txn.Delete(tPAT, o))
		return
	}
	next := make([]*record, 0, len(o.records)-1)
	for _, x := range o.records {
		if x != r {
			next = append(next, x)
		}
	}
	must(txn.Insert(tPAT, newOwned(o.key, o.owner, next)))
}

// compareRecords orders an owner's tokens: by lastUsed, null first, then by id.
func compareRecords(a, b *record) int {
	if c := cmp.Compare(a.lastUsed, b.lastUsed); c != 0 {
		return c
	}
	if a.hexID != b.hexID {
		if a.hexID {
			return -1
		}
		return 1
	}
	return strings.Compare(a.id, b.id)
}

// Query selects tokens: of one owner when Owner is set, and with lastUsed in LastUsed when it is set.
type Query struct {
	Owner    string
	LastUsed *filter.Set
	// Secrets fills in the tokens' secrets, which the API never lists.
	Secrets bool
}

// List returns the tokens the query selects, oldest first.
func (d *DB) List(q Query) []PAT {
	var out []PAT
	each(d.read(), q, func(n int) { out = make([]PAT, 0, n) }, func(p PAT) { out = append(out, p) })
	return out
}

// Each calls fn with each token the query selects, oldest first. It walks only the index ranges
// the query names: for the whole tenant, each owner's in turn, so the cost follows the owners and
// the answer, never the number of tokens. The tokens' ids share one allocation, however many.
func (d *DB) Each(q Query, fn func(PAT)) { each(d.read(), q, nil, fn) }

// Dump returns every identity, ordered by id, and every token, secrets included, oldest first,
// from one state: what a writer changes meanwhile is in both or in neither.
func (d *DB) Dump() ([]Identity, []PAT) { return dump(d.read()) }

func dump(txn *memdb.Txn) ([]Identity, []PAT) {
	it, err := txn.Get(tIdentity, ixID)
	must(err)
	ids := []Identity{}
	for o := it.Next(); o != nil; o = it.Next() {
		ids = append(ids, *o.(*Identity))
	}
	pats := []PAT{}
	each(txn, Query{Secrets: true}, func(n int) { pats = make([]PAT, 0, n) }, func(p PAT) { pats = append(pats, p) })
	return ids, pats
}

// each calls fn for each token the query selects, oldest first; count, if given, first learns how
// many there are.
func each(txn *memdb.Txn, q Query, count func(n int), fn func(PAT)) {
	set := filter.All()
	if q.LastUsed != nil {
		set = *q.LastUsed
	}
	recs := make([]*record, 0, 16) // a page of an owner's tokens, without an allocation
	if q.Owner != "" {
		if o := first[owned](txn, tPAT, ownedKey(q.Owner)); o != nil {
			recs = listOwner(o, set, recs)
		}
	} else {
		it, err := txn.LowerBound(tPAT, ixID, []byte{tagOwned}) // every owner's list, and nothing else
		must(err)
		for o := it.Next(); o != nil; o = it.Next() {
			recs = listOwner(o.(*owned), set, recs)
		}
	}
	slices.SortFunc(recs, func(a, b *record) int {
		if c := cmp.Compare(a.created, b.created); c != 0 {
			return c
		}
		var x, y [64]byte
		return bytes.Compare(a.appendID(x[:0]), b.appendID(y[:0]))
	})
	var all strings.Builder
	n := 0
	for _, r := range recs {
		n += r.idLen()
	}
	all.Grow(n)
	var buf [64]byte
	for _, r := range recs {
		_, _ = all.Write(r.appendID(buf[:0]))
	}
	ids, at := all.String(), 0
	if count != nil {
		count(len(recs))
	}
	for _, r := range recs {
		fn(r.pat(ids[at:at+r.idLen()], q.Secrets))
		at += r.idLen()
	}
}

// listOwner appends the owner's tokens whose lastUsed is in set.
func listOwner(o *owned, set filter.Set, out []*record) []*record {
	ranges := set.Ranges
	if set.Null && len(ranges) > 0 && ranges[0].Lo == math.MinInt64 {
		// Null sorts just before the first instant: one walk covers both.
		out = scanOwner(o, null, ranges[0].Hi, out)
		ranges = ranges[1:]
	} else if set.Null {
		out = scanOwner(o, null, null, out)
	}
	for _, rg := range ranges {
		out = scanOwner(o, max(rg.Lo, null+1), rg.Hi, out) // null sorts before every instant
	}
	return out
}

// scanOwner appends the tokens whose lastUsed lies from from to to, null being the least.
func scanOwner(o *owned, from, to int64, out []*record) []*record {
	if to < o.first || from > o.last {
		return out
	}
	records := o.records
	i, _ := slices.BinarySearchFunc(records, from, func(r *record, t int64) int { return cmp.Compare(r.lastUsed, t) })
	for ; i < len(records) && records[i].lastUsed <= to; i++ {
		out = append(out, records[i])
	}
	return out
}

// checkOwner enforces, in one walk of the owner's tokens, unique names per owner, ignoring case,
// the token itself excluded, and, when limit > 0, at most limit unmanaged tokens besides it.
func checkOwner(owner *owned, p PAT, limit int) error {
	var buf [64]byte
	id, isHex := packInto(buf[:0], p.ID)
	n := 0
	if owner != nil {
		for _, r := range owner.records {
			switch {
			case r.id == string(id) && r.hexID == isHex:
			case strings.EqualFold(r.name, p.Name):
				return ErrNameTaken
			case !r.managed:
				n++
			}
		}
	}
	if limit > 0 && n >= limit {
		return ErrOwnerLimit
	}
	return nil
}

// must panics on memdb errors that only a schema mistake can cause.
func must(err error) {
	if err != nil {
		panic(err)
	}
}
