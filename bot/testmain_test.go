package bot

import (
	"testing"

	"github.com/klaxonhq/klaxon/internal/testrun"
)

// TestMain runs more tests at once than go test's default: most tests here
// wait on the fake Slack's sockets and on delivery loops, not on the CPU
// (testrun.MainWaiting).
func TestMain(m *testing.M) { testrun.MainWaiting(m) }
