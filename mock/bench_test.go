package mock_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
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

// benchOperation measures c through a baseline writing the mock's answer, then through the mock,
// and reports the mock's cost beside the baseline's: "x-baseline" is the ratio of times,
// "extra-allocs" and "extra-B" what the mock allocates per call beyond the baseline in the same
// harness, and "body-B" the answer's size.
func benchOperation(b *testing.B, h http.Handler, c inProcess, want int, prepare func(b *testing.B, i int) inProcess) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
	r.Header.Set("Authorization", "Bearer "+c.token)
	r.Header.Set("Content-Type", c.contentType)
	h.ServeHTTP(w, r)
	base := baseline(w.Code, w.Header(), w.Body.Bytes())
	bodySize := w.Body.Len()

	var baseNs, baseAllocs, baseBytes float64
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		m := measure(b)
		for b.Loop() {
			c.serve(b, base)
		}
		baseNs, baseAllocs, baseBytes = m()
	})
	i := 0 // counts on across -count runs, which share the tenant
	b.Run("mock", func(b *testing.B) {
		b.ReportAllocs()
		m := measure(b)
		for b.Loop() {
			call := c
			if prepare != nil {
				call = prepare(b, i)
			}
			i++
			if got := call.serve(b, h); got != want {
				b.Fatalf("status %d, want %d", got, want)
			}
		}
		ns, allocs, bytes := m()
		if baseNs > 0 {
			b.ReportMetric(ns/baseNs, "x-baseline")
			b.ReportMetric(allocs-baseAllocs, "extra-allocs")
			b.ReportMetric(bytes-baseBytes, "extra-B")
			b.ReportMetric(float64(bodySize), "body-B")
		}
	})
}

// measure starts counting; the function it returns gives time, allocations and bytes per call
// since then. (The testing package's own counts are not readable from the benchmark.)
func measure(b *testing.B) func() (ns, allocs, bytes float64) {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	return func() (float64, float64, float64) {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		n := float64(b.N)
		return float64(b.Elapsed().Nanoseconds()) / n, float64(after.Mallocs-before.Mallocs) / n,
			float64(after.TotalAlloc-before.TotalAlloc) / n
	}
}

const benchAdmin = "2c9180867b50d088017b554662fb281e" // Alice Admin of the default tenant

// tenPATs serves testdata/fixtures/ten-pats.yaml, an owner with a full page of ten tokens, and
// returns the handler and a bearer token of that owner.
func tenPATs(b *testing.B) (http.Handler, string) {
	srv, err := mock.New(mock.WithClock(start), mock.WithFixtures("../testdata/fixtures/ten-pats.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := srv.AccessToken("2c9180867b50d088017b554662fb4a10")
	if err != nil {
		b.Fatal(err)
	}
	return srv.Handler(), tok
}

// benchTenant is the default tenant plus n identities with a bearer token each, already used once,
// so that writes spread over owners as real ones do (ISC allows ten tokens an owner).
func benchTenant(b *testing.B, n int) (*mock.Server, []string, []string) {
	b.Helper()
	srv, err := mock.New(mock.WithClock(start), mock.WithMaxTokensPerOwner(0))
	if err != nil {
		b.Fatal(err)
	}
	var f mock.Fixtures
	var ids, tokens []string
	for i := range n {
		id := fmt.Sprintf("%032x", i+1)
		ids = append(ids, id)
		f.Identities = append(f.Identities, mock.Identity{ID: id, Name: fmt.Sprint("bench ", i)})
	}
	if err := srv.Seed(f); err != nil {
		b.Fatal(err)
	}
	for _, id := range ids {
		tok, _ := srv.AccessToken(id)
		// A client uses its token many times: its signature is checked on first use, here.
		inProcess{method: http.MethodGet, target: "/v3/personal-access-tokens?owner-id=me", token: tok}.serve(b, srv.Handler())
		tokens = append(tokens, tok)
	}
	return srv, ids, tokens
}

// ownersTenant is the default tenant plus n identities, part of the tenant's starting state, so
// that Reset keeps them; it returns a bearer token of each, already used once.
func ownersTenant(b *testing.B, n int) (*mock.Server, []string) {
	b.Helper()
	f, err := mock.LoadFixtures("../fixtures/default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%032x", i+1)
		ids = append(ids, id)
		f.Identities = append(f.Identities, mock.Identity{ID: id, Name: fmt.Sprint("bench ", i)})
	}
	srv, err := mock.New(mock.WithClock(start), mock.WithFixtureData(f))
	if err != nil {
		b.Fatal(err)
	}
	var tokens []string
	for _, id := range ids {
		tok, err := srv.AccessToken(id)
		if err != nil {
			b.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	warm(b, srv, tokens)
	return srv, tokens
}

// warm uses each token once: a client uses its token many times, and its signature is checked on
// first use.
func warm(b *testing.B, srv *mock.Server, tokens []string) {
	for _, tok := range tokens {
		if got := (inProcess{method: http.MethodGet, target: "/v3/personal-access-tokens?owner-id=me", token: tok}).serve(b, srv.Handler()); got != 200 {
			b.Fatalf("warming a token: status %d", got)
		}
	}
}

func BenchmarkOperations(b *testing.B) {
	b.Run("list 10 PATs", func(b *testing.B) {
		h, tok := tenPATs(b)
		benchOperation(b, h, inProcess{method: http.MethodGet, target: "/v3/personal-access-tokens?owner-id=me", token: tok}, 200, nil)
	})
	b.Run("list 10 PATs lastUsed", func(b *testing.B) {
		h, tok := tenPATs(b)
		q := url.Values{"owner-id": {"me"}, "filters": {"lastUsed isnull or lastUsed le 2026-06-01T00:00:00Z"}}
		benchOperation(b, h, inProcess{method: http.MethodGet, target: "/v3/personal-access-tokens?" + q.Encode(), token: tok}, 200, nil)
	})
	// Lists are made once per state of the tenant: here the tenant changes before every call
	// (outside the timed part), so each call makes its list anew. The harness's extra-allocs and
	// extra-B count the change too: read allocs/op and B/op against the baseline's instead.
	b.Run("list 10 PATs after a change", func(b *testing.B) {
		h, tok := tenPATs(b)
		list := inProcess{method: http.MethodGet, target: "/v3/personal-access-tokens?owner-id=me", token: tok}
		benchOperation(b, h, list, 200, func(b *testing.B, _ int) inProcess {
			b.StopTimer()
			if err := h.(*mock.Server).Seed(mock.Fixtures{}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			return list
		})
	})
	// Each of 100 owners creates tokens in turn up to nine, the tenant is then reset (outside the
	// timed part) and the round starts again: an owner creates while holding 0 to 9 tokens, in a
	// tenant of at most 900, with ISC's limit of ten checked.
	b.Run("create", func(b *testing.B) {
		const owners, perOwner = 100, 9
		srv, tokens := ownersTenant(b, owners)
		// A round's requests are made before the timed part, as the baseline's one request is.
		var round []inProcess
		for n := range owners * perOwner {
			round = append(round, inProcess{method: http.MethodPost, target: "/v2025/personal-access-tokens", token: tokens[n%owners],
				contentType: "application/json", body: fmt.Sprintf(`{"name":"bench %d","userAwareTokenNeverExpires":true}`, n)})
		}
		n := 0
		create := func(b *testing.B, _ int) inProcess {
			if n == len(round) {
				b.StopTimer()
				srv.Reset()
				warm(b, srv, tokens)
				b.StartTimer()
				n = 0
			}
			n++
			return round[n-1]
		}
		benchOperation(b, srv.Handler(), create(b, 0), 200, create)
	})
	b.Run("patch", func(b *testing.B) {
		srv, _, _ := benchTenant(b, 0)
		tok, _ := srv.AccessToken(benchAdmin)
		var renames [2]inProcess
		for i := range renames {
			renames[i] = inProcess{method: http.MethodPatch, target: "/v3/personal-access-tokens/86f1dc6fe8f54414950454cbb11278fa", token: tok,
				contentType: "application/json-patch+json", body: fmt.Sprintf(`[{"op":"replace","path":"/name","value":"name %d"}]`, i)}
		}
		rename := func(_ *testing.B, i int) inProcess { return renames[i%2] }
		benchOperation(b, srv.Handler(), rename(b, 0), 200, rename)
	})
	b.Run("delete", func(b *testing.B) {
		srv, ids, _ := benchTenant(b, 1000)
		// An org admin deletes anyone's token. Each owner gets one more token, outside the timed
		// part, whenever the victims (their paths) run out.
		admin, _ := srv.AccessToken(benchAdmin)
		var victims []string
		more := func() {
			var f mock.Fixtures
			for _, id := range ids {
				v := fmt.Sprintf("%032x", len(victims)+1)
				victims = append(victims, "/v3/personal-access-tokens/"+v)
				f.PersonalAccessTokens = append(f.PersonalAccessTokens, mock.PAT{ID: v, Secret: "s", Name: v, Owner: id})
			}
			if err := srv.Seed(f); err != nil {
				b.Fatal(err)
			}
		}
		more()
		del := func(b *testing.B, i int) inProcess {
			if i >= len(victims) {
				b.StopTimer()
				more()
				b.StartTimer()
			}
			return inProcess{method: http.MethodDelete, target: victims[i], token: admin}
		}
		benchOperation(b, srv.Handler(), del(b, 0), 204, func(b *testing.B, i int) inProcess { return del(b, i+1) })
	})
	b.Run("token", func(b *testing.B) {
		srv, _, _ := benchTenant(b, 0)
		form := "grant_type=client_credentials&client_id=86f1dc6fe8f54414950454cbb11278fa&client_secret=1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"
		benchOperation(b, srv.Handler(), inProcess{method: http.MethodPost, target: "/oauth/token", contentType: "application/x-www-form-urlencoded", body: form}, 200, nil)
	})
}

// BenchmarkScale lists one owner's tokens, and filters by lastUsed, at 1k and 100k tokens over
// 1k owners. Each query's answer is the same size at both scales, so only the tenant's size
// differs: the cost must not follow it.
func BenchmarkScale(b *testing.B) {
	for _, total := range []int{1_000, 100_000} {
		srv, owner := scaledTenant(b, total)
		h := srv.Handler()
		tok, _ := srv.AccessToken(owner)
		admin, _ := srv.AccessToken(benchAdmin)
		cases := []struct{ name, target, token string }{
			{"owner-id=me", "/v3/personal-access-tokens?owner-id=me", tok},
			{"owner lastUsed le", "/v3/personal-access-tokens?owner-id=me&filters=" + url.QueryEscape("lastUsed le 2026-01-01T00:00:05Z"), tok},
			{"tenant lastUsed le", "/v3/personal-access-tokens?filters=" + url.QueryEscape("lastUsed le 2025-12-31T23:59:59Z"), admin},
			{"tenant lastUsed isnull", "/v3/personal-access-tokens?filters=" + url.QueryEscape("lastUsed isnull"), admin},
		}
		for _, c := range cases {
			// Lists are made once per state of the tenant; "changed" changes it before every call
			// (outside the timed part), so that each one walks the store.
			for _, changed := range []bool{false, true} {
				name := fmt.Sprintf("%s/%d", c.name, total)
				if changed {
					name = fmt.Sprintf("%s changed/%d", c.name, total)
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					call := inProcess{method: http.MethodGet, target: c.target, token: c.token}
					for b.Loop() {
						if changed {
							b.StopTimer()
							if err := srv.Seed(mock.Fixtures{}); err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
						}
						if got := call.serve(b, h); got != 200 {
							b.Fatalf("status %d", got)
						}
					}
				})
			}
		}
	}
}

// scaledTenant holds total tokens over 1,000 owners. The first owner always has ten, five of them
// used in 2026's first five seconds; fifty tokens were used in 2025 and the rest later in 2026, so
// the filters above answer the same few tokens whatever the size.
func scaledTenant(b *testing.B, total int) (*mock.Server, string) {
	b.Helper()
	srv, err := mock.New(mock.WithMaxTokensPerOwner(0), mock.WithClock(start))
	if err != nil {
		b.Fatal(err)
	}
	owner := func(i int) string { return fmt.Sprintf("%032x", i+1) }
	var f mock.Fixtures
	for o := range 1000 {
		f.Identities = append(f.Identities, mock.Identity{ID: owner(o), Name: fmt.Sprint("owner ", o)})
	}
	y2026 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range total {
		used := y2026.Add(time.Duration(i) * time.Second)
		if i >= 10 && i < 60 {
			used = y2026.Add(-time.Duration(i) * time.Hour)
		}
		o := owner(0)
		if i >= 10 {
			o = owner(1 + i%999)
		}
		f.PersonalAccessTokens = append(f.PersonalAccessTokens, mock.PAT{
			ID: fmt.Sprintf("%032x", i+1), Secret: fmt.Sprintf("%064x", i), Name: fmt.Sprint("t", i), Owner: o,
			Created: used, LastUsed: &used,
		})
	}
	if err := srv.Seed(f); err != nil {
		b.Fatal(err)
	}
	return srv, owner(0)
}

// BenchmarkHeapPerPAT reports the heap a stored token costs at 100k tokens, measured once.
func BenchmarkHeapPerPAT(b *testing.B) {
	const total = 100_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	srv, _ := scaledTenant(b, total)
	runtime.GC()
	runtime.ReadMemStats(&after)
	for b.Loop() { // the measurement is above; the loop only satisfies the benchmark protocol
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/total, "B/PAT")
	runtime.KeepAlive(srv)
}

// BenchmarkStateDir measures what a state directory costs a write: renames of an owner's ten
// tokens (testdata/fixtures/ten-pats.yaml), in memory and then with every rename on disk, synced,
// before its answer, one writer at a time and 16 at once (which share the writes to disk).
// "x-memory" is each case's time over the in-memory one's.
func BenchmarkStateDir(b *testing.B) {
	var memoryNs float64
	for _, tc := range []struct {
		name     string
		kept     bool
		parallel int
	}{{"in memory", false, 0}, {"state dir", true, 0}, {"state dir, 16 writers", true, 16}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := []mock.Option{mock.WithClock(start), mock.WithFixtures("../testdata/fixtures/ten-pats.yaml")}
			if tc.kept {
				opts = append(opts, mock.WithStateDir(b.TempDir()))
			}
			srv, err := mock.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			tok, err := srv.AccessToken("2c9180867b50d088017b554662fb4a10")
			if err != nil {
				b.Fatal(err)
			}
			var renames []inProcess
			for i, p := range srv.PATs() {
				renames = append(renames, inProcess{method: http.MethodPatch, target: "/v3/personal-access-tokens/" + p.ID, token: tok,
					contentType: "application/json-patch+json", body: fmt.Sprintf(`[{"op":"replace","path":"/name","value":"renamed %d"}]`, i)})
			}
			warm(b, srv, []string{tok})
			var failed atomic.Int64
			if tc.parallel > 0 {
				b.SetParallelism(max(1, tc.parallel/runtime.GOMAXPROCS(0)))
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					rename := renames[int(next.Add(1))%len(renames)] // a token of its own, mostly
					for pb.Next() {
						if rename.serve(b, srv.Handler()) != http.StatusOK {
							failed.Add(1)
						}
					}
				})
			} else {
				i := 0
				for b.Loop() {
					if renames[i%len(renames)].serve(b, srv.Handler()) != http.StatusOK {
						failed.Add(1)
					}
					i++
				}
			}
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d renames failed", n)
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if memoryNs == 0 {
				memoryNs = ns
			} else {
				b.ReportMetric(ns/memoryNs, "x-memory")
			}
		})
	}
}

// BenchmarkStateDirSave measures a write of a tenant's whole state file (a clock move, which
// changes nothing else): its time, and the memory it takes beyond the tenant's own while it
// writes (MB-save-heap: the heap's peak during the write over its size before, sampled with the
// collector run often, so that what is counted is what the write holds, not what it has left).
// A tenant of 10,000 tokens, and, with ISCMOCK_BENCH_LARGE=1, one at the 64 MiB bound of a state
// file (170,000 tokens) and 16 of those at once.
func BenchmarkStateDirSave(b *testing.B) {
	for _, tc := range []struct {
		name            string
		tokens, tenants int
		large           bool
	}{
		{"10,000 tokens", 10_000, 1, false},
		{"at the 64 MiB bound", 170_000, 1, true},
		{"16 tenants at the bound at once", 170_000, 16, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.large && os.Getenv("ISCMOCK_BENCH_LARGE") == "" {
				b.Skip("set ISCMOCK_BENCH_LARGE=1 for tenants at the bound")
			}
			var owners mock.Fixtures
			for o := range 100 {
				owners.Identities = append(owners.Identities, mock.Identity{ID: fmt.Sprintf("%032x", o), Name: fmt.Sprint("owner ", o)})
			}
			for i := range tc.tokens {
				owners.PersonalAccessTokens = append(owners.PersonalAccessTokens, mock.PAT{ID: fmt.Sprintf("%032x", 1<<40+i),
					Secret: fmt.Sprintf("%064x", i), Name: fmt.Sprint("token ", i), Owner: owners.Identities[i%100].ID, Created: start})
			}
			srv, err := mock.New(mock.WithStateDir(b.TempDir()), mock.WithFixtureData(owners), mock.WithMaxTenants(0))
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			tenants := []*mock.Tenant{srv.Tenant}
			for i := 1; i < tc.tenants; i++ {
				t, err := srv.OpenTenant(fmt.Sprint("t", i))
				if err != nil {
					b.Fatal(err)
				}
				tenants = append(tenants, t)
			}
			owners = mock.Fixtures{}
			save := func() {
				var wg sync.WaitGroup
				for _, t := range tenants {
					wg.Go(func() {
						if err := t.Clock().Advance(0); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			for b.Loop() {
				save()
			}
			// Once more, not timed, for the memory: the collector running at every 5% of growth.
			defer debug.SetGCPercent(debug.SetGCPercent(5))
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			peak := sampleHeap()
			save()
			b.ReportMetric(float64(peak()-before.HeapAlloc)/(1<<20), "MB-save-heap")
		})
	}
}

// sampleHeap samples the heap's size until stop is called, which returns its peak.
func sampleHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-ended; return peak.Load() }
}
