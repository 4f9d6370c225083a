package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Stacked is a chart of horizontal 100% bars, one per row, each split into
// the same series (e.g. dissatisfied, satisfied, delighted per attribute).
// Series i is drawn with class kz-chart-seg-i, so the stylesheet decides
// the colours; a legend names them.
type Stacked struct {
	Title  string
	Series []string // legend names, in drawing order
	Rows   []StackedRow
	// Offset shifts the colour classes (series i uses kz-chart-seg-(i+Offset)),
	// so charts of different meaning need not share colours.
	Offset int
}

// StackedRow is one bar: Shares has one entry per series, each in [0, 1];
// Notes, when set, is each segment's tooltip (e.g. its share with its
// interval). All text is escaped.
type StackedRow struct {
	Label  string
	Shares []float64
	Notes  []string
}

// Layout of a Stacked chart.
const (
	stackLabelW = 140.0
	stackRowH   = 30.0
	stackBarH   = 20.0
	stackLegend = 26.0
)

// SVG renders the chart; its height grows with the rows.
func (c Stacked) SVG() template.HTML {
	h := stackLegend + stackRowH*float64(max(len(c.Rows), 1)) + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="kz-chart kz-chart--stacked" viewBox="0 0 %g %g" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		width, h, esc(c.Title), esc(c.Title))
	if len(c.Rows) == 0 {
		fmt.Fprintf(&b, `<text class="kz-chart-empty" x="%g" y="%g" text-anchor="middle">%s</text></svg>`, width/2, h/2, esc(NoData))
		return template.HTML(b.String())
	}
	// Legend.
	x := stackLabelW
	for i, s := range c.Series {
		fmt.Fprintf(&b, `<rect class="kz-chart-seg-%d" x="%.1f" y="6" width="12" height="12"/>`, i+c.Offset, x)
		fmt.Fprintf(&b, `<text class="kz-chart-axis" x="%.1f" y="16">%s</text>`, x+16, esc(s))
		x += 16 + 8*float64(len([]rune(s))) + 24
	}
	barW := width - stackLabelW - padRite
	for r, row := range c.Rows {
		top := stackLegend + stackRowH*float64(r)
		fmt.Fprintf(&b, `<text class="kz-chart-axis" x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`,
			stackLabelW-8, top+stackBarH/2, esc(row.Label))
		total := 0.0
		for _, s := range row.Shares {
			if s > 0 && !math.IsNaN(s) {
				total += s
			}
		}
		if total == 0 {
			fmt.Fprintf(&b, `<rect class="kz-chart-grid" x="%g" y="%.1f" width="%.1f" height="%g"/>`, stackLabelW, top, barW, stackBarH)
			continue
		}
		at := stackLabelW
		for i, s := range row.Shares {
			if !(s > 0) {
				continue
			}
			w := barW * s / math.Max(total, 1) // shares of a row add to 1; never overflow
			note := ""
			if i < len(row.Notes) {
				note = row.Notes[i]
			} else if i < len(c.Series) {
				note = c.Series[i]
			}
			fmt.Fprintf(&b, `<rect class="kz-chart-seg-%d" x="%.1f" y="%.1f" width="%.1f" height="%g"><title>%s</title></rect>`, i+c.Offset, at, top, w, stackBarH, esc(note))
			at += w
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
