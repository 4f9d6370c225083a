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
		in     []float64
		lo, hi float64
	}{
		{[]float64{0, 7}, 0, 10},
		{[]float64{3, 180}, 0, 200},
		{[]float64{-30, 90}, -50, 100},
		{[]float64{0, 0}, 0, 1},
		{[]float64{1200}, 0, 2000},
	}
	for _, c := range cases {
		lo, hi := scale(c.in)
		if lo != c.lo || hi != c.hi {
			t.Errorf("scale(%v) = %v,%v want %v,%v", c.in, lo, hi, c.lo, c.hi)
		}
	}
}
