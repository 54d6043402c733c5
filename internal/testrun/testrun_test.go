package testrun

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// TestRaceBinaryDoesNotSleepAtExit: this binary went through Main, so when
// it is race-enabled it runs with the exit sleep off.
func TestRaceBinaryDoesNotSleepAtExit(t *testing.T) {
	if !raceEnabled {
		t.Skip("not built with -race: the race runtime's exit sleep does not exist")
	}
	g := os.Getenv("GORACE")
	if strings.Contains(g, exitSleep+"=") && !strings.Contains(g, exitSleep+"=0") {
		t.Skipf("GORACE = %q: the caller chose the exit sleep, which Main leaves as it is", g)
	}
	if !strings.Contains(g, exitSleep+"=0") {
		t.Fatalf("GORACE = %q: Main did not start the binary again without the sleep", g)
	}
}

// testMainCall is a TestMain that hands the tests to testrun (in the file
// that declares TestMain).
var testMainCall = regexp.MustCompile(`(?s)func TestMain\(m \*testing\.M\) \{.*testrun\.Main(Waiting)?\(m\)`)

// TestEveryPackageUsesTestrun: each package with tests has a TestMain that
// goes through Main or MainWaiting, so that a new package does not bring
// the race detector's second at exit back into `go test -race ./...`.
func TestEveryPackageUsesTestrun(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	withTests := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, "_test.go") {
			dir := filepath.Dir(path)
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			withTests[dir] = withTests[dir] || testMainCall.Match(b) || dir == filepath.Join(root, "internal", "testrun")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(withTests) < 10 {
		t.Fatalf("found %d packages with tests under %s", len(withTests), root)
	}
	for dir, ok := range withTests {
		if !ok {
			rel, _ := filepath.Rel(root, dir)
			t.Errorf("%s has tests but no TestMain calling testrun.Main (or MainWaiting): add testmain_test.go as the other packages have it", rel)
		}
	}
}
