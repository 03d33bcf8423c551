package filter

import (
	"testing"

	"github.com/iscmock/iscmock/mock/internal/conformance"
)

// TestMain runs through conformance.Main like every test package, so go test ./... -update works.
func TestMain(m *testing.M) { conformance.Main(m) }
