package mock

import "testing"

// LowerStateFileLimit lowers the bound of state files for the test, which reaches it quickly; it
// returns the bound.
func LowerStateFileLimit(t *testing.T, limit int) int {
	old := stateFileLimit
	stateFileLimit = limit
	t.Cleanup(func() { stateFileLimit = old })
	return limit
}
