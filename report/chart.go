package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/klaxonhq/klaxon/playbook"
)

// Chart is what the chart plots: per severity, per week, the mean of each
// phase (in minutes) stacked into the week's time to restore, and the target
// lines. Tests compare this data, not pixels.
type Chart struct {
	Title  string   `json:"title"`
	Weeks  []string `json:"weeks"` // the weeks' first days, "Jan 02"
	Phases []string `json:"phases"`
	Panels []Panel  `json:"panels"`
}

// Panel is one severity's stacked bars.
type Panel struct {
	Severity string `json:"severity"`
	// Minutes[p][w] is phase p's mean in week w (0 where no incident
	// resolved); Counts[w] the week's resolved incidents with any phase.
	Minutes [][]float64  `json:"minutes"`
	Counts  []int        `json:"counts"`
	Targets []TargetLine `json:"targets"`
	Empty   bool         `json:"empty"` // no resolved incident in the window
}

// TargetLine is a horizontal line drawn across a panel.
type TargetLine struct {
	Label   string  `json:"label"`
	Minutes float64 `json:"minutes"`
}

// phaseColors are the four phases' fills (colour-blind safe, Okabe–Ito).
var phaseColors = []color.RGBA{
	{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF}, // Detection: orange
	{R: 0x56, G: 0xB4, B: 0xE9, A: 0xFF}, // Triage: sky blue
	{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}, // Remediation: vermillion
	{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF}, // Verification: green
}

// NewChart takes the plotted data from f.
func NewChart(f playbook.Figures) Chart {
	c := Chart{Title: "Time to restore per week, by phase (mean minutes)", Phases: playbook.PhaseNames()}
	for _, w := range f.Weeks {
		c.Weeks = append(c.Weeks, w.From.Format("Jan 02"))
	}
	var p1 float64
	for _, pt := range playbook.PhaseTargets {
		p1 += pt.Target.Minutes()
	}
	for _, s := range playbook.Severities {
		p := Panel{Severity: s.String(), Minutes: make([][]float64, len(playbook.PhaseTargets)), Counts: make([]int, len(f.Weeks)), Empty: true}
		for i := range p.Minutes {
			p.Minutes[i] = make([]float64, len(f.Weeks))
		}
		for w, wk := range f.Weeks {
			for i, st := range wk.Phases[s] {
				if st.Count > 0 {
					p.Minutes[i][w] = st.Mean.Minutes()
					p.Counts[w] = max(p.Counts[w], st.Count)
					p.Empty = false
				}
			}
		}
		if s == playbook.SEV1 {
			p.Targets = append(p.Targets, TargetLine{Label: "SEV1 MTTR target", Minutes: playbook.TargetMTTRSEV1.Minutes()})
		}
		p.Targets = append(p.Targets, TargetLine{Label: "sum of P1 phase targets", Minutes: p1})
		c.Panels = append(c.Panels, p)
	}
	return c
}

// plots builds one gonum plot per panel.
func (c Chart) plots() ([]*plot.Plot, error) {
	var out []*plot.Plot
	width := vg.Points(18)
	for _, p := range c.Panels {
		pl := plot.New()
		pl.Title.Text = p.Severity
		if p.Empty {
			pl.Title.Text += " (no resolved incidents)"
		}
		pl.Y.Label.Text = "minutes"
		pl.Y.Min = 0
		var below *plotter.BarChart
		top := 0.0
		for w := range c.Weeks {
			sum := 0.0
			for i := range p.Minutes {
				sum += p.Minutes[i][w]
			}
			top = max(top, sum)
		}
		for i, name := range c.Phases {
			bars, err := plotter.NewBarChart(plotter.Values(p.Minutes[i]), width)
			if err != nil {
				return nil, fmt.Errorf("chart: %s %s: %w", p.Severity, name, err)
			}
			bars.Color = phaseColors[i%len(phaseColors)]
			bars.LineStyle.Width = 0
			if below != nil {
				bars.StackOn(below)
			}
			below = bars
			pl.Add(bars)
			pl.Legend.Add(name, bars)
		}
		for i, t := range p.Targets {
			line, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: t.Minutes}, {X: float64(len(c.Weeks)) - 0.5, Y: t.Minutes}})
			if err != nil {
				return nil, err
			}
			line.Color = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xFF}
			line.Width = vg.Points(1)
			if t.Minutes != playbook.TargetMTTRSEV1.Minutes() || i > 0 {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			pl.Add(line)
			pl.Legend.Add(t.Label, line)
			top = max(top, t.Minutes)
		}
		pl.Y.Max = top * 1.15
		pl.Legend.Top = true
		pl.Legend.TextStyle.Font.Size = vg.Points(7)
		pl.NominalX(c.Weeks...)
		pl.X.Tick.Label.Font.Size = vg.Points(7)
		pl.X.Tick.Label.Rotation = 0.6
		pl.X.Tick.Label.XAlign = draw.XRight
		out = append(out, pl)
	}
	return out, nil
}

// chartW and chartH are the drawing's size: four panels in a 2×2 grid.
var chartW, chartH = vg.Points(960), vg.Points(640)

func (c Chart) draw(dc draw.Canvas) error {
	plots, err := c.plots()
	if err != nil {
		return err
	}
	rows := (len(plots) + 1) / 2
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, 2)
		for j := range 2 {
			if k := i*2 + j; k < len(plots) {
				grid[i][j] = plots[k]
			}
		}
	}
	t := draw.Tiles{Rows: rows, Cols: 2, PadX: vg.Points(16), PadY: vg.Points(16), PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	canvases := plot.Align(grid, t, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	return nil
}

// PNG renders the chart as a PNG image (for Slack).
func (c Chart) PNG() ([]byte, error) {
	img := vgimg.New(chartW, chartH)
	if err := c.draw(draw.New(img)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart: png: %w", err)
	}
	return buf.Bytes(), nil
}

// SVG writes the chart as an SVG document (inline in the HTML report).
func (c Chart) SVG(w io.Writer) error {
	img := vgsvg.New(chartW, chartH)
	if err := c.draw(draw.New(img)); err != nil {
		return err
	}
	_, err := img.WriteTo(w)
	return err
}
