package compare

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An interrupt cuts short a request in flight, but not a POST: a create cut short may still land
// on the target after the final sweep has looked, and stay there.
func TestInterruptLetsPOSTsFinish(t *testing.T) {
	cases := []struct {
		name, method string
		wantStatus   int // 0: cut short, with the context's error
	}{
		{"a create is answered", http.MethodPost, http.StatusOK},
		{"a list is cut short", http.MethodGet, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, interrupt := context.WithCancel(context.Background())
			defer interrupt()
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				interrupt() // the signal comes while the request is in flight
				if r.Method != http.MethodPost {
					<-r.Context().Done() // answered only if the client waits
					return
				}
				w.WriteHeader(http.StatusOK)
			}))
			defer target.Close()
			s := &side{base: target.URL, http: target.Client(), bearer: map[Caller]string{}}
			rep, err := s.call(ctx, "v3", Admin, tc.method, "/v3/personal-access-tokens", "", "")
			if tc.wantStatus == 0 {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("%s: reply %d, error %v; want it cut short", tc.method, rep.status, err)
				}
				return
			}
			if err != nil || rep.status != tc.wantStatus {
				t.Fatalf("%s: reply %d, error %v; want %d", tc.method, rep.status, err, tc.wantStatus)
			}
		})
	}
}
