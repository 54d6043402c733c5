package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CheckOptions tune Check.
type CheckOptions struct {
	// NoEnv validates a config without its secrets, for a CI pipeline: an
	// unset ${VAR} reads as empty, and the tokens it leaves empty are not
	// required (each is a warning instead).
	NoEnv bool
}

// Check loads path as `klaxon run` would and returns, in one pass, every
// problem: the file's (syntax, keys, values, unset variables) and those that
// only stop a run (tokens, announce channel, a bbolt store.path that cannot
// be created or written: looked at, never created), so that fixing the first
// round never reveals a second. Warnings are returned apart: values marked
// as placeholders (a "placeholder" comment on their line, as in
// config.example.yaml) and, with NoEnv, the secrets not checked. The Config
// is nil when there are problems.
func Check(path string, getenv func(string) (string, bool), opts CheckOptions) (*Config, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	var warnings []Problem
	if opts.NoEnv {
		real := getenv
		getenv = func(k string) (string, bool) {
			v, _ := real(k)
			return v, true
		}
	}
	d := newDecoder(filepath.Dir(path), getenv, osFiles{})
	cfg := Default()
	root, syntaxErr := parseYAML(data)
	if syntaxErr != nil {
		d.problems = append(d.problems, yamlProblem(syntaxErr))
	} else if root != nil {
		d.root(root, cfg)
		warnings = placeholders(root, "", warnings)
	}
	ps := d.problems
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.Path] = true
	}
	// What stops run's store.Open, looked at without creating anything.
	if syntaxErr == nil && cfg.Store.Driver == DriverBolt && !seen["store.path"] {
		if msg := checkStorePath(cfg.Store.Path); msg != "" {
			ps = append(ps, Problem{Path: "store.path", Line: d.storePathLine, Msg: msg})
		}
	}
	var run *Problems
	if err := cfg.CheckRun(); errors.As(err, &run) {
		for _, p := range run.List {
			if seen[p.Path] {
				continue // already said (an unset variable, a bad value)
			}
			if opts.NoEnv && (p.Path == "slack.app_token" || p.Path == "slack.bot_token") && strings.HasPrefix(p.Msg, "required to run") {
				warnings = append(warnings, Problem{Path: p.Path, Line: p.Line, Msg: "empty, not checked (--no-env): " + p.Msg})
				continue
			}
			ps = append(ps, p)
		}
	}
	sortProblems(warnings)
	if len(ps) > 0 {
		sortProblems(ps)
		return nil, warnings, &Problems{List: ps}
	}
	return cfg, warnings, nil
}

// placeholders collects the values whose line carries a comment with the
// word "placeholder": example values to replace before a real run.
func placeholders(n *yaml.Node, path string, out []Problem) []Problem {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			out = placeholders(c, path, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			out = placeholders(v, joinKey(path, k.Value), out)
			if marked(k) || (v.Kind != yaml.MappingNode && marked(v)) {
				out = append(out, Problem{Path: joinKey(path, k.Value), Line: v.Line,
					Msg: placeholderMsg(firstComment(k, v))})
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			out = placeholders(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
	return out
}

func marked(n *yaml.Node) bool {
	return strings.Contains(strings.ToLower(n.LineComment), "placeholder")
}

func firstComment(ns ...*yaml.Node) string {
	for _, n := range ns {
		if n.LineComment != "" {
			return n.LineComment
		}
	}
	return ""
}

func placeholderMsg(comment string) string {
	c := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(comment), "#"))
	c = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(c, "placeholder"), ":"))
	if c == "" {
		return "a placeholder: replace it with your own value"
	}
	return "a placeholder (" + c + "): replace it with your own value"
}
