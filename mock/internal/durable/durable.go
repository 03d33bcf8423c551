// Package durable writes files so that a crash at any moment leaves either the old file or the new
// one, whole, and a file that was written is there after the crash.
package durable

import (
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the names of the temporary files WriteFile makes beside the file it replaces;
// a crash may leave one behind, which RemoveTemps clears.
const TempPrefix = ".tmp-"

// WriteFile replaces the file at path with data: it writes a temporary file in the same directory,
// syncs it, renames it over path and syncs the directory, so that the rename itself is on disk.
// On an error the file at path is as it was and no temporary file is left.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir, name := filepath.Split(path)
	f, err := os.CreateTemp(dir, TempPrefix+name+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
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
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// Remove removes the file at path, durably: the directory is synced after. A file that is not
// there is no error.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir syncs a directory, so that the names made, renamed or removed in it are on disk.
func SyncDir(dir string) error {
	if dir == "" {
		dir = "."
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// RemoveTemps removes the temporary files a crash left in dir.
func RemoveTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
