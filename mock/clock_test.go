package mock_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock"
)

// TestClockRange: the clock shows times from 1970 to 2200; setting or advancing it outside is
// refused (400 naming the bound in the admin API, an error in Go) and leaves it where it was.
func TestClockRange(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct{ name, body, want string }{
		{"year 1", `{"set":"0001-01-01T00:00:00Z"}`, "set: the clock runs from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z; 0001-01-01T00:00:00Z is outside"},
		{"year 9999", `{"set":"9999-12-31T00:00:00Z"}`, "set: the clock runs from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"},
		{"past the end", `{"advance":"2562047h"}`, "advance: the clock runs from"},
		{"before the start", `{"advance":"-2562047h"}`, "advance: the clock runs from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Clock().Now()
			adminErr(t, admin(t, srv, http.MethodPost, "/__admin/clock", tc.body), http.StatusBadRequest, tc.want)
			if now := srv.Clock().Now(); now.Sub(before) > time.Minute || now.Before(before) {
				t.Errorf("a refused move took the clock from %v to %v", before, now)
			}
		})
	}
	for range 2 { // in range twice: 2026 + 2 × 57 years
		admin(t, srv, http.MethodPost, "/__admin/clock", `{"advance":"500000h"}`).wantStatus(t, http.StatusOK)
	}
	if y := srv.Clock().Now().Year(); y != 2140 {
		t.Errorf("clock in %d after two advances of 57 years from 2026, want 2140", y)
	}
	srv.Reset()
	if err := srv.Clock().Advance(2562047 * time.Hour); err == nil {
		t.Error("Advance(2562047h) took the clock past 2200")
	}
	if err := srv.Clock().Set(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("Set(year 1) was accepted")
	}
	if now := srv.Clock().Now(); now.Before(start) || now.After(start.Add(time.Minute)) {
		t.Errorf("refused moves left the clock at %v", now)
	}
	if _, err := mock.New(mock.WithClock(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC))); err == nil || !strings.Contains(err.Error(), "the clock runs from") {
		t.Errorf("WithClock(1969): %v", err)
	}
}
