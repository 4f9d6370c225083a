package results

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// Exports write one row (CSV) or object (JSON) per completed response with
// its answers by question key, streaming from the database: memory does
// not grow with the survey.

// column is one answer column of an export.
type column struct {
	name     string
	question string
	attr     string
	second   bool // the perception of an expectation attribute
}

func exportColumns(info *surveyInfo) []column {
	var cols []column
	for _, q := range info.questions() {
		if q.Type == feedback.QExpectation {
			for _, a := range q.Attributes {
				cols = append(cols,
					column{name: q.Key + "." + a.Key + ".expected", question: q.Key, attr: a.Key},
					column{name: q.Key + "." + a.Key + ".perceived", question: q.Key, attr: a.Key, second: true})
			}
			continue
		}
		cols = append(cols, column{name: q.Key, question: q.Key})
	}
	return cols
}

var exportFixed = []string{"response_id", "survey_id", "version", "completed_at", "channel", "touchpoint", "journey_stage", "locale", "customer_id", "flags"}

// exportRow is one response being assembled from the joined rows.
type exportRow struct {
	id                                   int64
	version                              int
	completedAt                          int64
	channel, touchpoint, journey, locale string
	customerID                           *int64
	flags                                string
	answers                              map[[2]string]feedback.Answer
	attributes                           map[string]string
}

// exportChunk is how many responses one round of an export reads.
const exportChunk = 1000

// streamResponses reads f's responses in id order with their answers and
// attributes and calls emit once per response. It reads in keyset chunks
// of exportChunk responses (then their answers and attributes by id):
// memory stays bounded, no query sorts the whole survey, and no read
// transaction stays open for the whole export (on SQLite a long reader
// keeps the WAL from being checkpointed).
func (s *Service) streamResponses(ctx context.Context, f Filter, emit func(*exportRow) error) error {
	var last int64
	for {
		var a args
		q := `SELECT r.id, v.version, r.completed_at, r.channel, r.touchpoint, r.journey_stage, r.locale, r.customer_id, r.flags
			FROM survey_responses r JOIN survey_versions v ON v.id = r.version_id
			WHERE ` + responseWhere(f, &a) + ` AND r.id > ` + a.add(last) + ` ORDER BY r.id LIMIT ` + a.add(exportChunk)
		rows, err := s.db.Reader().QueryContext(ctx, q, a...)
		if err != nil {
			return fmt.Errorf("results: export: %w", err)
		}
		var chunk []*exportRow
		for rows.Next() {
			r := &exportRow{answers: make(map[[2]string]feedback.Answer), attributes: make(map[string]string)}
			var done *int64
			if err := rows.Scan(&r.id, &r.version, &done, &r.channel, &r.touchpoint, &r.journey, &r.locale, &r.customerID, &r.flags); err != nil {
				rows.Close()
				return fmt.Errorf("results: export: %w", err)
			}
			if done != nil {
				r.completedAt = *done
			}
			chunk = append(chunk, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("results: export: %w", err)
		}
		if len(chunk) == 0 {
			return nil
		}
		if err := s.fillChunk(ctx, chunk); err != nil {
			return err
		}
		for _, r := range chunk {
			if err := emit(r); err != nil {
				return err
			}
		}
		last = chunk[len(chunk)-1].id
		if len(chunk) < exportChunk {
			return nil
		}
	}
}

// fillChunk reads the answers and attributes of a chunk of responses.
func (s *Service) fillChunk(ctx context.Context, chunk []*exportRow) error {
	byID := make(map[int64]*exportRow, len(chunk))
	ids := make([]int64, len(chunk))
	for i, r := range chunk {
		byID[r.id], ids[i] = r, r.id
	}
	in, args := db.InInt(s.db.Dialect, 1, ids)
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT response_id, question_key, attribute_key, num, num2, text FROM survey_answers WHERE response_id`+in, args...)
	if err != nil {
		return fmt.Errorf("results: export answers: %w", err)
	}
	for rows.Next() {
		var id int64
		var a feedback.Answer
		if err := rows.Scan(&id, &a.Question, &a.Attribute, &a.Num, &a.Num2, &a.Text); err != nil {
			rows.Close()
			return fmt.Errorf("results: export answers: %w", err)
		}
		byID[id].answers[[2]string{a.Question, a.Attribute}] = a
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("results: export answers: %w", err)
	}
	rows, err = s.db.Reader().QueryContext(ctx, `SELECT response_id, key, value FROM survey_response_attributes WHERE response_id`+in, args...)
	if err != nil {
		return fmt.Errorf("results: export attributes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return fmt.Errorf("results: export attributes: %w", err)
		}
		byID[id].attributes[k] = v
	}
	return rows.Err()
}

func formatNum(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// cellOf is an answer as one CSV cell: the number, the text, or a multiple
// choice's keys joined by ";".
func cellOf(c column, a feedback.Answer, ok bool) string {
	if !ok {
		return ""
	}
	if c.second {
		return formatNum(a.Num2)
	}
	if a.Num != nil {
		return formatNum(a.Num)
	}
	var keys []string
	if strings.HasPrefix(a.Text, "[") && json.Unmarshal([]byte(a.Text), &keys) == nil {
		return strings.Join(keys, ";")
	}
	return a.Text
}

// NeutralizeCell defuses spreadsheet formula injection: a cell beginning
// with = + - @, a tab or a carriage return is read by Excel, LibreOffice and
// Google Sheets as a formula (=HYPERLINK(…) exfiltrates, =cmd|… ran commands
// in old Excel), so it gets a leading single quote, which spreadsheets show
// as text and do not display (OWASP, "CSV Injection"). Every cell is
// treated, numbers included: our own numeric columns are never negative,
// and one rule for all cells cannot be bypassed by a column we forgot.
func NeutralizeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// utf8BOM starts every CSV export. Excel decides a CSV file's encoding from
// its first bytes: without a byte-order mark, Excel on Japanese Windows
// reads it as Shift_JIS (CP932) and shows the Japanese answers as mojibake;
// with the BOM it reads UTF-8. Other tools (pandas, R, LibreOffice) skip it.
const utf8BOM = "\ufeff"

// ExportCSV writes f's responses as CSV (UTF-8 with a byte-order mark, RFC
// 4180 quoting, every cell neutralised against formula injection): the
// response's own columns, one column per question (expectation questions
// one per attribute and side), then one per response attribute (attr.KEY).
// It needs auth.PermResponsesExport. Response attributes are collected in a
// first pass (a small query) so the header is known before streaming.
func (s *Service) ExportCSV(ctx context.Context, w io.Writer, f Filter) error {
	f, info, err := s.prepare(ctx, auth.PermResponsesExport, f)
	if err != nil {
		return err
	}
	if err := s.auditExport(ctx, f, "csv"); err != nil {
		return err
	}
	attrKeys, err := s.attributeKeys(ctx, f)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cols := exportColumns(info)
	header := append([]string(nil), exportFixed...)
	for _, c := range cols {
		header = append(header, c.name)
	}
	for _, k := range attrKeys {
		header = append(header, "attr."+k)
	}
	write := func(rec []string) error {
		for i := range rec {
			rec[i] = NeutralizeCell(rec[i])
		}
		return cw.Write(rec)
	}
	if err := write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	err = s.streamResponses(ctx, f, func(r *exportRow) error {
		rec = rec[:0]
		cust := ""
		if r.customerID != nil {
			cust = strconv.FormatInt(*r.customerID, 10)
		}
		rec = append(rec, strconv.FormatInt(r.id, 10), strconv.FormatInt(f.SurveyID, 10), strconv.Itoa(r.version),
			time.UnixMilli(r.completedAt).UTC().Format(time.RFC3339), r.channel, r.touchpoint, r.journey, r.locale, cust, r.flags)
		for _, c := range cols {
			a, ok := r.answers[[2]string{c.question, c.attr}]
			rec = append(rec, cellOf(c, a, ok))
		}
		for _, k := range attrKeys {
			rec = append(rec, r.attributes[k])
		}
		return write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// auditExport records who exported which responses (auth's data.exported,
// target "survey") before the first byte leaves: an export carries
// customers' answers out of the system, so it is recorded even when the
// download is then interrupted.
func (s *Service) auditExport(ctx context.Context, f Filter, format string) error {
	detail := map[string]any{"format": format}
	for k, v := range map[string]string{"question": f.Question, "touchpoint": f.Touchpoint, "channel": f.Channel, "journey_stage": f.JourneyStage} {
		if v != "" {
			detail[k] = v
		}
	}
	if !f.From.IsZero() {
		detail["from"] = f.From.Format(time.DateOnly)
	}
	if !f.To.IsZero() {
		detail["to"] = f.To.Format(time.DateOnly)
	}
	if f.IncludeFlagged {
		detail["include_flagged"] = true
	}
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		return auth.AuditTx(ctx, tx, auth.ActionDataExported, auth.TargetSurvey, strconv.FormatInt(f.SurveyID, 10), detail)
	})
}

func (s *Service) attributeKeys(ctx context.Context, f Filter) ([]string, error) {
	var a args
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT DISTINCT x.key FROM survey_responses r JOIN survey_response_attributes x ON x.response_id = r.id
		WHERE `+responseWhere(f, &a)+` ORDER BY 1`, a...)
	if err != nil {
		return nil, fmt.Errorf("results: export: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("results: export: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// exportedResponse is one response in a JSON export.
type exportedResponse struct {
	ResponseID   int64             `json:"response_id"`
	SurveyID     int64             `json:"survey_id"`
	Version      int               `json:"version"`
	CompletedAt  time.Time         `json:"completed_at"`
	Channel      string            `json:"channel"`
	Touchpoint   string            `json:"touchpoint"`
	JourneyStage string            `json:"journey_stage"`
	Locale       string            `json:"locale"`
	CustomerID   *int64            `json:"customer_id"`
	Flags        []string          `json:"flags"`
	Answers      map[string]any    `json:"answers"`
	Attributes   map[string]string `json:"attributes,omitempty"`
}

// ExportJSON writes f's responses as a JSON array, one object per response
// with answers by question key (a number, a text, a list of option keys,
// or for expectation questions {attribute: {expected, perceived}}),
// encoding each response as it is read. It needs auth.PermResponsesExport.
func (s *Service) ExportJSON(ctx context.Context, w io.Writer, f Filter) error {
	f, info, err := s.prepare(ctx, auth.PermResponsesExport, f)
	if err != nil {
		return err
	}
	if err := s.auditExport(ctx, f, "json"); err != nil {
		return err
	}
	types := make(map[string]feedback.QuestionType)
	for _, q := range info.questions() {
		types[q.Key] = q.Type
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if _, err := bw.WriteString("["); err != nil {
		return err
	}
	first := true
	err = s.streamResponses(ctx, f, func(r *exportRow) error {
		o := exportedResponse{ResponseID: r.id, SurveyID: f.SurveyID, Version: r.version, CompletedAt: time.UnixMilli(r.completedAt).UTC(),
			Channel: r.channel, Touchpoint: r.touchpoint, JourneyStage: r.journey, Locale: r.locale, CustomerID: r.customerID,
			Flags: []string{}, Answers: make(map[string]any)}
		if r.flags != "" {
			o.Flags = strings.Split(r.flags, ",")
		}
		if len(r.attributes) > 0 {
			o.Attributes = r.attributes
		}
		for k, a := range r.answers {
			switch {
			case types[k[0]] == feedback.QExpectation || k[1] != "":
				m, _ := o.Answers[k[0]].(map[string]any)
				if m == nil {
					m = make(map[string]any)
					o.Answers[k[0]] = m
				}
				m[k[1]] = map[string]*float64{"expected": a.Num, "perceived": a.Num2}
			case a.Num != nil:
				o.Answers[k[0]] = *a.Num
			case types[k[0]] == feedback.QMulti:
				var keys []string
				if json.Unmarshal([]byte(a.Text), &keys) != nil {
					o.Answers[k[0]] = a.Text
				} else {
					o.Answers[k[0]] = keys
				}
			default:
				o.Answers[k[0]] = a.Text
			}
		}
		if !first {
			if _, err := bw.WriteString(","); err != nil {
				return err
			}
		}
		first = false
		return enc.Encode(o) // Encode ends each object with a newline
	})
	if err != nil {
		return err
	}
	if _, err := bw.WriteString("]\n"); err != nil {
		return err
	}
	return bw.Flush()
}
