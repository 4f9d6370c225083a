package web

import (
	"html/template"
	"net/http"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/chart"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

// period is a dashboard range with the bucket size that keeps a chart
// readable (7–90 points).
type period struct {
	Key    string
	span   time.Duration
	bucket string
}

const day = 24 * time.Hour

var periods = []period{
	{"7d", 7 * day, "day"},
	{"30d", 30 * day, "day"},
	{"90d", 90 * day, "week"},
	{"365d", 365 * day, "month"},
}

func parsePeriod(s string) (period, error) {
	if s == "" {
		return periods[1], nil
	}
	for _, p := range periods {
		if p.Key == s {
			return p, nil
		}
	}
	return period{}, kizuna.FieldError("period", "period must be one of 7d, 30d, 90d, 365d")
}

type dashboardView struct {
	Period   string
	Periods  []period
	Overview *customer.Overview
	Charts   []dashboardChart
}

type dashboardChart struct {
	TitleKey string
	SVG      template.HTML
}

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	p, err := parsePeriod(r.URL.Query().Get("period"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	to := s.cfg.Now()
	ov, err := s.cfg.Customers.Overview(r.Context(), to.Add(-p.span), to, p.bucket)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pr := state(r).Printer
	count := func(v float64) string { return pr.Number(int64(v)) }
	money := func(v float64) string { return pr.Money(int64(v), ov.Currency) }
	view := dashboardView{Period: p.Key, Periods: periods, Overview: ov}
	view.Charts = []dashboardChart{
		{"dashboard.chart.new_customers", chart.Bar{Title: pr.T("dashboard.chart.new_customers"), Labels: labels(pr, ov.NewCustomers), Values: values(ov.NewCustomers), Format: count, Integer: true}.SVG()},
		{"dashboard.chart.active", chart.Line{Title: pr.T("dashboard.chart.active"), Labels: labels(pr, ov.ActiveSeries), Values: values(ov.ActiveSeries), Format: count, Integer: true}.SVG()},
		{"dashboard.chart.orders", chart.Bar{Title: pr.T("dashboard.chart.orders"), Labels: labels(pr, ov.OrdersSeries), Values: values(ov.OrdersSeries), Format: count, Integer: true}.SVG()},
		{"dashboard.chart.revenue", chart.Line{Title: pr.T("dashboard.chart.revenue"), Labels: labels(pr, ov.RevenueSeries), Values: values(ov.RevenueSeries), Format: money}.SVG()},
	}
	s.render(w, r, http.StatusOK, "dashboard", s.newPage(w, r, "dashboard.title", "dashboard", view))
}

func labels(pr *i18n.Printer, pts []customer.Point) []string {
	out := make([]string, len(pts))
	for i, p := range pts {
		out[i] = pr.ShortDate(p.Start)
	}
	return out
}

func values(pts []customer.Point) []float64 {
	out := make([]float64, len(pts))
	for i, p := range pts {
		out[i] = p.Value
	}
	return out
}
