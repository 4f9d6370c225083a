package results

import (
	"context"
	"fmt"

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
	// responses and only the newest were used.
	Sampled bool `json:"sampled"`
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
