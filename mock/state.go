package mock

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/iscmock/iscmock/internal/duration"
	"github.com/iscmock/iscmock/mock/internal/durable"
	"github.com/iscmock/iscmock/mock/internal/ids"
	"github.com/iscmock/iscmock/mock/internal/store"
)

// A state directory keeps each tenant in a file of its own: DIR/root.json for the root tenant,
// DIR/tenants/NAME.json for the others. A file is written whole on every change, atomically, and
// is on disk before the change is answered.

// WithStateDir keeps every tenant's state in dir, so that a server started again on it goes on
// where the last one stopped: tokens, identities, clocks, signing keys (bearer tokens minted
// before still verify) and the ids to come. Each change (a create, patch or delete, a lastUsed
// set at /oauth/token, an identity change, a seed, a reset, a clock move, a tenant made or
// dropped) is on disk before it returns or is answered; a change that cannot be written fails
// (ISC's 500) and changes nothing. Scenario counters, rate-limit windows and journals are not
// kept. The directory is made if missing and is used by one server at a time.
func WithStateDir(dir string) Option {
	return func(c *config) { c.stateDir = dir }
}

// MaxStateFile bounds a tenant's state file; a change that would make it larger fails.
const MaxStateFile = 64 << 20

// errNotKept is in the error of every change a state directory could not keep, which is answered
// as ISC's 500.
var errNotKept = errors.New("the tenant's state could not be kept")

// stateFileLimit is MaxStateFile, which a test lowers to reach it quickly.
var stateFileLimit = MaxStateFile

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

// parseState reads the state file of the tenant name; errors name the file, line and field.
func parseState(path, name string, data []byte) (*tenantState, error) {
	st := &tenantState{}
	_, err := parse(path, data, func(f stateFile) error {
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
	})
	return st, err
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
	path string

	mu         sync.Mutex // one save or drop at a time
	dropped    bool       // the tenant was dropped: nothing may write its file again
	keptOffset int64      // the clock's offset in the file, which a failed save puts back
}

// openStateDir makes and takes the state directory and clears what a crash left in it.
func (s *Server) openStateDir() error {
	dir := s.cfg.stateDir
	if err := os.MkdirAll(filepath.Join(dir, "tenants"), 0o700); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("iscmock: state directory: %w (this server runs as uid %d: give it a directory it may write)", err, os.Getuid())
		}
		return fmt.Errorf("iscmock: state directory: %w", err)
	}
	release, err := durable.Lock(dir)
	if err != nil {
		return fmt.Errorf("iscmock: state directory: %w", err)
	}
	s.releaseState = release
	for _, d := range []string{dir, filepath.Join(dir, "tenants")} {
		if err := durable.RemoveTemps(d); err != nil {
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
	data, err := readBounded(path, MaxStateFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("iscmock: %w", err)
	}
	st, err := parseState(path, name, data)
	if err != nil {
		return nil, fmt.Errorf("iscmock: %w", err)
	}
	return st, nil
}

// keptTenants names the tenants the state directory holds besides the root, sorted.
func (s *Server) keptTenants() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.cfg.stateDir, "tenants"))
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
			return nil, fmt.Errorf("iscmock: %s: not a tenant's file: tenant names are 1 to 64 letters, digits, '-' or '_'", filepath.Join(s.cfg.stateDir, "tenants", e.Name()))
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

// keep writes the tenant's file now and after every change, when the server keeps state.
func (t *Tenant) keep() error {
	if t.server.cfg.stateDir == "" {
		return nil
	}
	t.file = &keptFile{path: t.server.statePath(t.name)}
	t.clock.change = t.db.Change
	return t.db.Keep(t.save, func() { t.clock.offset.Store(t.file.keptOffset) })
}

// save writes the state f of the tenant's store, with its clock, key and ids, to its file.
func (t *Tenant) save(f store.Frozen) error {
	file := t.file
	file.mu.Lock()
	defer file.mu.Unlock()
	if file.dropped {
		return fmt.Errorf("%w: tenant %q has been dropped", errNotKept, t.name)
	}
	offset := t.clock.offset.Load()
	random, err := t.ids.MarshalBinary()
	if err != nil {
		return err
	}
	key, err := x509.MarshalPKCS8PrivateKey(t.api.SigningKey())
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(stateFile{Format: stateFormat, Tenant: t.name, TenantID: t.api.Tenant.ID,
		ClockOffset: time.Duration(offset).String(), SigningKey: base64.StdEncoding.EncodeToString(key),
		Random: base64.StdEncoding.EncodeToString(random), Fixtures: fixturesOf(f.Dump())}, "", "  ")
	switch {
	case err != nil:
		return err
	case len(data) >= stateFileLimit:
		return fmt.Errorf("%w: it would take %d bytes, more than the %d a state file may hold", errNotKept, len(data)+1, stateFileLimit)
	}
	if err := durable.WriteFile(file.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("%w: %w", errNotKept, err)
	}
	file.keptOffset = offset
	return nil
}

// forget removes the tenant's file, for good: no save writes it again.
func (file *keptFile) forget() error {
	file.mu.Lock()
	defer file.mu.Unlock()
	if err := durable.Remove(file.path); err != nil {
		return fmt.Errorf("the tenant's state could not be removed: %w", err)
	}
	file.dropped = true
	return nil
}
