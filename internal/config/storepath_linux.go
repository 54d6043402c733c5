package config

import (
	"os"
	"syscall"
)

// writable reports whether this user may write path (a file to open
// read-write, or a directory to create entries in), without writing: the
// access(2) permission check, which also fails on a read-only mount.
func writable(path string) error {
	const wOK, xOK = 0x2, 0x1
	mode := uint32(wOK)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		mode |= xOK
	}
	if err := syscall.Access(path, mode); err != nil {
		return &os.PathError{Op: "access", Path: path, Err: err}
	}
	return nil
}

// kernelFS names the kernel file system dir is on when nothing can be
// created there whatever the permissions say (root passes access(2) on
// /proc), or "".
func kernelFS(dir string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return ""
	}
	switch st.Type {
	case 0x9fa0: // PROC_SUPER_MAGIC
		return "proc"
	case 0x62656572: // SYSFS_MAGIC
		return "sysfs"
	}
	return ""
}
