// Package testrun is the TestMain of every test package in Klaxon: it
// keeps the race detector from sleeping a second at the end of each test
// binary when nothing is left running, and lets packages whose tests
// mostly wait run more of them at once. Only test mains import it;
// TestEveryPackageUsesTestrun checks that every package with tests does.
package testrun

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Main runs m's tests and exits with their code.
func Main(m *testing.M) { os.Exit(run(m, false)) }

// MainWaiting is Main for a package whose tests mostly wait: on child
// processes, sockets and the fakes' answers rather than on the CPU. Unless
// -parallel was given, it runs Parallel() tests at once instead of go
// test's default, GOMAXPROCS (2 on a 2-core machine), which suits tests
// that compute: tests that each wait for a binary to start, Slack's fake to
// answer or a browser to render leave the CPU idle at that count, and the
// package takes the sum of their waits.
func MainWaiting(m *testing.M) { os.Exit(run(m, true)) }

// Parallel is the number of tests MainWaiting lets run at once.
//
// Twice GOMAXPROCS, at least 4: go test runs two such packages side by side on a
// 2-core machine, each also starting child processes (a klaxon, a
// browser); at four times, a clean clone's CI run (compiling beside the
// tests) overloaded the machine until tests hit their hang bounds.
func Parallel() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

func run(m *testing.M, waiting bool) int {
	noExitSleep()
	if waiting {
		flag.Parse()
		given, fuzzing := false, false
		flag.Visit(func(f *flag.Flag) {
			given = given || f.Name == "test.parallel"
			fuzzing = fuzzing || f.Name == "test.fuzz"
		})
		// While fuzzing, -parallel is the number of CPU-bound workers:
		// left at go test's default.
		if !given && !fuzzing {
			flag.Set("test.parallel", strconv.Itoa(Parallel()))
		}
	}
	before := runtime.NumGoroutine()
	code := m.Run()
	if raceEnabled {
		awaitStragglers(before)
	}
	return code
}

// awaitStragglers does what the race runtime's exit sleep was for, only
// when there is something to wait for: goroutines the tests left running
// may still race, and a race found before the exit makes the binary fail
// (exit 66). It waits until no more goroutines run than before the tests,
// for one second at most (the sleep's default).
func awaitStragglers(before int) {
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// exitSleep is the race runtime's option for its sleep at exit.
const exitSleep = "atexit_sleep_ms"

// noExitSleep makes a race-enabled test binary exit as soon as its tests
// are done. The race runtime sleeps atexit_sleep_ms (default 1000) before
// any race-enabled program exits, to catch races in goroutines still
// running; every test binary of `go test -race ./...` paid that second
// while holding one of go test's -p slots (15 s of 45 on 2 cores). The
// option is read once, from GORACE, when the program starts, so the binary
// starts itself again in place (exec, same process) with
// atexit_sleep_ms=0 added. Races are still found: a race during a test
// fails that test (the testing package checks for reports after each), and
// run waits for goroutines left behind (awaitStragglers) as the sleep
// would have, a race there failing the binary. An atexit_sleep_ms already
// in GORACE is left as it is.
func noExitSleep() {
	gorace := os.Getenv("GORACE")
	if !raceEnabled || strings.Contains(gorace, exitSleep) {
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	env := []string{"GORACE=" + strings.TrimSpace(gorace+" "+exitSleep+"=0")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	// It returns only when it failed: the tests then run here, with the sleep.
	exec(self, os.Args, env)
}
