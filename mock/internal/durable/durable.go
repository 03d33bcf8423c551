// Package durable writes files so that a crash at any moment leaves either the old file or the new
// one, whole, and a file that was written is there after the crash. It works through an FS, the
// real file system or one a test makes fail where it wants.
package durable

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FS is what a state directory needs of a file system.
type FS interface {
	MkdirAll(dir string, perm fs.FileMode) error
	ReadDir(dir string) ([]fs.DirEntry, error)
	Stat(path string) (fs.FileInfo, error)
	Open(path string) (File, error)
	CreateTemp(dir, pattern string) (File, error)
	Rename(from, to string) error
	Remove(path string) error
	// SyncDir syncs a directory, so that the names made, renamed or removed in it are on disk.
	SyncDir(dir string) error
	// TryLock takes dir for this process alone, if no other process has it (then it returns
	// ErrLocked), until release is called or the process ends.
	TryLock(dir string) (release func(), err error)
}

// File is an open file of an FS.
type File interface {
	io.ReadWriteCloser
	Name() string
	Stat() (fs.FileInfo, error)
	Chmod(fs.FileMode) error
	Sync() error
}

// OS is the real file system.
var OS FS = osFS{}

type osFS struct{}

func (osFS) MkdirAll(dir string, perm fs.FileMode) error    { return os.MkdirAll(dir, perm) }
func (osFS) ReadDir(dir string) ([]fs.DirEntry, error)      { return os.ReadDir(dir) }
func (osFS) Stat(path string) (fs.FileInfo, error)          { return os.Stat(path) }
func (osFS) Open(path string) (File, error)                 { return os.Open(path) }
func (osFS) CreateTemp(dir, pattern string) (File, error)   { return os.CreateTemp(dir, pattern) }
func (osFS) Rename(from, to string) error                   { return os.Rename(from, to) }
func (osFS) Remove(path string) error                       { return os.Remove(path) }
func (osFS) TryLock(dir string) (release func(), err error) { return tryLock(dir) }
func (osFS) SyncDir(dir string) error {
	d, err := os.Open(cmp.Or(dir, "."))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ErrLocked is TryLock's error for a directory another process holds.
var ErrLocked = errors.New("in use by another iscmock server")

// Lock takes dir for this process alone, as TryLock does; while another process holds it, Lock
// calls waiting once and tries again until it may, or until wait has passed.
func Lock(fsys FS, dir string, wait time.Duration, waiting func()) (release func(), err error) {
	deadline := time.Now().Add(wait)
	for called := false; ; called = true {
		release, err := fsys.TryLock(dir)
		if !errors.Is(err, ErrLocked) {
			return release, err
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%s is %w (waited %v for it)", dir, err, wait)
		}
		if !called {
			waiting()
		}
		time.Sleep(min(lockPoll, time.Until(deadline)))
	}
}

// lockPoll is how often Lock tries again: flock cannot wait with a bound.
const lockPoll = 50 * time.Millisecond

// ErrUnsettled is in the error of a Replace or Remove that changed the directory but could not make
// the change durable: a crash may keep the change or undo it, so the caller cannot know which the
// file will hold after one until a later change of it is durable.
var ErrUnsettled = errors.New("the change was made, but is not surely on disk")

// TempPrefix starts the names of the temporary files Replace makes beside the file it replaces; a
// crash may leave one behind, which RemoveTemps clears.
const TempPrefix = ".tmp-"

// bufferSize is what a Replace buffers of what it writes: with the file's name, all it holds.
const bufferSize = 64 << 10

// Replace replaces the file at path with what write writes: into a temporary file in the same
// directory, synced, renamed over path, and the directory synced, so that the rename itself is on
// disk. It holds no more of the content than its buffer. An error before the rename leaves the
// file at path as it was and no temporary file; one after it wraps ErrUnsettled.
func Replace(fsys FS, path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	dir, name := filepath.Split(path)
	f, err := fsys.CreateTemp(dir, TempPrefix+name+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = fsys.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, bufferSize)
	if err = write(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = fsys.Rename(f.Name(), path); err != nil {
		return err
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("%w: syncing %s: %w", ErrUnsettled, cmp.Or(dir, "."), err)
	}
	return nil
}

// Remove removes the file at path, durably: the directory is synced after. A file that is not
// there is no error. An error after the removal wraps ErrUnsettled.
func Remove(fsys FS, path string) error {
	if err := fsys.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := fsys.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("%w: syncing %s: %w", ErrUnsettled, filepath.Dir(path), err)
	}
	return nil
}

// RemoveTemps removes the temporary files a crash left in dir.
func RemoveTemps(fsys FS, dir string) error {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) && e.Type().IsRegular() {
			if err := fsys.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
