//go:build !unix

package durable

// Lock is a no-op where flock is missing: one server per directory is then the caller's to ensure.
func Lock(string) (func(), error) { return func() {}, nil }
