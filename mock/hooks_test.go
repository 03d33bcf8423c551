package mock

import (
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock/internal/durable"
)

// LowerStateFileLimit lowers the bound of state files for the test, which reaches it quickly; it
// returns the bound.
func LowerStateFileLimit(t *testing.T, limit int) int {
	old := stateFileLimit
	stateFileLimit = limit
	t.Cleanup(func() { stateFileLimit = old })
	return limit
}

// WithStateFS keeps the state directory on fsys, which a test makes fail where it wants.
func WithStateFS(fsys durable.FS) Option {
	return func(c *config) { c.stateFS = fsys }
}

// LowerStateDirWait lowers how long a server waits for a state directory another one holds.
func LowerStateDirWait(t *testing.T, wait time.Duration) {
	old := stateDirWait
	stateDirWait = wait
	t.Cleanup(func() { stateDirWait = old })
}

// StatePath is where the server keeps the tenant name.
func (s *Server) StatePath(name string) string { return s.statePath(name) }
