package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Gauge is a half-circle dial for one score on a fixed range (NPS runs
// from −100 to 100), with the score's confidence interval drawn as a
// thicker arc over the track: the needle says where the estimate is, the
// arc how far the truth may lie from it.
type Gauge struct {
	Title    string // accessible name; also the SVG <title>
	Min, Max float64
	// Value is the score; HasValue false draws the empty dial with NoData.
	Value    float64
	HasValue bool
	// Low and High draw the interval arc when HasBand is set.
	Low, High float64
	HasBand   bool
	// Caution marks an estimate resting on too few answers: the needle and
	// the number are drawn in the caution style (kz-chart-caution).
	Caution bool
	Format  func(float64) string
	// Caption is a short line under the number (e.g. the interval in
	// words); escaped.
	Caption string
}

// Dial geometry: a half circle of radius gaugeR centred at (gaugeCX, gaugeCY).
const (
	gaugeW  = 240.0
	gaugeH  = 176.0
	gaugeCX = 120.0
	gaugeCY = 118.0
	gaugeR  = 96.0
)

// point is where value v sits on the dial's arc of radius r.
func (g Gauge) point(v, r float64) (x, y float64) {
	t := (clamp(v, g.Min, g.Max) - g.Min) / (g.Max - g.Min)
	a := math.Pi * (1 - t)
	return gaugeCX + r*math.Cos(a), gaugeCY - r*math.Sin(a)
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// arc is the SVG path of the dial's arc from value a to value b (a ≤ b).
func (g Gauge) arc(a, b float64) string {
	x0, y0 := g.point(a, gaugeR)
	x1, y1 := g.point(b, gaugeR)
	// At most half a circle, drawn clockwise (left to right over the top).
	return fmt.Sprintf("M %.1f %.1f A %g %g 0 0 1 %.1f %.1f", x0, y0, gaugeR, gaugeR, x1, y1)
}

// SVG renders the gauge.
func (g Gauge) SVG() template.HTML {
	if !(g.Max > g.Min) {
		g.Min, g.Max = 0, 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="kz-chart kz-chart--gauge" viewBox="0 0 %g %g" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		gaugeW, gaugeH, esc(g.Title), esc(g.Title))
	fmt.Fprintf(&b, `<path class="kz-chart-gauge-track" fill="none" d="%s"/>`, g.arc(g.Min, g.Max))
	// Zero, when the range spans it, is the line between more detractors
	// and more promoters.
	if g.Min < 0 && g.Max > 0 {
		x0, y0 := g.point(0, gaugeR-12)
		x1, y1 := g.point(0, gaugeR+12)
		fmt.Fprintf(&b, `<line class="kz-chart-gauge-tick" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x0, y0, x1, y1)
	}
	fmt.Fprintf(&b, `<text class="kz-chart-axis" x="%.1f" y="%g" text-anchor="middle">%s</text>`, gaugeCX-gaugeR, gaugeCY+16, esc(format(g.Format, g.Min)))
	fmt.Fprintf(&b, `<text class="kz-chart-axis" x="%.1f" y="%g" text-anchor="middle">%s</text>`, gaugeCX+gaugeR, gaugeCY+16, esc(format(g.Format, g.Max)))
	if !g.HasValue {
		fmt.Fprintf(&b, `<text class="kz-chart-empty" x="%g" y="%g" text-anchor="middle">%s</text></svg>`, gaugeCX, gaugeCY-8, esc(NoData))
		return template.HTML(b.String())
	}
	caution := ""
	if g.Caution {
		caution = " kz-chart-caution"
	}
	if g.HasBand {
		lo, hi := math.Min(g.Low, g.High), math.Max(g.Low, g.High)
		fmt.Fprintf(&b, `<path class="kz-chart-gauge-band%s" fill="none" d="%s"><title>%s – %s</title></path>`,
			caution, g.arc(lo, hi), esc(format(g.Format, lo)), esc(format(g.Format, hi)))
	}
	x, y := g.point(g.Value, gaugeR-18)
	fmt.Fprintf(&b, `<line class="kz-chart-gauge-needle%s" x1="%g" y1="%g" x2="%.1f" y2="%.1f"/>`, caution, gaugeCX, gaugeCY, x, y)
	fmt.Fprintf(&b, `<circle class="kz-chart-gauge-hub" cx="%g" cy="%g" r="4"/>`, gaugeCX, gaugeCY)
	// The number sits under the hub, where the needle never crosses it.
	fmt.Fprintf(&b, `<text class="kz-chart-gauge-value%s" x="%g" y="%g" text-anchor="middle">%s</text>`, caution, gaugeCX, gaugeCY+36, esc(format(g.Format, g.Value)))
	if g.Caption != "" {
		fmt.Fprintf(&b, `<text class="kz-chart-axis" x="%g" y="%g" text-anchor="middle">%s</text>`, gaugeCX, gaugeH-4, esc(g.Caption))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
