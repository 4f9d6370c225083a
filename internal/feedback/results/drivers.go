package results

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

// MaxDriverResponses bounds the responses a key-driver analysis reads: the
// newest ones in the range. 100,000 rows pin coefficients far more tightly
// than any decision needs, and keep the analysis in memory bounds.
const MaxDriverResponses = 100_000

// DriversResult is a key-driver analysis: which attribute's expectation
// gap moves the outcome (NPS, else CSAT) most.
type DriversResult struct {
	Header
	Outcome QuestionRef `json:"outcome"`
	// Texts of the attributes, in the order of the drivers.
	Texts []feedback.Text `json:"texts"`
	// Sampled is set when the range held more than MaxDriverResponses
	// responses and only the newest were used (only when reading answers).
	Sampled bool `json:"sampled"`
	// FromAnswers is set when the analysis read the answers rather than
	// the driver rollups (a filter by channel or journey stage, flagged
	// responses included, or rollups still being rebuilt).
	FromAnswers bool `json:"from_answers"`
	stats.DriverResult
}

// KeyDrivers regresses the outcome question (default: the first NPS
// question, else CSAT) on the perceived − expected gap of every attribute
// of the expectation question f.Question (default: the first), one row per
// response (stats.KeyDrivers: OLS coefficients and the Shapley share of
// R²). Errors as NPS.
func (s *Service) KeyDrivers(ctx context.Context, f Filter, outcome string) (DriversResult, error) {
	f, info, err := s.prepare(ctx, auth.PermSurveysRead, f)
	if err != nil {
		return DriversResult{}, err
	}
	eq, err := info.question(f.Question, feedback.QExpectation)
	if err != nil {
		return DriversResult{}, err
	}
	var oq feedback.Question
	if outcome != "" {
		oq, err = info.question(outcome, feedback.QNPS, feedback.QCSAT, feedback.QCES, feedback.QRating)
	} else if oq, err = info.question("", feedback.QNPS); err != nil {
		oq, err = info.question("", feedback.QCSAT)
	}
	if err != nil {
		return DriversResult{}, err
	}
	out := DriversResult{Header: Header{Question: refOf(eq), Filter: f}, Outcome: refOf(oq)}
	in := stats.DriverInput{}
	col := make(map[string]int)
	for _, a := range eq.Attributes {
		if len(in.Attributes) == stats.MaxDriverAttributes {
			break
		}
		col[a.Key] = len(in.Attributes)
		in.Attributes = append(in.Attributes, a.Key)
		out.Texts = append(out.Texts, a.Text)
	}
	// The driver rollups answer unless the filter needs what they do not
	// keep apart (channel, journey stage, flagged responses) or the
	// survey's rollups predate them.
	if !f.IncludeFlagged && f.Channel == "" && f.JourneyStage == "" {
		pend, err := s.pending(ctx, f.SurveyID)
		if err != nil {
			return out, err
		}
		if !pend {
			m, err := s.driverMoments(ctx, f, eq.Key, oq.Key, in.Attributes)
			if err != nil {
				return out, err
			}
			out.DriverResult, err = stats.KeyDriversFromMoments(m, info.options())
			return out, err
		}
	}
	out.FromAnswers = true
	var a args
	where := responseWhere(f, &a) + ` AND a.question_key IN (` + a.add(eq.Key) + `, ` + a.add(oq.Key) + `)`
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT r.id, a.question_key, a.attribute_key, a.num, a.num2
		FROM survey_responses r JOIN survey_answers a ON a.response_id = r.id
		WHERE `+where+` ORDER BY r.id DESC`, a...)
	if err != nil {
		return out, fmt.Errorf("results: key drivers: %w", err)
	}
	defer rows.Close()
	osc, _ := ScaleOf(oq)
	var cur int64
	var row stats.DriverRow
	hasOutcome := false
	flush := func() {
		if cur != 0 && hasOutcome {
			in.Rows = append(in.Rows, row)
		}
		row = stats.DriverRow{Gaps: make([]stats.Number, len(in.Attributes))}
		hasOutcome = false
	}
	for rows.Next() {
		var id int64
		var ans feedback.Answer
		if err := rows.Scan(&id, &ans.Question, &ans.Attribute, &ans.Num, &ans.Num2); err != nil {
			return out, fmt.Errorf("results: key drivers: %w", err)
		}
		if id != cur {
			flush()
			cur = id
			if len(in.Rows) == MaxDriverResponses {
				out.Sampled = true
				break
			}
		}
		if ans.Question == oq.Key && ans.Attribute == "" {
			if v, ok := onScale(ans.Num, osc.Min, osc.Max); ok {
				row.Outcome, hasOutcome = float64(v), true
			}
			continue
		}
		j, ok := col[ans.Attribute]
		if ans.Question != eq.Key || !ok {
			continue
		}
		for _, c := range cellsOf(eq, ans) {
			row.Gaps[j] = stats.Known(float64(c.Value2 - c.Value))
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("results: key drivers: %w", err)
	}
	if !out.Sampled {
		flush()
	}
	out.DriverResult, err = stats.KeyDrivers(in, info.options())
	return out, err
}

// driverMoments sums the driver rollups of the (exp, outcome) pair over
// f's date range into the moments of attrs: each day's attribute sets
// that hold every one of attrs add their sums (restricted to attrs);
// the others count as incomplete, as listwise deletion does on rows.
func (s *Service) driverMoments(ctx context.Context, f Filter, exp, outcome string, attrs []string) (stats.DriverMoments, error) {
	total, err := stats.NewDriverMoments(attrs)
	if err != nil {
		return total, err
	}
	sums := make(map[driverKey]int64) // Exp, Outcome, Grain, Day, Touchpoint zero
	for _, r := range f.ranges(splitNone) {
		if err := s.scanDrivers(ctx, f, exp, outcome, r, sums); err != nil {
			return total, err
		}
	}
	sets := make(map[string]*stats.DriverMoments)
	for k, v := range sums {
		set, i, j := k.Attrs, k.I, k.J
		m, ok := sets[set]
		if !ok {
			var keys []string
			if set != "" {
				keys = strings.Split(set, ",")
			}
			d := len(keys) + 2
			m = &stats.DriverMoments{Attributes: keys, S: make([]float64, d*d)}
			sets[set] = m
		}
		d := len(m.Attributes) + 2
		if i < 0 || j < i || j >= d {
			return total, fmt.Errorf("results: driver rollups of survey %d: position (%d, %d) outside attribute set %q", f.SurveyID, i, j, set)
		}
		m.S[i*d+j], m.S[j*d+i] = float64(v), float64(v)
		if i == 0 && j == 0 {
			m.N = v
		}
	}
	for _, m := range sets {
		if !containsAll(m.Attributes, attrs) {
			total.Incomplete += m.N
			continue
		}
		sel, err := m.Select(attrs)
		if err != nil {
			return total, err
		}
		if err := total.Merge(sel); err != nil {
			return total, err
		}
	}
	return total, nil
}

// scanDrivers adds the driver sums of one grain range (and f's
// touchpoint) into sums, by attribute set and position.
func (s *Service) scanDrivers(ctx context.Context, f Filter, exp, outcome string, r grainRange, sums map[driverKey]int64) error {
	var a args
	where := `survey_id = ` + a.add(f.SurveyID) + ` AND exp_question = ` + a.add(exp) + ` AND outcome_question = ` + a.add(outcome) + r.where(&a)
	if f.Touchpoint != "" {
		where += ` AND touchpoint = ` + a.add(f.Touchpoint)
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT attributes, i, j, CAST(SUM(s) AS BIGINT) FROM survey_driver_rollups WHERE `+where+` GROUP BY 1, 2, 3`, a...)
	if err != nil {
		return fmt.Errorf("results: read driver rollups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k driverKey
		var v int64
		if err := rows.Scan(&k.Attrs, &k.I, &k.J, &v); err != nil {
			return fmt.Errorf("results: read driver rollups: %w", err)
		}
		sums[k] += v
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("results: read driver rollups: %w", err)
	}
	return nil
}

// containsAll reports whether every one of want is in have.
func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
