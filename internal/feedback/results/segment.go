package results

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// Segment rollups (migration 00019): the counts of survey_rollups, kept
// per customer segment (lifecycle stage, country) and per response
// attribute, as they were when the response completed.

// Bounds of what one response adds to the segment rollups: at most
// maxSegmentAttrs response attributes (the first by key; keys a dimension
// cannot name are skipped), each value at most maxSegmentValue bytes
// (longer values are left out and fall in the "" group).
const (
	maxSegmentAttrs = 20
	maxSegmentValue = 200
)

// segment is what a response is grouped by in the segment rollups.
type segment struct {
	Lifecycle, Country string
	Attrs              [][2]string // key, value; sorted by key, bounded
	// Customer: the customer-attribute dims the response counts under
	// ("customer:<key>", value).
	Customer [][2]string
}

// segKey is one survey_segment_rollups row's identity (survey implied).
type segKey struct {
	Question   string
	Dim        string // lifecycle_stage, country, response:<key>, customer:<key>
	Grain      int
	Day        int64
	DimValue   string
	Touchpoint string // the response's
	cellValue
}

// segTally accumulates segment rollup counts in memory.
type segTally map[segKey]int64

func (t segTally) addResponse(def *feedback.Definition, r *feedback.Response, completedMS int64, sg segment) {
	dims := make([][2]string, 0, 2+len(sg.Attrs)+len(sg.Customer))
	dims = append(dims, [2]string{string(DimLifecycle), sg.Lifecycle}, [2]string{string(DimCountry), sg.Country})
	for _, kv := range sg.Attrs {
		dims = append(dims, [2]string{"response:" + kv[0], kv[1]})
	}
	dims = append(dims, sg.Customer...)
	t.addDims(def, r, completedMS, dims)
}

// addDims counts r's answers under each (dim, value) of dims.
func (t segTally) addDims(def *feedback.Definition, r *feedback.Response, completedMS int64, dims [][2]string) {
	byKey := questionIndex(def)
	day, month := dayOf(completedMS), monthOf(completedMS)
	for _, a := range r.Answers {
		q, ok := byKey[a.Question]
		if !ok {
			continue
		}
		for _, c := range cellsOf(q, a) {
			for _, dv := range dims {
				k := segKey{Question: a.Question, Dim: dv[0], Grain: grainDay, Day: day, DimValue: dv[1], Touchpoint: r.Touchpoint, cellValue: c}
				t[k]++
				k.Grain, k.Day = grainMonth, month
				t[k]++
			}
		}
	}
}

// loadSegments reads, for Rebuild, the segment of the responses matching
// where (alias r; its parameters are args): the snapshot the hook took at
// completion (survey_response_segments) or, without one, the customer's
// current segment (following a merge), and the response attributes. Responses
// without a customer get lifecycle stage and country "".
//
// dims are the customer-attribute dims to count (not refused): each
// response gets a value for each, from the completion snapshot or the
// customer's current attributes ("" without a customer).
func loadSegments(ctx context.Context, q *db.Tx, where string, args []any, dims []dimState) (map[int64]segment, error) {
	out := make(map[int64]segment)
	rows, err := q.QueryContext(ctx, `SELECT r.id, COALESCE(s.lifecycle_stage, c.lifecycle_stage, ''), COALESCE(s.country, c.country, '')
		FROM survey_responses r
		LEFT JOIN survey_response_segments s ON s.response_id = r.id
		LEFT JOIN customers c0 ON c0.id = r.customer_id
		LEFT JOIN customers c ON c.id = COALESCE(c0.merged_into, c0.id)
		WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("results: rollup: read segments: %w", err)
	}
	for rows.Next() {
		var id int64
		var sg segment
		if err := rows.Scan(&id, &sg.Lifecycle, &sg.Country); err != nil {
			rows.Close()
			return nil, fmt.Errorf("results: rollup: read segments: %w", err)
		}
		out[id] = sg
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("results: rollup: read segments: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("results: rollup: read segments: %w", err)
	}
	if err := loadAttributes(ctx, q, where, args, out); err != nil {
		return nil, err
	}
	if len(dims) == 0 {
		return out, nil
	}
	keys := make([]string, len(dims))
	for i, d := range dims {
		keys[i] = d.Key
	}
	vals, err := loadCustomerValues(ctx, q, where, args, keys)
	if err != nil {
		return nil, err
	}
	if err := saveSnapshots(ctx, q, vals); err != nil {
		return nil, err
	}
	for id, sg := range out {
		cs := vals[id] // nil for an anonymous response: every value ""
		sg.Customer = make([][2]string, len(keys))
		for i, k := range keys {
			sg.Customer[i][0] = dimName(k)
			if cs != nil {
				sg.Customer[i][1] = cs.Values[i]
			}
		}
		out[id] = sg
	}
	return out, nil
}

// loadAttributes adds to the segments in segs the response attributes of
// the responses matching where (alias r), within the bounds
// maxSegmentAttrs and maxSegmentValue. Responses not in segs are skipped.
func loadAttributes(ctx context.Context, q *db.Tx, where string, args []any, segs map[int64]segment) error {
	rows, err := q.QueryContext(ctx, `SELECT x.response_id, x.key, x.value FROM survey_responses r
		JOIN survey_response_attributes x ON x.response_id = r.id
		WHERE `+where+` ORDER BY x.response_id, x.key`, args...)
	if err != nil {
		return fmt.Errorf("results: rollup: read response attributes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return fmt.Errorf("results: rollup: read response attributes: %w", err)
		}
		sg, ok := segs[id]
		if !ok || len(sg.Attrs) >= maxSegmentAttrs || !attributeKey.MatchString(k) || len(v) > maxSegmentValue {
			continue
		}
		sg.Attrs = append(sg.Attrs, [2]string{k, v})
		segs[id] = sg
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("results: rollup: read response attributes: %w", err)
	}
	return nil
}

// snapshotSegments records the segment of new responses that have a
// customer — the customer's lifecycle stage, country and the values of the
// customer attributes keys (snapshotKeys) now, in the completing
// transaction, following a merge — so a later Rebuild reproduces it, and
// returns it by response (responses without a customer are absent: their
// segment is "" throughout).
func snapshotSegments(ctx context.Context, tx *db.Tx, ids []int64, keys []string) (map[int64]snapshot, error) {
	out := make(map[int64]snapshot, len(ids))
	for start := 0; start < len(ids); start += 1000 {
		chunk := ids[start:min(len(ids), start+1000)]
		in, args := db.InInt(tx.Dialect, 1, chunk)
		attrs := "'{}'"
		if len(keys) > 0 {
			attrs = "c.attributes"
		}
		rows, err := tx.QueryContext(ctx, `SELECT r.id, COALESCE(c.lifecycle_stage, ''), COALESCE(c.country, ''), COALESCE(`+attrs+`, '{}')
			FROM survey_responses r
			JOIN customers c0 ON c0.id = r.customer_id
			JOIN customers c ON c.id = COALESCE(c0.merged_into, c0.id)
			WHERE r.id`+in+` ORDER BY r.id`, args...)
		if err != nil {
			return nil, fmt.Errorf("results: rollup: snapshot segments: %w", err)
		}
		var order []int64
		for rows.Next() {
			var id int64
			var sn snapshot
			var cur string
			if err := rows.Scan(&id, &sn.Lifecycle, &sn.Country, &cur); err != nil {
				rows.Close()
				return nil, fmt.Errorf("results: rollup: snapshot segments: %w", err)
			}
			sn.Customer = customerValues(cur, keys)
			out[id] = sn
			order = append(order, id)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("results: rollup: snapshot segments: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("results: rollup: snapshot segments: %w", err)
		}
		if len(order) == 0 {
			continue
		}
		const width = 4
		vals := make([]any, 0, len(order)*width)
		for _, id := range order {
			sn := out[id]
			b, err := json.Marshal(sn.Customer) // a map: keys sorted
			if err != nil {
				return nil, fmt.Errorf("results: rollup: snapshot segments: %w", err)
			}
			vals = append(vals, id, sn.Lifecycle, sn.Country, string(b))
		}
		// A response is snapshotted once, when it first completes; a row
		// already there is kept as it was, and is what counts.
		inserted, err := insertedIDs(ctx, tx, `INSERT INTO survey_response_segments (response_id, lifecycle_stage, country, customer_attributes) VALUES `+
			db.Rows(len(order), width)+` ON CONFLICT (response_id) DO NOTHING RETURNING response_id`, vals)
		if err != nil {
			return nil, fmt.Errorf("results: rollup: snapshot segments: %w", err)
		}
		var kept []int64
		for _, id := range order {
			if !inserted[id] {
				kept = append(kept, id)
			}
		}
		if len(kept) > 0 {
			in, args := db.InInt(tx.Dialect, 1, kept)
			vals, err := loadCustomerValues(ctx, tx, `r.id`+in, args, keys)
			if err != nil {
				return nil, err
			}
			if err := saveSnapshots(ctx, tx, vals); err != nil {
				return nil, err
			}
			rows, err := tx.QueryContext(ctx, `SELECT response_id, lifecycle_stage, country FROM survey_response_segments WHERE response_id`+in, args...)
			if err != nil {
				return nil, fmt.Errorf("results: rollup: snapshot segments: %w", err)
			}
			for rows.Next() {
				var id int64
				var sn snapshot
				if err := rows.Scan(&id, &sn.Lifecycle, &sn.Country); err != nil {
					rows.Close()
					return nil, fmt.Errorf("results: rollup: snapshot segments: %w", err)
				}
				sn.Customer = make(map[string]string, len(keys))
				if cs := vals[id]; cs != nil {
					for i, k := range keys {
						sn.Customer[k] = cs.Values[i]
					}
				}
				out[id] = sn
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("results: rollup: snapshot segments: %w", err)
			}
		}
	}
	return out, nil
}

// insertedIDs runs an INSERT … RETURNING of one id column and returns the
// ids it returned.
func insertedIDs(ctx context.Context, tx *db.Tx, query string, args []any) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		out[id] = true
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return out, rows.Err()
}

// snapshot is a customer's segment at completion.
type snapshot struct {
	Lifecycle, Country string
	Customer           map[string]string // by attribute key
}

// upsertSegments adds counts to survey_segment_rollups (or, with add
// false, inserts them into an emptied table), in key order like
// upsertTally.
func upsertSegments(ctx context.Context, tx *db.Tx, surveyID int64, t segTally, add bool) error {
	if len(t) == 0 {
		return nil
	}
	keys := make([]segKey, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b segKey) int {
		return cmp.Or(cmp.Compare(a.Question, b.Question), cmp.Compare(a.Dim, b.Dim), cmp.Compare(a.Grain, b.Grain), cmp.Compare(a.Day, b.Day),
			cmp.Compare(a.DimValue, b.DimValue), cmp.Compare(a.Touchpoint, b.Touchpoint), cmp.Compare(a.Attribute, b.Attribute),
			cmp.Compare(a.Value, b.Value), cmp.Compare(a.Value2, b.Value2), cmp.Compare(a.Option, b.Option))
	})
	const width = 12
	conflict := ` ON CONFLICT (survey_id, question_key, dim, grain, bucket, dim_value, touchpoint, attribute_key, value, value2, option_key) DO UPDATE SET n = survey_segment_rollups.n + excluded.n`
	if !add {
		conflict = ""
	}
	args := make([]any, 0, len(keys)*width)
	for _, k := range keys {
		args = append(args, surveyID, k.Question, k.Dim, k.Grain, k.Day, k.DimValue, k.Touchpoint, k.Attribute, k.Value, k.Value2, k.Option, t[k])
	}
	if err := insertRows(ctx, tx, `INSERT INTO survey_segment_rollups (survey_id, question_key, dim, grain, bucket, dim_value, touchpoint, attribute_key, value, value2, option_key, n) VALUES `, conflict, width, args); err != nil {
		return fmt.Errorf("results: rollup: write segment counts: %w", err)
	}
	return nil
}

// fromSegmentRollups reports whether the segment rollups can answer a
// query grouped by dm under f: lifecycle stage, country, response and
// customer attributes, when f does not filter by channel or journey stage
// (the segment rollups keep touchpoints apart, not those). For
// customer:<key> the caller also checks the survey keeps the key rolled up
// and ready, and for all that the survey is not pending a rebuild.
func (dm dimension) fromSegmentRollups(f Filter) bool {
	if f.Channel != "" || f.JourneyStage != "" {
		return false
	}
	switch dm.kind {
	case "lifecycle_stage", "country", "response", "customer":
		return true
	}
	return false
}

// segmentDim is dm's value of survey_segment_rollups.dim.
func (dm dimension) segmentDim() string {
	switch dm.kind {
	case "response":
		return "response:" + dm.key
	case "customer":
		return dimName(dm.key)
	}
	return dm.kind
}

// countsFromSegments is countsFromRollups over the segment rollups. For a
// response attribute, the responses without it (group "") are the total
// counts less those with it.
func (s *Service) countsFromSegments(ctx context.Context, f Filter, q feedback.Question, dm dimension, sp split) ([]cell, error) {
	merged := make(map[cell]int64)
	for _, r := range f.ranges(sp) {
		if err := s.scanSegments(ctx, f, q, dm.segmentDim(), sp, r, merged); err != nil {
			return nil, err
		}
	}
	if dm.kind == "response" {
		total, err := s.countsFromRollups(ctx, f, q, dimension{}, sp)
		if err != nil {
			return nil, err
		}
		with := make(map[cell]int64) // by Day and value, Group ""
		for c, n := range merged {
			c.Group = ""
			with[c] += n
		}
		for _, c := range total {
			n := c.N
			c.N = 0
			if rest := n - with[c]; rest > 0 {
				merged[c] += rest
			}
		}
	}
	out := make([]cell, 0, len(merged))
	for c, n := range merged {
		if n > 0 {
			c.N = n
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *Service) scanSegments(ctx context.Context, f Filter, q feedback.Question, dim string, sp split, r grainRange, into map[cell]int64) error {
	var a args
	bucket := bucketSQL(sp)
	where := `survey_id = ` + a.add(f.SurveyID) + ` AND question_key = ` + a.add(q.Key) + ` AND dim = ` + a.add(dim) + r.where(&a)
	if f.Touchpoint != "" {
		where += ` AND touchpoint = ` + a.add(f.Touchpoint)
	}
	query := `SELECT dim_value, ` + bucket + `, attribute_key, value, value2, option_key, CAST(SUM(n) AS BIGINT)
		FROM survey_segment_rollups WHERE ` + where + ` GROUP BY 1, 2, 3, 4, 5, 6`
	rows, err := s.db.Reader().QueryContext(ctx, query, a...)
	if err != nil {
		return fmt.Errorf("results: read segment rollups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c cell
		var n int64
		if err := rows.Scan(&c.Group, &c.Day, &c.Attribute, &c.Value, &c.Value2, &c.Option, &n); err != nil {
			return fmt.Errorf("results: read segment rollups: %w", err)
		}
		into[c] += n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("results: read segment rollups: %w", err)
	}
	return nil
}
