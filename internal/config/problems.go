package config

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a config file.
type Problem struct {
	// Path is the key path, like "services[2].runbook"; "" for the file as a
	// whole (a YAML syntax error).
	Path string
	// Line is the 1-based line in the file, or 0 when unknown (a required key
	// that is missing, a check on a Config built in code).
	Line int
	// Msg says what is wrong and, where it helps, what would be right. It
	// never contains a secret.
	Msg string
}

// String renders "line 14: services[2].runbook: not a URL".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is the error returned for a config with problems: all of them, so
// that one run of check-config shows everything to fix.
type Problems struct {
	List []Problem
}

// Error lists the problems one per line, in file order.
func (ps *Problems) Error() string {
	lines := make([]string, len(ps.List))
	for i, p := range ps.List {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by line so that the list reads like the file;
// problems without a line (missing keys) go last, in the order found.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
}
