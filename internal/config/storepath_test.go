package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCheckStorePath: check-config (Check) reports a bbolt store.path that
// run could not create or open, with its key path and line, and creates
// nothing while looking; a directory that does not exist yet is fine (run
// creates it).
func TestCheckStorePath(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	file := filepath.Join(tmp, "afile")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(tmp, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	roFile := filepath.Join(tmp, "ro.db")
	if err := os.WriteFile(roFile, nil, 0o400); err != nil {
		t.Fatal(err)
	}
	root := os.Geteuid() == 0
	linux := runtime.GOOS == "linux"
	procFS := kernelFS("/proc") == "proc"
	for _, c := range []struct {
		name, path string
		want       string // "" means no problem
		skip       bool
	}{
		{"a directory where the file goes", tmp, tmp + " is a directory: want the database file's path, such as " + filepath.Join(tmp, "klaxon.db"), false},
		{"a file where a directory goes", file + "/klaxon.db", file + " is a file, not a directory, so " + file + "/klaxon.db cannot be created", false},
		{"a file two levels up", file + "/sub/klaxon.db", file + " is a file, not a directory", false},
		{"missing directories are created by run", tmp + "/new/sub/klaxon.db", "", false},
		{"an existing file", file, "", false},
		{"proc", "/proc/nope/klaxon.db", "/proc/nope/klaxon.db cannot be created: /proc is on proc, a kernel file system", !procFS},
		{"a read-only directory", ro + "/klaxon.db", "the directory " + ro + " is not writable by this user", root || !linux},
		{"a read-only file", roFile, roFile + " cannot be opened for writing by this user", root || !linux},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.skip {
				t.Skip("not checkable here (root passes permission bits; /proc and access(2) are Linux's)")
			}
			cfgPath := filepath.Join(t.TempDir(), "klaxon.yaml")
			data := "slack:\n  announce_channel: C0123456789\nstore:\n  path: " + c.path + "\n"
			if err := os.WriteFile(cfgPath, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			env := func(k string) (string, bool) {
				return map[string]string{"SLACK_APP_TOKEN": "xapp-1", "SLACK_BOT_TOKEN": "xoxb-1"}[k], true
			}
			_, _, err := Check(cfgPath, env, CheckOptions{})
			var got []Problem
			var ps *Problems
			if errors.As(err, &ps) {
				for _, p := range ps.List {
					if p.Path == "store.path" {
						got = append(got, p)
					}
				}
			}
			switch {
			case c.want == "" && len(got) > 0:
				t.Errorf("problem for a usable path: %v", got)
			case c.want != "" && (len(got) != 1 || !strings.Contains(got[0].Msg, c.want) || got[0].Line != 4):
				t.Errorf("got %v (err %v), want one store.path problem on line 4 containing %q", got, err, c.want)
			}
		})
	}
	if _, err := os.Stat(tmp + "/new"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("checking created %s/new (or: %v)", tmp, err)
	}
}
