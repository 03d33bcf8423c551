package e2e_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBinaryDashboard checks that the binary serves the dashboard from the files compiled into it,
// behind the admin token for data and not at all with --no-admin.
func TestBinaryDashboard(t *testing.T) {
	get := func(url, token string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	base, _, _ := startBinary(t, "--admin-token", "s3cret")
	for _, page := range []string{base + "/__admin/ui/", base + "/tenants/ci-1/__admin/ui/"} {
		status, header, body := get(page, "")
		if status != http.StatusOK || !strings.Contains(body, `<script type="module" src="app.js">`) ||
			!strings.Contains(header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("GET %s: %d, CSP %q, body %.80q", page, status, header.Get("Content-Security-Policy"), body)
		}
	}
	if status, _, _ := get(base+"/__admin/identities", ""); status != http.StatusUnauthorized {
		t.Errorf("identities without the admin token: %d, want 401", status)
	}
	if status, _, body := get(base+"/__admin/identities", "s3cret"); status != http.StatusOK || !strings.Contains(body, "Alice Admin") {
		t.Errorf("identities with the admin token: %d %s", status, body)
	}

	off, _, _ := startBinary(t, "--no-admin")
	if status, _, _ := get(off+"/__admin/ui/", ""); status != http.StatusNotFound {
		t.Errorf("dashboard with --no-admin: %d, want 404", status)
	}
}
