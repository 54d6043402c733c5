package main

import (
	"strings"
	"testing"
)

// TestPlaygroundOffLoopbackIsWarned: the playground page acts as anyone, so
// an --addr beyond this machine is warned about; loopback ones are not.
func TestPlaygroundOffLoopbackIsWarned(t *testing.T) {
	t.Parallel()
	for addr, warned := range map[string]bool{
		"127.0.0.1:8090": false, "localhost:8090": false, "[::1]:8090": false, "127.0.0.2:1": false,
		"0.0.0.0:8090": true, ":8090": true, "192.168.1.10:8090": true, "[::]:8090": true, "example.com:80": true,
	} {
		w := exposedPlayground(addr)
		if (w != "") != warned {
			t.Errorf("%s: warning %q, want warned=%v", addr, w, warned)
		}
		if warned && !strings.Contains(w, "127.0.0.1") {
			t.Errorf("%s: the warning does not say what to use instead: %q", addr, w)
		}
	}
}
