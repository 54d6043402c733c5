package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// The JSON document. Its names are a contract with scripts: add, never
// rename. Durations are seconds; a figure without a sample has count 0 and
// null durations (never 0), and a rate with nothing to count is null.

// Doc is the JSON form of the figures.
type Doc struct {
	Window      DocWindow          `json:"window"`
	Service     string             `json:"service,omitempty"`
	GeneratedAt time.Time          `json:"generated_at"`
	Note        string             `json:"note,omitempty"` // "no incidents" for an empty window
	Incidents   DocIncidents       `json:"incidents"`
	MTTD        DocStat            `json:"mttd"`
	MTTA        DocStat            `json:"mtta"`
	MTTR        map[string]DocStat `json:"mttr_by_severity"`
	// Phases: phase (detection, triage, remediation, verification) →
	// severity (SEV1…SEV4, and "all") → figure.
	Phases         map[string]map[string]DocStat `json:"phases"`
	Bottleneck     *string                       `json:"bottleneck"`
	BottleneckRule string                        `json:"bottleneck_rule,omitempty"` // over_target | largest_share
	Frequency      DocFrequency                  `json:"frequency"`
	Weeks          []DocWeek                     `json:"weeks"`
	Postmortems    DocPostmortems                `json:"postmortems"`
	ActionItems    DocActions                    `json:"action_items"`
	Pager          DocPager                      `json:"pager"`
	Repeats        DocRepeats                    `json:"repeats"`
	ChangeFailure  DocChangeFailure              `json:"change_failure"`
}

// DocWindow is the span covered.
type DocWindow struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Days float64   `json:"days"`
}

// DocIncidents counts the incidents declared in the window.
type DocIncidents struct {
	Total      int            `json:"total"`
	Open       int            `json:"open"`
	BySeverity map[string]int `json:"by_severity"`
}

// DocStat is a duration figure.
type DocStat struct {
	Count   int      `json:"count"`
	Mean    *float64 `json:"mean_seconds"`
	P50     *float64 `json:"p50_seconds"`
	P90     *float64 `json:"p90_seconds"`
	Target  *float64 `json:"target_seconds"`
	Missing int      `json:"missing"` // should have counted, a timestamp is missing
	Over    bool     `json:"over_target"`
}

// DocFrequency is the SEV1+SEV2 rate.
type DocFrequency struct {
	PerWeek float64  `json:"sev1_sev2_per_week"`
	Slope   *float64 `json:"slope_per_week"` // null with fewer than two whole weeks
}

// DocWeek is one week of the series (the chart's data).
type DocWeek struct {
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Incidents int       `json:"incidents"`
	Major     int       `json:"sev1_sev2"`
	// PhaseMeans: severity → phase → mean seconds of that week's resolved incidents.
	PhaseMeans map[string]map[string]float64 `json:"phase_mean_seconds,omitempty"`
}

// DocPostmortems counts post-mortems against their due times.
type DocPostmortems struct {
	Required    int      `json:"required"`
	OnTime      int      `json:"on_time"`
	Late        int      `json:"late"`
	Overdue     int      `json:"overdue"`
	Pending     int      `json:"pending"`
	DoneUnknown int      `json:"done_time_unknown"`
	OnTimeRate  *float64 `json:"on_time_rate"` // percent of on_time+late+overdue
}

// DocActions counts action items against their deadlines.
type DocActions struct {
	Total         int      `json:"total"`
	OnTime        int      `json:"on_time"`
	Late          int      `json:"late"`
	Overdue       int      `json:"overdue"`
	NotDue        int      `json:"not_due"`
	ClosedUnknown int      `json:"closed_time_unknown"`
	BadDue        int      `json:"bad_due"`
	Rate          *float64 `json:"completion_rate"`
	Target        float64  `json:"target_rate"`
}

// DocPager is the pager load.
type DocPager struct {
	Data            bool     `json:"data"`
	Note            string   `json:"note,omitempty"`
	Pages           int      `json:"pages"`
	Unattributed    int      `json:"unattributed"`
	EngineerWeeks   int      `json:"engineer_weeks"`
	PerEngineerWeek *float64 `json:"per_engineer_week"`
	Max             *int     `json:"max_per_engineer_week"`
	Flagged         int      `json:"flagged_engineer_weeks"`
	Target          int      `json:"target_per_week"`
	FlagAt          int      `json:"flag_at"`
}

// DocRepeats is the repeat rate.
type DocRepeats struct {
	Incidents int      `json:"incidents"`
	Repeats   int      `json:"repeats"`
	Rate      *float64 `json:"rate"`
	Target    float64  `json:"target_rate"`
}

// DocChangeFailure is the change failure rate per service.
type DocChangeFailure struct {
	Data     bool         `json:"data"`
	Note     string       `json:"note,omitempty"`
	Services []DocService `json:"services"`
}

// DocService is one service's change failure rate.
type DocService struct {
	Service string   `json:"service"`
	Deploys int      `json:"deploys"`
	Failed  int      `json:"failed"`
	Rate    *float64 `json:"rate"`
}

func ptr[T any](v T) *T { return &v }

func docStat(s playbook.Stat) DocStat {
	d := DocStat{Count: s.Count, Missing: s.Missing, Over: s.Over()}
	if s.HasTarget {
		d.Target = ptr(seconds(s.Target))
	}
	if s.Count > 0 {
		d.Mean, d.P50, d.P90 = ptr(seconds(s.Mean)), ptr(seconds(s.P50)), ptr(seconds(s.P90))
	}
	return d
}

func rate(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// NewDoc builds the JSON form of f.
func NewDoc(f playbook.Figures) Doc {
	w := f.Query.Window
	d := Doc{
		Window:      DocWindow{From: w.From, To: w.To, Days: w.To.Sub(w.From).Hours() / 24},
		Service:     f.Query.Service,
		GeneratedAt: f.Now,
		Incidents:   DocIncidents{Total: f.Total, Open: f.Open, BySeverity: map[string]int{}},
		MTTD:        docStat(f.MTTD),
		MTTA:        docStat(f.MTTA),
		MTTR:        map[string]DocStat{},
		Phases:      map[string]map[string]DocStat{},
	}
	if f.Empty() {
		d.Note = NoIncidents
	}
	for _, s := range playbook.Severities {
		d.Incidents.BySeverity[s.String()] = f.BySeverity[s]
		d.MTTR[s.String()] = docStat(f.MTTR[s])
	}
	for i := range playbook.PhaseTargets {
		m := map[string]DocStat{"all": docStat(f.All[i])}
		for _, s := range playbook.Severities {
			m[s.String()] = docStat(f.Phases[s][i])
		}
		d.Phases[phaseKey(i)] = m
	}
	if f.Bottleneck != "" {
		for i, pt := range playbook.PhaseTargets {
			if pt.Name == f.Bottleneck {
				d.Bottleneck = ptr(phaseKey(i))
			}
		}
		d.BottleneckRule = "largest_share"
		if f.BottleneckOver {
			d.BottleneckRule = "over_target"
		}
	}
	d.Frequency.PerWeek = f.Frequency.PerWeek
	if f.Frequency.HasTrend {
		d.Frequency.Slope = ptr(f.Frequency.Slope)
	}
	d.Weeks = []DocWeek{}
	for _, wk := range f.Weeks {
		dw := DocWeek{From: wk.From, To: wk.To, Incidents: wk.Incidents, Major: wk.Major}
		for _, s := range playbook.Severities {
			for i, st := range wk.Phases[s] {
				if st.Count == 0 {
					continue
				}
				if dw.PhaseMeans == nil {
					dw.PhaseMeans = map[string]map[string]float64{}
				}
				if dw.PhaseMeans[s.String()] == nil {
					dw.PhaseMeans[s.String()] = map[string]float64{}
				}
				dw.PhaseMeans[s.String()][phaseKey(i)] = seconds(st.Mean)
			}
		}
		d.Weeks = append(d.Weeks, dw)
	}
	p := f.Postmortems
	d.Postmortems = DocPostmortems{Required: p.Required, OnTime: p.OnTime, Late: p.Late, Overdue: p.Overdue, Pending: p.Pending, DoneUnknown: p.DoneUnknown}
	if p.Counted() > 0 {
		d.Postmortems.OnTimeRate = ptr(100 * float64(p.OnTime) / float64(p.Counted()))
	}
	a := f.Actions
	d.ActionItems = DocActions{Total: a.Total, OnTime: a.OnTime, Late: a.Late, Overdue: a.Overdue, NotDue: a.NotDue,
		ClosedUnknown: a.ClosedUnknown, BadDue: a.BadDue, Rate: rate(a.Rate()), Target: playbook.TargetActionCompletion}
	pg := f.Pager
	d.Pager = DocPager{Data: pg.Data, Pages: pg.Pages, Unattributed: pg.Unattributed, EngineerWeeks: pg.EngineerWeeks,
		Flagged: len(pg.Flagged), Target: playbook.TargetPagesPerWeek, FlagAt: playbook.PagerFlagPerWeek}
	if !pg.Data {
		d.Pager.Note = NoPagingData
	}
	if pg.EngineerWeeks > 0 {
		d.Pager.PerEngineerWeek, d.Pager.Max = ptr(pg.PerEngineerWeek), ptr(pg.Max)
	}
	d.Repeats = DocRepeats{Incidents: f.Repeats.Incidents, Repeats: f.Repeats.Repeats, Rate: rate(f.Repeats.Rate()), Target: playbook.TargetRepeatRate}
	d.ChangeFailure = DocChangeFailure{Data: f.ChangeFailure.Data, Services: []DocService{}}
	if !f.ChangeFailure.Data {
		d.ChangeFailure.Note = NoDeployData
	}
	for _, s := range f.ChangeFailure.Services {
		ds := DocService{Service: s.Service, Deploys: s.Deploys, Failed: s.Failed}
		if s.Deploys > 0 {
			ds.Rate = ptr(100 * float64(s.Failed) / float64(s.Deploys))
		}
		d.ChangeFailure.Services = append(d.ChangeFailure.Services, ds)
	}
	return d
}

// WriteJSON writes f as one indented JSON document.
func WriteJSON(w io.Writer, f playbook.Figures) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewDoc(f))
}
