package config

import (
	"testing"

	"github.com/klaxonhq/klaxon/internal/testrun"
)

// TestMain: see testrun.Main (no race detector sleep at exit).
func TestMain(m *testing.M) { testrun.Main(m) }
