package chart

import (
	"fmt"
	"strings"
	"testing"
)

func TestGaugeDrawsIntervalArcAndEscapes(t *testing.T) {
	g := Gauge{Title: `NPS <script>x</script>`, Min: -100, Max: 100, Value: 25, HasValue: true, Low: -9.5, High: 53, HasBand: true,
		Caption: `n = 20 & "few"`, Format: func(v float64) string { return fmt.Sprintf("%.0f", v) }}
	svg := string(g.SVG())
	wellFormed(t, svg)
	if strings.Contains(svg, "<script>") || !strings.Contains(svg, "&lt;script&gt;") || !strings.Contains(svg, "&amp; &#34;few&#34;") {
		t.Fatalf("unescaped text: %s", svg)
	}
	for _, want := range []string{`class="kz-chart-gauge-band"`, `class="kz-chart-gauge-needle"`, `>25</text>`, `<title>-10 – 53</title>`, `role="img"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("missing %s in %s", want, svg)
		}
	}
	// The needle of 25 on −100…100 points 3/8 of the way from the top
	// centre to the right: x > centre, y above the centre.
	if strings.Contains(svg, "style=") {
		t.Fatal("inline style would break the CSP")
	}
	x, y := g.point(25, gaugeR)
	if !(x > gaugeCX && y < gaugeCY) {
		t.Fatalf("25 drawn at (%v, %v)", x, y)
	}
	if x0, _ := g.point(-100, gaugeR); x0 != gaugeCX-gaugeR {
		t.Fatalf("−100 at x = %v", x0)
	}
	// Out-of-range values stay on the dial.
	if x1, _ := g.point(500, gaugeR); x1 != gaugeCX+gaugeR {
		t.Fatalf("500 at x = %v", x1)
	}
}

func TestGaugeCautionAndEmpty(t *testing.T) {
	svg := string(Gauge{Title: "t", Min: -100, Max: 100, Value: 10, HasValue: true, Caution: true}.SVG())
	wellFormed(t, svg)
	if !strings.Contains(svg, "kz-chart-gauge-needle kz-chart-caution") || strings.Contains(svg, "gauge-band") {
		t.Fatalf("caution gauge: %s", svg)
	}
	empty := string(Gauge{Title: "t", Min: -100, Max: 100}.SVG())
	wellFormed(t, empty)
	if strings.Contains(empty, "needle") || !strings.Contains(empty, "kz-chart-empty") {
		t.Fatalf("empty gauge: %s", empty)
	}
}

func TestBandBreaksAtGapsAndMarksLowSamples(t *testing.T) {
	pts := []BandPoint{
		{Label: "W1", Value: 10, Valid: true, Low: -5, High: 25, HasInterval: true},
		{Label: "W2", Value: 20, Valid: true, Low: 5, High: 35, HasInterval: true, Caution: true, Note: `W2 <n=3>`},
		{Label: "W3"}, // no answers
		{Label: "W4", Value: 30, Valid: true, Low: 15, High: 45, HasInterval: true},
		{Label: "W5", Value: 40, Valid: true, Low: 25, High: 55, HasInterval: true},
	}
	svg := string(Band{Title: "NPS trend", Points: pts, Bounded: true, Floor: -100, Ceil: 100}.SVG())
	wellFormed(t, svg)
	if n := strings.Count(svg, `<polygon class="kz-chart-band"`); n != 2 {
		t.Errorf("%d band polygons, want 2 (the gap splits the band)", n)
	}
	if n := strings.Count(svg, "<polyline"); n != 2 {
		t.Errorf("%d lines, want 2", n)
	}
	if n := strings.Count(svg, "<circle"); n != 4 {
		t.Errorf("%d dots, want 4 (none for the empty bucket)", n)
	}
	if !strings.Contains(svg, `class="kz-chart-dot kz-chart-caution"`) || !strings.Contains(svg, "W2 &lt;n=3&gt;") {
		t.Errorf("low-sample dot or its escaped note missing: %s", svg)
	}
	// A lone bucket with an interval gets a whisker.
	one := string(Band{Title: "t", Points: []BandPoint{{Label: "a", Value: 1, Valid: true, Low: 0, High: 2, HasInterval: true}}}.SVG())
	wellFormed(t, one)
	if !strings.Contains(one, "kz-chart-whisker") {
		t.Errorf("lone bucket: %s", one)
	}
	none := string(Band{Title: "t", Points: []BandPoint{{Label: "a"}}}.SVG())
	wellFormed(t, none)
	if !strings.Contains(none, "kz-chart-empty") {
		t.Errorf("no values: %s", none)
	}
}

func TestStackedSegments(t *testing.T) {
	c := Stacked{Title: "Expectation vs perception", Series: []string{"Dissatisfied", "Satisfied", "Delighted"},
		Rows: []StackedRow{
			{Label: `Quality <b>`, Shares: []float64{0.25, 0.5, 0.25}, Notes: []string{"25%", "50%", "25%"}},
			{Label: "Price", Shares: []float64{0, 1, 0}},
			{Label: "Unanswered", Shares: []float64{0, 0, 0}},
		}}
	svg := string(c.SVG())
	wellFormed(t, svg)
	if strings.Contains(svg, "<b>") || !strings.Contains(svg, "Quality &lt;b&gt;") {
		t.Fatalf("label not escaped: %s", svg)
	}
	// Row 1: three segments; row 2: one; row 3 an empty track (no segment).
	// Plus three legend swatches.
	if n := strings.Count(svg, `class="kz-chart-seg-`); n != 3+3+1 {
		t.Errorf("%d segments, want 7", n)
	}
	if !strings.Contains(svg, `width="488.0" height="20"><title>Satisfied</title>`) {
		t.Errorf("a 100%% segment should span the whole bar: %s", svg)
	}
}
