package e2e_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSDKEndToEnd runs testdata/sdk-e2e, SailPoint's TypeScript SDK as a real client, against the
// built binary. Every answer passes through a proxy that checks it against the official documents.
// It needs Node and `npm ci` in testdata/sdk-e2e, so it runs only with ISCMOCK_SDK_E2E=1 (.ci/run
// sets it).
func TestSDKEndToEnd(t *testing.T) {
	if os.Getenv("ISCMOCK_SDK_E2E") == "" {
		t.Skip("set ISCMOCK_SDK_E2E=1 (after npm ci in testdata/sdk-e2e) to run the SDK against the binary")
	}
	dir := filepath.Join("..", "testdata", "sdk-e2e")
	base, _, _ := startBinary(t, "--fixtures", filepath.Join(dir, "tenant.yaml"), "--scenario", filepath.Join(dir, "throttle.yaml"))
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = http.DefaultTransport // the conformance check, when the documents are there
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		t.Errorf("%s %s: %v", r.Method, r.URL, err)
		w.WriteHeader(http.StatusBadGateway)
	}
	front := httptest.NewServer(proxy)
	defer front.Close()

	node := exec.Command("node", "e2e.js")
	node.Dir = dir
	node.Env = append(os.Environ(), "ISCMOCK_URL="+front.URL)
	out, err := node.CombinedOutput()
	t.Logf("node e2e.js:\n%s", out)
	if err != nil {
		t.Fatalf("the SDK run failed: %v", err)
	}
}
