package e2e_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestBinaryStateSurvivesSIGKILL kills a server with a state directory at a random moment while
// writers create, rename and delete tokens in two tenants, many times over. After each restart every
// write that was answered is there, a write in flight is there whole or not at all, no temporary
// file is left, and the bearer tokens of the first run still verify.
func TestBinaryStateSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x51))
	var bearers map[string]string // tenant prefix -> a bearer token of the first run
	ledgers := map[string]*ledger{"": newLedger(), "/tenants/crash": newLedger()}
	for round := range 15 {
		base, _, cmd := startBinary(t, "--state-dir", dir, "--max-tokens-per-owner", "0")
		if bearers == nil {
			bearers = map[string]string{}
			for prefix := range ledgers {
				bearers[prefix] = accessToken(t, defaultToken(base+prefix))
			}
		}
		for prefix, l := range ledgers {
			l.check(t, round, base+prefix, bearers[prefix])
		}
		if temps, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*")); len(temps) > 0 {
			t.Fatalf("round %d: temporary files left: %v", round, temps)
		}
		var wg sync.WaitGroup
		for prefix, l := range ledgers {
			for w := range 4 {
				wg.Go(func() { l.write(base+prefix, bearers[prefix], fmt.Sprintf("r%dw%d", round, w)) })
			}
		}
		time.Sleep(time.Duration(20+rng.IntN(180)) * time.Millisecond) // the moment of the crash, not a wait for a state
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		wg.Wait()
	}
	for _, l := range ledgers {
		if l.answered == 0 {
			t.Fatal("no write was answered: the test tested nothing")
		}
	}
}

// ledger is what a tenant's writers were answered, and what they sent without an answer.
type ledger struct {
	mu       sync.Mutex
	tokens   map[string]*written // by id
	answered int
}

// written is one token's writes: the names it may have (the answered one and one in flight) and
// whether it may or must be gone.
type written struct {
	names             []string
	deleted, deleting bool
}

func newLedger() *ledger { return &ledger{tokens: map[string]*written{}} }

// write creates, renames and deletes tokens until the server stops answering.
func (l *ledger) write(base, bearer, prefix string) {
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		res := send(base, bearer, http.MethodPost, "/v3/personal-access-tokens", fmt.Sprintf(`{"name":%q}`, name))
		if res.StatusCode != http.StatusOK {
			return // a create in flight made a token nobody knows of: the check allows those
		}
		var created struct{ ID string }
		_ = json.Unmarshal(body(res), &created)
		l.record(func() { l.tokens[created.ID] = &written{names: []string{name}} })
		renamed := name + "-renamed"
		l.record(func() { l.tokens[created.ID].names = append(l.tokens[created.ID].names, renamed) })
		if res := send(base, bearer, http.MethodPatch, "/v3/personal-access-tokens/"+created.ID,
			fmt.Sprintf(`[{"op":"replace","path":"/name","value":%q}]`, renamed)); res.StatusCode != http.StatusOK {
			return
		}
		l.record(func() { l.tokens[created.ID].names = []string{renamed} })
		if i%4 == 3 {
			continue // some stay
		}
		l.record(func() { l.tokens[created.ID].deleting = true })
		if res := send(base, bearer, http.MethodDelete, "/v3/personal-access-tokens/"+created.ID, ""); res.StatusCode != http.StatusNoContent {
			return
		}
		l.record(func() { l.tokens[created.ID].deleted = true })
	}
}

func (l *ledger) record(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn()
	l.answered++
}

// check compares the tenant's tokens with the ledger, which it then brings up to date: writes in
// flight at the crash are settled by what the server kept.
func (l *ledger) check(t *testing.T, round int, base, bearer string) {
	t.Helper()
	var doc struct {
		PersonalAccessTokens []struct{ ID, Name string } `json:"personalAccessTokens"`
	}
	if err := json.Unmarshal([]byte(adminGet(t, base, "", "/__admin/fixtures")), &doc); err != nil {
		t.Fatalf("round %d: export: %v", round, err)
	}
	kept := map[string]string{}
	for _, p := range doc.PersonalAccessTokens {
		kept[p.ID] = p.Name
	}
	for id, w := range l.tokens {
		name, ok := kept[id]
		switch {
		case w.deleted && ok:
			t.Errorf("round %d: %s: token %s was deleted, yet it is there", round, base, id)
		case !ok && !w.deleting && !w.deleted:
			t.Errorf("round %d: %s: token %s (%s) was created, and is gone", round, base, id, w.names[0])
		case ok && !slices.Contains(w.names, name):
			t.Errorf("round %d: %s: token %s is named %q, want one of %q", round, base, id, name, w.names)
		}
		if !ok {
			delete(l.tokens, id)
		} else {
			l.tokens[id] = &written{names: []string{name}}
		}
	}
	wantStatus(t, send(base, bearer, http.MethodGet, "/v3/personal-access-tokens?owner-id=me", ""), http.StatusOK) // a bearer token of the first run
}

// TestBinaryStopKeepsTheDirectoryUntilTheLastWrite: a server stopping on a state directory keeps it
// until the last request in flight is answered and its write kept. A second server started on the
// directory meanwhile (a rolling update, a supervisor restarting early) waits for it rather than
// start on a state without that write, then goes on with it.
func TestBinaryStopKeepsTheDirectoryUntilTheLastWrite(t *testing.T) {
	dir := t.TempDir()
	base, _, first := startBinary(t, "--state-dir", dir)
	bearer := accessToken(t, defaultToken(base))

	// A create in flight: its body half sent, the handler reading the rest (it asked for it with
	// 100 Continue).
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const create = `{"name":"written during the stop"}`
	fmt.Fprintf(conn, "POST /v3/personal-access-tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", bearer, len(create))
	answer := bufio.NewReader(conn)
	if status, err := answer.ReadString('\n'); err != nil || !strings.Contains(status, "100 Continue") {
		t.Fatalf("want 100 Continue, got %q, %v", status, err)
	}
	if _, err := answer.ReadString('\n'); err != nil { // the empty line after it
		t.Fatal(err)
	}
	fmt.Fprint(conn, create[:10])

	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	second := exec.Command(iscmockBinary(t), "serve", "--addr", "127.0.0.1:0", "--state-dir", dir)
	events := make(chan string, 4)
	for _, pipe := range []func() (io.ReadCloser, error){second.StdoutPipe, second.StderrPipe} {
		r, err := pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			lines := bufio.NewScanner(r)
			for lines.Scan() {
				switch line := lines.Text(); {
				case strings.Contains(line, " serving "):
					events <- "serving " + strings.TrimSpace(line[strings.Index(line, " serving ")+9:])
				case strings.Contains(line, "in use by another iscmock server; waiting"):
					events <- "waiting"
				}
			}
		}()
	}
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Process.Kill(); _ = second.Wait() })
	select {
	case e := <-events:
		if e != "waiting" {
			t.Fatalf("the second server started (%s) while the first still had a write to answer", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second server neither waits nor serves")
	}

	fmt.Fprint(conn, create[10:])
	res, err := http.ReadResponse(answer, nil)
	if err != nil {
		t.Fatal(err)
	}
	var made struct{ ID string }
	if err := json.NewDecoder(res.Body).Decode(&made); err != nil || res.StatusCode != http.StatusOK || made.ID == "" {
		t.Fatalf("the create in flight: %d, %v", res.StatusCode, err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first server's stop: %v", err)
	}
	var secondBase string
	select {
	case e := <-events:
		var ok bool
		if secondBase, ok = strings.CutPrefix(e, "serving "); !ok {
			t.Fatalf("the second server: %s", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second server did not start once the first had stopped")
	}
	list := send(secondBase, accessToken(t, defaultToken(secondBase)), http.MethodGet, "/v3/personal-access-tokens?owner-id=me", "")
	if got := string(body(list)); list.StatusCode != http.StatusOK || !strings.Contains(got, made.ID) {
		t.Errorf("the second server lacks the token the first answered 200 for during its stop: %s", got)
	}
}
