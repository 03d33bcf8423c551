// Package ui serves the dashboard: a static page, script and style embedded in the binary, which
// read and drive a tenant through its admin API from the browser. It makes no request elsewhere.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// Headers on every dashboard file: scripts and styles from the page's own origin only (nothing
// inline), data from the admin API beside it, never framed, never sniffed.
var securityHeaders = http.Header{
	"Content-Security-Policy": {"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
	"X-Content-Type-Options":       {"nosniff"},
	"X-Frame-Options":              {"DENY"},
	"Referrer-Policy":              {"no-referrer"},
	"Cross-Origin-Opener-Policy":   {"same-origin"},
	"Cross-Origin-Resource-Policy": {"same-origin"},
	"Cache-Control":                {"no-cache"},
}

type file struct {
	body []byte
	etag string
}

// files are the embedded files by name, read once.
var files = sync.OnceValue(func() map[string]file {
	out := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		sum := sha256.Sum256(b)
		out[path.Base(p)] = file{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return err
	})
	if err != nil {
		panic(err) // the files are compiled in: reading them cannot fail
	}
	return out
})

// Serve answers a GET or HEAD for the dashboard file name ("" is the page) and reports whether
// there is such a file; when there is not, it writes nothing.
func Serve(w http.ResponseWriter, r *http.Request, name string) bool {
	if name == "" {
		name = "index.html"
	}
	f, ok := files()[name]
	if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	for k, v := range securityHeaders {
		w.Header()[k] = v
	}
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	return true
}
