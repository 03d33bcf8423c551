package main

import (
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

// TestVersionOf: a binary go install built from a module version says that version; one built from
// a checkout (which carries its commit, and since Go 1.24 a pseudo-version) or without build
// information says dev.
func TestVersionOf(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "f10f215"}}
	cases := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"go install module@v1.2.3", &debug.BuildInfo{Main: debug.Module{Path: "github.com/iscmock/iscmock", Version: "v1.2.3"}}, "v1.2.3"},
		{"go install module@latest, a pseudo-version", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261207120000-f10f215abcde"}}, "v0.0.0-20261207120000-f10f215abcde"},
		{"go build in a checkout", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261207120000-f10f215abcde+dirty"}, Settings: vcs}, "dev"},
		{"go build without VCS information", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"go run", &debug.BuildInfo{}, "dev"},
		{"no build information", nil, "dev"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionOf(tc.info); got != tc.want {
				t.Errorf("versionOf = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDurationFlags: a duration flag reads the grammar of every duration iscmock reads, days too.
func TestDurationFlags(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want time.Duration
		err  string
	}{
		{"30s", 30 * time.Second, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"2w", 0, `--d: "2w" is not a duration such as 90s, 25h or 3d`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			var c struct{ D time.Duration }
			parser := kong.Must(&c, kong.TypeMapper(reflect.TypeFor[time.Duration](), durationFlag))
			_, err := parser.Parse([]string{"--d", tc.arg})
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", err, tc.err)
			case tc.err == "" && (err != nil || c.D != tc.want):
				t.Fatalf("%v, %v; want %v", c.D, err, tc.want)
			}
		})
	}
}
