package results

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

// Driver rollups (migration 00021): the sums Σ z zᵀ, z = (1, gaps …,
// outcome), per expectation question, outcome question, day and attribute
// set, from which stats.KeyDriversFromMoments computes the key-driver
// analysis without reading answers.

// driverKey is one survey_driver_rollups row's identity (survey implied).
type driverKey struct {
	Exp, Outcome string
	Grain        int
	Day          int64 // the bucket: start of the day or month
	Touchpoint   string
	Attrs        string // sorted attribute keys with a gap, comma-separated
	I, J         int
}

// driverTally accumulates driver sums in memory.
type driverTally map[driverKey]int64

// isOutcome reports whether q can be a key-driver outcome.
func isOutcome(q feedback.Question) bool {
	switch q.Type {
	case feedback.QNPS, feedback.QCSAT, feedback.QCES, feedback.QRating:
		return true
	}
	return false
}

// driverAttributes are the attributes of an expectation question a
// key-driver analysis uses: the first stats.MaxDriverAttributes.
func driverAttributes(eq feedback.Question) []feedback.Option {
	return eq.Attributes[:min(len(eq.Attributes), stats.MaxDriverAttributes)]
}

// addResponse adds r's sums for every (expectation, outcome) question pair
// of def it answered the outcome of. The same cellsOf as the counts decides
// what an answer is.
func (t driverTally) addResponse(def *feedback.Definition, r *feedback.Response, completedMS int64) {
	var exps, outs []feedback.Question
	for _, p := range def.Pages {
		for _, q := range p.Questions {
			switch {
			case q.Type == feedback.QExpectation:
				exps = append(exps, q)
			case isOutcome(q):
				outs = append(outs, q)
			}
		}
	}
	if len(exps) == 0 || len(outs) == 0 {
		return
	}
	day, month := dayOf(completedMS), monthOf(completedMS)
	for _, oq := range outs {
		y, ok := 0, false
		for _, a := range r.Answers {
			if a.Question == oq.Key {
				if cs := cellsOf(oq, a); len(cs) == 1 {
					y, ok = cs[0].Value, true
				}
			}
		}
		if !ok {
			continue
		}
		for _, eq := range exps {
			allowed := make(map[string]bool)
			for _, o := range driverAttributes(eq) {
				allowed[o.Key] = true
			}
			gaps := make(map[string]int)
			for _, a := range r.Answers {
				if a.Question != eq.Key || !allowed[a.Attribute] {
					continue
				}
				for _, c := range cellsOf(eq, a) {
					gaps[c.Attribute] = c.Value2 - c.Value
				}
			}
			keys := make([]string, 0, len(gaps))
			for k := range gaps {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			z := make([]int64, 0, len(keys)+2)
			z = append(z, 1)
			for _, k := range keys {
				z = append(z, int64(gaps[k]))
			}
			z = append(z, int64(y))
			set := strings.Join(keys, ",")
			for i := range z {
				for j := i; j < len(z); j++ {
					k := driverKey{Exp: eq.Key, Outcome: oq.Key, Grain: grainDay, Day: day, Touchpoint: r.Touchpoint, Attrs: set, I: i, J: j}
					t[k] += z[i] * z[j]
					k.Grain, k.Day = grainMonth, month
					t[k] += z[i] * z[j]
				}
			}
		}
	}
}

// upsertDrivers adds sums to survey_driver_rollups (or, with add false,
// inserts them into an emptied table), in key order like upsertTally.
func upsertDrivers(ctx context.Context, tx *db.Tx, surveyID int64, t driverTally, add bool) error {
	if len(t) == 0 {
		return nil
	}
	keys := make([]driverKey, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b driverKey) int {
		return cmp.Or(cmp.Compare(a.Exp, b.Exp), cmp.Compare(a.Outcome, b.Outcome), cmp.Compare(a.Grain, b.Grain), cmp.Compare(a.Day, b.Day),
			cmp.Compare(a.Touchpoint, b.Touchpoint), cmp.Compare(a.Attrs, b.Attrs), cmp.Compare(a.I, b.I), cmp.Compare(a.J, b.J))
	})
	const width = 10
	conflict := ` ON CONFLICT (survey_id, exp_question, outcome_question, grain, bucket, touchpoint, attributes, i, j) DO UPDATE SET s = survey_driver_rollups.s + excluded.s`
	if !add {
		conflict = ""
	}
	args := make([]any, 0, len(keys)*width)
	for _, k := range keys {
		args = append(args, surveyID, k.Exp, k.Outcome, k.Grain, k.Day, k.Touchpoint, k.Attrs, k.I, k.J, t[k])
	}
	if err := insertRows(ctx, tx, `INSERT INTO survey_driver_rollups (survey_id, exp_question, outcome_question, grain, bucket, touchpoint, attributes, i, j, s) VALUES `, conflict, width, args); err != nil {
		return fmt.Errorf("results: rollup: write driver sums: %w", err)
	}
	return nil
}

// pending reports whether a survey's rollups are incomplete (responses
// from before a rollup table existed; survey_rollup_pending) until the
// results job rebuilds them.
func (s *Service) pending(ctx context.Context, surveyID int64) (bool, error) {
	var n int
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM survey_rollup_pending WHERE survey_id = $1`, surveyID).Scan(&n); err != nil {
		return false, fmt.Errorf("results: read pending rollups: %w", err)
	}
	return n > 0, nil
}
