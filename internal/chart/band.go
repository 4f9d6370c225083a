package chart

import (
	"fmt"
	"html/template"
	"strings"
)

// BandPoint is one bucket of a Band chart.
type BandPoint struct {
	Label string
	// Value is missing (Valid false) for a bucket without answers: the
	// line breaks there instead of drawing a confident zero.
	Value float64
	Valid bool
	// Low and High bound the interval when HasInterval is set.
	Low, High   float64
	HasInterval bool
	// Caution marks a bucket with too few answers (hollow, caution dot).
	Caution bool
	// Note is the dot's tooltip (e.g. "Nov 2026: 25 (−9 to 52), n = 20");
	// Label and the formatted value when empty. Escaped.
	Note string
}

// Band is a trend line with its confidence band: the band is drawn behind
// the line for every run of buckets that have an interval, the line for
// every run of buckets with a value, so gaps stay gaps.
type Band struct {
	Title  string
	Points []BandPoint
	Format func(float64) string
	// Floor and Ceil, when Bounded, clip the y range to what the figure can
	// take (NPS −100…100, a share 0…1) so a wide band near a bound does not
	// stretch the axis past values that cannot occur.
	Floor, Ceil float64
	Bounded     bool
}

// SVG renders the chart.
func (c Band) SVG() template.HTML {
	f := &frame{n: len(c.Points)}
	var vals, lows, highs []float64
	for _, p := range c.Points {
		if p.Valid {
			vals = append(vals, p.Value)
		}
		if p.HasInterval {
			lows, highs = append(lows, p.Low), append(highs, p.High)
		}
	}
	if len(vals) == 0 {
		return f.empty(c.Title, "band", NoData)
	}
	f.lo, f.hi, f.step = scale(false, vals, lows, highs)
	if c.Bounded {
		if f.lo < c.Floor {
			f.lo = c.Floor
		}
		if f.hi > c.Ceil {
			f.hi = c.Ceil
		}
	}
	f.open(c.Title, "band")
	f.grid(c.Format)
	y := func(v float64) float64 { return f.y(clamp(v, f.lo, f.hi)) }
	// Bands, one polygon per run of buckets with an interval.
	for _, run := range runs(c.Points, func(p BandPoint) bool { return p.HasInterval }) {
		var pts []string
		for _, i := range run {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", f.x(i), y(c.Points[i].High)))
		}
		for k := len(run) - 1; k >= 0; k-- {
			i := run[k]
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", f.x(i), y(c.Points[i].Low)))
		}
		if len(run) == 1 { // a lone bucket: a whisker, not a zero-width polygon
			i := run[0]
			fmt.Fprintf(&f.b, `<line class="kz-chart-band kz-chart-whisker" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, f.x(i), y(c.Points[i].High), f.x(i), y(c.Points[i].Low))
			continue
		}
		fmt.Fprintf(&f.b, `<polygon class="kz-chart-band" points="%s"/>`, strings.Join(pts, " "))
	}
	for _, run := range runs(c.Points, func(p BandPoint) bool { return p.Valid }) {
		if len(run) < 2 {
			continue
		}
		var pts []string
		for _, i := range run {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", f.x(i), y(c.Points[i].Value)))
		}
		fmt.Fprintf(&f.b, `<polyline class="kz-chart-line" fill="none" points="%s"/>`, strings.Join(pts, " "))
	}
	for i, p := range c.Points {
		if !p.Valid {
			continue
		}
		class := "kz-chart-dot"
		if p.Caution {
			class += " kz-chart-caution"
		}
		note := p.Note
		if note == "" {
			note = p.Label + ": " + format(c.Format, p.Value)
		}
		fmt.Fprintf(&f.b, `<circle class="%s" cx="%.1f" cy="%.1f" r="3.5"><title>%s</title></circle>`, class, f.x(i), y(p.Value), esc(note))
	}
	labels := make([]string, len(c.Points))
	for i, p := range c.Points {
		labels[i] = p.Label
	}
	f.xLabels(labels, f.x)
	f.b.WriteString(`</svg>`)
	return template.HTML(f.b.String())
}

// runs splits the indexes of pts where keep holds into maximal runs of
// consecutive indexes.
func runs(pts []BandPoint, keep func(BandPoint) bool) [][]int {
	var out [][]int
	var cur []int
	for i, p := range pts {
		if keep(p) {
			cur = append(cur, i)
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
