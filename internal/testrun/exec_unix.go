//go:build unix

package testrun

import "syscall"

// exec replaces this process's program with path (execve).
func exec(path string, args, env []string) { syscall.Exec(path, args, env) }
