package web

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

// decimal formats v with digits decimals and the locale's digit grouping
// (both locales write 1,234.5), and a true minus sign.
func decimal(pr *i18n.Printer, v float64, digits int) string {
	p := math.Pow(10, float64(digits))
	r := math.Round(math.Abs(v)*p) / p
	sign := ""
	if v < 0 && r != 0 {
		sign = "−"
	}
	whole := math.Floor(r)
	s := sign + pr.Number(int64(whole))
	if digits > 0 {
		frac := strconv.FormatFloat(r-whole, 'f', digits, 64) // "0.50"
		s += frac[strings.IndexByte(frac, '.'):]
	}
	return s
}

// metricFormat says how one kind of figure is written: NPS in whole
// points, shares as percentages, means with two decimals.
type metricFormat struct {
	factor   float64 // stored value × factor = shown value
	digits   int
	suffix   string
	min, max float64 // the range the shown value can take (gauges, axes)
}

func formatOf(m results.Metric, scale *stats.Scale) metricFormat {
	switch m {
	case results.MetricNPS:
		return metricFormat{factor: 1, digits: 0, min: -100, max: 100}
	case results.MetricTopBox:
		return metricFormat{factor: 100, digits: 1, suffix: "%", min: 0, max: 100}
	}
	f := metricFormat{factor: 1, digits: 2, min: 1, max: 5}
	if scale != nil {
		f.min, f.max = float64(scale.Min), float64(scale.Max)
	}
	return f
}

// shareFormat writes proportions (0–1) as percentages.
var shareFormat = metricFormat{factor: 100, digits: 1, suffix: "%", min: 0, max: 100}

func (f metricFormat) show(pr *i18n.Printer, v float64) string {
	return decimal(pr, v*f.factor, f.digits) + f.suffix
}

// plain is show for a value already multiplied by factor (chart axes).
func (f metricFormat) plain(pr *i18n.Printer) func(float64) string {
	return func(v float64) string { return decimal(pr, v, f.digits) + f.suffix }
}

// figure is one estimate as the page shows it.
type figure struct {
	Value    string // "" when missing
	Interval string // "12 – 38" or ""
	N        string
	Low      bool   // show the warning instead of a confident number
	Warning  string // why, in the viewer's language
	Level    string // "95%"
}

func (f metricFormat) figure(pr *i18n.Printer, e stats.Estimate) figure {
	out := figure{N: pr.Number(int64(e.N)), Low: e.LowSample, Level: decimal(pr, levelOf(e.Level)*100, 0) + "%"}
	if v, ok := e.Value.Get(); ok {
		out.Value = f.show(pr, v)
	}
	lo, okL := e.Low.Get()
	hi, okH := e.High.Get()
	if okL && okH {
		out.Interval = f.show(pr, lo) + " – " + f.show(pr, hi)
	}
	if e.LowSample {
		out.Warning = reasonText(pr, e.Reason, e.N, e.MinN)
	}
	return out
}

func levelOf(l float64) float64 {
	if l == 0 {
		return stats.DefaultLevel
	}
	return l
}

// reasonText says why a figure carries a warning.
func reasonText(pr *i18n.Printer, r stats.Reason, n, minN int) string {
	if minN == 0 {
		minN = stats.DefaultMinN
	}
	switch r {
	case stats.ReasonNoData:
		return pr.T("results.reason.no_data")
	case stats.ReasonBelowMinimum:
		return pr.T("results.reason.below_minimum", pr.Number(int64(n)), pr.Number(int64(minN)))
	case stats.ReasonNoVariation:
		return pr.T("results.reason.no_variation")
	case stats.ReasonTooFewPerDriver:
		return pr.T("results.reason.too_few_per_driver")
	case stats.ReasonCollinear:
		return pr.T("results.reason.collinear")
	}
	return pr.T("results.reason.below_minimum", pr.Number(int64(n)), pr.Number(int64(minN)))
}

// bucketLabel names a trend bucket: a day, the Monday of a week, a month.
func bucketLabel(pr *i18n.Printer, iv results.Interval, start time.Time) string {
	start = start.UTC()
	switch iv {
	case results.Month:
		if pr.Locale == i18n.Japanese {
			return strconv.Itoa(start.Year()) + "年" + strconv.Itoa(int(start.Month())) + "月"
		}
		return start.Format("Jan 2006")
	case results.Week:
		return pr.T("results.week_of", utcPrinter(pr).ShortDate(start))
	}
	return utcPrinter(pr).ShortDate(start)
}

// utcPrinter formats dates of the results, which are UTC days (see the
// results package), without shifting them into the viewer's zone.
func utcPrinter(pr *i18n.Printer) *i18n.Printer { return i18n.NewPrinter(pr.Locale, time.UTC) }

// pValue writes a p-value the way papers do: "< 0.001" below a thousandth.
func pValue(pr *i18n.Printer, n stats.Number) string {
	p, ok := n.Get()
	if !ok {
		return "—"
	}
	if p < 0.001 {
		return "< " + decimal(pr, 0.001, 3)
	}
	return decimal(pr, p, 3)
}
