package api

import (
	"fmt"
	"log/slog"
	"net/http"
)

// What every request to the mock goes through, the API's and the admin API's alike.

// MaxBody bounds every request body the mock reads; past it, the answer is 413.
const MaxBody = 1 << 20

// LimitBody bounds r's body by MaxBody, so that reading past it fails with *http.MaxBytesError.
func LimitBody(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	}
}

// Recovered logs a handler's panic, v from recover(), and reports whether there is one to answer
// (with a 500, not a dropped connection). http.ErrAbortHandler is none: a fault drops the
// connection with it on purpose.
func Recovered(log *slog.Logger, r *http.Request, v any) bool {
	if v == nil || v == http.ErrAbortHandler {
		return false
	}
	log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
	return true
}
