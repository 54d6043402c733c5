package config

import (
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/klaxonhq/klaxon/playbook"
)

// Deploys configures the deploys posted at declaration and the deploy
// watchdog.
type Deploys struct {
	// Window is how far before detection deploys are read (deploys.window).
	Window time.Duration
	// WatchWindow is how long after a successful deploy to a service's
	// environment the service is watched: an incident declared for it
	// then is linked to that deploy (deploys.watch_window).
	WatchWindow time.Duration
	// RiskyPaths are the changed-file patterns that flag a database
	// migration or DDL (deploys.risky_paths).
	RiskyPaths []string
	// LargeDiffLines is the number of changed lines above which a deploy
	// is flagged as a large diff (deploys.large_diff_lines).
	LargeDiffLines Lines
}

// Lines is a count of changed lines. It has a String method so that a
// Config prints whole with any verb (the secrets test prints it with %s).
type Lines int

func (l Lines) String() string { return strconv.Itoa(int(l)) }

// MaxDeployWindow bounds deploys.window: deploys are read at most this far
// back (the rollback hint's own lookback).
const MaxDeployWindow = 30 * 24 * time.Hour

func defaultDeploys() Deploys {
	return Deploys{
		Window:         playbook.DefaultDeployWindow,
		WatchWindow:    playbook.DefaultWatchWindow,
		RiskyPaths:     append([]string(nil), playbook.DefaultRiskyPaths...),
		LargeDiffLines: playbook.DefaultLargeDiffLines,
	}
}

func (d *decoder) deploys(n *yaml.Node, path string, c *Deploys) {
	d.mapping(n, path, map[string]field{
		"window": func(n *yaml.Node, p string) {
			if v, node, ok := d.duration(n, p, time.Minute); ok {
				if v > MaxDeployWindow {
					d.add(node, p, "must be at most 720h (30 days)")
					return
				}
				c.Window = v
			}
		},
		"watch_window": d.durationField(&c.WatchWindow, time.Second),
		"large_diff_lines": func(n *yaml.Node, p string) {
			s, ok := d.scalar(n, p)
			if !ok {
				return
			}
			v, err := strconv.Atoi(s.val)
			if err != nil || v < 1 {
				d.add(s.node, p, "want a whole number of changed lines, at least 1, not %s", s.show())
				return
			}
			c.LargeDiffLines = Lines(v)
		},
		"risky_paths": func(n *yaml.Node, p string) {
			n = d.resolve(n)
			if isNull(n) {
				return // keeps the default, like every key left empty
			}
			if n.Kind != yaml.SequenceNode {
				d.add(n, p, "want a list of path patterns, like [migrations/, \"*.sql\"], not %s", kindName(n))
				return
			}
			out := []string{}
			ok := true
			for i, item := range n.Content {
				ip := p + "[" + strconv.Itoa(i) + "]"
				s, good := d.scalar(item, ip)
				if !good {
					ok = false
					continue
				}
				if !playbook.ValidRiskyPattern(s.val) {
					d.add(s.node, ip, "not a path pattern: %s (want dir/ for a directory, *.sql for a file name, or db/*.sql)", s.show())
					ok = false
					continue
				}
				out = append(out, s.val)
			}
			if ok {
				c.RiskyPaths = out
			}
		},
	})
}
