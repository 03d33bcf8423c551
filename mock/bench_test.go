package mock_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/iscmock/iscmock/mock"
)

// Benchmarks of what users pay for: starting a mock in a test, and each operation in process, each
// beside a bare net/http baseline doing the same I/O in the same run, so the ratio is what counts.
// Run them with: go test -run '^$' -bench . -benchmem ./mock ./mock/internal/store

func BenchmarkStart(b *testing.B) {
	b.Run("mock.NewServer+Close", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			srv := mock.NewServer(b)
			srv.Close()
		}
	})
	b.Run("baseline/httptest.NewServer+Close", func(b *testing.B) {
		b.ReportAllocs()
		h := http.NotFoundHandler()
		for b.Loop() {
			httptest.NewServer(h).Close()
		}
	})
}

// inProcess is one request through a handler without a network.
type inProcess struct {
	method, target, contentType, body, token string
}

func (c inProcess) serve(b *testing.B, h http.Handler) int {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r := httptest.NewRequest(c.method, c.target, body)
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.contentType != "" {
		r.Header.Set("Content-Type", c.contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
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

// benchOperation measures c through the mock and through a baseline writing the mock's answer,
// and reports the ratio as the "x-baseline" metric.
func benchOperation(b *testing.B, h http.Handler, c inProcess, want int, prepare func(i int) inProcess) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
	r.Header.Set("Authorization", "Bearer "+c.token)
	r.Header.Set("Content-Type", c.contentType)
	h.ServeHTTP(w, r)
	base := baseline(w.Code, w.Header(), w.Body.Bytes())

	var mockNs, baseNs float64
	b.Run("mock", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			call := c
			if prepare != nil {
				call = prepare(i)
			}
			i++
			if got := call.serve(b, h); got != want {
				b.Fatalf("status %d, want %d", got, want)
			}
		}
		mockNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.serve(b, base)
		}
		baseNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if baseNs > 0 {
		b.ReportMetric(mockNs/baseNs, "x-baseline")
	}
}

const benchAdmin = "2c9180867b50d088017b554662fb281e" // Alice Admin of the default tenant

func BenchmarkOperations(b *testing.B) {
	srv, err := mock.New(mock.WithMaxTokensPerOwner(0), mock.WithClock(start))
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	tok, _ := srv.AccessToken(benchAdmin)
	create := func(name string) string {
		r := httptest.NewRequest(http.MethodPost, "/v3/personal-access-tokens", strings.NewReader(`{"name":"`+name+`"}`))
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		id, _, _ := strings.Cut(strings.TrimPrefix(w.Body.String(), `{"id":"`), `"`)
		return id
	}
	b.Run("list owner-id=me", func(b *testing.B) {
		benchOperation(b, h, inProcess{method: http.MethodGet, target: "/v3/personal-access-tokens?owner-id=me", token: tok}, 200, nil)
	})
	b.Run("list filters", func(b *testing.B) {
		q := url.Values{"owner-id": {"me"}, "filters": {"lastUsed le 2026-01-01T00:00:00Z or lastUsed isnull"}}
		benchOperation(b, h, inProcess{method: http.MethodGet, target: "/v3/personal-access-tokens?" + q.Encode(), token: tok}, 200, nil)
	})
	b.Run("create", func(b *testing.B) {
		n := 0
		benchOperation(b, h, inProcess{method: http.MethodPost, target: "/v2025/personal-access-tokens", token: tok, contentType: "application/json",
			body: `{"name":"bench","userAwareTokenNeverExpires":true}`}, 200, func(int) inProcess {
			n++
			return inProcess{method: http.MethodPost, target: "/v2025/personal-access-tokens", token: tok, contentType: "application/json",
				body: fmt.Sprintf(`{"name":"bench %d","userAwareTokenNeverExpires":true}`, n)}
		})
	})
	id := create("patched")
	b.Run("patch", func(b *testing.B) {
		names := []string{"a", "b"}
		benchOperation(b, h, inProcess{method: http.MethodPatch, target: "/v3/personal-access-tokens/" + id, token: tok, contentType: "application/json-patch+json",
			body: `[{"op":"replace","path":"/name","value":"a"}]`}, 200, func(i int) inProcess {
			return inProcess{method: http.MethodPatch, target: "/v3/personal-access-tokens/" + id, token: tok, contentType: "application/json-patch+json",
				body: `[{"op":"replace","path":"/name","value":"` + names[i%2] + `"}]`}
		})
	})
	b.Run("delete", func(b *testing.B) {
		victim := create("victim")
		var ids []string
		benchOperation(b, h, inProcess{method: http.MethodDelete, target: "/v3/personal-access-tokens/" + victim, token: tok}, 204, func(i int) inProcess {
			if i >= len(ids) { // make the tokens to delete outside the timed loop's steady state
				b.StopTimer()
				for range 1000 {
					ids = append(ids, create(fmt.Sprintf("victim %d", len(ids))))
				}
				b.StartTimer()
			}
			return inProcess{method: http.MethodDelete, target: "/v3/personal-access-tokens/" + ids[i], token: tok}
		})
	})
	b.Run("token", func(b *testing.B) {
		form := "grant_type=client_credentials&client_id=86f1dc6fe8f54414950454cbb11278fa&client_secret=1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"
		benchOperation(b, h, inProcess{method: http.MethodPost, target: "/oauth/token", contentType: "application/x-www-form-urlencoded", body: form}, 200, nil)
	})
}

// BenchmarkScale lists one owner's tokens, and filters by lastUsed, at 1k and 100k tokens over
// 1k owners: the cost must not grow with the tenant.
func BenchmarkScale(b *testing.B) {
	for _, total := range []int{1_000, 100_000} {
		srv, owner := scaledTenant(b, total)
		h := srv.Handler()
		tok, _ := srv.AccessToken(owner)
		admin, _ := srv.AccessToken(benchAdmin)
		cases := []struct{ name, target, token string }{
			{"owner-id=me", "/v3/personal-access-tokens?owner-id=me", tok},
			{"owner lastUsed le", "/v3/personal-access-tokens?owner-id=me&filters=" + url.QueryEscape("lastUsed le 2026-01-01T00:00:40Z"), tok},
			{"tenant lastUsed le", "/v3/personal-access-tokens?filters=" + url.QueryEscape("lastUsed le 2026-01-01T00:00:40Z"), admin},
			{"tenant lastUsed isnull", "/v3/personal-access-tokens?filters=" + url.QueryEscape("lastUsed isnull"), admin},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/%d", c.name, total), func(b *testing.B) {
				b.ReportAllocs()
				call := inProcess{method: http.MethodGet, target: c.target, token: c.token}
				for b.Loop() {
					if got := call.serve(b, h); got != 200 {
						b.Fatalf("status %d", got)
					}
				}
			})
		}
	}
}

// scaledTenant holds total tokens spread over 1,000 owners. The first used ones are in 2025; the
// filters above select a handful whatever the size: the few used in the first minute of 2026, and
// the few never used of the default tenant.
func scaledTenant(b *testing.B, total int) (*mock.Server, string) {
	b.Helper()
	srv, err := mock.New(mock.WithMaxTokensPerOwner(0), mock.WithClock(start))
	if err != nil {
		b.Fatal(err)
	}
	var f mock.Fixtures
	for o := range 1000 {
		f.Identities = append(f.Identities, mock.Identity{ID: fmt.Sprintf("%032x", o+1), Name: fmt.Sprint("owner ", o)})
	}
	y2026 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range total {
		used := y2026.Add(-time.Duration(i+1) * time.Minute) // all used before 2026 ...
		if i < 50 {
			used = y2026.Add(time.Duration(i) * time.Second) // ... but fifty, in its first minute
		}
		f.PersonalAccessTokens = append(f.PersonalAccessTokens, mock.PAT{
			ID: fmt.Sprintf("%032x", i+1), Secret: "s", Name: fmt.Sprint("t", i), Owner: fmt.Sprintf("%032x", i%1000+1),
			Created: used, LastUsed: &used,
		})
	}
	if err := srv.Seed(f); err != nil {
		b.Fatal(err)
	}
	return srv, fmt.Sprintf("%032x", 1)
}

// BenchmarkHeapPerPAT reports the heap a stored token costs at 100k tokens.
func BenchmarkHeapPerPAT(b *testing.B) {
	const total = 100_000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		srv, _ := scaledTenant(b, total)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/total, "B/PAT")
		runtime.KeepAlive(srv)
	}
}

