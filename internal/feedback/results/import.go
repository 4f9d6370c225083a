package results

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// Importing past feedback. An import creates (or reuses) a survey whose
// definition describes the imported questions, stores each row as a
// completed response on channel "import" keyed by an external reference
// (UNIQUE(survey_id, external_ref): importing the same rows again adds
// nothing), links it to a customer through customer.Service.ResolveTx when
// the row names one, and counts it in the rollups in the same transaction.
// A bad row is rejected with its line and reason and costs no good row.
//
// The rows are written here, with SQL of this package, because the
// feedback service's bulk path (feedback.ImportTx, branch fbcore) is not on
// main yet; switching to it changes writeBatch only.

// Customers is what an import needs of the customer service.
type Customers interface {
	ResolveTx(ctx context.Context, tx *db.Tx, reqs []customer.Resolve) ([]int64, error)
}

// ImportSurvey names the survey imported rows go to and describes them.
type ImportSurvey struct {
	// Slug identifies the survey: an import into an existing slug reuses
	// the survey, adding a version when its questions differ.
	Slug         string `json:"slug"`
	Name         string `json:"name"`
	Touchpoint   string `json:"touchpoint,omitempty"`
	JourneyStage string `json:"journey_stage,omitempty"`
	// Questions are the imported questions (keys [a-z0-9_]).
	Questions []feedback.Question `json:"questions,omitempty"`
}

// ImportRecord is one row of past feedback.
type ImportRecord struct {
	Line int64 // where the row starts in its file, for rejections
	// Ref identifies the row across imports (an id column, or the row
	// number of an unchanging file). Required.
	Ref         string
	CompletedAt time.Time
	// Customer names the respondent; nil imports the row anonymously.
	Customer   *customer.Keys
	Touchpoint string
	Locale     string
	Answers    []feedback.Answer
	Attributes map[string]string
	// Raw is the row as read, for the rejected-rows report.
	Raw []string
}

// ImportOptions tune an import.
type ImportOptions struct {
	// Errors, when set, receives every rejected row as CSV (UTF-8 with a
	// BOM, cells neutralised like an export, since it is opened in a
	// spreadsheet to fix the rows): line, field, reason, then the row's own
	// cells. Summary.Rejections keeps only the first MaxRejections.
	Errors io.Writer
	// Header names the row's cells in the report.
	Header []string
}

// RowError rejects one row: what a record source returns for a row it
// cannot read; the import records it and goes on.
type RowError struct {
	Line int64
	Err  error
	Raw  []string // the row as read, if it could be
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// Rejection is one rejected row.
type Rejection struct {
	Line   int64  `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// ImportSummary reports an import.
type ImportSummary struct {
	SurveyID int64 `json:"survey_id"`
	Version  int   `json:"version"`
	Rows     int64 `json:"rows"`
	Imported int64 `json:"imported"`
	// Existing rows were imported before (same Ref) and skipped.
	Existing int64 `json:"existing"`
	// Linked of Imported were linked to a customer.
	Linked     int64         `json:"linked"`
	Rejected   int64         `json:"rejected"`
	Rejections []Rejection   `json:"rejections"` // the first MaxRejections
	Duration   time.Duration `json:"duration"`
}

// MaxRejections is how many rejections a summary lists (all are counted).
const MaxRejections = 100

// importBatch is how many rows go into one transaction: large enough for
// multi-row statements to pay off, small enough to keep the SQLite writer
// free for live traffic between batches.
const importBatch = 1000

var questionKey = attributeKey

// ImportRecords imports the records next yields until io.EOF. next may
// return a *RowError to reject one row. It needs auth.PermDataImport.
// Errors: EUNAUTHORIZED, EFORBIDDEN, EINVALID (a bad ImportSurvey), or the
// store failing; the summary says what was done until then.
func ImportRecords(ctx context.Context, d *db.DB, customers Customers, sv ImportSurvey, opt ImportOptions, next func() (ImportRecord, error)) (_ *ImportSummary, err error) {
	start := time.Now()
	sum := &ImportSummary{Rejections: []Rejection{}}
	if err := auth.Require(ctx, auth.PermDataImport); err != nil {
		return sum, err
	}
	def, err := validateImportSurvey(sv)
	if err != nil {
		return sum, err
	}
	var versionID int64
	if err := d.WriteTx(ctx, func(tx *db.Tx) error {
		var err error
		sum.SurveyID, versionID, sum.Version, err = ensureSurvey(ctx, tx, sv, def)
		return err
	}); err != nil {
		return sum, err
	}
	byKey := questionIndex(&def)
	w := &importWriter{d: d, customers: customers, sum: sum, versionID: versionID, def: &def, header: opt.Header}
	if opt.Errors != nil {
		w.errors, w.errorsW = csv.NewWriter(opt.Errors), opt.Errors
	}
	defer func() {
		// Even an import that stops early leaves its report written.
		if ferr := w.flush(); err == nil {
			err = ferr
		}
	}()
	var batch []ImportRecord
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		rec, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			sum.Rows++
			w.reject(rowErr.Line, rowErr.Err, rowErr.Raw)
			continue
		}
		if err != nil {
			return sum, err
		}
		sum.Rows++
		if err := checkRecord(&rec, byKey); err != nil {
			w.reject(rec.Line, err, rec.Raw)
			continue
		}
		batch = append(batch, rec)
		if len(batch) == importBatch {
			if err := w.write(ctx, batch); err != nil {
				return sum, err
			}
			batch = batch[:0]
		}
	}
	if err := w.write(ctx, batch); err != nil {
		return sum, err
	}
	slices.SortStableFunc(sum.Rejections, func(a, b Rejection) int { return int(a.Line - b.Line) })
	sum.Duration = time.Since(start)
	return sum, nil
}

func validateImportSurvey(sv ImportSurvey) (feedback.Definition, error) {
	if sv.Slug == "" || len(sv.Slug) > 100 {
		return feedback.Definition{}, kizuna.FieldError("slug", "an import needs a survey slug (at most 100 bytes)")
	}
	if sv.Name == "" {
		sv.Name = sv.Slug
	}
	if len(sv.Questions) == 0 {
		return feedback.Definition{}, kizuna.FieldError("questions", "an import needs at least one question")
	}
	seen := make(map[string]bool)
	for i, q := range sv.Questions {
		field := fmt.Sprintf("questions[%d]", i)
		if !questionKey.MatchString(q.Key) {
			return feedback.Definition{}, kizuna.FieldError(field+".key", "question key %q must be letters, digits and _", q.Key)
		}
		if seen[q.Key] {
			return feedback.Definition{}, kizuna.FieldError(field+".key", "question key %q is used twice", q.Key)
		}
		seen[q.Key] = true
		switch q.Type {
		case feedback.QNPS, feedback.QCSAT, feedback.QCES, feedback.QRating, feedback.QSingle, feedback.QMulti, feedback.QText, feedback.QExpectation:
		default:
			return feedback.Definition{}, kizuna.FieldError(field+".type", "unknown question type %q", q.Type)
		}
	}
	return feedback.Definition{Pages: []feedback.Page{{Key: "imported", Questions: sv.Questions}}}, nil
}

// checkRecord rejects a record the survey cannot hold: every scale answer
// must count (on the scale), every option must be one of the question's.
func checkRecord(r *ImportRecord, byKey map[string]feedback.Question) error {
	if r.Ref == "" || len(r.Ref) > 200 {
		return kizuna.FieldError("ref", "a row needs a reference of 1–200 bytes")
	}
	if r.CompletedAt.IsZero() {
		return kizuna.FieldError("date", "the row has no date")
	}
	for _, a := range r.Answers {
		q, ok := byKey[a.Question]
		if !ok {
			return kizuna.FieldError(a.Question, "the survey has no question %q", a.Question)
		}
		switch q.Type {
		case feedback.QText:
			continue
		case feedback.QSingle:
			if len(q.Options) > 0 && !slices.ContainsFunc(q.Options, func(o feedback.Option) bool { return o.Key == a.Text }) {
				return kizuna.FieldError(a.Question, "%q is not an option of %s", a.Text, a.Question)
			}
		}
		if len(cellsOf(q, a)) == 0 {
			sc, _ := ScaleOf(q)
			return kizuna.FieldError(a.Question, "%s is not an answer on the scale %d–%d", formatNum(a.Num), sc.Min, sc.Max)
		}
	}
	for k := range r.Attributes {
		if !attributeKey.MatchString(k) {
			return kizuna.FieldError("attributes", "attribute key %q must be letters, digits and _", k)
		}
	}
	return nil
}

// ensureSurvey finds or creates the survey and a version holding def.
func ensureSurvey(ctx context.Context, tx *db.Tx, sv ImportSurvey, def feedback.Definition) (surveyID, versionID int64, version int, err error) {
	defJSON, err := json.Marshal(def)
	if err != nil {
		return 0, 0, 0, err
	}
	name := sv.Name
	if name == "" {
		name = sv.Slug
	}
	err = tx.QueryRowContext(ctx, `SELECT id, current_version FROM surveys WHERE slug = $1`, sv.Slug).Scan(&surveyID, &version)
	switch {
	case errors.Is(err, errNoRows):
		if err := tx.QueryRowContext(ctx, `INSERT INTO surveys (slug, name, touchpoint, journey_stage, status, current_version, settings, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 1, '{}', $6, $6) RETURNING id`,
			sv.Slug, name, sv.Touchpoint, sv.JourneyStage, feedback.StatusClosed, tx.NowMS()).Scan(&surveyID); err != nil {
			return 0, 0, 0, fmt.Errorf("results: import: create survey: %w", err)
		}
		version = 0
	case err != nil:
		return 0, 0, 0, fmt.Errorf("results: import: find survey: %w", err)
	default:
		var current string
		err := tx.QueryRowContext(ctx, `SELECT id, definition FROM survey_versions WHERE survey_id = $1 AND version = $2`, surveyID, version).Scan(&versionID, &current)
		if err != nil && !errors.Is(err, errNoRows) {
			return 0, 0, 0, fmt.Errorf("results: import: read survey: %w", err)
		}
		var have feedback.Definition
		if err == nil && json.Unmarshal([]byte(current), &have) == nil && sameQuestions(have, def) {
			return surveyID, versionID, version, nil
		}
	}
	version++
	if err := tx.QueryRowContext(ctx, `INSERT INTO survey_versions (survey_id, version, definition, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		surveyID, version, string(defJSON), tx.NowMS()).Scan(&versionID); err != nil {
		return 0, 0, 0, fmt.Errorf("results: import: create version: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE surveys SET current_version = $2, updated_at = $3 WHERE id = $1`, surveyID, version, tx.NowMS()); err != nil {
		return 0, 0, 0, fmt.Errorf("results: import: update survey: %w", err)
	}
	return surveyID, versionID, version, nil
}

// sameQuestions reports whether have asks every question of want with the
// same type, scale and options (texts may differ).
func sameQuestions(have, want feedback.Definition) bool {
	h := questionIndex(&have)
	for key, q := range questionIndex(&want) {
		p, ok := h[key]
		if !ok || p.Type != q.Type || len(p.Options) != len(q.Options) {
			return false
		}
		s1, _ := ScaleOf(p)
		s2, _ := ScaleOf(q)
		if s1 != s2 {
			return false
		}
		for i := range p.Options {
			if p.Options[i].Key != q.Options[i].Key {
				return false
			}
		}
	}
	return true
}

type importWriter struct {
	d         *db.DB
	customers Customers
	sum       *ImportSummary
	versionID int64
	def       *feedback.Definition
	header    []string
	errors    *csv.Writer
	errorsW   io.Writer
	wrote     bool
	errErr    error // the first failure writing the report
}

func (w *importWriter) reject(line int64, err error, raw []string) {
	r := Rejection{Line: line, Reason: err.Error()}
	var ke *kizuna.Error
	if errors.As(err, &ke) {
		r.Field, r.Reason = ke.Field, ke.Message
	}
	w.sum.Rejected++
	if len(w.sum.Rejections) < MaxRejections {
		w.sum.Rejections = append(w.sum.Rejections, r)
	}
	if w.errors == nil || w.errErr != nil {
		return
	}
	write := func(rec []string) {
		for i := range rec {
			rec[i] = NeutralizeCell(rec[i])
		}
		if err := w.errors.Write(rec); err != nil && w.errErr == nil {
			w.errErr = err
		}
	}
	if !w.wrote {
		w.wrote = true
		if _, err := io.WriteString(w.errorsW, utf8BOM); err != nil {
			w.errErr = err
			return
		}
		write(append([]string{"line", "field", "reason"}, w.header...))
	}
	write(append([]string{strconv.FormatInt(line, 10), r.Field, r.Reason}, raw...))
}

func (w *importWriter) flush() error {
	if w.errors == nil {
		return nil
	}
	w.errors.Flush()
	if w.errErr != nil {
		return fmt.Errorf("results: import: write rejected rows: %w", w.errErr)
	}
	return w.errors.Error()
}

// write stores a batch in one transaction. When the customer service
// refuses a row's keys (EINVALID) the batch is retried row by row so the
// culprit is rejected alone.
func (w *importWriter) write(ctx context.Context, batch []ImportRecord) error {
	if len(batch) == 0 {
		return nil
	}
	var imported, existing, linked int64
	err := w.d.WriteTx(ctx, func(tx *db.Tx) error {
		var err error
		imported, existing, linked, err = w.writeTx(ctx, tx, batch)
		return err
	})
	if err != nil && kizuna.ErrorCode(err) == kizuna.EINVALID {
		if len(batch) == 1 {
			w.reject(batch[0].Line, err, batch[0].Raw)
			return nil
		}
		for i := range batch {
			if err := w.write(ctx, batch[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("results: import: %w", err)
	}
	w.sum.Imported += imported
	w.sum.Existing += existing
	w.sum.Linked += linked
	return nil
}

func (w *importWriter) writeTx(ctx context.Context, tx *db.Tx, batch []ImportRecord) (imported, existing, linked int64, err error) {
	sid := w.sum.SurveyID
	customerIDs := make([]*int64, len(batch))
	var reqs []customer.Resolve
	var who []int
	for i, r := range batch {
		if r.Customer != nil {
			reqs = append(reqs, customer.Resolve{Keys: *r.Customer, Source: "import:feedback", SeenAt: r.CompletedAt})
			who = append(who, i)
		}
	}
	if len(reqs) > 0 {
		ids, err := w.customers.ResolveTx(ctx, tx, reqs)
		if err != nil {
			return 0, 0, 0, err
		}
		if len(ids) != len(reqs) {
			return 0, 0, 0, fmt.Errorf("resolve returned %d ids for %d requests", len(ids), len(reqs))
		}
		for j, i := range who {
			customerIDs[i] = &ids[j]
		}
	}
	const width = 11
	args := make([]any, 0, len(batch)*width)
	seen := make(map[string]bool, len(batch))
	var rows int
	for i, r := range batch {
		if seen[r.Ref] {
			continue // the same reference twice in a batch: the first wins
		}
		seen[r.Ref] = true
		rows++
		ms := r.CompletedAt.UnixMilli()
		args = append(args, sid, w.versionID, customerIDs[i], feedback.ChannelImport, feedback.ResponseCompleted, r.Locale, r.Touchpoint, ms, tx.NowMS(), ms, r.Ref)
	}
	q := `INSERT INTO survey_responses (survey_id, version_id, customer_id, channel, status, locale, touchpoint, started_at, updated_at, completed_at, external_ref) VALUES ` +
		db.Rows(rows, width) + ` ON CONFLICT (survey_id, external_ref) DO NOTHING RETURNING id, external_ref`
	res, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("insert responses: %w", err)
	}
	newID := make(map[string]int64, rows)
	for res.Next() {
		var id int64
		var ref string
		if err := res.Scan(&id, &ref); err != nil {
			res.Close()
			return 0, 0, 0, err
		}
		newID[ref] = id
	}
	if err := res.Close(); err != nil {
		return 0, 0, 0, err
	}
	if err := res.Err(); err != nil {
		return 0, 0, 0, err
	}
	var answers answerColumns
	var attrs attributeColumns
	var done []*feedback.Response
	for i := range batch {
		r := &batch[i]
		id, ok := newID[r.Ref]
		if !ok {
			existing++
			continue
		}
		delete(newID, r.Ref) // a repeated reference later in the batch is existing
		imported++
		if customerIDs[i] != nil {
			linked++
		}
		for _, a := range r.Answers {
			answers.add(id, a)
		}
		keys := make([]string, 0, len(r.Attributes))
		for k := range r.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			attrs.add(id, k, r.Attributes[k])
		}
		at := r.CompletedAt
		done = append(done, &feedback.Response{ID: id, SurveyID: sid, Version: w.sum.Version, CustomerID: customerIDs[i], Channel: feedback.ChannelImport,
			Status: feedback.ResponseCompleted, Touchpoint: r.Touchpoint, CompletedAt: &at, Answers: r.Answers})
	}
	if err := answers.insert(ctx, tx); err != nil {
		return 0, 0, 0, fmt.Errorf("insert answers: %w", err)
	}
	if err := attrs.insert(ctx, tx); err != nil {
		return 0, 0, 0, fmt.Errorf("insert attributes: %w", err)
	}
	if err := applyTx(ctx, tx, sid, map[int]*feedback.Definition{w.sum.Version: w.def}, done); err != nil {
		return 0, 0, 0, err
	}
	return imported, existing, linked, nil
}

// answerColumns are answers to insert, column by column.
type answerColumns struct {
	response       []int64
	question, attr []string
	num, num2      []*float64
	text           []string
}

func (c *answerColumns) add(id int64, a feedback.Answer) {
	c.response = append(c.response, id)
	c.question = append(c.question, a.Question)
	c.attr = append(c.attr, a.Attribute)
	c.num = append(c.num, a.Num)
	c.num2 = append(c.num2, a.Num2)
	c.text = append(c.text, a.Text)
}

// insert writes the answers. On Postgres one INSERT … SELECT FROM unnest
// of six array parameters: a multi-row VALUES of thousands of rows costs
// Postgres more to parse and plan than to execute (measured: 80 ms for
// 2,900 answers). SQLite takes multi-row VALUES in chunks.
func (c *answerColumns) insert(ctx context.Context, tx *db.Tx) error {
	if len(c.response) == 0 {
		return nil
	}
	if tx.Dialect == db.Postgres {
		_, err := tx.ExecContext(ctx, `INSERT INTO survey_answers (response_id, question_key, attribute_key, num, num2, text)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[])`,
			c.response, c.question, c.attr, c.num, c.num2, c.text)
		return err
	}
	args := make([]any, 0, 6*len(c.response))
	for i := range c.response {
		args = append(args, c.response[i], c.question[i], c.attr[i], c.num[i], c.num2[i], c.text[i])
	}
	return insertRows(ctx, tx, `INSERT INTO survey_answers (response_id, question_key, attribute_key, num, num2, text) VALUES `, "", 6, args)
}

// attributeColumns are response attributes to insert, column by column.
type attributeColumns struct {
	response   []int64
	key, value []string
}

func (c *attributeColumns) add(id int64, k, v string) {
	c.response = append(c.response, id)
	c.key = append(c.key, k)
	c.value = append(c.value, v)
}

func (c *attributeColumns) insert(ctx context.Context, tx *db.Tx) error {
	if len(c.response) == 0 {
		return nil
	}
	if tx.Dialect == db.Postgres {
		_, err := tx.ExecContext(ctx, `INSERT INTO survey_response_attributes (response_id, key, value)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`, c.response, c.key, c.value)
		return err
	}
	args := make([]any, 0, 3*len(c.response))
	for i := range c.response {
		args = append(args, c.response[i], c.key[i], c.value[i])
	}
	return insertRows(ctx, tx, `INSERT INTO survey_response_attributes (response_id, key, value) VALUES `, "", 3, args)
}

// insertRows runs "prefix (…), (…) … tail" over args, width values per
// row, in chunks that stay under the engines' parameter limit; the rows go
// in the order of args (the rollups pass them sorted, so concurrent
// writers lock rows in the same order).
func insertRows(ctx context.Context, tx *db.Tx, prefix, tail string, width int, args []any) error {
	n := len(args) / width
	per := db.MaxParams / width
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		if _, err := tx.ExecContext(ctx, prefix+db.Rows(end-start, width)+tail, args[start*width:end*width]...); err != nil {
			return err
		}
	}
	return nil
}

// trimText bounds an imported text.
func trimText(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
