package chart

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
)

// wellFormed parses the SVG as XML: a stray unescaped label would break it.
func wellFormed(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
	}
}

func TestLineEscapesLabelsAndDrawsBand(t *testing.T) {
	c := Line{
		Title:  `Revenue <script>alert(1)</script>`,
		Labels: []string{`<b>"x"</b>`, "b", "c"},
		Values: []float64{1, 5, 3},
		Low:    []float64{0, 4, 2},
		High:   []float64{2, 6, 4},
	}
	svg := string(c.SVG())
	wellFormed(t, svg)
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<b>") {
		t.Fatalf("unescaped label in %s", svg)
	}
	if !strings.Contains(svg, "&lt;script&gt;") {
		t.Fatalf("title not escaped: %s", svg)
	}
	if !strings.Contains(svg, `class="kz-chart-band"`) {
		t.Fatal("band missing")
	}
	if strings.Count(svg, "<circle") != 3 {
		t.Fatalf("want 3 points, got %d", strings.Count(svg, "<circle"))
	}
	if strings.Contains(svg, "style=") {
		t.Fatal("inline style would break the CSP")
	}
}

func TestLineWithoutBand(t *testing.T) {
	svg := string(Line{Title: "t", Labels: []string{"a"}, Values: []float64{2}, Low: []float64{1}}.SVG())
	wellFormed(t, svg)
	if strings.Contains(svg, "kz-chart-band") {
		t.Fatal("band drawn from mismatched Low/High")
	}
}

func TestBarNegativeAndFormat(t *testing.T) {
	c := Bar{Title: "Orders", Labels: []string{"Mon", "Tue"}, Values: []float64{10, -4},
		Format: func(v float64) string { return fmt.Sprintf("¥%.0f", v) }}
	svg := string(c.SVG())
	wellFormed(t, svg)
	if strings.Count(svg, "<rect") != 2 {
		t.Fatalf("want 2 bars: %s", svg)
	}
	if !strings.Contains(svg, "Tue: ¥-4") {
		t.Fatalf("tooltip missing formatted value: %s", svg)
	}
	if strings.Contains(svg, `height="-`) {
		t.Fatal("negative height")
	}
}

func TestEmpty(t *testing.T) {
	for _, svg := range []string{string(Line{Title: "x"}.SVG()), string(Bar{Title: "y"}.SVG())} {
		wellFormed(t, svg)
		if !strings.Contains(svg, "kz-chart-empty") {
			t.Fatalf("empty chart has no message: %s", svg)
		}
	}
}

func TestNiceScale(t *testing.T) {
	cases := []struct {
		in           []float64
		integer      bool
		lo, hi, step float64
	}{
		{[]float64{0, 7}, false, 0, 8, 2},
		{[]float64{3, 180}, false, 0, 200, 50},
		{[]float64{-30, 90}, false, -50, 100, 50},
		{[]float64{0, 0}, false, 0, 1, 0.25},
		{[]float64{0, 0}, true, 0, 1, 1},
		{[]float64{1200}, false, 0, 1500, 500},
		{[]float64{2, 1}, true, 0, 2, 1},
		{[]float64{0, 3}, true, 0, 3, 1},
		{[]float64{0, 9}, true, 0, 10, 5},
		{[]float64{0, 123450}, false, 0, 150000, 50000},
	}
	for _, c := range cases {
		lo, hi, step := scale(c.integer, c.in)
		if lo != c.lo || hi != c.hi || step != c.step {
			t.Errorf("scale(%v, %v) = %v,%v step %v; want %v,%v step %v", c.integer, c.in, lo, hi, step, c.lo, c.hi, c.step)
		}
		if n := (hi - lo) / step; n > gridN+1e-9 {
			t.Errorf("scale(%v): %v intervals, want at most %d", c.in, n, gridN)
		}
	}
}

func TestIntegerAxisHasWholeLabels(t *testing.T) {
	svg := string(Bar{Title: "n", Labels: []string{"a", "b"}, Values: []float64{1, 2}, Integer: true,
		Format: func(v float64) string { return fmt.Sprintf("%g", v) }}.SVG())
	if strings.Contains(svg, ">0.5<") || strings.Contains(svg, ">1.5<") {
		t.Fatalf("fractional grid labels on a count axis: %s", svg)
	}
}
