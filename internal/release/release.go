// Package release builds iscmock's release archives: the binary for each platform people use, with
// the README, licence and changelog, in archives that are the same byte for byte however often and
// wherever the same commit is built.
package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Target is one platform a release has a binary for.
type Target struct{ OS, Arch string }

func (t Target) String() string { return t.OS + "/" + t.Arch }

// Targets are the platforms a release is built for, in the order SHA256SUMS lists them.
var Targets = []Target{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// Docs are the files of the module's root that every archive holds beside the binary.
var Docs = []string{"README.md", "LICENSE", "CHANGELOG.md"}

// SumsFile names the checksums file, in the format sha256sum -c reads.
const SumsFile = "SHA256SUMS"

var versionPattern = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z]+(\.[0-9A-Za-z-]+)*)?$`)

// CheckVersion accepts what a release tag looks like: v1.2.3, or v1.2.3-rc.1 for a pre-release.
func CheckVersion(v string) error {
	if !versionPattern.MatchString(v) {
		return fmt.Errorf("version %q: want a release tag such as v1.2.3 or v1.2.3-rc.1", v)
	}
	return nil
}

// ArchiveName is the file a target's archive is written to: iscmock_1.2.3_linux_amd64.tar.gz, or
// .zip for windows.
func ArchiveName(version string, t Target) string {
	ext := ".tar.gz"
	if t.OS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("iscmock_%s_%s_%s%s", strings.TrimPrefix(version, "v"), t.OS, t.Arch, ext)
}

// Options say what Build makes and where.
type Options struct {
	Root    string    // the module's root: cmd/iscmock and the Docs are read from there
	Out     string    // the directory written; it must be missing or empty
	Version string    // stamped into the binaries (iscmock version prints it) and named in the archives
	Time    time.Time // every file's time inside the archives
	Targets []Target  // default: Targets
	Log     io.Writer // a line per archive; may be nil
}

// Build writes one archive per target and SHA256SUMS into o.Out. The binaries are built with
// -trimpath and no build id, and without cgo, so that the same commit, version and Go release give
// the same bytes; every archive lists its files in the same order with the same times and owners.
func Build(ctx context.Context, o Options) error {
	if err := CheckVersion(o.Version); err != nil {
		return err
	}
	if o.Time.IsZero() {
		return errors.New("no time for the archives' files (the commit's, or SOURCE_DATE_EPOCH)")
	}
	if o.Targets == nil {
		o.Targets = Targets
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if entries, err := os.ReadDir(o.Out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: remove it, or name another directory", o.Out)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	docs := make([]file, len(Docs))
	for i, name := range Docs {
		b, err := os.ReadFile(filepath.Join(o.Root, name))
		if err != nil {
			return fmt.Errorf("every archive holds %s: %w", name, err)
		}
		docs[i] = file{name: name, mode: 0o644, data: b}
	}
	work, err := os.MkdirTemp("", "iscmock-release")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	var sums bytes.Buffer
	for _, t := range o.Targets {
		bin, err := buildBinary(ctx, o.Root, work, o.Version, t)
		if err != nil {
			return err
		}
		files := append([]file{bin}, docs...)
		var archive bytes.Buffer
		if t.OS == "windows" {
			err = writeZip(&archive, files, o.Time)
		} else {
			err = writeTarGz(&archive, files, o.Time)
		}
		if err != nil {
			return err
		}
		name := ArchiveName(o.Version, t)
		if err := os.WriteFile(filepath.Join(o.Out, name), archive.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(archive.Bytes()), name)
		fmt.Fprintf(o.Log, "%s  %s (%d bytes)\n", t, name, archive.Len())
	}
	return os.WriteFile(filepath.Join(o.Out, SumsFile), sums.Bytes(), 0o644)
}

// file is one member of an archive.
type file struct {
	name string
	mode fs.FileMode
	data []byte
}

// buildBinary cross-compiles cmd/iscmock for t. The environment is set, not inherited, for
// everything that changes the output: a caller's CGO_ENABLED, GOFLAGS or GOAMD64 would otherwise
// make another binary of the same commit.
func buildBinary(ctx context.Context, root, work, version string, t Target) (file, error) {
	name := "iscmock"
	if t.OS == "windows" {
		name += ".exe"
	}
	out := filepath.Join(work, t.OS+"_"+t.Arch, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -buildid= -X main.version="+version, "-o", out, "./cmd/iscmock")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+t.OS, "GOARCH="+t.Arch, "CGO_ENABLED=0",
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=-mod=readonly", "GOEXPERIMENT=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return file{}, fmt.Errorf("building for %s: %v\n%s", t, err, msg)
	}
	b, err := os.ReadFile(out)
	return file{name: name, mode: 0o755, data: b}, err
}

// writeTarGz writes a USTAR archive owned by root with every file at t, gzipped with no name or
// time in its header.
func writeTarGz(w io.Writer, files []file, t time.Time) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: int64(f.mode), Size: int64(len(f.data)),
			ModTime: t.UTC().Truncate(time.Second), Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// writeZip writes a deflated zip archive with every file at t.
func writeZip(w io.Writer, files []file, t time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: t.UTC().Truncate(time.Second)}
		h.SetMode(f.mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return zw.Close()
}
