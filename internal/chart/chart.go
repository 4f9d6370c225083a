// Package chart draws the dashboard's charts as SVG on the server, so pages
// need no JavaScript, no external assets and no inline styles: colours come
// from classes in the page's stylesheet (kz-chart-*), and every label is
// escaped here because the caller embeds the result as trusted HTML.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Geometry of every chart, in SVG user units; the SVG scales to its box.
const (
	width   = 640.0
	height  = 240.0
	padLeft = 64.0
	padTop  = 12.0
	padBot  = 28.0
	padRite = 12.0
	gridN   = 4
	maxXTix = 7
)

// Line is a line chart, optionally with a band (e.g. a confidence interval
// or a min–max range) drawn behind the line.
type Line struct {
	Title  string   // accessible name; also the SVG <title>
	Labels []string // x-axis label per point
	Values []float64
	// Low and High, when both have len(Values) entries, draw a band.
	Low, High []float64
	// Format renders a value for the y axis and tooltips; nil uses %.0f.
	Format func(float64) string
	// Integer marks counts: grid steps are whole numbers.
	Integer bool
}

// Bar is a bar chart with one bar per label.
type Bar struct {
	Title  string
	Labels []string
	Values []float64
	Format func(float64) string
	// Integer marks counts: grid steps are whole numbers.
	Integer bool
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func format(f func(float64) string, v float64) string {
	if f == nil {
		return fmt.Sprintf("%.0f", v)
	}
	return f(v)
}

// scale returns a y range [lo, hi] covering the values, starting at zero
// unless values go negative, and the grid step: a "nice" number (1, 2, 2.5
// or 5 times a power of ten) giving at most gridN intervals, so grid lines
// land on round values. Counts (integer) never get fractional steps.
func scale(integer bool, vals ...[]float64) (lo, hi, step float64) {
	first := true
	for _, vs := range vals {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if first {
				lo, hi, first = v, v, false
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	if hi == lo {
		hi = lo + 1
	}
	step = niceStep((hi-lo)/gridN, integer)
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step) * step
	return lo, hi, step
}

// niceStep rounds v up to 1, 2, 2.5 or 5 times a power of ten (at least 1
// for integer data).
func niceStep(v float64, integer bool) float64 {
	if integer && v <= 1 {
		return 1
	}
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if integer && m == 2.5 && p == 1 {
			continue // 2.5 is not a count
		}
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

type frame struct {
	b            strings.Builder
	lo, hi, step float64
	n            int
}

func (f *frame) y(v float64) float64 {
	return padTop + (height-padTop-padBot)*(1-(v-f.lo)/(f.hi-f.lo))
}

// x is the centre of slot i of n across the plot width.
func (f *frame) x(i int) float64 {
	w := width - padLeft - padRite
	if f.n <= 1 {
		return padLeft + w/2
	}
	return padLeft + w*float64(i)/float64(f.n-1)
}

func (f *frame) open(title, kind string) {
	fmt.Fprintf(&f.b, `<svg class="kz-chart kz-chart--%s" viewBox="0 0 %g %g" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		kind, width, height, esc(title), esc(title))
}

func (f *frame) grid(fmtv func(float64) string) {
	for v := f.lo; v <= f.hi+f.step/2; v += f.step {
		y := f.y(v)
		fmt.Fprintf(&f.b, `<line class="kz-chart-grid" x1="%g" y1="%.1f" x2="%g" y2="%.1f"/>`, padLeft, y, width-padRite, y)
		fmt.Fprintf(&f.b, `<text class="kz-chart-axis" x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, padLeft-6, y, esc(format(fmtv, v)))
	}
}

func (f *frame) xLabels(labels []string, xAt func(int) float64) {
	step := 1
	if len(labels) > maxXTix {
		step = (len(labels) + maxXTix - 1) / maxXTix
	}
	for i := 0; i < len(labels); i += step {
		// Keep the outermost labels inside the picture.
		anchor := "middle"
		switch x := xAt(i); {
		case x > width-padRite-20:
			anchor = "end"
		case x < padLeft+20 && len(labels) > 1:
			anchor = "start"
		}
		fmt.Fprintf(&f.b, `<text class="kz-chart-axis" x="%.1f" y="%g" text-anchor="%s">%s</text>`, xAt(i), height-8, anchor, esc(labels[i]))
	}
}

func (f *frame) empty(title, kind, msg string) template.HTML {
	f.open(title, kind)
	fmt.Fprintf(&f.b, `<text class="kz-chart-empty" x="%g" y="%g" text-anchor="middle">%s</text></svg>`, width/2, height/2, esc(msg))
	return template.HTML(f.b.String())
}

// NoData is the text shown when a chart has no points.
var NoData = "—"

// SVG renders the line chart.
func (c Line) SVG() template.HTML {
	f := &frame{n: len(c.Values)}
	if len(c.Values) == 0 {
		return f.empty(c.Title, "line", NoData)
	}
	band := len(c.Low) == len(c.Values) && len(c.High) == len(c.Values)
	if band {
		f.lo, f.hi, f.step = scale(c.Integer, c.Values, c.Low, c.High)
	} else {
		f.lo, f.hi, f.step = scale(c.Integer, c.Values)
	}
	f.open(c.Title, "line")
	f.grid(c.Format)
	if band {
		var pts []string
		for i, v := range c.High {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", f.x(i), f.y(v)))
		}
		for i := len(c.Low) - 1; i >= 0; i-- {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", f.x(i), f.y(c.Low[i])))
		}
		fmt.Fprintf(&f.b, `<polygon class="kz-chart-band" points="%s"/>`, strings.Join(pts, " "))
	}
	var pts []string
	for i, v := range c.Values {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", f.x(i), f.y(v)))
	}
	fmt.Fprintf(&f.b, `<polyline class="kz-chart-line" fill="none" points="%s"/>`, strings.Join(pts, " "))
	for i, v := range c.Values {
		label := ""
		if i < len(c.Labels) {
			label = c.Labels[i]
		}
		fmt.Fprintf(&f.b, `<circle class="kz-chart-dot" cx="%.1f" cy="%.1f" r="3"><title>%s: %s</title></circle>`,
			f.x(i), f.y(v), esc(label), esc(format(c.Format, v)))
	}
	f.xLabels(c.Labels, f.x)
	f.b.WriteString(`</svg>`)
	return template.HTML(f.b.String())
}

// SVG renders the bar chart.
func (c Bar) SVG() template.HTML {
	f := &frame{n: len(c.Values)}
	if len(c.Values) == 0 {
		return f.empty(c.Title, "bar", NoData)
	}
	f.lo, f.hi, f.step = scale(c.Integer, c.Values)
	f.open(c.Title, "bar")
	f.grid(c.Format)
	slot := (width - padLeft - padRite) / float64(len(c.Values))
	barW := math.Max(1, slot*0.7)
	center := func(i int) float64 { return padLeft + slot*(float64(i)+0.5) }
	zero := f.y(0)
	for i, v := range c.Values {
		y := f.y(v)
		top, h := y, zero-y
		if v < 0 {
			top, h = zero, y-zero
		}
		label := ""
		if i < len(c.Labels) {
			label = c.Labels[i]
		}
		fmt.Fprintf(&f.b, `<rect class="kz-chart-bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			center(i)-barW/2, top, barW, math.Max(h, 0), esc(label), esc(format(c.Format, v)))
	}
	f.xLabels(c.Labels, center)
	f.b.WriteString(`</svg>`)
	return template.HTML(f.b.String())
}
