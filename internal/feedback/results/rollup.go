package results

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

const dayMS = int64(24 * time.Hour / time.Millisecond)

// dayOf is the unix-ms start of the UTC day of ms.
func dayOf(ms int64) int64 {
	d := ms % dayMS
	if d < 0 {
		d += dayMS
	}
	return ms - d
}

// cellValue is what one answer adds to the rollups: one count of a value
// (a score; an expectation with its perception; a chosen option).
type cellValue struct {
	Attribute string
	Value     int
	Value2    int // -1: none
	Option    string
}

// cellsOf is the single definition of what an answer counts as, shared by
// the rollup hook, Rebuild and the queries that read answers directly, so
// the three always agree. Answers the question cannot hold (off the scale,
// an expectation without its perception, an option that is not a key) count
// as nothing rather than as a wrong value; free text is never rolled up.
func cellsOf(q feedback.Question, a feedback.Answer) []cellValue {
	switch q.Type {
	case feedback.QNPS, feedback.QCSAT, feedback.QCES, feedback.QRating:
		sc, _ := ScaleOf(q)
		v, ok := onScale(a.Num, sc.Min, sc.Max)
		if !ok || a.Attribute != "" {
			return nil
		}
		return []cellValue{{Value: v, Value2: -1}}
	case feedback.QExpectation:
		sc, _ := ScaleOf(q)
		e, ok1 := onScale(a.Num, sc.Min, sc.Max)
		p, ok2 := onScale(a.Num2, sc.Min, sc.Max)
		if !ok1 || !ok2 || a.Attribute == "" {
			return nil
		}
		return []cellValue{{Attribute: a.Attribute, Value: e, Value2: p}}
	case feedback.QSingle:
		if a.Text == "" || len(a.Text) > 200 {
			return nil
		}
		return []cellValue{{Value2: -1, Option: a.Text}}
	case feedback.QMulti:
		var keys []string
		if err := json.Unmarshal([]byte(a.Text), &keys); err != nil {
			return nil
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		out := make([]cellValue, 0, len(keys))
		for _, k := range keys {
			if k != "" && len(k) <= 200 {
				out = append(out, cellValue{Value2: -1, Option: k})
			}
		}
		return out
	}
	return nil
}

// onScale rounds an answer to the nearest point and checks it is on the
// scale.
func onScale(v *float64, lo, hi int) (int, bool) {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return 0, false
	}
	r := math.Round(*v)
	if r < float64(lo) || r > float64(hi) {
		return 0, false
	}
	return int(r), true
}

// Rollup grains.
const (
	grainDay   = 1
	grainMonth = 2
)

// monthOf is the unix-ms start of the UTC month of ms.
func monthOf(ms int64) int64 {
	t := time.UnixMilli(ms).UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// cellKey is one survey_rollups row's identity (survey implied).
type cellKey struct {
	Question   string
	Grain      int
	Day        int64 // the bucket: start of the day or month
	Touchpoint string
	Channel    string
	Journey    string
	cellValue
}

// tally accumulates rollup counts in memory.
type tally map[cellKey]int64

func (t tally) addResponse(def *feedback.Definition, r *feedback.Response, completedMS int64) {
	byKey := questionIndex(def)
	day, month := dayOf(completedMS), monthOf(completedMS)
	for _, a := range r.Answers {
		q, ok := byKey[a.Question]
		if !ok {
			continue
		}
		for _, c := range cellsOf(q, a) {
			k := cellKey{Question: a.Question, Grain: grainDay, Day: day, Touchpoint: r.Touchpoint, Channel: r.Channel, Journey: r.JourneyStage, cellValue: c}
			t[k]++
			k.Grain, k.Day = grainMonth, month
			t[k]++
		}
	}
}

func questionIndex(def *feedback.Definition) map[string]feedback.Question {
	m := make(map[string]feedback.Question)
	for _, p := range def.Pages {
		for _, q := range p.Questions {
			m[q.Key] = q
		}
	}
	return m
}

func flagged(flags []string) bool {
	for _, f := range flags {
		if strings.TrimSpace(f) != "" {
			return true
		}
	}
	return false
}

// OnComplete counts a completed response in the rollups. The feedback
// service calls it inside the transaction that completes the response,
// with the response's answers, so the rollups commit or roll back with it.
//
// It is idempotent per response: it first records the response in
// survey_rollup_applied and adds counts only if that record is new, so a
// transaction re-run or a second completion cannot count a response twice.
// A response that is not completed adds nothing; a flagged one (honeypot,
// too_fast) is recorded as seen and not counted.
func OnComplete(ctx context.Context, tx *db.Tx, r *feedback.Response) error {
	if r == nil {
		return nil
	}
	return applyTx(ctx, tx, r.SurveyID, nil, []*feedback.Response{r})
}

// applyTx is OnComplete for many responses of one survey (imports). defs
// may carry the definitions already known by version; missing ones are
// read.
func applyTx(ctx context.Context, tx *db.Tx, surveyID int64, defs map[int]*feedback.Definition, rs []*feedback.Response) error {
	var todo []*feedback.Response
	for _, r := range rs {
		if r.Status != feedback.ResponseCompleted {
			continue // partial and abandoned responses are never counted
		}
		if r.ID <= 0 || r.SurveyID != surveyID {
			return fmt.Errorf("results: rollup: response %d of survey %d in a batch of survey %d", r.ID, r.SurveyID, surveyID)
		}
		todo = append(todo, r)
	}
	if len(todo) == 0 {
		return nil
	}
	// Lock the survey against a concurrent Rebuild (which takes it FOR
	// UPDATE) so that a rebuild never misses or double counts a response
	// completing while it runs. SQLite has one writer, which is the lock.
	// (The same lock orders the hook against the customer-attribute
	// backfill, which reads the dims below.)
	lock := `SELECT settings FROM surveys WHERE id = $1`
	if tx.Dialect == db.Postgres {
		lock += ` FOR SHARE`
	}
	var rawSettings string
	if err := tx.QueryRowContext(ctx, lock, surveyID).Scan(&rawSettings); err != nil {
		return fmt.Errorf("results: rollup: lock survey %d: %w", surveyID, err)
	}
	var settings feedback.Settings
	_ = json.Unmarshal([]byte(rawSettings), &settings) // settings that do not parse list no breakdown attributes
	dims, err := loadDims(ctx, tx, surveyID)
	if err != nil {
		return err
	}
	newIDs, err := markApplied(ctx, tx, todo)
	if err != nil {
		return err
	}
	var fresh, counted []int64
	for _, r := range todo {
		if newIDs[r.ID] {
			fresh = append(fresh, r.ID)
			if !flagged(r.Flags) {
				counted = append(counted, r.ID)
			}
		}
	}
	// The segment as it is now, in this transaction: the customer's
	// lifecycle stage, country and listed attributes at completion
	// (snapshotted for every new response, flagged ones too: the answers
	// path reads the snapshot when a filter includes them), and the
	// response's attributes (stored before the hook runs).
	snaps, err := snapshotSegments(ctx, tx, fresh, snapshotKeys(settings, dims))
	if err != nil {
		return err
	}
	if len(counted) == 0 {
		return nil
	}
	segs := make(map[int64]segment, len(counted))
	for _, id := range counted {
		sn := snaps[id] // zero for an anonymous response: "" throughout
		sg := segment{Lifecycle: sn.Lifecycle, Country: sn.Country}
		for _, d := range dims {
			if d.counts(id) {
				sg.Customer = append(sg.Customer, [2]string{dimName(d.Key), sn.Customer[d.Key]})
			}
		}
		segs[id] = sg
	}
	for start := 0; start < len(counted); start += 1000 {
		in, args := db.InInt(tx.Dialect, 1, counted[start:min(len(counted), start+1000)])
		if err := loadAttributes(ctx, tx, `r.id`+in, args, segs); err != nil {
			return err
		}
	}
	t := make(tally)
	st := make(segTally)
	dt := make(driverTally)
	for _, r := range todo {
		if !newIDs[r.ID] || flagged(r.Flags) {
			continue
		}
		def, err := definitionOf(ctx, tx, surveyID, r.Version, defs)
		if err != nil {
			return err
		}
		done := tx.NowMS()
		if r.CompletedAt != nil {
			done = r.CompletedAt.UnixMilli()
		}
		t.addResponse(def, r, done)
		st.addResponse(def, r, done, segs[r.ID])
		dt.addResponse(def, r, done)
	}
	if err := upsertTally(ctx, tx, surveyID, t, true); err != nil {
		return err
	}
	if err := upsertSegments(ctx, tx, surveyID, st, true); err != nil {
		return err
	}
	return upsertDrivers(ctx, tx, surveyID, dt, true)
}

// markApplied inserts the applied markers and returns the responses whose
// marker is new (the others were already counted).
func markApplied(ctx context.Context, tx *db.Tx, rs []*feedback.Response) (map[int64]bool, error) {
	const width = 4
	out := make(map[int64]bool, len(rs))
	for start := 0; start < len(rs); start += 1000 {
		chunk := rs[start:min(len(rs), start+1000)]
		args := make([]any, 0, len(chunk)*width)
		for _, r := range chunk {
			counted := 1
			if flagged(r.Flags) {
				counted = 0
			}
			args = append(args, r.ID, r.SurveyID, counted, tx.NowMS())
		}
		rows, err := tx.QueryContext(ctx, `INSERT INTO survey_rollup_applied (response_id, survey_id, counted, applied_at) VALUES `+
			db.Rows(len(chunk), width)+` ON CONFLICT (response_id) DO NOTHING RETURNING response_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("results: rollup: mark applied: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("results: rollup: mark applied: %w", err)
			}
			out[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("results: rollup: mark applied: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("results: rollup: mark applied: %w", err)
		}
	}
	return out, nil
}

func definitionOf(ctx context.Context, tx *db.Tx, surveyID int64, version int, cache map[int]*feedback.Definition) (*feedback.Definition, error) {
	if d, ok := cache[version]; ok {
		return d, nil
	}
	var raw string
	err := tx.QueryRowContext(ctx, `SELECT definition FROM survey_versions WHERE survey_id = $1 AND version = $2`, surveyID, version).Scan(&raw)
	if err != nil {
		return nil, fmt.Errorf("results: rollup: survey %d version %d: %w", surveyID, version, err)
	}
	d := new(feedback.Definition)
	if err := json.Unmarshal([]byte(raw), d); err != nil {
		return nil, fmt.Errorf("results: rollup: survey %d version %d definition: %w", surveyID, version, err)
	}
	if cache != nil {
		cache[version] = d
	}
	return d, nil
}

// upsertTally adds counts to survey_rollups and survey_rollups_total (or,
// with add false, inserts them into emptied tables). Rows are written in
// key order: two transactions touching the same rows then lock them in the
// same order and cannot deadlock on Postgres.
func upsertTally(ctx context.Context, tx *db.Tx, surveyID int64, t tally, add bool) error {
	if len(t) == 0 {
		return nil
	}
	keys := make([]cellKey, 0, len(t))
	total := make(tally)
	for k, n := range t {
		keys = append(keys, k)
		total[cellKey{Question: k.Question, Grain: k.Grain, Day: k.Day, cellValue: k.cellValue}] += n
	}
	order := func(a, b cellKey) int {
		return cmp.Or(cmp.Compare(a.Question, b.Question), cmp.Compare(a.Grain, b.Grain), cmp.Compare(a.Day, b.Day), cmp.Compare(a.Attribute, b.Attribute),
			cmp.Compare(a.Touchpoint, b.Touchpoint), cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Journey, b.Journey),
			cmp.Compare(a.Value, b.Value), cmp.Compare(a.Value2, b.Value2), cmp.Compare(a.Option, b.Option))
	}
	slices.SortFunc(keys, order)
	totalKeys := make([]cellKey, 0, len(total))
	for k := range total {
		totalKeys = append(totalKeys, k)
	}
	slices.SortFunc(totalKeys, order)
	const width, totalWidth = 12, 9
	conflict := ` ON CONFLICT (survey_id, question_key, grain, bucket, attribute_key, touchpoint, channel, journey_stage, value, value2, option_key) DO UPDATE SET n = survey_rollups.n + excluded.n`
	totalConflict := ` ON CONFLICT (survey_id, question_key, grain, bucket, attribute_key, value, value2, option_key) DO UPDATE SET n = survey_rollups_total.n + excluded.n`
	if !add {
		conflict, totalConflict = "", ""
	}
	args := make([]any, 0, len(keys)*width)
	for _, k := range keys {
		args = append(args, surveyID, k.Question, k.Grain, k.Day, k.Attribute, k.Touchpoint, k.Channel, k.Journey, k.Value, k.Value2, k.Option, t[k])
	}
	if err := insertRows(ctx, tx, `INSERT INTO survey_rollups (survey_id, question_key, grain, bucket, attribute_key, touchpoint, channel, journey_stage, value, value2, option_key, n) VALUES `, conflict, width, args); err != nil {
		return fmt.Errorf("results: rollup: write counts: %w", err)
	}
	args = make([]any, 0, len(totalKeys)*totalWidth)
	for _, k := range totalKeys {
		args = append(args, surveyID, k.Question, k.Grain, k.Day, k.Attribute, k.Value, k.Value2, k.Option, total[k])
	}
	if err := insertRows(ctx, tx, `INSERT INTO survey_rollups_total (survey_id, question_key, grain, bucket, attribute_key, value, value2, option_key, n) VALUES `, totalConflict, totalWidth, args); err != nil {
		return fmt.Errorf("results: rollup: write total counts: %w", err)
	}
	return nil
}

// Rebuild recomputes a survey's rollups from its stored answers, in one
// transaction: after a fix to stored answers, a restore, or to check the
// incremental counts (it must find the same). It needs
// auth.PermDataImport.
func Rebuild(ctx context.Context, d *db.DB, surveyID int64) error {
	if err := auth.Require(ctx, auth.PermDataImport); err != nil {
		return err
	}
	return d.WriteTx(ctx, func(tx *db.Tx) error { return rebuildTx(ctx, tx, surveyID) })
}

func rebuildTx(ctx context.Context, tx *db.Tx, surveyID int64) error {
	if ok, err := lockSurvey(ctx, tx, surveyID); err != nil {
		return fmt.Errorf("results: rebuild: %w", err)
	} else if !ok {
		return &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "survey_id", Message: fmt.Sprintf("survey %d does not exist", surveyID)}
	}
	info, err := loadSurvey(ctx, tx, surveyID)
	if err != nil {
		return err
	}
	defs := info.definitions()
	dims, err := loadDims(ctx, tx, surveyID)
	if err != nil {
		return err
	}
	dims = slices.DeleteFunc(dims, func(d dimState) bool { return d.State == DimRefused })
	const where = `r.survey_id = $1 AND r.status = 'completed' AND r.flags = ''`
	segs, err := loadSegments(ctx, tx, where, []any{surveyID}, dims)
	if err != nil {
		return err
	}
	t := make(tally)
	st := make(segTally)
	dt := make(driverTally)
	err = readResponses(ctx, tx, where, []any{surveyID}, func(r *feedback.Response, version int, done int64) {
		if def := defs[version]; def != nil {
			t.addResponse(def, r, done)
			st.addResponse(def, r, done, segs[r.ID])
			dt.addResponse(def, r, done)
		}
	})
	if err != nil {
		return fmt.Errorf("results: rebuild: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM survey_rollups WHERE survey_id = $1`, surveyID); err != nil {
		return fmt.Errorf("results: rebuild: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM survey_rollups_total WHERE survey_id = $1`, surveyID); err != nil {
		return fmt.Errorf("results: rebuild: %w", err)
	}
	for _, table := range []string{"survey_segment_rollups", "survey_driver_rollups", "survey_rollup_pending"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE survey_id = $1`, surveyID); err != nil {
			return fmt.Errorf("results: rebuild: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM survey_rollup_applied WHERE survey_id = $1`, surveyID); err != nil {
		return fmt.Errorf("results: rebuild: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO survey_rollup_applied (response_id, survey_id, counted, applied_at)
		SELECT id, survey_id, CASE WHEN flags = '' THEN 1 ELSE 0 END, $2 FROM survey_responses
		WHERE survey_id = $1 AND status = 'completed'`, surveyID, tx.NowMS()); err != nil {
		return fmt.Errorf("results: rebuild: %w", err)
	}
	if err := upsertTally(ctx, tx, surveyID, t, false); err != nil {
		return err
	}
	if err := upsertSegments(ctx, tx, surveyID, st, false); err != nil {
		return err
	}
	if err := upsertDrivers(ctx, tx, surveyID, dt, false); err != nil {
		return err
	}
	// Every customer-attribute dim counted above is complete.
	if _, err := tx.ExecContext(ctx, `UPDATE survey_segment_dims SET state = 'ready', updated_at = $2 WHERE survey_id = $1 AND state = 'backfilling'`,
		surveyID, tx.NowMS()); err != nil {
		return fmt.Errorf("results: rebuild: %w", err)
	}
	return nil
}

// readResponses calls fn with each response matching where (alias r; its
// parameters are args), in id order, with its answers, its version number
// and its completion time (unix ms).
func readResponses(ctx context.Context, tx *db.Tx, where string, args []any, fn func(r *feedback.Response, version int, done int64)) error {
	rows, err := tx.QueryContext(ctx, `SELECT r.id, v.version, r.completed_at, r.touchpoint, r.channel, r.journey_stage,
		a.question_key, a.attribute_key, a.num, a.num2, a.text
		FROM survey_responses r
		JOIN survey_versions v ON v.id = r.version_id
		JOIN survey_answers a ON a.response_id = r.id
		WHERE `+where+`
		ORDER BY r.id`, args...)
	if err != nil {
		return fmt.Errorf("read answers: %w", err)
	}
	defer rows.Close()
	var cur feedback.Response
	var curDone int64
	var curVersion int
	for rows.Next() {
		var rid, done int64
		var version int
		var tp, ch, js string
		var a feedback.Answer
		if err := rows.Scan(&rid, &version, &done, &tp, &ch, &js, &a.Question, &a.Attribute, &a.Num, &a.Num2, &a.Text); err != nil {
			return fmt.Errorf("read answers: %w", err)
		}
		if rid != cur.ID {
			if cur.ID != 0 {
				fn(&cur, curVersion, curDone)
			}
			cur = feedback.Response{ID: rid, Touchpoint: tp, Channel: ch, JourneyStage: js}
			curDone, curVersion = done, version
		}
		cur.Answers = append(cur.Answers, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read answers: %w", err)
	}
	if cur.ID != 0 {
		fn(&cur, curVersion, curDone)
	}
	return nil
}
