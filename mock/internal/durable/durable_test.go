package durable

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, data := range []string{"first", "second, longer", strings.Repeat("x", 3*bufferSize+1)} {
		if err := Replace(OS, path, 0o600, write(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("read %.20q (%d bytes), %v; want %.20q", got, len(got), err, data)
		}
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	noTemps := func(t *testing.T) {
		t.Helper()
		if temps, _ := filepath.Glob(filepath.Join(dir, TempPrefix+"*")); len(temps) > 0 {
			t.Errorf("a failed write left %v", temps)
		}
	}
	t.Run("a directory in the file's place", func(t *testing.T) {
		blocked := filepath.Join(dir, "blocked")
		if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := Replace(OS, blocked, 0o600, write("lost")); err == nil || errors.Is(err, ErrUnsettled) {
			t.Fatalf("Replace over a directory: %v, want a plain failure", err)
		}
		noTemps(t)
	})
	t.Run("the content fails half way", func(t *testing.T) {
		broke := errors.New("broke")
		err := Replace(OS, path, 0o600, func(w io.Writer) error {
			_, _ = io.WriteString(w, strings.Repeat("y", 2*bufferSize))
			return broke
		})
		if !errors.Is(err, broke) || errors.Is(err, ErrUnsettled) {
			t.Fatalf("Replace: %v, want the writer's error", err)
		}
		if got, _ := os.ReadFile(path); !strings.HasPrefix(string(got), "xxx") {
			t.Errorf("the file changed: %.10q", got)
		}
		noTemps(t)
	})
	t.Run("the directory fails to sync after the rename", func(t *testing.T) {
		fsys := &failing{FS: OS, syncDir: errors.New("EIO")}
		err := Replace(fsys, path, 0o600, write("new"))
		if !errors.Is(err, ErrUnsettled) || !strings.Contains(err.Error(), "EIO") {
			t.Fatalf("Replace: %v, want ErrUnsettled with the cause", err)
		}
		if got, _ := os.ReadFile(path); string(got) != "new" {
			t.Errorf("the file holds %q: the rename happened, which is why the change is unsettled", got)
		}
		noTemps(t)
	})
}

// failing is an FS whose SyncDir fails with syncDir.
type failing struct {
	FS
	syncDir error
}

func (f *failing) SyncDir(string) error { return f.syncDir }

func TestRemoveAndRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"keep.json", TempPrefix + "keep.json-123", "drop.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveTemps(OS, dir); err != nil {
		t.Fatal(err)
	}
	if err := Remove(OS, filepath.Join(dir, "gone.json")); err != nil {
		t.Errorf("removing a missing file: %v", err)
	}
	if err := Remove(&failing{FS: OS, syncDir: errors.New("EIO")}, filepath.Join(dir, "drop.json")); !errors.Is(err, ErrUnsettled) {
		t.Errorf("a removal the directory's sync fails: %v, want ErrUnsettled", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "keep.json" {
		t.Errorf("left %v, want keep.json alone", entries)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	release, err := Lock(OS, dir, 0, func() { t.Error("waited for a free directory") })
	if err != nil {
		t.Fatal(err)
	}
	waited := 0
	if _, err := Lock(OS, dir, lockPoll, func() { waited++ }); err == nil || !strings.Contains(err.Error(), "in use") || waited != 1 {
		t.Fatalf("a second lock: %v after %d calls of waiting, want in use after 1", err, waited)
	}
	// Released while another waits: the other gets it.
	got := make(chan error)
	go func() {
		again, err := Lock(OS, dir, time.Minute, func() { release() })
		if err == nil {
			again()
		}
		got <- err
	}()
	if err := <-got; err != nil {
		t.Fatalf("waiting for a released directory: %v", err)
	}
}
