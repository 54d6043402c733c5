package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/klaxonhq/klaxon/playbook"
)

// CSVHeader is the CSV's header row (a contract with scripts).
var CSVHeader = []string{"figure", "severity", "phase", "count", "mean_seconds", "p50_seconds", "p90_seconds", "target_seconds"}

func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// WriteCSV writes one row per duration figure (empty cells where there is
// no sample or no target), then the incident counts and the bottleneck.
func WriteCSV(w io.Writer, f playbook.Figures) error {
	d := NewDoc(f)
	cw := csv.NewWriter(w)
	row := func(figure, sev, phase string, s DocStat) {
		cw.Write([]string{figure, sev, phase, strconv.Itoa(s.Count), num(s.Mean), num(s.P50), num(s.P90), num(s.Target)})
	}
	cw.Write(CSVHeader)
	cw.Write([]string{"incidents", "", "", strconv.Itoa(d.Incidents.Total), "", "", "", ""})
	cw.Write([]string{"incidents_open", "", "", strconv.Itoa(d.Incidents.Open), "", "", "", ""})
	for _, s := range playbook.Severities {
		cw.Write([]string{"incidents", s.String(), "", strconv.Itoa(d.Incidents.BySeverity[s.String()]), "", "", "", ""})
	}
	row("mttd", "", "", d.MTTD)
	row("mtta", "", "", d.MTTA)
	for _, s := range playbook.Severities {
		row("mttr", s.String(), "", d.MTTR[s.String()])
	}
	for i := range playbook.PhaseTargets {
		k := phaseKey(i)
		for _, s := range playbook.Severities {
			row("phase", s.String(), k, d.Phases[k][s.String()])
		}
		row("phase", "all", k, d.Phases[k]["all"])
	}
	if d.Bottleneck != nil {
		cw.Write([]string{"bottleneck", "", *d.Bottleneck, "", "", "", "", ""})
	}
	cw.Flush()
	return cw.Error()
}

// StatText says a duration figure for people.
func StatText(s playbook.Stat) string {
	if s.Count == 0 {
		if s.Missing > 0 {
			return fmt.Sprintf("%s (%d missing a timestamp)", NoSample, s.Missing)
		}
		return NoSample
	}
	t := fmt.Sprintf("mean %s · median %s · p90 %s · n=%d", minutes(s.Mean), minutes(s.P50), minutes(s.P90), s.Count)
	if s.Missing > 0 {
		t += fmt.Sprintf(" (+%d missing a timestamp)", s.Missing)
	}
	return t
}

// TargetText says a figure's target and whether its mean is over it.
func TargetText(s playbook.Stat) string {
	if !s.HasTarget {
		return "–"
	}
	mark := ""
	if s.Count > 0 {
		mark = " ✓"
		if s.Over() {
			mark = " ✗ over"
		}
	}
	return "< " + minutes(s.Target) + mark
}

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" }

// Lines are the non-duration figures as sentences, shared by the table,
// the HTML page and Slack.
func Lines(f playbook.Figures) []string {
	var out []string
	fr := f.Frequency
	trend := "no trend yet (fewer than two whole weeks)"
	if fr.HasTrend {
		switch {
		case fr.Slope > 0.005:
			trend = fmt.Sprintf("rising by %.2f a week", fr.Slope)
		case fr.Slope < -0.005:
			trend = fmt.Sprintf("falling by %.2f a week", -fr.Slope)
		default:
			trend = "flat"
		}
	}
	out = append(out, fmt.Sprintf("SEV1+SEV2 incidents: %.1f a week, %s", fr.PerWeek, trend))
	p := f.Postmortems
	if p.Required == 0 {
		out = append(out, "Post-mortems on time: none required")
	} else {
		s := fmt.Sprintf("Post-mortems on time (SEV1 ≤ 24 h, SEV2 ≤ 48 h): %d of %d", p.OnTime, p.Counted())
		if p.Counted() > 0 {
			s += " (" + pct(100*float64(p.OnTime)/float64(p.Counted())) + ")"
		}
		s += fmt.Sprintf("; %d late, %d overdue, %d not due yet", p.Late, p.Overdue, p.Pending)
		if p.DoneUnknown > 0 {
			s += fmt.Sprintf(", %d done at an unrecorded time", p.DoneUnknown)
		}
		out = append(out, s)
	}
	a := f.Actions
	if r, ok := a.Rate(); ok {
		s := fmt.Sprintf("Action items closed by their deadline: %s (%d of %d; target > %d%%); %d late, %d overdue, %d not due yet",
			pct(r), a.OnTime, a.Counted(), playbook.TargetActionCompletion, a.Late, a.Overdue, a.NotDue)
		if a.ClosedUnknown > 0 {
			s += fmt.Sprintf(", %d closed at an unrecorded time", a.ClosedUnknown)
		}
		out = append(out, s)
	} else {
		out = append(out, fmt.Sprintf("Action items closed by their deadline: none due yet (%d recorded)", a.Total))
	}
	pg := f.Pager
	switch {
	case !pg.Data:
		out = append(out, "Pager load: "+NoPagingData)
	case pg.EngineerWeeks == 0:
		out = append(out, fmt.Sprintf("Pager load: no pages in the window (%d unattributed)", pg.Unattributed))
	default:
		out = append(out, fmt.Sprintf("Pager load: %.1f pages per paged engineer per week (target < %d), most %d; %d engineer-weeks at %d or more",
			pg.PerEngineerWeek, playbook.TargetPagesPerWeek, pg.Max, len(pg.Flagged), playbook.PagerFlagPerWeek))
	}
	if r, ok := f.Repeats.Rate(); ok {
		out = append(out, fmt.Sprintf("Repeat incidents: %s (%d of %d; target < %d%%)", pct(r), f.Repeats.Repeats, f.Repeats.Incidents, playbook.TargetRepeatRate))
	} else {
		out = append(out, "Repeat incidents: "+NoIncidents)
	}
	if !f.ChangeFailure.Data {
		out = append(out, "Change failure rate: "+NoDeployData)
	} else {
		var parts []string
		for _, s := range f.ChangeFailure.Services {
			if s.Deploys > 0 {
				parts = append(parts, fmt.Sprintf("%s %s (%d of %d)", s.Service, pct(100*float64(s.Failed)/float64(s.Deploys)), s.Failed, s.Deploys))
			}
		}
		if len(parts) == 0 {
			parts = []string{"no deploys in the window"}
		}
		out = append(out, "Change failure rate: "+strings.Join(parts, ", "))
	}
	return out
}

// Title says what the figures cover.
func Title(f playbook.Figures) string {
	w := f.Query.Window
	t := fmt.Sprintf("Incident figures %s – %s (UTC)", w.From.Format("2006-01-02 15:04"), w.To.Format("2006-01-02 15:04"))
	if f.Query.Service != "" {
		t += ", service " + f.Query.Service
	}
	return t
}

// BottleneckText names the bottleneck and the rule that chose it.
func BottleneckText(f playbook.Figures) string {
	if f.Bottleneck == "" {
		return "Bottleneck: none (no phase has a sample)"
	}
	for i, pt := range playbook.PhaseTargets {
		if pt.Name != f.Bottleneck {
			continue
		}
		s := f.All[i]
		if f.BottleneckOver {
			return fmt.Sprintf("Bottleneck: %s, mean %s against a %s target (over by %s)", pt.Name, minutes(s.Mean), minutes(s.Target), minutes(s.Mean-s.Target))
		}
		return fmt.Sprintf("Bottleneck: %s, mean %s, %d%% of its %s target (no phase is over its target)", pt.Name, minutes(s.Mean),
			int(100*float64(s.Mean)/float64(s.Target)), minutes(s.Target))
	}
	return "Bottleneck: " + f.Bottleneck
}

// WriteTable writes the figures as an aligned text table for a terminal.
func WriteTable(w io.Writer, f playbook.Figures) error {
	fmt.Fprintln(w, Title(f))
	if f.Empty() {
		fmt.Fprintln(w, "\n"+strings.ToUpper(NoIncidents[:1])+NoIncidents[1:]+" in this window.")
	} else {
		fmt.Fprintf(w, "\nIncidents: %d (%d open)", f.Total, f.Open)
		for _, s := range playbook.Severities {
			fmt.Fprintf(w, " · %s %d", s, f.BySeverity[s])
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nFIGURE\tSEVERITY\tVALUE\tTARGET")
	fmt.Fprintf(tw, "MTTD (first anomaly → alert)\tall\t%s, of %d incidents\t%s\n", StatText(f.MTTD), f.Total, TargetText(f.MTTD))
	fmt.Fprintf(tw, "MTTA (declared → acknowledged)\tall\t%s\t%s\n", StatText(f.MTTA), TargetText(f.MTTA))
	for _, s := range playbook.Severities {
		fmt.Fprintf(tw, "MTTR (detected → resolved)\t%s\t%s\t%s\n", s, StatText(f.MTTR[s]), TargetText(f.MTTR[s]))
	}
	for i, pt := range playbook.PhaseTargets {
		fmt.Fprintf(tw, "%s\tall\t%s\t%s\n", pt.Name, StatText(f.All[i]), TargetText(f.All[i]))
		for _, s := range playbook.Severities {
			if st := f.Phases[s][i]; st.Count > 0 {
				fmt.Fprintf(tw, "\t%s\t%s\t%s\n", s, StatText(st), TargetText(st))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n"+BottleneckText(f))
	for _, l := range Lines(f) {
		fmt.Fprintln(w, l)
	}
	_, err := fmt.Fprintln(w, "\nPhase targets are the P1 (SEV1) ones for every severity. Open incidents count in the totals and the frequency, not in MTTR or the phases.")
	return err
}
