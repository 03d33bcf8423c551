package mock

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/iscmock/iscmock/internal/duration"
	"github.com/iscmock/iscmock/mock/internal/durable"
	"github.com/iscmock/iscmock/mock/internal/ids"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// A state directory keeps each tenant in a file of its own: DIR/root.json for the root tenant,
// DIR/tenants/NAME.json for the others. A file is written whole on every change, atomically, and
// is on disk before the change is answered; start-up reads the files and writes none.

// WithStateDir keeps every tenant's state in dir, so that a server started again on it goes on
// where the last one stopped: tokens, identities, clocks, signing keys (bearer tokens minted
// before still verify) and the ids to come. Each change (a create, patch or delete, a lastUsed
// set at /oauth/token, an identity change, a seed, a reset, a clock move, a tenant made or
// dropped) is on disk before it returns or is answered; a change that cannot be written fails
// (ISC's 500) and changes nothing, on disk either. Scenario counters, rate-limit windows and
// journals are not kept. The directory is made if missing and is used by one server at a time: a
// server started on a directory another one holds waits up to StateDirWait for it, then fails.
func WithStateDir(dir string) Option {
	return func(c *config) { c.stateDir = dir }
}

// StateDirWait bounds how long a server waits for a state directory that another server holds,
// as one that is stopping does while its last requests finish (for up to 10 s in iscmock serve).
const StateDirWait = 15 * time.Second

// MaxStateFile bounds a tenant's state file; a change that would make it larger fails.
const MaxStateFile = 64 << 20

// errNotKept is in the error of every change a state directory could not keep, which is answered
// as ISC's 500.
var errNotKept = errors.New("the tenant's state could not be kept")

// Knobs a test turns: stateFileLimit is MaxStateFile, stateDirWait StateDirWait.
var (
	stateFileLimit = MaxStateFile
	stateDirWait   = StateDirWait
)

// stateFormat names the state file's format, which a later one may change.
const stateFormat = "state/1"

// stateFile is a tenant's state as its file holds it: the fixture document of its export, and
// what an export leaves out so that the tenant goes on as it was.
type stateFile struct {
	Format   string `yaml:"iscmock" json:"iscmock"`
	Tenant   string `yaml:"tenant" json:"tenant"` // "" for the root tenant
	TenantID string `yaml:"tenantId" json:"tenantId"`
	// ClockOffset is what the tenant's clock adds to the real time, as a Go duration.
	ClockOffset string   `yaml:"clockOffset" json:"clockOffset"`
	SigningKey  string   `yaml:"signingKey" json:"signingKey"` // PKCS #8, base64
	Random      string   `yaml:"random" json:"random"`         // the state of its source of ids, base64
	Fixtures    Fixtures `yaml:"fixtures" json:"fixtures"`
}

// tenantState is a state file, checked and decoded.
type tenantState struct {
	id       string
	offset   time.Duration
	key      *ecdsa.PrivateKey
	random   []byte
	fixtures Fixtures
}

// check checks a state file of the tenant name and decodes what it holds into st.
func (f stateFile) check(name string, st *tenantState) error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	if f.Format != stateFormat {
		bad("iscmock", "must be %q, the state format this server reads; got %q", stateFormat, f.Format)
		return errors.Join(errs...)
	}
	if f.Tenant != name {
		bad("tenant", "is %q, but the file is tenant %q's", f.Tenant, name)
	}
	if st.id = f.TenantID; st.id == "" {
		bad("tenantId", "is required")
	}
	var err error
	if st.offset, err = duration.Parse(f.ClockOffset); err != nil {
		bad("clockOffset", "must be a duration such as 26h0m0s; got %q", f.ClockOffset)
	} else if at := time.Now().Add(st.offset); clockRange(at) != nil {
		bad("clockOffset", "%s puts the clock at %s, outside the %s to %s it may show", f.ClockOffset,
			at.UTC().Format(time.RFC3339), clockMin.Format(time.DateOnly), clockMax.Format(time.DateOnly))
	}
	if der, err := base64.StdEncoding.DecodeString(f.SigningKey); err != nil {
		bad("signingKey", "must be base64: %v", err)
	} else if key, err := x509.ParsePKCS8PrivateKey(der); err != nil {
		bad("signingKey", "must be a PKCS #8 key: %v", err)
	} else if st.key, _ = key.(*ecdsa.PrivateKey); st.key == nil {
		bad("signingKey", "must be an ECDSA P-256 key; got %T", key)
	}
	if st.random, err = base64.StdEncoding.DecodeString(f.Random); err != nil || ids.New(0).UnmarshalBinary(st.random) != nil {
		bad("random", "must be the base64 state of a source of ids")
	}
	if err := f.Fixtures.check(nil); err != nil {
		errs = append(errs, prefixed("fixtures", err))
	}
	st.fixtures = f.Fixtures
	return errors.Join(errs...)
}

// parseState reads the state file of the tenant name; errors name the file, line and field.
func parseState(path, name string, data []byte) (*tenantState, error) {
	st := &tenantState{}
	_, err := parse(path, data, func(f stateFile) error { return f.check(name, st) })
	return st, err
}

// decodeState reads a state file as it is written, quickly: strict JSON (members by their exact
// names, each once, none unknown), streamed. A file it refuses is read again through the one
// decoder every document goes through, which says where each problem is, or reads what this one
// does not (YAML, a number where a string was written). FuzzStateDecoders holds the two to the
// same results.
func decodeState(r io.Reader, name string) (*tenantState, bool) {
	var f stateFile
	if jsonv2.UnmarshalRead(r, &f, jsonv2.RejectUnknownMembers(true)) != nil {
		return nil, false
	}
	st := &tenantState{}
	if f.check(name, st) != nil {
		return nil, false
	}
	return st, true
}

// prefixed puts the fixtures' field errors under the state file's member that holds them.
func prefixed(member string, err error) error {
	var errs []error
	for _, e := range flatten(err) {
		var fe *fieldError
		if errors.As(e, &fe) {
			e = &fieldError{path: member + "." + fe.path, line: fe.line, msg: fe.msg}
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// keptFile is a tenant's file in the state directory.
type keptFile struct {
	fsys durable.FS
	path string

	mu      sync.Mutex   // one save, put-back or drop at a time
	dropped bool         // the tenant was dropped: nothing may write its file again
	last    store.Frozen // what the file holds; zero when there is no file yet
	// unsettled tells that a failed write could not be put back: the file may hold a change that
	// was answered as not kept, until a write is kept.
	unsettled bool
}

// openStateDir makes and takes the state directory, waiting a while for a server that holds it,
// and clears what a crash left in it.
func (s *Server) openStateDir() error {
	dir, fsys := s.cfg.stateDir, s.cfg.stateFS
	if err := fsys.MkdirAll(filepath.Join(dir, "tenants"), 0o700); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("iscmock: state directory: %w (this server runs as %s: give it a directory it may write)", err, runningAs())
		}
		return fmt.Errorf("iscmock: state directory: %w", err)
	}
	release, err := durable.Lock(fsys, dir, stateDirWait, func() {
		s.cfg.logger.Warn(fmt.Sprintf("iscmock: state directory %s is in use by another iscmock server; waiting up to %v for it to stop", dir, stateDirWait))
	})
	if err != nil {
		return fmt.Errorf("iscmock: state directory %w", err)
	}
	s.releaseState = release
	for _, d := range []string{dir, filepath.Join(dir, "tenants")} {
		if err := durable.RemoveTemps(fsys, d); err != nil {
			return fmt.Errorf("iscmock: state directory: %w", err)
		}
	}
	return nil
}

// statePath is where the tenant name is kept.
func (s *Server) statePath(name string) string {
	if name == "" {
		return filepath.Join(s.cfg.stateDir, "root.json")
	}
	return filepath.Join(s.cfg.stateDir, "tenants", name+".json")
}

// readState reads the kept state of the tenant name; nil when it has none.
func (s *Server) readState(name string) (*tenantState, error) {
	path := s.statePath(name)
	f, err := openBounded(s.cfg.stateFS, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("iscmock: %w", err)
	}
	st, ok := decodeState(bufio.NewReaderSize(io.LimitReader(f, MaxStateFile), 64<<10), name)
	f.Close()
	if ok {
		return st, nil
	}
	data, err := readBounded(s.cfg.stateFS, path, MaxStateFile)
	if err != nil {
		return nil, fmt.Errorf("iscmock: %w", err)
	}
	if st, err = parseState(path, name, data); err != nil {
		return nil, fmt.Errorf("iscmock: %w", err)
	}
	return st, nil
}

// keptTenants names the tenants the state directory holds besides the root, sorted.
func (s *Server) keptTenants() ([]string, error) {
	dir := filepath.Join(s.cfg.stateDir, "tenants")
	entries, err := s.cfg.stateFS.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("iscmock: state directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		switch {
		case !ok || strings.HasPrefix(e.Name(), "."):
			continue
		case !ids.Valid(name):
			return nil, fmt.Errorf("iscmock: %s: not a tenant's file: tenant names are 1 to 64 letters, digits, '-' or '_'", filepath.Join(dir, e.Name()))
		}
		names = append(names, name)
	}
	if s.cfg.maxTenants > 0 && len(names) > s.cfg.maxTenants {
		return nil, fmt.Errorf("iscmock: state directory %s holds %d tenants, more than the %d this server may hold", s.cfg.stateDir, len(names), s.cfg.maxTenants)
	}
	return names, nil
}

// restore puts the tenant's store and clock where its state file left them.
func (t *Tenant) restore(st *tenantState) error {
	identities, pats := st.fixtures.toStore(t.clock.Now())
	if err := t.db.Load(identities, pats); err != nil {
		return fmt.Errorf("iscmock: %s: %w", t.server.statePath(t.name), err)
	}
	t.clock.offset.Store(int64(st.offset))
	return nil
}

// keep keeps the tenant's state after every change, when the server keeps state; kept tells that
// its file holds its current state already (it was restored from it), else keep writes it now.
func (t *Tenant) keep(kept bool) error {
	if t.server.cfg.stateDir == "" {
		return nil
	}
	t.file = &keptFile{fsys: t.server.cfg.stateFS, path: t.server.statePath(t.name)}
	t.clock.change = t.db.Change
	offset := func() int64 { return t.clock.offset.Load() }
	if kept {
		t.file.last = t.db.Freeze(offset)
	}
	return t.db.Keep(t.save, offset, func(kept int64) { t.clock.offset.Store(kept) }, kept)
}

// save writes the state f of the tenant's store, with its clock, key and ids, to its file. A write
// that may have reached the file is put back before save fails, so that the file never holds a
// change answered as not kept; when that fails too, save says so, until a write is kept.
func (t *Tenant) save(f store.Frozen) error {
	file := t.file
	file.mu.Lock()
	defer file.mu.Unlock()
	if file.dropped {
		return fmt.Errorf("%w: tenant %q has been dropped", errNotKept, t.name)
	}
	err := t.write(f)
	if err == nil {
		file.last, file.unsettled = f, false
		return nil
	}
	if errors.Is(err, durable.ErrUnsettled) {
		if perr := t.putBack(); perr != nil {
			file.unsettled = true
			return fmt.Errorf("%w: %w; putting its file back failed too (%w), so it may hold this change after a restart: "+
				"writes fail until one is kept", errNotKept, err, perr)
		}
		file.unsettled = false
	}
	if file.unsettled {
		return fmt.Errorf("%w: %w; an earlier failed write may still be in its file: writes fail until one is kept", errNotKept, err)
	}
	return fmt.Errorf("%w: %w", errNotKept, err)
}

// putBack makes the tenant's file hold what it held before the last write: file.mu is held.
func (t *Tenant) putBack() error {
	if t.file.last.IsZero() { // there was no file
		return durable.Remove(t.file.fsys, t.file.path)
	}
	return t.write(t.file.last)
}

// write replaces the tenant's file with the state f, streamed: it holds no copy of the state.
func (t *Tenant) write(f store.Frozen) error {
	random, err := t.ids.MarshalBinary()
	if err != nil {
		return err
	}
	key, err := x509.MarshalPKCS8PrivateKey(t.api.SigningKey())
	if err != nil {
		return err
	}
	head := stateFile{Format: stateFormat, Tenant: t.name, TenantID: t.api.Tenant.ID, ClockOffset: time.Duration(f.Aside).String(),
		SigningKey: base64.StdEncoding.EncodeToString(key), Random: base64.StdEncoding.EncodeToString(random)}
	return durable.Replace(t.file.fsys, t.file.path, 0o600, func(w io.Writer) error {
		return writeState(&bounded{w: w, left: stateFileLimit}, head, f)
	})
}

// writeState writes a state file: head's members, then the fixtures of the state f, one identity
// or token at a time, each on a line of its own.
func writeState(w io.Writer, head stateFile, f store.Frozen) error {
	sw := &stateWriter{w: w}
	sw.raw("{\n")
	for _, m := range [][2]string{{"iscmock", head.Format}, {"tenant", head.Tenant}, {"tenantId", head.TenantID},
		{"clockOffset", head.ClockOffset}, {"signingKey", head.SigningKey}, {"random", head.Random}} {
		value, _ := json.Marshal(m[1])
		sw.raw(fmt.Sprintf("  %q: %s,\n", m[0], value))
	}
	sw.raw(`  "fixtures": {` + "\n")
	sw.open("identities")
	err := f.Each(func(id store.Identity) error {
		v := fromStoreIdentity(id)
		v.UserLevels, v.Rights = orEmpty(v.UserLevels), orEmpty(v.Rights)
		return sw.item(v)
	}, func(p store.PAT) error {
		if sw.list == "identities" {
			sw.open("personalAccessTokens")
		}
		v := fromStorePAT(p)
		v.Scope = orEmpty(v.Scope)
		return sw.item(v)
	})
	if err != nil {
		return err
	}
	if sw.list == "identities" {
		sw.open("personalAccessTokens")
	}
	sw.close()
	sw.raw("\n  }\n}\n")
	return sw.err
}

// stateWriter writes the lists of a state file, an item at a time.
type stateWriter struct {
	w    io.Writer
	list string // the list being written
	n    int    // its items so far
	err  error
}

func (sw *stateWriter) raw(s string) {
	if sw.err == nil {
		_, sw.err = io.WriteString(sw.w, s)
	}
}

// open ends the list being written, if any, and starts the named one.
func (sw *stateWriter) open(name string) {
	if sw.list != "" {
		sw.close()
		sw.raw(",\n")
	}
	sw.list, sw.n = name, 0
	sw.raw(fmt.Sprintf("    %q: [", name))
}

func (sw *stateWriter) close() {
	if sw.n == 0 {
		sw.raw("]")
	} else {
		sw.raw("\n    ]")
	}
}

func (sw *stateWriter) item(v any) error {
	if sw.n++; sw.n > 1 {
		sw.raw(",")
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sw.raw("\n      ")
	if sw.err == nil {
		_, sw.err = sw.w.Write(data)
	}
	return sw.err
}

// bounded writes at most left bytes to w: a state file past the bound is refused while it is
// written, not after.
type bounded struct {
	w    io.Writer
	left int
}

func (b *bounded) Write(p []byte) (int, error) {
	if b.left -= len(p); b.left < 0 {
		return 0, fmt.Errorf("%w: it would take more than the %d bytes a state file may hold", errNotKept, stateFileLimit)
	}
	return b.w.Write(p)
}

// forget removes the tenant's file, for good: no save writes it again. A removal that may not
// last is put back, so that a drop answered as failed leaves the tenant on disk as in memory.
func (file *keptFile) forget(t *Tenant) error {
	file.mu.Lock()
	defer file.mu.Unlock()
	if err := durable.Remove(file.fsys, file.path); err != nil {
		if errors.Is(err, durable.ErrUnsettled) {
			if perr := t.putBack(); perr != nil {
				file.unsettled = true
				return fmt.Errorf("the tenant's state could not be removed: %w; nor put back: %w", err, perr)
			}
		}
		return fmt.Errorf("the tenant's state could not be removed: %w", err)
	}
	file.dropped = true
	return nil
}
