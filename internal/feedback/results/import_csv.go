package results

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// Mapping says how the columns of a CSV file of past feedback become a
// survey's responses. Column names match the header case-insensitively.
type Mapping struct {
	Survey ImportSurvey `json:"survey"` // Questions is filled from the mapping
	// Scores are score columns (at least one score or choice column).
	Scores []ScoreColumn `json:"scores,omitempty"`
	// Choices are single-choice columns.
	Choices []ChoiceColumn `json:"choices,omitempty"`
	// DateColumn holds when the feedback was given, in DateLayout (a Go
	// layout; default: RFC 3339, then "2006-01-02 15:04:05", then
	// "2006-01-02") read in Location (else the IANA zone TimeZone, else
	// UTC) when it has no offset.
	DateColumn string         `json:"date_column"`
	DateLayout string         `json:"date_layout,omitempty"`
	TimeZone   string         `json:"time_zone,omitempty"`
	Location   *time.Location `json:"-"`
	// CustomerColumn identifies the respondent as an identity of
	// CustomerKind (customer.KindEmail, KindPhone or KindUserID); empty
	// imports every row anonymously.
	CustomerColumn string `json:"customer_column,omitempty"`
	CustomerKind   string `json:"customer_kind,omitempty"`
	// TextColumns are joined (blank line between, empty cells skipped)
	// into the free-text question TextQuestion (default "comment").
	TextColumns  []string `json:"text_columns,omitempty"`
	TextQuestion string   `json:"text_question,omitempty"`
	// TouchpointColumn sets each response's touchpoint (default: the
	// survey's).
	TouchpointColumn string `json:"touchpoint_column,omitempty"`
	// RefColumn identifies a row across imports; empty uses the row number
	// ("row:N"), which is stable only for an unchanged file.
	RefColumn string `json:"ref_column,omitempty"`
	// AttributeColumns become response attributes named after their
	// header (lower-cased, other characters as _).
	AttributeColumns []string `json:"attribute_columns,omitempty"`
	// Errors, when set, receives the rejected-rows report (ImportOptions).
	Errors io.Writer `json:"-"`
}

// ScoreColumn is a column of scores.
type ScoreColumn struct {
	Column   string                `json:"column"`
	Question string                `json:"question,omitempty"` // default: the column name as a key
	Type     feedback.QuestionType `json:"type"`               // nps, csat, ces or rating
	Min      int                   `json:"min,omitempty"`      // the scale; 0, 0 = the type's standard scale
	Max      int                   `json:"max,omitempty"`
	Text     feedback.Text         `json:"text"`
}

// ChoiceColumn is a single-choice column. Values maps cell values to
// option keys; a cell not in it is rejected (an empty cell is skipped).
type ChoiceColumn struct {
	Column   string            `json:"column"`
	Question string            `json:"question,omitempty"`
	Text     feedback.Text     `json:"text"`
	Options  []feedback.Option `json:"options"`
	Values   map[string]string `json:"values,omitempty"`
}

// MaxImportText bounds one imported free text (bytes).
const MaxImportText = 20_000

// ImportCSV imports past feedback from a CSV file (plain UTF-8, a BOM is
// skipped; quoted cells may hold newlines) mapped by m. Errors as
// ImportRecords; EINVALID when the mapping names a column the header lacks.
func ImportCSV(ctx context.Context, d *db.DB, customers Customers, r io.Reader, m Mapping) (*ImportSummary, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return &ImportSummary{}, kizuna.Errorf(kizuna.EINVALID, "the file is empty (a header row is required)")
	}
	if err != nil {
		return &ImportSummary{}, kizuna.Errorf(kizuna.EINVALID, "cannot read the header row: %v", err)
	}
	header = slices.Clone(header)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // Excel writes a byte-order mark
	}
	col := make(map[string]int)
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	find := func(field, name string) (int, error) {
		if name == "" {
			return -1, nil
		}
		i, ok := col[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return -1, kizuna.FieldError(field, "the file has no column %q", name)
		}
		return i, nil
	}
	sv := m.Survey
	sv.Questions = nil
	type scoreCol struct {
		i int
		q feedback.Question
	}
	var scores []scoreCol
	for k, s := range m.Scores {
		i, err := find(fmt.Sprintf("scores[%d].column", k), s.Column)
		if err != nil {
			return &ImportSummary{}, err
		}
		if i < 0 {
			return &ImportSummary{}, kizuna.FieldError(fmt.Sprintf("scores[%d].column", k), "a score column is required")
		}
		switch s.Type {
		case feedback.QNPS, feedback.QCSAT, feedback.QCES, feedback.QRating:
		default:
			return &ImportSummary{}, kizuna.FieldError(fmt.Sprintf("scores[%d].type", k), "a score column is nps, csat, ces or rating, not %q", s.Type)
		}
		q := feedback.Question{Key: keyOf(s.Question, s.Column), Type: s.Type, Text: s.Text}
		if s.Max > s.Min {
			q.Scale = &feedback.Scale{Min: s.Min, Max: s.Max}
		}
		sv.Questions = append(sv.Questions, q)
		scores = append(scores, scoreCol{i, q})
	}
	type choiceCol struct {
		i int
		c ChoiceColumn
		q feedback.Question
	}
	var choices []choiceCol
	for k, c := range m.Choices {
		i, err := find(fmt.Sprintf("choices[%d].column", k), c.Column)
		if err != nil {
			return &ImportSummary{}, err
		}
		q := feedback.Question{Key: keyOf(c.Question, c.Column), Type: feedback.QSingle, Text: c.Text, Options: c.Options}
		sv.Questions = append(sv.Questions, q)
		choices = append(choices, choiceCol{i, c, q})
	}
	if len(scores)+len(choices) == 0 {
		return &ImportSummary{}, kizuna.FieldError("scores", "map at least one score or choice column")
	}
	var texts []int
	for k, c := range m.TextColumns {
		i, err := find(fmt.Sprintf("text_columns[%d]", k), c)
		if err != nil {
			return &ImportSummary{}, err
		}
		texts = append(texts, i)
	}
	textQ := keyOf(m.TextQuestion, "comment")
	if len(texts) > 0 {
		sv.Questions = append(sv.Questions, feedback.Question{Key: textQ, Type: feedback.QText, Text: feedback.Text{EN: "Comment", JA: "コメント"}})
	}
	dateCol, err := find("date_column", m.DateColumn)
	if err != nil {
		return &ImportSummary{}, err
	}
	if dateCol < 0 {
		return &ImportSummary{}, kizuna.FieldError("date_column", "a date column is required")
	}
	custCol, err := find("customer_column", m.CustomerColumn)
	if err != nil {
		return &ImportSummary{}, err
	}
	if custCol >= 0 {
		switch m.CustomerKind {
		case customer.KindEmail, customer.KindPhone, customer.KindUserID:
		default:
			return &ImportSummary{}, kizuna.FieldError("customer_kind", "the customer column is an email, phone or user_id, not %q", m.CustomerKind)
		}
	}
	tpCol, err := find("touchpoint_column", m.TouchpointColumn)
	if err != nil {
		return &ImportSummary{}, err
	}
	refCol, err := find("ref_column", m.RefColumn)
	if err != nil {
		return &ImportSummary{}, err
	}
	attrCols := make(map[string]int)
	for k, c := range m.AttributeColumns {
		i, err := find(fmt.Sprintf("attribute_columns[%d]", k), c)
		if err != nil {
			return &ImportSummary{}, err
		}
		attrCols[keyOf("", c)] = i
	}
	loc := m.Location
	if loc == nil && m.TimeZone != "" {
		if loc, err = time.LoadLocation(m.TimeZone); err != nil {
			return &ImportSummary{}, kizuna.FieldError("time_zone", "unknown time zone %q (an IANA name such as Asia/Tokyo)", m.TimeZone)
		}
	}
	if loc == nil {
		loc = time.UTC
	}
	layouts := []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}
	if m.DateLayout != "" {
		layouts = []string{m.DateLayout}
	}
	var row int64
	next := func() (ImportRecord, error) {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return ImportRecord{}, io.EOF
		}
		row++
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return ImportRecord{}, &RowError{Line: int64(pe.StartLine), Err: fmt.Errorf("malformed CSV: %v", pe.Err)}
		}
		if err != nil {
			return ImportRecord{}, err
		}
		line, _ := cr.FieldPos(0)
		get := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		raw := slices.Clone(rec)
		fail := func(field, format string, a ...any) (ImportRecord, error) {
			return ImportRecord{}, &RowError{Line: int64(line), Err: kizuna.FieldError(field, format, a...), Raw: raw}
		}
		out := ImportRecord{Line: int64(line), Ref: "row:" + strconv.FormatInt(row, 10), Touchpoint: sv.Touchpoint, Raw: raw}
		if refCol >= 0 {
			if out.Ref = get(refCol); out.Ref == "" {
				return fail(m.RefColumn, "the reference is empty")
			}
		}
		ds := get(dateCol)
		for _, l := range layouts {
			if t, err := time.ParseInLocation(l, ds, loc); err == nil {
				out.CompletedAt = t
				break
			}
		}
		if out.CompletedAt.IsZero() {
			return fail(m.DateColumn, "%q is not a date (%s)", ds, strings.Join(layouts, " or "))
		}
		for _, s := range scores {
			v := get(s.i)
			if v == "" {
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fail(header[s.i], "%q is not a number", v)
			}
			out.Answers = append(out.Answers, feedback.Answer{Question: s.q.Key, Num: &f})
		}
		for _, c := range choices {
			v := get(c.i)
			if v == "" {
				continue
			}
			key, ok := c.c.Values[v]
			if c.c.Values == nil {
				key, ok = v, true
			}
			if !ok {
				return fail(header[c.i], "%q is not one of the mapped values", v)
			}
			out.Answers = append(out.Answers, feedback.Answer{Question: c.q.Key, Text: key})
		}
		var parts []string
		for _, i := range texts {
			if v := get(i); v != "" {
				parts = append(parts, v)
			}
		}
		if len(parts) > 0 {
			out.Answers = append(out.Answers, feedback.Answer{Question: textQ, Text: trimText(strings.Join(parts, "\n\n"), MaxImportText)})
		}
		if len(out.Answers) == 0 {
			return fail("", "the row has no answer")
		}
		if custCol >= 0 {
			if v := get(custCol); v != "" {
				k := customer.Keys{}
				switch m.CustomerKind {
				case customer.KindEmail:
					if k.Email, err = customer.NormalizeEmail(v); err != nil {
						return ImportRecord{}, &RowError{Line: int64(line), Err: err, Raw: raw}
					}
				case customer.KindPhone:
					if k.Phone, err = customer.NormalizePhone(v, ""); err != nil {
						return ImportRecord{}, &RowError{Line: int64(line), Err: err, Raw: raw}
					}
				default:
					k.UserID = v
				}
				out.Customer = &k
			}
		}
		if tpCol >= 0 {
			if v := get(tpCol); v != "" {
				out.Touchpoint = trimText(v, 100)
			}
		}
		for k, i := range attrCols {
			if v := get(i); v != "" {
				if out.Attributes == nil {
					out.Attributes = make(map[string]string)
				}
				out.Attributes[k] = trimText(v, 1000)
			}
		}
		return out, nil
	}
	return ImportRecords(ctx, d, customers, sv, ImportOptions{Errors: m.Errors, Header: header}, next)
}

// keyOf is a question or attribute key from a name: lower-cased, anything
// but a–z, 0–9 as _, at most 64 bytes; def when name is empty.
func keyOf(name, def string) string {
	if name == "" {
		name = def
	}
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() == 64 {
			break
		}
	}
	k := b.String()
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		k = "q_" + k
	}
	return k
}
