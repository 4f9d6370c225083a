package web

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
)

// resultsForm is the results page's filter form as the user filled it in;
// the page shows it back unchanged, even when it is invalid.
type resultsForm struct {
	From, To   string // YYYY-MM-DD; To is inclusive (the last day shown)
	Touchpoint string
	Stage      string // journey stage
	Interval   string // day, week, month
	By         string // breakdown: touchpoint, journey_stage, channel, lifecycle_stage, country, customer, response
	Key        string // the attribute key when By is customer or response
	Compare    string // "", previous, year
	Group      string // verbatim score group
	Cursor     string // verbatim page
}

// resultsQuery is a validated resultsForm.
type resultsQuery struct {
	Form     resultsForm
	Filter   results.Filter
	Interval results.Interval
	Dim      results.Dimension
	// Base and Current are the periods compared when Form.Compare is set.
	Base, Current *results.Period
	Group         results.ScoreGroup
}

// choice is one option of a select: Label is its catalog key.
type choice struct{ Label, Value string }

// Choices the form offers.
var (
	resultsIntervals = []choice{{"results.interval.day", "day"}, {"results.interval.week", "week"}, {"results.interval.month", "month"}}
	resultsDims      = []choice{{"results.dim.touchpoint", "touchpoint"}, {"results.dim.journey_stage", "journey_stage"},
		{"results.dim.channel", "channel"}, {"results.dim.lifecycle_stage", "lifecycle_stage"}, {"results.dim.country", "country"},
		{"results.dim.customer", "customer"}, {"results.dim.response", "response"}}
	resultsCompares = []choice{{"results.compare.none", ""}, {"results.compare.previous", "previous"}, {"results.compare.year", "year"}}
	npsGroups       = []choice{{"results.group.promoter", "promoter"}, {"results.group.passive", "passive"}, {"results.group.detractor", "detractor"}}
	csatGroups      = []choice{{"results.group.satisfied", "satisfied"}, {"results.group.neutral", "neutral"}, {"results.group.dissatisfied", "dissatisfied"}}
	// breakdownTitles heads the breakdown table per dimension.
	breakdownTitles = []choice{{"results.breakdown.by.touchpoint", "touchpoint"}, {"results.breakdown.by.journey_stage", "journey_stage"},
		{"results.breakdown.by.channel", "channel"}, {"results.breakdown.by.lifecycle_stage", "lifecycle_stage"}, {"results.breakdown.by.country", "country"}}
	metricNames = []choice{{"results.metric.nps", string(results.MetricNPS)}, {"results.metric.top_box", string(results.MetricTopBox)}, {"results.metric.mean", string(results.MetricMean)}}
	// attributeKeyRE is the attribute keys a breakdown accepts (the
	// results service checks the same; saying it here keeps the message
	// beside the form field).
	attributeKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// labelOf is the catalog key of value among cs, or "".
func labelOf(cs []choice, value string) string {
	for _, c := range cs {
		if c.Value == value {
			return c.Label
		}
	}
	return ""
}

func valuesOf(cs ...[]choice) []string {
	var out []string
	for _, l := range cs {
		for _, c := range l {
			out = append(out, c.Value)
		}
	}
	return out
}

// maxFilterText bounds the free-text filters, as the service does.
const maxFilterText = 100

// parseResultsQuery reads and validates the results page's query for
// survey id. The error is an EINVALID naming the field.
func parseResultsQuery(v url.Values, id int64) (resultsQuery, error) {
	f := resultsForm{
		From: strings.TrimSpace(v.Get("from")), To: strings.TrimSpace(v.Get("to")),
		Touchpoint: strings.TrimSpace(v.Get("touchpoint")), Stage: strings.TrimSpace(v.Get("stage")),
		Interval: v.Get("interval"), By: v.Get("by"), Key: strings.TrimSpace(v.Get("key")),
		Compare: v.Get("compare"), Group: v.Get("group"), Cursor: v.Get("cursor"),
	}
	q := resultsQuery{Form: f, Filter: results.Filter{SurveyID: id, Touchpoint: f.Touchpoint, JourneyStage: f.Stage}}
	var from, to time.Time
	var err error
	if f.From != "" {
		if from, err = time.Parse(time.DateOnly, f.From); err != nil {
			return q, kizuna.FieldError("from", "the start date %q is not a date like 2026-01-31", f.From)
		}
		q.Filter.From = from
	}
	if f.To != "" {
		if to, err = time.Parse(time.DateOnly, f.To); err != nil {
			return q, kizuna.FieldError("to", "the end date %q is not a date like 2026-01-31", f.To)
		}
		q.Filter.To = to.AddDate(0, 0, 1) // the form's end day is included
	}
	if f.From != "" && f.To != "" && to.Before(from) {
		return q, kizuna.FieldError("to", "the end date %s is before the start date %s", f.To, f.From)
	}
	if len(f.Touchpoint) > maxFilterText {
		return q, kizuna.FieldError("touchpoint", "the touchpoint is longer than %d characters", maxFilterText)
	}
	if len(f.Stage) > maxFilterText {
		return q, kizuna.FieldError("stage", "the journey stage is longer than %d characters", maxFilterText)
	}
	switch f.Interval {
	case "":
		q.Interval = results.Week
	case "day", "week", "month":
		q.Interval = results.Interval(f.Interval)
	default:
		return q, kizuna.FieldError("interval", "the interval %q is not one of day, week or month", f.Interval)
	}
	switch f.By {
	case "":
		q.Dim = results.DimTouchpoint
	case "customer", "response":
		if !attributeKeyRE.MatchString(f.Key) {
			return q, kizuna.FieldError("key", "a breakdown by %s attribute needs its key: letters, digits and _ (at most 64, not starting with a digit)", f.By)
		}
		q.Dim = results.Dimension(f.By + ":" + f.Key)
	case "touchpoint", "journey_stage", "channel", "lifecycle_stage", "country":
		q.Dim = results.Dimension(f.By)
	default:
		return q, kizuna.FieldError("by", "the breakdown %q is not one of %s", f.By, strings.Join(valuesOf(resultsDims), ", "))
	}
	switch f.Compare {
	case "":
	case "previous", "year":
		if f.From == "" || f.To == "" {
			return q, kizuna.FieldError("compare", "comparing periods needs both a start and an end date")
		}
		cur := results.Period{From: q.Filter.From, To: q.Filter.To}
		base := results.Period{From: cur.From.Add(-cur.To.Sub(cur.From)), To: cur.From}
		if f.Compare == "year" {
			base = results.Period{From: cur.From.AddDate(-1, 0, 0), To: cur.To.AddDate(-1, 0, 0)}
		}
		q.Base, q.Current = &base, &cur
	default:
		return q, kizuna.FieldError("compare", "the comparison %q is not one of previous or year", f.Compare)
	}
	switch f.Group {
	case "":
	case "promoter", "passive", "detractor", "satisfied", "neutral", "dissatisfied":
		q.Group = results.ScoreGroup(f.Group)
	default:
		return q, kizuna.FieldError("group", "the score group %q is not one of %s", f.Group, strings.Join(valuesOf(npsGroups, csatGroups), ", "))
	}
	if len(f.Cursor) > 200 {
		return q, kizuna.FieldError("cursor", "the page cursor is too long")
	}
	return q, nil
}

// filterValues are the query parameters that select responses (what an
// export takes): the dashboard's filters without its display choices.
func (f resultsForm) filterValues() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"from": f.From, "to": f.To, "touchpoint": f.Touchpoint, "stage": f.Stage} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// values is the whole form as a query, for links that change one thing.
func (f resultsForm) values() url.Values {
	v := f.filterValues()
	for k, s := range map[string]string{"interval": f.Interval, "by": f.By, "key": f.Key, "compare": f.Compare, "group": f.Group} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Query is the form as a query, for the template's query function.
func (f resultsForm) Query() url.Values { return f.values() }
