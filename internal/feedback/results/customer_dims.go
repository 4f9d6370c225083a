package results

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/jobs"
)

// Customer-attribute dimensions (migration 00020): the customer attributes
// a survey lists in Settings.BreakdownAttributes are rolled up in
// survey_segment_rollups under dim "customer:<key>", by the value the
// customer had when the response completed. See the package doc,
// "Breakdowns by customer attribute".

// States of a survey_segment_dims row.
const (
	DimBackfilling = "backfilling"
	DimReady       = "ready"
	DimRefused     = "refused"
	// DimUntracked is what AttributeTracking says of a key the survey does
	// not list (no row).
	DimUntracked = "untracked"
)

// MaxDimValues is the number of distinct values beyond which a customer
// attribute is not rolled up: a breakdown into more groups than this
// (an e-mail address, an id) is not a breakdown, and its rollups would
// be as large as the answers.
const MaxDimValues = 1000

// backfillChunk is the counted responses one backfill transaction adds:
// small enough that the transaction holds the writer for well under a
// second. dimValueLimit is MaxDimValues. (Variables for tests.)
var (
	backfillChunk = 5000
	dimValueLimit = MaxDimValues
)

// AttributeTracking says whether a breakdown by a customer attribute
// reads the rollups.
type AttributeTracking struct {
	Key string `json:"key"`
	// State is untracked (the survey does not list the key in its
	// breakdown attributes), backfilling (listed; the existing responses
	// are being counted), ready (the breakdown reads the rollups) or
	// refused (too many distinct values; Reason says so).
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// dimState is a survey_segment_dims row.
type dimState struct {
	Key          string // the attribute key, without "customer:"
	State        string
	BackfilledTo int64
}

// counts reports whether the hook counts the response id under the dim:
// every response once the dim is ready, while backfilling only those the
// backfill has already passed (it counts the others itself).
func (d dimState) counts(id int64) bool {
	return d.State == DimReady || (d.State == DimBackfilling && id <= d.BackfilledTo)
}

const customerDimPrefix = "customer:"

// loadDims reads the dims of a survey.
func loadDims(ctx context.Context, q querier, surveyID int64) ([]dimState, error) {
	rows, err := q.QueryContext(ctx, `SELECT dim, state, backfilled_to FROM survey_segment_dims WHERE survey_id = $1 ORDER BY dim`, surveyID)
	if err != nil {
		return nil, fmt.Errorf("results: read customer dimensions: %w", err)
	}
	defer rows.Close()
	var out []dimState
	for rows.Next() {
		var d dimState
		var dim string
		if err := rows.Scan(&dim, &d.State, &d.BackfilledTo); err != nil {
			return nil, fmt.Errorf("results: read customer dimensions: %w", err)
		}
		d.Key = strings.TrimPrefix(dim, customerDimPrefix)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("results: read customer dimensions: %w", err)
	}
	return out, nil
}

// snapshotKeys are the customer attributes the hook records at
// completion: those the settings list, and those still rolled up (a key
// just removed from the settings until the backfill job drops it).
func snapshotKeys(st feedback.Settings, dims []dimState) []string {
	keys := slices.Clone(st.BreakdownAttributes)
	for _, d := range dims {
		if d.State != DimRefused {
			keys = append(keys, d.Key)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// customerValue is the group a customer attribute's JSON value falls in: a
// string as it is, a number or boolean as its JSON text, null "", an
// object or array its compact JSON; "" when longer than maxSegmentValue.
func customerValue(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var v string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &v); err != nil {
			return ""
		}
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return ""
		}
		v = b.String()
	default:
		v = string(raw)
		if f, err := strconv.ParseFloat(v, 64); err == nil && f == float64(int64(f)) && !strings.ContainsAny(v, ".eE") {
			v = strconv.FormatInt(int64(f), 10)
		}
	}
	if len(v) > maxSegmentValue {
		return ""
	}
	return v
}

// customerValues picks keys out of a customer's attributes (a JSON object;
// anything else has no attributes): every key gets a value, "" when the
// customer has none.
func customerValues(attrs string, keys []string) map[string]string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(attrs), &m) // a malformed object has no attributes
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = customerValue(m[k])
	}
	return out
}

// Tracking reports, for each key given (or, with none, each key the survey
// lists), whether a breakdown by that customer attribute reads the
// rollups. [surveys.read]
func (s *Service) Tracking(ctx context.Context, surveyID int64, keys ...string) ([]AttributeTracking, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return nil, err
	}
	info, err := loadSurvey(ctx, s.db.Reader(), surveyID)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		keys = info.Settings.BreakdownAttributes
	}
	out := make([]AttributeTracking, 0, len(keys))
	for _, k := range keys {
		t, err := s.tracking(ctx, info, k)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// tracking is the state of a breakdown by customer attribute key.
func (s *Service) tracking(ctx context.Context, info *surveyInfo, key string) (AttributeTracking, error) {
	t := AttributeTracking{Key: key, State: DimUntracked}
	if !slices.Contains(info.Settings.BreakdownAttributes, key) {
		return t, nil
	}
	t.State = DimBackfilling // listed; the job has not picked it up yet
	err := s.db.Reader().QueryRowContext(ctx, `SELECT state, reason FROM survey_segment_dims WHERE survey_id = $1 AND dim = $2`,
		info.ID, dimName(key)).Scan(&t.State, &t.Reason)
	if err != nil && !errors.Is(err, errNoRows) {
		return t, fmt.Errorf("results: read customer dimension: %w", err)
	}
	return t, nil
}

// Jobs returns the results package's background work: BackfillDims every
// ten seconds, RebuildPending every minute.
func (s *Service) Jobs() []jobs.Job {
	return []jobs.Job{
		{Name: "results.backfill_dims", Every: 10 * time.Second, Run: func(ctx context.Context) error { return BackfillDims(ctx, s.db) }},
		{Name: "results.rebuild_pending", Every: time.Minute, Run: func(ctx context.Context) error { return RebuildPending(ctx, s.db) }},
	}
}

// RebuildPending rebuilds the rollups of every survey whose rollups
// predate a rollup table (survey_rollup_pending: filled by the migration
// that adds one), one survey per transaction; until then those surveys'
// affected figures read the answers. Needs auth.PermDataImport.
func RebuildPending(ctx context.Context, d *db.DB) error {
	if err := auth.Require(ctx, auth.PermDataImport); err != nil {
		return err
	}
	rows, err := d.Reader().QueryContext(ctx, `SELECT survey_id FROM survey_rollup_pending ORDER BY survey_id`)
	if err != nil {
		return fmt.Errorf("results: pending rollups: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("results: pending rollups: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("results: pending rollups: %w", err)
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := d.WriteTx(ctx, func(tx *db.Tx) error { return rebuildTx(ctx, tx, id) }); err != nil {
			return err
		}
	}
	return nil
}

// BackfillDims brings the customer-attribute rollups of every survey in
// line with its settings: a key newly listed gets a row and its existing
// responses counted, chunk by chunk; a key no longer listed loses its row
// and its rollups; a key whose values turn out too many (MaxDimValues) is
// refused and its rollups dropped. It returns when every listed key is
// ready or refused, or ctx ends (the next run goes on from where it
// stopped). Needs auth.PermDataImport (the job runs as the system).
func BackfillDims(ctx context.Context, d *db.DB) error {
	if err := auth.Require(ctx, auth.PermDataImport); err != nil {
		return err
	}
	want, err := listedDims(ctx, d)
	if err != nil {
		return err
	}
	have := make(map[int64][]dimState)
	rows, err := d.Reader().QueryContext(ctx, `SELECT survey_id, dim, state, backfilled_to FROM survey_segment_dims ORDER BY survey_id, dim`)
	if err != nil {
		return fmt.Errorf("results: backfill: %w", err)
	}
	for rows.Next() {
		var id int64
		var ds dimState
		var dim string
		if err := rows.Scan(&id, &dim, &ds.State, &ds.BackfilledTo); err != nil {
			rows.Close()
			return fmt.Errorf("results: backfill: %w", err)
		}
		ds.Key = strings.TrimPrefix(dim, customerDimPrefix)
		have[id] = append(have[id], ds)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("results: backfill: %w", err)
	}
	// Drop what is no longer listed; add what is newly listed.
	for id, ds := range have {
		for _, dm := range ds {
			if !slices.Contains(want[id], dm.Key) {
				if err := d.WriteTx(ctx, func(tx *db.Tx) error { return dropDim(ctx, tx, id, dm.Key) }); err != nil {
					return err
				}
			}
		}
	}
	for id, keys := range want {
		for _, k := range keys {
			if slices.ContainsFunc(have[id], func(x dimState) bool { return x.Key == k }) {
				continue
			}
			if _, err := d.Writer().ExecContext(ctx, `INSERT INTO survey_segment_dims (survey_id, dim, state, backfilled_to, updated_at)
				VALUES ($1, $2, 'backfilling', 0, $3) ON CONFLICT (survey_id, dim) DO NOTHING`, id, dimName(k), d.Now().UnixMilli()); err != nil {
				return fmt.Errorf("results: backfill: add %s to survey %d: %w", k, id, err)
			}
		}
	}
	// Count the existing responses of every backfilling dim, and check the
	// ready ones still have few enough values.
	for id, keys := range want {
		for _, k := range keys {
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				var done bool
				if err := d.WriteTx(ctx, func(tx *db.Tx) (err error) {
					done, err = backfillStep(ctx, tx, id, k)
					return err
				}); err != nil {
					return err
				}
				if done {
					break
				}
			}
		}
	}
	return nil
}

// listedDims reads the breakdown attributes every survey lists.
func listedDims(ctx context.Context, d *db.DB) (map[int64][]string, error) {
	rows, err := d.Reader().QueryContext(ctx, `SELECT id, settings FROM surveys WHERE settings LIKE '%breakdown_attributes%'`)
	if err != nil {
		return nil, fmt.Errorf("results: backfill: read settings: %w", err)
	}
	defer rows.Close()
	out := make(map[int64][]string)
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("results: backfill: read settings: %w", err)
		}
		var st feedback.Settings
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			continue // a survey whose settings do not parse lists nothing
		}
		for _, k := range st.BreakdownAttributes {
			if attributeKey.MatchString(k) {
				out[id] = append(out[id], k)
			}
		}
	}
	return out, rows.Err()
}

// lockSurvey takes the survey's row lock against the rollup hook (which
// holds it FOR SHARE) on Postgres; SQLite's single writer is the lock.
// It reports false when the survey does not exist.
func lockSurvey(ctx context.Context, tx *db.Tx, surveyID int64) (bool, error) {
	lock := `SELECT id FROM surveys WHERE id = $1`
	if tx.Dialect == db.Postgres {
		lock += ` FOR UPDATE`
	}
	var id int64
	err := tx.QueryRowContext(ctx, lock, surveyID).Scan(&id)
	if errors.Is(err, errNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("results: lock survey %d: %w", surveyID, err)
	}
	return true, nil
}

// dropDim deletes a dim and its rollups.
func dropDim(ctx context.Context, tx *db.Tx, surveyID int64, key string) error {
	if _, err := lockSurvey(ctx, tx, surveyID); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM survey_segment_rollups WHERE survey_id = $1 AND dim = $2`, `DELETE FROM survey_segment_dims WHERE survey_id = $1 AND dim = $2`} {
		if _, err := tx.ExecContext(ctx, q, surveyID, dimName(key)); err != nil {
			return fmt.Errorf("results: drop %s of survey %d: %w", key, surveyID, err)
		}
	}
	return nil
}

// refuseDim marks a dim refused and drops its rollups.
func refuseDim(ctx context.Context, tx *db.Tx, surveyID int64, key, reason string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM survey_segment_rollups WHERE survey_id = $1 AND dim = $2`, surveyID, dimName(key)); err != nil {
		return fmt.Errorf("results: refuse %s of survey %d: %w", key, surveyID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE survey_segment_dims SET state = 'refused', reason = $3, updated_at = $4 WHERE survey_id = $1 AND dim = $2`,
		surveyID, dimName(key), reason, tx.NowMS()); err != nil {
		return fmt.Errorf("results: refuse %s of survey %d: %w", key, surveyID, err)
	}
	return nil
}

// recheckEvery is how often a ready dim's values are counted again.
const recheckEvery = time.Hour

// tooManyValues counts a dim's distinct values in the month rollups of
// one question (the first by key: a range scan of the primary key; every
// counted response answering it has a value there) and returns the
// refusal reason when they exceed MaxDimValues.
func tooManyValues(ctx context.Context, tx *db.Tx, surveyID int64, key string) (string, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT DISTINCT dim_value FROM survey_segment_rollups
		WHERE survey_id = $1 AND question_key = (SELECT MIN(question_key) FROM survey_segment_rollups WHERE survey_id = $1)
		AND dim = $2 AND grain = $3 LIMIT $4) v`, surveyID, dimName(key), grainMonth, dimValueLimit+1).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("results: count values of %s: %w", key, err)
	}
	if n > dimValueLimit {
		return fmt.Sprintf("more than %d distinct values: a breakdown by %s is not rolled up", dimValueLimit, key), nil
	}
	return "", nil
}

// backfillStep does one transaction of work on a dim: counts the next
// chunk of a backfilling dim's responses (and makes it ready after the
// last), or checks a ready dim's values. It reports whether the dim needs
// no more work now.
func backfillStep(ctx context.Context, tx *db.Tx, surveyID int64, key string) (bool, error) {
	if ok, err := lockSurvey(ctx, tx, surveyID); err != nil || !ok {
		return true, err
	}
	var ds dimState
	var updated int64
	err := tx.QueryRowContext(ctx, `SELECT state, backfilled_to, updated_at FROM survey_segment_dims WHERE survey_id = $1 AND dim = $2`,
		surveyID, dimName(key)).Scan(&ds.State, &ds.BackfilledTo, &updated)
	if errors.Is(err, errNoRows) {
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("results: backfill %s: %w", key, err)
	}
	switch ds.State {
	case DimRefused:
		return true, nil
	case DimReady:
		// New values arrive with new customers: once an hour, refuse a dim
		// that has grown past the bound since it became ready.
		if tx.NowMS()-updated < recheckEvery.Milliseconds() {
			return true, nil
		}
		reason, err := tooManyValues(ctx, tx, surveyID, key)
		if err != nil {
			return true, err
		}
		if reason != "" {
			return true, refuseDim(ctx, tx, surveyID, key, reason)
		}
		_, err = tx.ExecContext(ctx, `UPDATE survey_segment_dims SET updated_at = $3 WHERE survey_id = $1 AND dim = $2`, surveyID, dimName(key), tx.NowMS())
		return true, err
	}
	// The next chunk of counted responses after backfilled_to.
	rows, err := tx.QueryContext(ctx, `SELECT response_id FROM survey_rollup_applied
		WHERE survey_id = $1 AND counted = 1 AND response_id > $2 ORDER BY response_id LIMIT $3`, surveyID, ds.BackfilledTo, backfillChunk)
	if err != nil {
		return true, fmt.Errorf("results: backfill %s: %w", key, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return true, fmt.Errorf("results: backfill %s: %w", key, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return true, fmt.Errorf("results: backfill %s: %w", key, err)
	}
	if len(ids) > 0 {
		info, err := loadSurvey(ctx, tx, surveyID)
		if err != nil {
			return true, err
		}
		defs := info.definitions()
		in, args := db.InInt(tx.Dialect, 1, ids)
		vals, err := loadCustomerValues(ctx, tx, `r.id`+in, args, []string{key})
		if err != nil {
			return true, err
		}
		if err := saveSnapshots(ctx, tx, vals); err != nil {
			return true, err
		}
		st := make(segTally)
		err = readResponses(ctx, tx, `r.id`+in, args, func(r *feedback.Response, version int, done int64) {
			if def := defs[version]; def != nil {
				v := "" // anonymous
				if cs, ok := vals[r.ID]; ok {
					v = cs.Values[0]
				}
				st.addDims(def, r, done, [][2]string{{dimName(key), v}})
			}
		})
		if err != nil {
			return true, err
		}
		if err := upsertSegments(ctx, tx, surveyID, st, true); err != nil {
			return true, err
		}
		if reason, err := tooManyValues(ctx, tx, surveyID, key); err != nil || reason != "" {
			if err != nil {
				return true, err
			}
			return true, refuseDim(ctx, tx, surveyID, key, reason)
		}
		ds.BackfilledTo = ids[len(ids)-1]
	}
	state := DimBackfilling
	if len(ids) < backfillChunk {
		state = DimReady // every counted response is in; the hook counts the rest
	}
	if _, err := tx.ExecContext(ctx, `UPDATE survey_segment_dims SET state = $3, backfilled_to = $4, updated_at = $5 WHERE survey_id = $1 AND dim = $2`,
		surveyID, dimName(key), state, ds.BackfilledTo, tx.NowMS()); err != nil {
		return true, fmt.Errorf("results: backfill %s: %w", key, err)
	}
	return state == DimReady, nil
}

// dimName is the survey_segment_dims.dim (and rollup dim) of a customer
// attribute key.
func dimName(key string) string { return customerDimPrefix + key }

// loadCustomerValues reads, for the responses matching where (alias r),
// the value of each key (in the order of keys): the completion snapshot's
// when it has the key, else the customer's current one (following a
// merge), which it then records in the snapshot (the rows go back with
// saveSnapshots), so that every later reading, on the rollups or the
// answers, counts the response under the value it was first counted
// under. Responses without a customer are absent from the map (every
// value "").
func loadCustomerValues(ctx context.Context, q *db.Tx, where string, args []any, keys []string) (map[int64]*custSnapshot, error) {
	out := make(map[int64]*custSnapshot)
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT r.id, s.response_id IS NOT NULL, COALESCE(s.lifecycle_stage, c.lifecycle_stage, ''), COALESCE(s.country, c.country, ''),
		COALESCE(s.customer_attributes, ''), COALESCE(c.attributes, '{}')
		FROM survey_responses r
		JOIN customers c0 ON c0.id = r.customer_id
		JOIN customers c ON c.id = COALESCE(c0.merged_into, c0.id)
		LEFT JOIN survey_response_segments s ON s.response_id = r.id
		WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("results: read customer attributes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var snap, cur string
		cs := new(custSnapshot)
		if err := rows.Scan(&id, &cs.Stored, &cs.Lifecycle, &cs.Country, &snap, &cur); err != nil {
			return nil, fmt.Errorf("results: read customer attributes: %w", err)
		}
		_ = json.Unmarshal([]byte(snap), &cs.Attrs) // a bad snapshot is rewritten from the current values
		if cs.Attrs == nil {
			cs.Attrs = make(map[string]string, len(keys))
		}
		cs.Values = make([]string, len(keys))
		var current map[string]string
		for i, k := range keys {
			v, ok := cs.Attrs[k]
			if !ok {
				if current == nil {
					current = customerValues(cur, keys)
				}
				v = current[k]
				cs.Attrs[k], cs.Dirty = v, true
			}
			cs.Values[i] = v
		}
		out[id] = cs
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("results: read customer attributes: %w", err)
	}
	return out, nil
}

// custSnapshot is a response's survey_response_segments row as
// loadCustomerValues reads it.
type custSnapshot struct {
	Stored             bool // the row exists
	Lifecycle, Country string
	Attrs              map[string]string // the customer_attributes object
	Values             []string          // the values of the keys asked for
	Dirty              bool              // Attrs gained keys: save it
}

// saveSnapshots writes back the snapshots loadCustomerValues completed.
func saveSnapshots(ctx context.Context, tx *db.Tx, snaps map[int64]*custSnapshot) error {
	var ids []int64
	for id, cs := range snaps {
		if cs.Dirty {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	args := make([]any, 0, len(ids)*4)
	for _, id := range ids {
		cs := snaps[id]
		b, _ := json.Marshal(cs.Attrs) // a map of strings always marshals
		args = append(args, id, cs.Lifecycle, cs.Country, string(b))
	}
	if err := insertRows(ctx, tx, `INSERT INTO survey_response_segments (response_id, lifecycle_stage, country, customer_attributes) VALUES `, ` ON CONFLICT (response_id) DO UPDATE SET customer_attributes = excluded.customer_attributes`, 4, args); err != nil {
		return fmt.Errorf("results: save snapshots: %w", err)
	}
	return nil
}
