//go:build !unix

package testrun

// exec does nothing where a process cannot replace its program: the race
// runtime then sleeps at exit as it does by default.
func exec(path string, args, env []string) {}
