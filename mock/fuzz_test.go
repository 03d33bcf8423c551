package mock_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/iscmock/iscmock/mock"
)

// seedFiles adds every file matching the glob to the fuzz corpus.
func seedFiles(f *testing.F, glob string) {
	files, _ := filepath.Glob(glob)
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParseScenario: any document parses or fails with an error; none panics, and a parsed one
// loads into a server.
func FuzzParseScenario(f *testing.F) {
	seedFiles(f, filepath.Join("..", "scenarios", "*.yaml"))
	seedFiles(f, filepath.Join("..", "testdata", "scenarios", "*.yaml"))
	f.Add([]byte(`{"rules":[{"when":{"calls":[1]},"respond":{"status":429,"body":{"a":[1,{"b":null}]}}}]}`))
	srv, err := mock.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := mock.ParseScenario("fuzz.yaml", data)
		if err != nil {
			return
		}
		if err := srv.LoadScenario(s); err != nil {
			t.Fatalf("parsed but does not load: %v", err)
		}
	})
}

// FuzzParseFixtures: any document parses or fails with an error; none panics, and a parsed one
// seeds a server.
func FuzzParseFixtures(f *testing.F) {
	seedFiles(f, filepath.Join("..", "testdata", "fixtures", "*"))
	seedFiles(f, filepath.Join("..", "fixtures", "*.yaml"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fx, err := mock.ParseFixtures("fuzz.yaml", data)
		if err != nil {
			return
		}
		if _, err := mock.New(mock.WithFixtureData(fx)); err != nil {
			t.Fatalf("parsed but does not load: %v", err)
		}
	})
}
