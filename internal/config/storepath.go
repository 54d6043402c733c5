package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkStorePath reports, without creating or changing anything, why the
// bbolt file at path could not be opened or created by `klaxon run`: a
// directory where the file should be, a file where a directory should be, a
// directory this user cannot write, a kernel file system such as /proc. It
// returns "" when run would be able to create or open the file (a missing
// directory is fine: run creates it). The message says what is wrong and
// what to do.
func checkStorePath(path string) string {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Sprintf("%s is a directory: want the database file's path, such as %s", path, filepath.Join(path, "klaxon.db"))
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Sprintf("%s is not a regular file (%s): want the path of the bbolt database file, such as ./klaxon.db", path, fileKind(fi.Mode()))
	case err == nil:
		if err := writable(path); err != nil {
			return fmt.Sprintf("%s cannot be opened for writing by this user (uid %d): %s; make it writable (chown or chmod) or choose another path", path, os.Geteuid(), describe(err))
		}
		return ""
	}
	// The file is not there (or not reachable): find the nearest directory
	// that exists, where run would create the missing ones and the file.
	dir := filepath.Dir(path)
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Sprintf("%s is a file, not a directory, so %s cannot be created: choose another path", dir, path)
			}
			break
		}
		// ENOTDIR: a file further up, found as the walk reaches it.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Sprintf("%s cannot be created: %s: %s; choose another path", path, dir, describe(err))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	if kind := kernelFS(dir); kind != "" {
		return fmt.Sprintf("%s cannot be created: %s is on %s, a kernel file system where no file can be made; choose a path on a disk, such as /var/lib/klaxon/klaxon.db", path, dir, kind)
	}
	if err := writable(dir); err != nil {
		return fmt.Sprintf("%s cannot be created: the directory %s is not writable by this user (uid %d): %s; make it writable (chown or chmod) or choose another path", path, dir, os.Geteuid(), describe(err))
	}
	return ""
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a file"
}
