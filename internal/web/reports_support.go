package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/chart"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
	"github.com/kizuna-oss/kizuna/internal/i18n"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// supportReportView is the support desk report page (/reports/support).
type supportReportView struct {
	From, To   string // the form's dates, YYYY-MM-DD (To inclusive)
	Error      string // the form's error in the viewer's language
	ErrorField string

	Created                 string
	Category, Channel       *reportChart
	Backlog                 []reportRow
	FirstResponse, Resolved durationView
	SLA                     []slaView

	CSATOverall  csatView
	CSATAgents   []csatView
	CSATTeams    []csatView
	CSATChart    template.HTML
	CSATSent     string
	CSATAnswered string
}

type reportChart struct {
	SVG  template.HTML
	Rows []reportRow
}

type reportRow struct{ Label, Count string }

type durationView struct{ N, Median, P90 string }

type slaView struct{ Metric, Met, Breached, Rate string }

// csatView is one CSAT line: top-2-box % with its 95% interval.
type csatView struct {
	Name, N, Value, Low, High string
	LowSample                 bool
}

// reportDateLayout is the date inputs' format.
const reportDateLayout = "2006-01-02"

// handleSupportReport shows volume by category and channel, first
// response and resolution times, SLA attainment, the backlog and CSAT per
// agent and team for a date range (default: the last 30 days, in the
// installation's time zone). [tickets.read]
func (s *Server) handleSupportReport(w http.ResponseWriter, r *http.Request) {
	pr := state(r).Printer
	if pr == nil {
		s.setLocale(state(r), r)
		pr = state(r).Printer
	}
	loc := s.cfg.Location
	now := s.cfg.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	from, to := today.AddDate(0, 0, -29), today
	v := &supportReportView{}
	var formErr error
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if raw := strings.TrimSpace(r.URL.Query().Get(name)); raw != "" {
			d, err := time.ParseInLocation(reportDateLayout, raw, loc)
			if err != nil {
				formErr = kizuna.FieldError(name, "%s must be a date (YYYY-MM-DD)", name)
				continue
			}
			*dst = d
		}
	}
	v.From, v.To = from.Format(reportDateLayout), to.Format(reportDateLayout)
	end := to.AddDate(0, 0, 1) // the To day is included
	var rep *support.Report
	var cs *support.CSATReport
	if formErr == nil {
		var err error
		if rep, err = s.cfg.Support.Report(r.Context(), from, end); err == nil {
			cs, err = s.cfg.Support.CSATReport(r.Context(), from, end)
		}
		formErr = err
	}
	if formErr != nil {
		if kizuna.ErrorCode(formErr) != kizuna.EINVALID {
			s.pageError(w, r, formErr)
			return
		}
		v.ErrorField = kizuna.ErrorField(formErr)
		v.Error = pr.T("reports.error.from")
		if v.ErrorField == "to" {
			v.Error = pr.T("reports.error.to")
		}
		s.render(w, r, http.StatusBadRequest, "reports_support", s.newPage(w, r, "reports.support.title", "reports", v))
		return
	}
	cats, err := s.cfg.Support.Categories(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	catName := map[string]string{"": pr.T("reports.none")}
	for _, c := range cats {
		catName[c.Slug] = c.NameEN
		if pr.Locale == i18n.Japanese {
			catName[c.Slug] = c.NameJA
		}
	}
	v.Created = pr.Number(rep.Created)
	v.Category = countChart(pr, pr.T("reports.by_category"), rep.ByCategory, func(k string) string { return catName[k] })
	v.Channel = countChart(pr, pr.T("reports.by_channel"), rep.ByChannel, func(k string) string { return pr.TOr("reports.channel."+k, k) })
	for _, c := range rep.Backlog {
		v.Backlog = append(v.Backlog, reportRow{pr.TOr("reports.status."+c.Key, c.Key), pr.Number(c.Count)})
	}
	v.FirstResponse, v.Resolved = durations(pr, rep.FirstResponse), durations(pr, rep.Resolution)
	for _, a := range rep.SLA {
		rate := "—"
		if a.Met+a.Breached > 0 {
			rate = pct(a.Rate)
		}
		v.SLA = append(v.SLA, slaView{pr.TOr("reports.sla."+a.Metric, a.Metric), pr.Number(int64(a.Met)), pr.Number(int64(a.Breached)), rate})
	}
	v.CSATOverall = csatLine(pr, pr.T("reports.csat.everyone"), cs.Overall)
	var labels []string
	var vals []float64
	for _, g := range cs.ByAgent {
		name := g.Name
		if g.Key == "" {
			name = pr.T("reports.csat.no_agent")
		}
		v.CSATAgents = append(v.CSATAgents, csatLine(pr, name, g))
		if val, ok := g.TopBox.Value.Get(); ok {
			labels, vals = append(labels, name), append(vals, 100*val)
		}
	}
	for _, g := range cs.ByTeam {
		name := g.Name
		if g.Key == "" {
			name = pr.T("reports.csat.no_team")
		}
		v.CSATTeams = append(v.CSATTeams, csatLine(pr, name, g))
	}
	if len(vals) > 0 {
		v.CSATChart = chart.Bar{Title: pr.T("reports.csat.chart"), Labels: labels, Values: vals,
			Format: func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) + "%" }}.SVG()
	}
	v.CSATSent, v.CSATAnswered = pr.Number(int64(cs.Sent)), pr.Number(int64(cs.Answered))
	s.render(w, r, http.StatusOK, "reports_support", s.newPage(w, r, "reports.support.title", "reports", v))
}

func countChart(pr *i18n.Printer, title string, cs []support.Count, label func(string) string) *reportChart {
	c := &reportChart{}
	var labels []string
	var vals []float64
	for _, x := range cs {
		l := label(x.Key)
		if l == "" {
			l = x.Key
		}
		labels, vals = append(labels, l), append(vals, float64(x.Count))
		c.Rows = append(c.Rows, reportRow{l, pr.Number(x.Count)})
	}
	if len(vals) > 0 {
		c.SVG = chart.Bar{Title: title, Labels: labels, Values: vals, Integer: true}.SVG()
	}
	return c
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

// durations formats a Durations summary (minutes) for people.
func durations(pr *i18n.Printer, d support.Durations) durationView {
	if d.N == 0 {
		return durationView{N: "0", Median: "—", P90: "—"}
	}
	return durationView{N: pr.Number(int64(d.N)), Median: minutes(pr, d.Median), P90: minutes(pr, d.P90)}
}

func minutes(pr *i18n.Printer, m float64) string {
	switch {
	case m < 60:
		return pr.T("reports.dur.minutes", int(m+0.5))
	case m < 48*60:
		return pr.T("reports.dur.hours", fmt.Sprintf("%.1f", m/60))
	}
	return pr.T("reports.dur.days", fmt.Sprintf("%.1f", m/(24*60)))
}

func csatLine(pr *i18n.Printer, name string, g support.CSATGroup) csatView {
	v := csatView{Name: name, N: pr.Number(int64(g.TopBox.N)), Value: "—", Low: "—", High: "—",
		LowSample: g.TopBox.LowSample}
	show := func(n stats.Number) string {
		if f, ok := n.Get(); ok {
			return pct(f)
		}
		return "—"
	}
	v.Value, v.Low, v.High = show(g.TopBox.Value), show(g.TopBox.Low), show(g.TopBox.High)
	return v
}
