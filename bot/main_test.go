package bot

import (
	"os"
	"testing"

	"github.com/klaxonhq/klaxon/internal/iobound"
)

// TestMain runs more tests at once than go test's default: most tests here
// wait on the fake Slack's sockets and on delivery loops, not on the CPU.
func TestMain(m *testing.M) { os.Exit(iobound.Run(m)) }
