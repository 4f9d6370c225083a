package web

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"strconv"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/chart"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

// resultsView is the survey results dashboard.
type resultsView struct {
	SurveyID int64
	Name     string
	Form     resultsForm
	// Error is the filter form's validation message (the page then shows
	// no figures); ErrorField names the field.
	Error, ErrorField string
	ErrorText         string // the message in the viewer's language

	Intervals, Dims, Compares []choice
	Groups                    []choice // the score groups the survey's questions allow
	Touchpoints, Stages       []string // values seen in the responses
	Listed                    []string // the survey's breakdown attributes (customer), offered as keys

	Headline *headlineView
	Cards    []cardView
	Trend    *trendView
	Dist     *chartView
	Choices  []choiceView
	Gaps     *gapsView
	Drivers  *driversView
	Compare  *compareView
	Groups2  *breakdownView
	Verbatim *verbatimView

	CanExport             bool
	ExportCSV, ExportJSON string
	// Path is the page's own path, for the filter form and links.
	Path string
}

// headlineView is the gauge of the headline figure.
type headlineView struct {
	Label  string
	Figure figure
	Gauge  template.HTML
}

// cardView is one figure card (NPS, CSAT, CES).
type cardView struct {
	Label, Sub string
	Figure     figure
	Extra      []string // promoters / passives / detractors …
}

type chartView struct {
	Title string
	SVG   template.HTML
	Rows  []chartRow // the chart's figures as a table
}

type chartRow struct {
	Label  string
	Count  string
	Figure figure
}

type trendView struct {
	chartView
	Metric string
}

type choiceView struct {
	chartView
	N string
}

type gapsView struct {
	chartView
	Threshold string
	Attrs     []gapRow
}

type gapRow struct {
	Label                              string
	N                                  string
	Dissatisfied, Satisfied, Delighted figure
	MeanGap                            figure
	Low                                bool
	Warning                            string
}

type driversView struct {
	Outcome string
	R2, N   string
	Low     bool
	Warning string
	Sampled bool
	Rows    []driverRow
}

type driverRow struct {
	Rank        int
	Label       string
	Importance  string
	Coefficient figure
	PValue      string
	Significant bool
}

type compareView struct {
	Metric        string
	BaseLabel     string
	CurrentLabel  string
	Base, Current figure
	Difference    figure
	PValue        string
	Significant   bool
	Low           bool
	Warning       string
	Direction     string // up, down, flat
	Verdict       string
}

type breakdownView struct {
	Title      string
	Metric     string
	Rows       []breakdownRow
	Omitted    int
	Many       bool
	Familywise string
	LinkKey    string // the query key a group links to ("touchpoint", "stage"), or ""
	// Note says why a customer-attribute breakdown read every answer
	// (not listed, being backfilled, refused), or "".
	Note string
}

type breakdownRow struct {
	Key, Label string
	Link       string
	Figure     figure
}

type verbatimView struct {
	Items []verbatimRow
	Next  string // link to the next page, or ""
	First string // link back to the first page when paging
}

type verbatimRow struct {
	At         string
	Score      string
	Group      string // catalog key suffix of the score's group, or ""
	Touchpoint string
	Text       string
	CustomerID int64
}

// absent reports whether err says the survey has no question a figure
// needs (an NPS figure of a CSAT survey): that section is left out.
func absent(err error) bool {
	return kizuna.ErrorCode(err) == kizuna.ENOTFOUND && kizuna.ErrorField(err) == "question"
}

// handleResultsShow is the results dashboard of a survey.
func (s *Server) handleResultsShow(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	ctx := r.Context()
	pr := state(r).Printer
	v := &resultsView{SurveyID: id, Name: "#" + strconv.FormatInt(id, 10), Intervals: resultsIntervals, Dims: resultsDims,
		Compares: resultsCompares, Path: "/surveys/" + strconv.FormatInt(id, 10) + "/results"}
	// The survey itself first: 403 and 404 before anything else.
	var def *feedback.Definition
	if s.cfg.Surveys != nil {
		sv, err := s.cfg.Surveys.Get(ctx, id)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v.Name, def = sv.Name, &sv.Definition
		v.Listed = sv.Settings.BreakdownAttributes
	}
	q, qerr := parseResultsQuery(r.URL.Query(), id)
	v.Form = q.Form
	v.CanExport = state(r).Principal != nil && state(r).Principal.Can(auth.PermResponsesExport)
	exp := q.Form.filterValues().Encode()
	if exp != "" {
		exp = "?" + exp
	}
	v.ExportCSV, v.ExportJSON = v.Path+"/export.csv"+exp, v.Path+"/export.json"+exp
	// The filter's choices come from every response, not the filtered ones.
	all := results.Filter{SurveyID: id}
	if v.Touchpoints, err = s.groupKeys(ctx, all, results.DimTouchpoint); err != nil {
		s.pageError(w, r, err)
		return
	}
	if v.Stages, err = s.groupKeys(ctx, all, results.DimJourneyStage); err != nil {
		s.pageError(w, r, err)
		return
	}
	if qerr != nil {
		v.setError(pr, qerr)
		s.render(w, r, http.StatusBadRequest, "results_show", s.newPage(w, r, "results.title", "", v))
		return
	}
	if err := s.fillResults(ctx, pr, v, q, def); err != nil {
		if kizuna.ErrorCode(err) == kizuna.EINVALID {
			v.setError(pr, err)
			v.Headline, v.Cards, v.Trend, v.Dist, v.Choices, v.Gaps, v.Drivers, v.Compare, v.Groups2, v.Verbatim = nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
			s.render(w, r, http.StatusBadRequest, "results_show", s.newPage(w, r, "results.title", "", v))
			return
		}
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "results_show", s.newPage(w, r, "results.title", "", v))
}

// groupKeys lists the values of a dimension seen in f's responses (the
// filter's choices); none when the survey has no headline question.
func (s *Server) groupKeys(ctx context.Context, f results.Filter, dim results.Dimension) ([]string, error) {
	b, err := s.cfg.Results.Breakdown(ctx, f, dim)
	if absent(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range b.Groups {
		if g.Key != "" {
			out = append(out, g.Key)
		}
	}
	slices.Sort(out)
	return out, nil
}

// fillResults computes every section the survey's questions support.
func (s *Server) fillResults(ctx context.Context, pr *i18n.Printer, v *resultsView, q resultsQuery, def *feedback.Definition) error {
	f := q.Filter
	loc := pr.Locale
	var hasNPS, hasCSAT bool

	// NPS.
	nps, err := s.cfg.Results.NPS(ctx, f)
	switch {
	case absent(err):
	case err != nil:
		return err
	default:
		hasNPS = true
		mf := formatOf(results.MetricNPS, nil)
		c := cardView{Label: pr.T("results.nps"), Sub: nps.Question.Text.In(loc), Figure: mf.figure(pr, nps.NPS),
			Extra: []string{
				pr.T("results.promoters", shareFormat.show(pr, nps.Promoters.Value.Or(0)), pr.Number(int64(nps.Counts.Promoters))),
				pr.T("results.passives", shareFormat.show(pr, nps.Passives.Value.Or(0)), pr.Number(int64(nps.Counts.Passives))),
				pr.T("results.detractors", shareFormat.show(pr, nps.Detractors.Value.Or(0)), pr.Number(int64(nps.Counts.Detractors))),
			}}
		v.Cards = append(v.Cards, c)
	}
	// CSAT.
	csat, err := s.cfg.Results.CSAT(ctx, f)
	switch {
	case absent(err):
	case err != nil:
		return err
	default:
		hasCSAT = true
		c := cardView{Label: pr.T("results.csat"), Sub: csat.Question.Text.In(loc), Figure: shareFormat.figure(pr, csat.TopBox)}
		mean := formatOf(results.MetricMean, csat.Question.Scale).figure(pr, csat.Mean)
		c.Extra = append(c.Extra, pr.T("results.top_box", pr.Number(int64(csat.TopK))), pr.T("results.mean_is", mean.Value, mean.Interval))
		v.Cards = append(v.Cards, c)
	}
	// CES.
	ces, err := s.cfg.Results.CES(ctx, f)
	switch {
	case absent(err):
	case err != nil:
		return err
	default:
		mf := formatOf(results.MetricMean, ces.Question.Scale)
		v.Cards = append(v.Cards, cardView{Label: pr.T("results.ces"), Sub: ces.Question.Text.In(loc), Figure: mf.figure(pr, ces.Mean),
			Extra: []string{pr.T("results.ces_scale", decimal(pr, mf.min, 0), decimal(pr, mf.max, 0))}})
	}
	if hasNPS {
		v.Groups = append(v.Groups, npsGroups...)
	}
	if hasCSAT {
		v.Groups = append(v.Groups, csatGroups...)
	}

	// Trend of the headline figure, with its band; the gauge shows the
	// headline over the whole range.
	tr, err := s.cfg.Results.Trend(ctx, f, q.Interval)
	switch {
	case absent(err):
	case err != nil:
		return err
	default:
		mf := formatOf(tr.Metric, tr.Question.Scale)
		name := metricName(pr, tr.Metric)
		tv := &trendView{Metric: name}
		tv.Title = pr.T("results.trend.title", name)
		var pts []chart.BandPoint
		for _, p := range tr.Points {
			label := bucketLabel(pr, tr.Interval, p.Start)
			bp := chart.BandPoint{Label: label, Caution: p.LowSample}
			if tr.Interval == results.Week { // the axis has room for the Monday's date only
				bp.Label = utcPrinter(pr).ShortDate(p.Start)
			}
			fig := figure{N: pr.Number(int64(p.N)), Low: p.LowSample}
			if val, ok := p.Value.Get(); ok {
				bp.Value, bp.Valid = val*mf.factor, true
				fig.Value = mf.show(pr, val)
			}
			lo, okL := p.Low.Get()
			hi, okH := p.High.Get()
			if okL && okH {
				bp.Low, bp.High, bp.HasInterval = lo*mf.factor, hi*mf.factor, true
				fig.Interval = mf.show(pr, lo) + " – " + mf.show(pr, hi)
			}
			bp.Note = pr.T("results.trend.note", label, orDash(fig.Value), orDash(fig.Interval), fig.N)
			pts = append(pts, bp)
			tv.Rows = append(tv.Rows, chartRow{Label: label, Count: fig.N, Figure: fig})
		}
		tv.SVG = chart.Band{Title: tv.Title, Points: pts, Format: mf.plain(pr), Bounded: true, Floor: mf.min, Ceil: mf.max}.SVG()
		v.Trend = tv
		// Headline: the same question's figure over the whole range.
		var e *figure
		var hv headlineView
		switch tr.Metric {
		case results.MetricNPS:
			fig := mf.figure(pr, nps.NPS)
			e, hv.Gauge = &fig, gaugeOf(pr, name, mf, nps.NPS.Value, nps.NPS.Low, nps.NPS.High, nps.NPS.LowSample)
		case results.MetricTopBox:
			fig := mf.figure(pr, csat.TopBox)
			e, hv.Gauge = &fig, gaugeOf(pr, name, mf, csat.TopBox.Value, csat.TopBox.Low, csat.TopBox.High, csat.TopBox.LowSample)
		default:
			if tr.Question.Type == feedback.QCES {
				fig := mf.figure(pr, ces.Mean)
				e, hv.Gauge = &fig, gaugeOf(pr, name, mf, ces.Mean.Value, ces.Mean.Low, ces.Mean.High, ces.Mean.LowSample)
			}
		}
		if e != nil {
			hv.Label, hv.Figure = name, *e
			v.Headline = &hv
		}
		// Distribution of the headline question.
		dq := f
		dq.Question = tr.Question.Key
		dist, err := s.cfg.Results.Distribution(ctx, dq)
		if err != nil {
			return err
		}
		cv := &chartView{Title: pr.T("results.distribution.title", tr.Question.Text.In(loc))}
		var labels []string
		var vals []float64
		for _, rs := range dist.Ratings {
			label := strconv.Itoa(rs.Score)
			labels = append(labels, label)
			vals = append(vals, rs.Share.Value.Or(0)*100)
			cv.Rows = append(cv.Rows, chartRow{Label: label, Count: pr.Number(int64(rs.Count)), Figure: shareFormat.figure(pr, rs.Share)})
		}
		cv.SVG = chart.Bar{Title: cv.Title, Labels: labels, Values: vals, Format: shareFormat.plain(pr)}.SVG()
		v.Dist = cv
	}

	// Choice questions (a yes/no "would you recommend"): shares with
	// their intervals.
	if def != nil {
		for _, pg := range def.Pages {
			for _, qu := range pg.Questions {
				if qu.Type != feedback.QSingle && qu.Type != feedback.QMulti {
					continue
				}
				cq := f
				cq.Question = qu.Key
				d, err := s.cfg.Results.Distribution(ctx, cq)
				if err != nil {
					return err
				}
				ch := choiceView{N: pr.Number(int64(d.N))}
				ch.Title = qu.Text.In(loc)
				row := chart.StackedRow{Label: qu.Text.In(loc)}
				var series []string
				for _, o := range d.Options {
					text := o.Text.In(loc)
					if text == "" {
						text = o.Key
					}
					fig := shareFormat.figure(pr, o.Share)
					ch.Rows = append(ch.Rows, chartRow{Label: text, Count: pr.Number(int64(o.Count)), Figure: fig})
					series = append(series, text)
					row.Shares = append(row.Shares, o.Share.Value.Or(0))
					row.Notes = append(row.Notes, text+": "+orDash(fig.Value)+" ("+orDash(fig.Interval)+")")
				}
				if qu.Type == feedback.QSingle && len(series) <= 6 {
					row.Label = ""
					ch.SVG = chart.Stacked{Title: ch.Title, Series: series, Rows: []chart.StackedRow{row}, Offset: 3}.SVG()
				}
				v.Choices = append(v.Choices, ch)
			}
		}
	}

	// Expectation vs perception.
	gaps, err := s.cfg.Results.Gaps(ctx, f)
	switch {
	case absent(err):
	case err != nil:
		return err
	default:
		gv := &gapsView{}
		gv.Title = pr.T("results.gaps.title")
		series := []string{pr.T("results.gaps.dissatisfied"), pr.T("results.gaps.satisfied"), pr.T("results.gaps.delighted")}
		var rows []chart.StackedRow
		gapFmt := metricFormat{factor: 1, digits: 2}
		for i, a := range gaps.Attributes {
			if i == 0 {
				gv.Threshold = pr.Number(int64(a.Threshold))
			}
			label := a.Text.In(loc)
			if label == "" {
				label = a.Attribute
			}
			gr := gapRow{Label: label, N: pr.Number(int64(a.N)),
				Dissatisfied: shareFormat.figure(pr, a.Dissatisfied), Satisfied: shareFormat.figure(pr, a.Satisfied),
				Delighted: shareFormat.figure(pr, a.Delighted), MeanGap: gapFmt.figure(pr, a.MeanGap),
				Low: a.Dissatisfied.LowSample}
			if gr.Low {
				gr.Warning = reasonText(pr, a.Dissatisfied.Reason, a.N, a.Dissatisfied.MinN)
			}
			if mg, ok := a.MeanGap.Value.Get(); ok && mg > 0 {
				gr.MeanGap.Value = "+" + gr.MeanGap.Value
			}
			gv.Attrs = append(gv.Attrs, gr)
			rows = append(rows, chart.StackedRow{Label: label,
				Shares: []float64{a.Dissatisfied.Value.Or(0), a.Satisfied.Value.Or(0), a.Delighted.Value.Or(0)},
				Notes: []string{
					series[0] + ": " + orDash(gr.Dissatisfied.Value) + " (" + orDash(gr.Dissatisfied.Interval) + ")",
					series[1] + ": " + orDash(gr.Satisfied.Value) + " (" + orDash(gr.Satisfied.Interval) + ")",
					series[2] + ": " + orDash(gr.Delighted.Value) + " (" + orDash(gr.Delighted.Interval) + ")",
				}})
		}
		gv.SVG = chart.Stacked{Title: gv.Title, Series: series, Rows: rows}.SVG()
		v.Gaps = gv
	}

	// Key drivers: which attribute's gap moves the outcome most.
	dr, err := s.cfg.Results.KeyDrivers(ctx, f, "")
	switch {
	case absent(err):
	case err != nil:
		return err
	default:
		dv := &driversView{Outcome: dr.Outcome.Text.In(loc), N: pr.Number(int64(dr.N)), Low: dr.LowSample, Sampled: dr.Sampled}
		if r2, ok := dr.R2.Get(); ok {
			dv.R2 = decimal(pr, r2*100, 1) + "%"
		}
		if dr.LowSample {
			dv.Warning = reasonText(pr, dr.Reason, dr.N, dr.MinN)
		}
		for i, d := range dr.Drivers {
			label := d.Attribute
			if i < len(dr.Texts) && dr.Texts[i].In(loc) != "" {
				label = dr.Texts[i].In(loc)
			}
			row := driverRow{Rank: d.Rank, Label: label, Coefficient: metricFormat{factor: 1, digits: 2}.figure(pr, d.Coefficient), PValue: pValue(pr, d.PValue)}
			if imp, ok := d.Importance.Get(); ok {
				row.Importance = decimal(pr, imp*100, 1) + "%"
			}
			if p, ok := d.PValue.Get(); ok {
				row.Significant = p < 1-levelOf(dr.Level)
			}
			dv.Rows = append(dv.Rows, row)
		}
		slices.SortStableFunc(dv.Rows, func(a, b driverRow) int {
			switch { // ranked first, by rank; unranked (missing importance) last
			case a.Rank == 0 && b.Rank != 0:
				return 1
			case b.Rank == 0 && a.Rank != 0:
				return -1
			}
			return a.Rank - b.Rank
		})
		v.Drivers = dv
	}

	// Period comparison.
	if q.Base != nil {
		cmp, err := s.cfg.Results.Compare(ctx, f, *q.Base, *q.Current)
		switch {
		case absent(err):
		case err != nil:
			return err
		default:
			mf := formatOf(cmp.Metric, cmp.Question.Scale)
			ch := cmp.Change
			up := utcPrinter(pr)
			cv := &compareView{Metric: metricName(pr, cmp.Metric),
				BaseLabel:    up.Date(cmp.From.From) + " – " + up.Date(cmp.From.To.AddDate(0, 0, -1)),
				CurrentLabel: up.Date(cmp.To.From) + " – " + up.Date(cmp.To.To.AddDate(0, 0, -1)),
				Base:         mf.figure(pr, ch.From), Current: mf.figure(pr, ch.To), Difference: mf.figure(pr, ch.Difference),
				PValue: pValue(pr, ch.PValue), Significant: ch.Significant, Low: ch.Difference.LowSample, Direction: "flat"}
			if d, ok := ch.Difference.Value.Get(); ok {
				switch {
				case d > 0:
					cv.Direction = "up"
					cv.Difference.Value = "+" + cv.Difference.Value
				case d < 0:
					cv.Direction = "down"
				}
			}
			diff, ival := orDash(cv.Difference.Value), orDash(cv.Difference.Interval)
			switch {
			case ch.From.N == 0 || ch.To.N == 0:
				cv.Verdict = pr.T("results.compare.empty")
			case !cv.Significant:
				cv.Verdict = pr.T("results.compare.noise", diff, ival, cv.PValue)
			case cv.Direction == "up":
				cv.Verdict = pr.T("results.compare.real_up", diff, ival, cv.PValue)
			case cv.Direction == "down":
				cv.Verdict = pr.T("results.compare.real_down", diff, ival, cv.PValue)
			default:
				cv.Verdict = pr.T("results.compare.real_flat", diff, ival, cv.PValue)
			}
			if cv.Low {
				cv.Warning = reasonText(pr, ch.Difference.Reason, min(ch.From.N, ch.To.N), ch.Difference.MinN)
			}
			v.Compare = cv
		}
	}

	// Breakdown.
	bd, err := s.cfg.Results.Breakdown(ctx, f, q.Dim)
	switch {
	case absent(err):
	case err != nil:
		return err
	default:
		mf := formatOf(bd.Metric, bd.Question.Scale)
		bv := &breakdownView{Title: pr.T(labelOf(breakdownTitles, q.Form.byOrDefault())), Metric: metricName(pr, bd.Metric), Omitted: bd.Omitted,
			Many: bd.ManyGroups, Familywise: decimal(pr, bd.FamilywiseError*100, 0) + "%"}
		if q.Form.By == "customer" || q.Form.By == "response" {
			bv.Title = pr.T("results.breakdown.by_attribute", q.Form.Key)
		}
		if t := bd.Tracking; t != nil {
			switch t.State {
			case results.DimUntracked:
				bv.Note = pr.T("results.breakdown.untracked", t.Key)
			case results.DimBackfilling:
				bv.Note = pr.T("results.breakdown.backfilling", t.Key)
			case results.DimRefused:
				bv.Note = pr.T("results.breakdown.refused", t.Key, pr.Number(results.MaxDimValues))
			}
		}
		linkKey := map[results.Dimension]string{results.DimTouchpoint: "touchpoint", results.DimJourneyStage: "stage"}[q.Dim]
		for _, g := range bd.Groups {
			row := breakdownRow{Key: g.Key, Label: g.Key, Figure: mf.figure(pr, g.Estimate)}
			if g.Key == "" {
				row.Label = pr.T("results.breakdown.none")
			} else if linkKey != "" {
				vals := q.Form.values()
				vals.Set(linkKey, g.Key)
				vals.Del("cursor")
				row.Link = v.Path + "?" + vals.Encode()
			}
			bv.Rows = append(bv.Rows, row)
		}
		v.Groups2 = bv
	}

	// Verbatims.
	vb, err := s.cfg.Results.Verbatims(ctx, results.VerbatimQuery{Filter: f, Group: q.Group, Limit: verbatimPageSize, Cursor: q.Form.Cursor})
	switch {
	case absent(err):
	case err != nil:
		return err
	default:
		vv := &verbatimView{}
		for _, it := range vb.Items {
			row := verbatimRow{At: pr.DateTime(it.CompletedAt), Touchpoint: it.Touchpoint, Text: it.Text}
			if sc, ok := it.Score.Get(); ok {
				row.Score = decimal(pr, sc, 0)
				row.Group = scoreGroupOf(it.ScoreQuestion == nps.Question.Key && hasNPS, sc, csat)
			}
			if it.CustomerID != nil {
				row.CustomerID = *it.CustomerID
			}
			vv.Items = append(vv.Items, row)
		}
		if vb.Next != "" {
			vals := q.Form.values()
			vals.Set("cursor", vb.Next)
			vv.Next = v.Path + "?" + vals.Encode() + "#verbatims"
		}
		if q.Form.Cursor != "" {
			vv.First = v.Path + "?" + q.Form.values().Encode() + "#verbatims"
		}
		v.Verbatim = vv
	}
	return nil
}

// verbatimPageSize is how many verbatims the dashboard lists per page.
const verbatimPageSize = 25

func (f resultsForm) byOrDefault() string {
	if f.By == "" {
		return "touchpoint"
	}
	return f.By
}

// scoreGroupOf names the group of a verbatim's score: NPS groups for an
// NPS score, else CSAT boxes.
func scoreGroupOf(isNPS bool, score float64, csat results.CSATResult) string {
	if isNPS {
		switch {
		case score >= 9:
			return "promoter"
		case score >= 7:
			return "passive"
		}
		return "detractor"
	}
	sc := csat.Question.Scale
	if sc == nil || csat.TopK == 0 {
		return ""
	}
	switch {
	case score >= float64(sc.Max-csat.TopK+1):
		return "satisfied"
	case score <= float64(sc.Min+csat.TopK-1):
		return "dissatisfied"
	}
	return "neutral"
}

func metricName(pr *i18n.Printer, m results.Metric) string {
	return pr.T(labelOf(metricNames, string(m)))
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// gaugeOf draws a headline figure's dial with its interval.
func gaugeOf(pr *i18n.Printer, title string, mf metricFormat, value, low, high interface{ Get() (float64, bool) }, caution bool) template.HTML {
	g := chart.Gauge{Title: title, Min: mf.min, Max: mf.max, Caution: caution, Format: mf.plain(pr)}
	if val, ok := value.Get(); ok {
		g.Value, g.HasValue = val*mf.factor, true
	}
	lo, okL := low.Get()
	hi, okH := high.Get()
	if okL && okH {
		g.Low, g.High, g.HasBand = lo*mf.factor, hi*mf.factor, true
		g.Caption = pr.T("results.gauge.caption", decimal(pr, lo*mf.factor, mf.digits)+mf.suffix, decimal(pr, hi*mf.factor, mf.digits)+mf.suffix)
	}
	return g.SVG()
}

// setError shows an invalid filter beside the form: a sentence in the
// viewer's language naming the field, and the service's own detail.
func (v *resultsView) setError(pr *i18n.Printer, err error) {
	v.Error, v.ErrorField = kizuna.ErrorMessage(err), kizuna.ErrorField(err)
	v.ErrorText = pr.TOr("results.invalid."+v.ErrorField, pr.T("results.invalid"))
}
