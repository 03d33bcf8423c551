package mock_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/iscmock/iscmock/mock"
)

// A fresh owner per race, with no tokens.
func raceOwner(t *testing.T, srv *mock.Server, n int) (string, string) {
	t.Helper()
	id := fmt.Sprintf("2c9180867b50d088017b5546600%05d", n)
	if err := srv.Seed(mock.Fixtures{Identities: []mock.Identity{{ID: id, Name: fmt.Sprint("racer ", n)}}}); err != nil {
		t.Fatal(err)
	}
	return id, token(t, srv, id)
}

// TestConcurrentWrites races writers on the same owners' tokens: names stay unique, the limit
// holds exactly, no update is lost and no list shows half a patch.
func TestConcurrentWrites(t *testing.T) {
	srv := newServer(t)
	const clients = 16

	t.Run("one name, many creators", func(t *testing.T) {
		_, tok := raceOwner(t, srv, 1)
		var created atomic.Int64
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				res := do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: tok, Body: fmt.Sprintf(`{"name":"%s"}`, []string{"Same", "same"}[i%2])})
				if res.Status == http.StatusOK {
					created.Add(1)
				} else if res.Status != http.StatusBadRequest {
					t.Errorf("status %d", res.Status)
				}
			})
		}
		wg.Wait()
		if created.Load() != 1 {
			t.Errorf("%d creates of one name succeeded, want exactly 1", created.Load())
		}
	})

	t.Run("the limit holds exactly", func(t *testing.T) {
		owner, tok := raceOwner(t, srv, 2)
		var created atomic.Int64
		var wg sync.WaitGroup
		for i := range 3 * clients {
			wg.Go(func() {
				if do(t, srv, request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Token: tok, Body: fmt.Sprintf(`{"name":"t%d"}`, i)}).Status == http.StatusOK {
					created.Add(1)
				}
			})
		}
		wg.Wait()
		if created.Load() != 10 || countOwned(srv, owner) != 10 {
			t.Errorf("%d creates succeeded, %d tokens stored; want exactly 10", created.Load(), countOwned(srv, owner))
		}
	})

	t.Run("no lost update", func(t *testing.T) {
		_, tok := raceOwner(t, srv, 3)
		var p patJSON
		do(t, srv, request{Method: http.MethodPost, Path: "/v2025/personal-access-tokens", Token: tok, Body: `{"name":"c-0","userAwareTokenNeverExpires":true}`}).decode(t, &p)
		const each = 12
		var wg sync.WaitGroup
		for range clients / 2 {
			wg.Go(func() {
				for done := 0; done < each; {
					// Compare and swap: read the counter, then test-and-replace it.
					cur, _ := srv.PAT(p.ID)
					var n int
					fmt.Sscanf(cur.Name, "c-%d", &n)
					patch := fmt.Sprintf(`[{"op":"test","path":"/name","value":"c-%d"},{"op":"replace","path":"/name","value":"c-%d"}]`, n, n+1)
					switch res := do(t, srv, request{Method: http.MethodPatch, Path: "/v2025/personal-access-tokens/" + p.ID, Token: tok, Body: patch}); res.Status {
					case http.StatusOK:
						done++
					case http.StatusBadRequest: // another writer got there first
					default:
						t.Errorf("status %d", res.Status)
						return
					}
				}
			})
		}
		wg.Wait()
		if got, _ := srv.PAT(p.ID); got.Name != fmt.Sprintf("c-%d", clients/2*each) {
			t.Errorf("counter %q, want c-%d: an update was lost", got.Name, clients/2*each)
		}
	})

	t.Run("mixed, with lists checking invariants", func(t *testing.T) {
		owner, tok := raceOwner(t, srv, 4)
		var wg sync.WaitGroup
		var failures atomic.Int64
		for c := range clients {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(c), 7))
				for range 40 {
					k := rng.IntN(14)
					var r request
					switch rng.IntN(5) {
					case 0:
						r = request{Method: http.MethodPost, Path: "/v3/personal-access-tokens", Body: fmt.Sprintf(`{"name":"n%d"}`, k)}
					case 1, 2:
						// Name and scope change together; a list must never show one without the other.
						id := someToken(srv, owner, rng)
						r = request{Method: http.MethodPatch, Path: "/v3/personal-access-tokens/" + id,
							Body: fmt.Sprintf(`[{"op":"replace","path":"/name","value":"g%d"},{"op":"replace","path":"/scope","value":["sp:scopes:all","marker:%d"]}]`, k, k)}
					case 3:
						r = request{Method: http.MethodDelete, Path: "/v3/personal-access-tokens/" + someToken(srv, owner, rng)}
					default:
						var pats []patJSON
						res := do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok})
						res.decode(t, &pats)
						if err := invariants(pats); err != "" {
							failures.Add(1)
							t.Error(err)
						}
						continue
					}
					r.Token = tok
					if res := do(t, srv, r); res.Status >= 500 {
						t.Errorf("%s %s: %d", r.Method, r.Path, res.Status)
					}
				}
			})
		}
		wg.Wait()
		var pats []patJSON
		do(t, srv, request{Method: http.MethodGet, Path: "/v3/personal-access-tokens?owner-id=me", Token: tok}).decode(t, &pats)
		if err := invariants(pats); err != "" {
			t.Error(err)
		}
		if n := countOwned(srv, owner); n > 10 {
			t.Errorf("%d tokens: the limit of 10 broke", n)
		}
	})
}

// invariants checks one owner's list: unique names (ignoring case), at most ten, and every
// patched name with its matching scope.
func invariants(pats []patJSON) string {
	seen := map[string]bool{}
	for _, p := range pats {
		name := strings.ToLower(p.Name)
		if seen[name] {
			return fmt.Sprintf("name %q listed twice", p.Name)
		}
		seen[name] = true
		if strings.HasPrefix(p.Name, "g") {
			want, _ := json.Marshal([]string{"sp:scopes:all", "marker:" + p.Name[1:]})
			if got, _ := json.Marshal(p.Scope); string(got) != string(want) {
				return fmt.Sprintf("token %s named %q has scope %s: half a patch", p.ID, p.Name, got)
			}
		}
	}
	if len(pats) > 10 {
		return fmt.Sprintf("%d tokens listed, the limit is 10", len(pats))
	}
	return ""
}

func countOwned(srv *mock.Server, owner string) int {
	n := 0
	for _, p := range srv.PATs() {
		if p.Owner == owner {
			n++
		}
	}
	return n
}

// someToken picks one of the owner's tokens, or a made-up id when it has none.
func someToken(srv *mock.Server, owner string, rng *rand.Rand) string {
	var ids []string
	for _, p := range srv.PATs() {
		if p.Owner == owner {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return "ffffffffffffffffffffffffffffffff"
	}
	return ids[rng.IntN(len(ids))]
}
