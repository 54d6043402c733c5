package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/klaxonhq/klaxon/playbook"
)

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; }
td.num { font-variant-numeric: tabular-nums; }
.over { color: #b00020; font-weight: 600; } .ok { color: #0a7d32; }
.note { color: #666; } .empty { font-size: 1.2rem; }
figure { margin: 1rem 0; } figure svg { width: 100%; height: auto; }
</style>
</head>
<body>
<h1 id="title">{{.Title}}</h1>
{{if .Empty}}<p class="empty" id="empty">No incidents in this window.</p>{{else}}
<p id="counts">Incidents: {{.Total}} ({{.Open}} open){{range .BySeverity}} · {{.}}{{end}}</p>{{end}}
<p id="bottleneck"><strong>{{.Bottleneck}}</strong></p>
<h2>Time to restore per week</h2>
<figure id="chart">{{.SVG}}</figure>
<h2>Durations</h2>
<table id="durations">
<thead><tr><th>Figure</th><th>Severity</th><th>n</th><th>Mean</th><th>Median</th><th>p90</th><th>Target</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{.Figure}}</td><td>{{.Severity}}</td><td class="num">{{.Count}}</td>{{if .Count}}<td class="num">{{.Mean}}</td><td class="num">{{.P50}}</td><td class="num">{{.P90}}</td>{{else}}<td class="note" colspan="3">{{.None}}</td>{{end}}<td class="{{.Class}}">{{.Target}}</td></tr>
{{end}}</tbody>
</table>
<h2>Other figures</h2>
<ul id="lines">
{{range .Lines}}<li>{{.}}</li>
{{end}}</ul>
<p class="note">Phase targets are the P1 (SEV1) ones for every severity. Open incidents count in the totals and the frequency, not in MTTR or the phases. Generated {{.Generated}} by Klaxon.</p>
</body>
</html>
`))

type htmlRow struct {
	Figure, Severity     string
	Count                int
	Mean, P50, P90, None string
	Target, Class        string
}

func rowOf(figure, sev string, s playbook.Stat) htmlRow {
	r := htmlRow{Figure: figure, Severity: sev, Count: s.Count, Target: TargetText(s)}
	if s.Count > 0 {
		r.Mean, r.P50, r.P90 = minutes(s.Mean), minutes(s.P50), minutes(s.P90)
		if s.HasTarget {
			r.Class = "ok"
		}
		if s.Over() {
			r.Class = "over"
		}
	} else {
		r.None = NoSample
	}
	if s.Missing > 0 {
		r.Severity += fmt.Sprintf(" (+%d missing a timestamp)", s.Missing)
	}
	return r
}

// WriteHTML writes one self-contained HTML page: the figures and the chart
// as inline SVG, no script, no external resource.
func WriteHTML(w io.Writer, f playbook.Figures) error {
	var svg bytes.Buffer
	if err := NewChart(f).SVG(&svg); err != nil {
		return err
	}
	s := svg.String()
	// Drop the XML prolog: the SVG is inline in HTML.
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	rows := []htmlRow{rowOf("MTTD (first anomaly → alert)", "all", f.MTTD), rowOf("MTTA (declared → acknowledged)", "all", f.MTTA)}
	for _, sev := range playbook.Severities {
		rows = append(rows, rowOf("MTTR (detected → resolved)", sev.String(), f.MTTR[sev]))
	}
	for i, pt := range playbook.PhaseTargets {
		rows = append(rows, rowOf(pt.Name, "all", f.All[i]))
		for _, sev := range playbook.Severities {
			if st := f.Phases[sev][i]; st.Count > 0 {
				rows = append(rows, rowOf(pt.Name, sev.String(), st))
			}
		}
	}
	var bySev []string
	for _, sev := range playbook.Severities {
		bySev = append(bySev, fmt.Sprintf("%s %d", sev, f.BySeverity[sev]))
	}
	return page.Execute(w, map[string]any{
		"Title": Title(f), "Empty": f.Empty(), "Total": f.Total, "Open": f.Open, "BySeverity": bySev,
		"Bottleneck": BottleneckText(f),
		// The SVG is gonum/plot's own output from figures (numbers and
		// fixed labels); no user text goes into it.
		"SVG":       template.HTML(s), //nolint:gosec
		"Rows":      rows,
		"Lines":     Lines(f),
		"Generated": f.Now.Format("2006-01-02 15:04 UTC"),
	})
}
