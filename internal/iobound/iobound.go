// Package iobound runs a test package whose tests mostly wait: on child
// processes, sockets and the fakes' answers rather than on the CPU. Only
// test mains import it.
package iobound

import (
	"flag"
	"runtime"
	"strconv"
	"testing"
)

// Run runs m's tests with more parallel tests at once than go test's
// default, unless -parallel was given. The default, GOMAXPROCS (2 on a
// 2-core machine), suits tests that compute; tests that each wait for a
// binary to start, Slack's fake to answer or a browser to render leave the
// CPU idle at that count, and the package takes the sum of their waits.
func Run(m *testing.M) int {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(Parallel()))
	}
	return m.Run()
}

// Parallel is the number of tests Run lets run at once.
func Parallel() int { return max(8, 4*runtime.GOMAXPROCS(0)) }
