package mock_test

import (
	"strings"
	"testing"

	"github.com/iscmock/iscmock/mock"
)

// TestOptionBounds: option values that mean nothing are refused, naming the option.
func TestOptionBounds(t *testing.T) {
	for _, tc := range []struct {
		opt  mock.Option
		want string
	}{
		{mock.WithJournalSize(-5), "WithJournalSize(-5)"},
		{mock.WithJournalSize(0), "WithJournalSize(0)"},
		{mock.WithMaxTenants(-1), "WithMaxTenants(-1)"},
		{mock.WithMaxTokensPerOwner(-1), "WithMaxTokensPerOwner(-1)"},
	} {
		if _, err := mock.New(tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.want, err)
		}
	}
}
