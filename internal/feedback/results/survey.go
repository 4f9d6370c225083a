package results

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

// querier is what both *sql.DB (the reader pool) and *db.Tx offer.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// surveyInfo is a survey with every version's definition: questions are
// found by key in the current version first, then in older ones, so the
// results of a question removed by an edit can still be read.
type surveyInfo struct {
	ID           int64
	Name         string
	Touchpoint   string
	JourneyStage string
	Current      int
	Settings     feedback.Settings
	// Versions by version number, newest first in Order.
	Versions map[int]feedback.Definition
	Order    []int
}

// definitions are the survey's definitions by version number.
func (s *surveyInfo) definitions() map[int]*feedback.Definition {
	out := make(map[int]*feedback.Definition, len(s.Versions))
	for v, d := range s.Versions {
		out[v] = &d
	}
	return out
}

func loadSurvey(ctx context.Context, q querier, id int64) (*surveyInfo, error) {
	if id <= 0 {
		return nil, kizuna.FieldError("survey_id", "a survey id is required")
	}
	s := &surveyInfo{ID: id, Versions: make(map[int]feedback.Definition)}
	var settings string
	err := q.QueryRowContext(ctx, `SELECT name, touchpoint, journey_stage, current_version, settings FROM surveys WHERE id = $1`, id).
		Scan(&s.Name, &s.Touchpoint, &s.JourneyStage, &s.Current, &settings)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kizuna.Error{Code: kizuna.ENOTFOUND, Message: fmt.Sprintf("survey %d does not exist", id), Field: "survey_id"}
	}
	if err != nil {
		return nil, fmt.Errorf("results: load survey %d: %w", id, err)
	}
	if err := json.Unmarshal([]byte(settings), &s.Settings); err != nil {
		return nil, fmt.Errorf("results: survey %d settings: %w", id, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT version, definition FROM survey_versions WHERE survey_id = $1 ORDER BY version DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("results: load survey %d versions: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var def string
		if err := rows.Scan(&v, &def); err != nil {
			return nil, fmt.Errorf("results: load survey %d versions: %w", id, err)
		}
		var d feedback.Definition
		if err := json.Unmarshal([]byte(def), &d); err != nil {
			return nil, fmt.Errorf("results: survey %d version %d definition: %w", id, v, err)
		}
		s.Versions[v] = d
		s.Order = append(s.Order, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("results: load survey %d versions: %w", id, err)
	}
	// The current version first, whatever its number.
	if _, ok := s.Versions[s.Current]; ok {
		for i, v := range s.Order {
			if v == s.Current {
				copy(s.Order[1:i+1], s.Order[:i])
				s.Order[0] = v
				break
			}
		}
	}
	return s, nil
}

// questions lists every question key once, current version first, in
// definition order: the columns of an export.
func (s *surveyInfo) questions() []feedback.Question {
	seen := make(map[string]bool)
	var out []feedback.Question
	for _, v := range s.Order {
		for _, p := range s.Versions[v].Pages {
			for _, q := range p.Questions {
				if !seen[q.Key] {
					seen[q.Key] = true
					out = append(out, q)
				}
			}
		}
	}
	return out
}

// question finds a question by key, or — when key is "" — the first one of
// one of the wanted types. The error names the field for the web layer.
func (s *surveyInfo) question(key string, want ...feedback.QuestionType) (feedback.Question, error) {
	for _, q := range s.questions() {
		if key != "" && q.Key != key {
			continue
		}
		if len(want) == 0 {
			return q, nil
		}
		for _, t := range want {
			if q.Type == t {
				return q, nil
			}
		}
		if key != "" {
			return feedback.Question{}, kizuna.FieldError("question",
				"question %q is a %s question; this figure needs %s", key, q.Type, typeList(want))
		}
	}
	if key != "" {
		return feedback.Question{}, &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "question",
			Message: fmt.Sprintf("survey %d has no question %q", s.ID, key)}
	}
	return feedback.Question{}, &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "question",
		Message: fmt.Sprintf("survey %d has no %s question", s.ID, typeList(want))}
}

func typeList(ts []feedback.QuestionType) string {
	out := ""
	for i, t := range ts {
		if i > 0 {
			out += " or "
		}
		out += string(t)
	}
	return out
}

// options are the statistics options of a survey: its minimum n and its
// delight threshold (a whole number of points; the settings allow a
// fraction, which a comparison of integer answers would round up anyway).
func (s *surveyInfo) options() stats.Options {
	o := stats.Options{MinN: s.Settings.MinN}
	if t := s.Settings.DelightThreshold; t > 0 {
		o.DelightThreshold = int(math.Ceil(t))
	}
	return o
}

// ScaleOf is the answer scale of a scale question: its own Scale when set,
// else the standard one of its type (NPS 0–10, CSAT 1–5, CES 1–7, rating
// and expectation 1–5). ok is false for questions without a scale.
func ScaleOf(q feedback.Question) (scale stats.Scale, ok bool) {
	switch q.Type {
	case feedback.QNPS:
		return stats.NPSScale, true // the NPS scale is fixed by definition
	case feedback.QCSAT, feedback.QCES, feedback.QRating, feedback.QExpectation:
		if q.Scale != nil && q.Scale.Max > q.Scale.Min {
			return stats.Scale{Min: q.Scale.Min, Max: q.Scale.Max}, true
		}
		switch q.Type {
		case feedback.QCES:
			return stats.CESScale, true
		default:
			return stats.CSATScale, true
		}
	}
	return stats.Scale{}, false
}

// topK is the width of a CSAT question's top box.
func topK(q feedback.Question) int {
	if q.Scale != nil && q.Scale.TopBoxLen > 0 {
		return q.Scale.TopBoxLen
	}
	return stats.DefaultTopK
}

// QuestionRef names the question a figure is about, for headings.
type QuestionRef struct {
	Key   string                `json:"key"`
	Type  feedback.QuestionType `json:"type"`
	Text  feedback.Text         `json:"text"`
	Scale *stats.Scale          `json:"scale,omitempty"`
}

func refOf(q feedback.Question) QuestionRef {
	r := QuestionRef{Key: q.Key, Type: q.Type, Text: q.Text}
	if sc, ok := ScaleOf(q); ok {
		r.Scale = &sc
	}
	return r
}
