package e2e_test

import (
	"archive/tar"
	"compress/gzip"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReleaseBinary runs the linux binary of a release archive (ISCMOCK_RELEASE_ARCHIVE, written by
// scripts/release) through ISCMOCK_RELEASE_EMULATOR when set (qemu-aarch64-static for arm64 on an
// amd64 machine): it is built for the archive's architecture, says the archive's version, and serves
// the README's walkthrough. CI runs it on the arm64 archive under user-mode emulation.
func TestReleaseBinary(t *testing.T) {
	archive := os.Getenv("ISCMOCK_RELEASE_ARCHIVE")
	if archive == "" {
		t.Skip("ISCMOCK_RELEASE_ARCHIVE names no release archive (scripts/release writes them)")
	}
	m := regexp.MustCompile(`^iscmock_(.+)_linux_(amd64|arm64)\.tar\.gz$`).FindStringSubmatch(filepath.Base(archive))
	if m == nil {
		t.Fatalf("%s: want a linux release archive, iscmock_VERSION_linux_ARCH.tar.gz", archive)
	}
	version, arch := "v"+m[1], m[2]
	bin := extractBinary(t, archive)

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != machine || f.Class != elf.ELFCLASS64 {
		t.Errorf("the binary is for %v (%v), want %v", f.Machine, f.Class, machine)
	}
	f.Close()

	command := append(strings.Fields(os.Getenv("ISCMOCK_RELEASE_EMULATOR")), bin)
	out, err := exec.Command(command[0], append(command[1:], "version")...).Output()
	if err != nil || string(out) != "iscmock "+version+"\n" {
		t.Fatalf("%s version: %q, %v; want iscmock %s", strings.Join(command, " "), out, err, version)
	}
	base, _, _ := startServer(t, command)
	walkthrough(t, base)
}

// extractBinary writes the archive's iscmock into a directory of the test's and returns its path.
func extractBinary(t *testing.T, archive string) string {
	t.Helper()
	file, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	zr, err := gzip.NewReader(file)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s holds no iscmock", archive)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "iscmock" {
			continue
		}
		path := filepath.Join(t.TempDir(), "iscmock")
		out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
}
