package mock

import (
	"bytes"
	"crypto/ecdsa"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzStateDecoders holds the state file's quick decoder to the one decoder: whatever the quick
// one reads, the one decoder reads too, to the same state. (What the quick one refuses goes to the
// one decoder anyway.)
func FuzzStateDecoders(f *testing.F) {
	dir := f.TempDir()
	srv, err := New(WithStateDir(dir), WithFixtureData(Fixtures{
		Identities:           []Identity{{ID: "a1", Name: "Ann", UserLevels: []string{"ORG_ADMIN"}}},
		PersonalAccessTokens: []PAT{{ID: "b2", Secret: "s", Name: "n", Owner: "a1", Scope: []string{"sp:scopes:all"}}},
	}))
	if err != nil {
		f.Fatal(err)
	}
	srv.Close()
	good, err := os.ReadFile(filepath.Join(dir, "root.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"tenant": ""`), []byte(`"Tenant": ""`), 1))
	f.Add(bytes.Replace(good, []byte(`"tenant": ""`), []byte(`"tenant": "", "tenant": ""`), 1))
	f.Add(bytes.Replace(good, []byte(`"managed": false`), []byte(`"managed": null`), 1))
	f.Add([]byte(`{"iscmock": "state/1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		quick, ok := decodeState(bytes.NewReader(data), "")
		if !ok {
			return
		}
		slow, err := parseState("root.json", "", data)
		if err != nil {
			t.Fatalf("the quick decoder read what the one decoder refuses: %v", err)
		}
		if diff := cmp.Diff(slow, quick, cmp.AllowUnexported(tenantState{}),
			cmp.Comparer(func(a, b *ecdsa.PrivateKey) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("the decoders read different states (-one decoder +quick):\n%s", diff)
		}
	})
}
