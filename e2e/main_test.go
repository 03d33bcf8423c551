// Package e2e_test runs the iscmock binary as users do: built from cmd/iscmock, as its own process,
// over loopback. Every response these tests receive is checked against the official documents.
package e2e_test

import (
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/iscmock/iscmock/internal/conformance"
)

// TestMain checks every response against the official OpenAPI documents. Started by the load test
// as a bare server, it serves instead.
func TestMain(m *testing.M) {
	if os.Getenv(bareServeEnv) != "" {
		serveBare()
		return
	}
	code := conformance.Run(m)
	removeBuiltImage()
	os.Exit(code)
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// tokenJSON is the part of a token response these tests read.
type tokenJSON struct {
	AccessToken string `json:"access_token"`
}

// baseline answers with fixed bytes and the same headers, as a bare handler would.
func baseline(status int, header http.Header, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}
