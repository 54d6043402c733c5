// Package report renders the figures (playbook.Figures) for people and
// scripts: a text table, CSV, JSON with stable names, and one self-contained
// HTML page with the chart inline as SVG; and the chart itself, as PNG for
// Slack. It prints figures only, never titles, notes or other user text, so
// that GET /report can be as open as /metrics.
//
// It imports playbook; bot (the /incident stats answer) and cmd/klaxon
// import it.
package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// Format is an output format of `klaxon report` and GET /report.
type Format string

// The formats.
const (
	Table Format = "table"
	CSV   Format = "csv"
	JSON  Format = "json"
	HTML  Format = "html"
)

// ParseFormat reads a format name; "" is the table.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return Table, nil
	case Table, CSV, JSON, HTML:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: use table, csv, json or html", s)
}

// ContentType is the HTTP content type of f.
func (f Format) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case JSON:
		return "application/json"
	case HTML:
		return "text/html; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// Write renders f in format.
func Write(w io.Writer, f playbook.Figures, format Format) error {
	switch format {
	case CSV:
		return WriteCSV(w, f)
	case JSON:
		return WriteJSON(w, f)
	case HTML:
		return WriteHTML(w, f)
	}
	return WriteTable(w, f)
}

// Notes said instead of a figure that has no data.
const (
	NoIncidents  = "no incidents"
	NoPagingData = "no paging data"
	NoDeployData = "no deploy data"
	NoSample     = "no sample"
)

// phaseKey is the JSON and CSV name of phase i.
func phaseKey(i int) string { return strings.ToLower(playbook.PhaseTargets[i].Name) }

// seconds renders a duration as seconds, never rounded to minutes.
func seconds(d time.Duration) float64 { return d.Seconds() }

// minutes renders a duration for people: "1 h 14 min", "45 s".
func minutes(d time.Duration) string { return playbook.HumanDuration(d.Round(time.Second)) }
