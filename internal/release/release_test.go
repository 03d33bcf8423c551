package release_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iscmock/iscmock/internal/release"
)

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		ok      bool
	}{
		{"v1.2.3", true},
		{"v0.1.0", true},
		{"v1.2.3-rc.1", true},
		{"v10.20.30-beta", true},
		{"1.2.3", false},
		{"v1.2", false},
		{"v01.2.3", false},
		{"v1.2.3-", false},
		{"v1.2.3+build", false},
		{"v1.2.3 ", false},
		{"v1.2.3/../x", false},
		{"", false},
	} {
		t.Run(tc.version, func(t *testing.T) {
			err := release.CheckVersion(tc.version)
			if (err == nil) != tc.ok {
				t.Errorf("CheckVersion(%q) = %v, want ok %v", tc.version, err, tc.ok)
			}
		})
	}
}

func TestArchiveName(t *testing.T) {
	var got []string
	for _, target := range release.Targets {
		got = append(got, release.ArchiveName("v1.2.3-rc.1", target))
	}
	want := []string{
		"iscmock_1.2.3-rc.1_linux_amd64.tar.gz", "iscmock_1.2.3-rc.1_linux_arm64.tar.gz",
		"iscmock_1.2.3-rc.1_darwin_amd64.tar.gz", "iscmock_1.2.3-rc.1_darwin_arm64.tar.gz",
		"iscmock_1.2.3-rc.1_windows_amd64.zip", "iscmock_1.2.3-rc.1_windows_arm64.zip",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("archive names (-want +got):\n%s", diff)
	}
}

// member is what an archive says of one of its files.
type member struct {
	Name    string
	Mode    os.FileMode
	ModTime time.Time
	Owner   string
	Size    int
}

// TestBuild builds this machine's archive and windows's twice, in two directories, and checks that
// they are the same bytes, hold the binary and the documents with the given time, that SHA256SUMS
// names them, and that the binary says its version.
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	native := release.Target{OS: runtime.GOOS, Arch: runtime.GOARCH}
	targets := []release.Target{native}
	if native.OS != "windows" {
		targets = append(targets, release.Target{OS: "windows", Arch: runtime.GOARCH})
	}
	at := time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC)
	build := func() string {
		out := filepath.Join(t.TempDir(), "dist")
		err := release.Build(context.Background(), release.Options{Root: root, Out: out, Version: "v1.2.3-test",
			Time: at.In(time.FixedZone("elsewhere", 5*3600)), Targets: targets})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first, second := build(), build()

	var sums strings.Builder
	for _, target := range targets {
		name := release.ArchiveName("v1.2.3-test", target)
		a, err := os.ReadFile(filepath.Join(first, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(second, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds", name)
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(a), name)

		bin := "iscmock"
		if target.OS == "windows" {
			bin = "iscmock.exe"
		}
		members, binary := readArchive(t, name, a, bin)
		want := []member{{Name: bin, Mode: 0o755, ModTime: at, Owner: "root"}}
		for _, doc := range release.Docs {
			info, err := os.Stat(filepath.Join(root, doc))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, member{Name: doc, Mode: 0o644, ModTime: at, Owner: "root", Size: int(info.Size())})
		}
		if target.OS == "windows" {
			for i := range want {
				want[i].Owner = "" // zip has no owners
			}
		}
		if diff := cmp.Diff(want, members, cmp.Comparer(func(a, b member) bool {
			return a.Name == b.Name && a.Mode == b.Mode && a.ModTime.Equal(b.ModTime) && a.Owner == b.Owner &&
				(a.Size == b.Size || a.Name == bin)
		})); diff != "" {
			t.Errorf("%s holds (-want +got):\n%s", name, diff)
		}
		if target == native {
			path := filepath.Join(t.TempDir(), bin)
			if err := os.WriteFile(path, binary, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(path, "version").Output()
			if err != nil || string(out) != "iscmock v1.2.3-test\n" {
				t.Errorf("%s version: %q, %v", name, out, err)
			}
		}
	}
	got, err := os.ReadFile(filepath.Join(first, release.SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sums.String(), string(got)); diff != "" {
		t.Errorf("SHA256SUMS (-want +got):\n%s", diff)
	}

	err = release.Build(context.Background(), release.Options{Root: root, Out: first, Version: "v1.2.3-test", Time: at})
	if err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("a build into a directory that has files: %v, want it refused", err)
	}
}

// readArchive lists a tar.gz or zip archive's members and returns the binary named bin.
func readArchive(t *testing.T, name string, data []byte, bin string) ([]member, []byte) {
	t.Helper()
	var members []member
	var binary []byte
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			members = append(members, member{Name: f.Name, Mode: f.Mode(), ModTime: f.Modified, Size: int(f.UncompressedSize64)})
			if f.Name == bin {
				r, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				binary, _ = io.ReadAll(r)
			}
		}
		return members, binary
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("%s: gzip header names %q at %v, want neither", name, zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		members = append(members, member{Name: h.Name, Mode: os.FileMode(h.Mode), ModTime: h.ModTime,
			Owner: fmt.Sprintf("%s:%s %d:%d", h.Uname, h.Gname, h.Uid, h.Gid), Size: len(b)})
		if h.Name == bin {
			binary = b
		}
	}
	for i := range members {
		if members[i].Owner == "root:root 0:0" {
			members[i].Owner = "root"
		}
	}
	return members, binary
}
