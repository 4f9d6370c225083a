package results

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

// ScoreGroup selects verbatims by the respondent's score.
type ScoreGroup string

const (
	AllScores ScoreGroup = ""
	// NPS groups (of the survey's first NPS question).
	Promoters  ScoreGroup = "promoter"  // 9–10
	Passives   ScoreGroup = "passive"   // 7–8
	Detractors ScoreGroup = "detractor" // 0–6
	// CSAT groups (of the survey's first CSAT question): the top box (4–5
	// on 1–5), the bottom box of the same width (1–2) and the middle.
	Satisfied    ScoreGroup = "satisfied"
	Neutral      ScoreGroup = "neutral"
	Dissatisfied ScoreGroup = "dissatisfied"
)

// VerbatimQuery selects a page of free-text answers, newest first.
type VerbatimQuery struct {
	Filter
	// Filter.Question is the free-text question; "" lists every one.
	Group ScoreGroup `json:"group,omitempty"`
	// Limit is the page size, 1–200 (default 50).
	Limit int `json:"limit,omitempty"`
	// Cursor is the previous page's Next.
	Cursor string `json:"cursor,omitempty"`
}

// Verbatim is one free-text answer with the score its author gave.
type Verbatim struct {
	ResponseID  int64     `json:"response_id"`
	CompletedAt time.Time `json:"completed_at"`
	Question    string    `json:"question"`
	Text        string    `json:"text"`
	// ScoreQuestion is the question Score answers (the survey's first NPS,
	// else CSAT question); Score is missing when the respondent skipped it.
	ScoreQuestion string       `json:"score_question,omitempty"`
	Score         stats.Number `json:"score"`
	Touchpoint    string       `json:"touchpoint"`
	Channel       string       `json:"channel"`
	CustomerID    *int64       `json:"customer_id,omitempty"`
}

// VerbatimPage is one page of verbatims; Next is "" on the last page.
type VerbatimPage struct {
	Items []Verbatim `json:"items"`
	Next  string     `json:"next"`
}

// Verbatims lists free-text answers newest first, filtered by score group
// and f's touchpoint, channel and range, paginated by keyset (a cursor of
// completion time, response id and question), so paging stays fast and
// stable while responses arrive. Errors as NPS; EINVALID for a bad group,
// limit or cursor; ENOTFOUND when the survey has no free-text question or
// no question the group needs.
func (s *Service) Verbatims(ctx context.Context, vq VerbatimQuery) (VerbatimPage, error) {
	f, info, err := s.prepare(ctx, auth.PermSurveysRead, vq.Filter)
	if err != nil {
		return VerbatimPage{}, err
	}
	limit := vq.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 1 || limit > 200:
		return VerbatimPage{}, kizuna.FieldError("limit", "limit must be 1–200, got %d", limit)
	}
	var textKeys []string
	if f.Question != "" {
		q, err := info.question(f.Question, feedback.QText)
		if err != nil {
			return VerbatimPage{}, err
		}
		textKeys = []string{q.Key}
	} else {
		for _, q := range info.questions() {
			if q.Type == feedback.QText {
				textKeys = append(textKeys, q.Key)
			}
		}
		if len(textKeys) == 0 {
			return VerbatimPage{}, &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "question", Message: fmt.Sprintf("survey %d has no free-text question", f.SurveyID)}
		}
	}
	var scoreQ feedback.Question
	var cond string
	switch vq.Group {
	case AllScores:
		if scoreQ, err = info.question("", feedback.QNPS); err != nil {
			scoreQ, _ = info.question("", feedback.QCSAT)
		}
	case Promoters, Passives, Detractors:
		if scoreQ, err = info.question("", feedback.QNPS); err != nil {
			return VerbatimPage{}, err
		}
		cond = map[ScoreGroup]string{Promoters: "sa.num >= 9", Passives: "sa.num >= 7 AND sa.num < 9", Detractors: "sa.num < 7"}[vq.Group]
	case Satisfied, Neutral, Dissatisfied:
		if scoreQ, err = info.question("", feedback.QCSAT); err != nil {
			return VerbatimPage{}, err
		}
		sc, _ := ScaleOf(scoreQ)
		k := topK(scoreQ)
		// Integers computed here from the definition, not input.
		top := strconv.Itoa(sc.Max - k + 1)
		bottom := strconv.Itoa(sc.Min + k - 1)
		cond = map[ScoreGroup]string{Satisfied: "sa.num >= " + top, Dissatisfied: "sa.num <= " + bottom,
			Neutral: "sa.num > " + bottom + " AND sa.num < " + top}[vq.Group]
	default:
		return VerbatimPage{}, kizuna.FieldError("group", "unknown score group %q (want promoter, passive, detractor, satisfied, neutral or dissatisfied)", vq.Group)
	}
	var a args
	where := responseWhere(f, &a)
	in, inArgs := db.InText(s.db.Dialect, len(a)+1, textKeys)
	a = append(a, inArgs...)
	join := ` JOIN survey_answers a ON a.response_id = r.id AND a.question_key` + in + ` AND a.text <> ''`
	if scoreQ.Key != "" {
		join += ` LEFT JOIN survey_answers sa ON sa.response_id = r.id AND sa.question_key = ` + a.add(scoreQ.Key) + ` AND sa.attribute_key = ''`
	}
	if cond != "" {
		where += " AND " + cond
	}
	if vq.Cursor != "" {
		at, id, qk, err := parseCursor(vq.Cursor)
		if err != nil {
			return VerbatimPage{}, err
		}
		c, i, k := a.add(at), a.add(id), a.add(qk)
		where += ` AND r.completed_at <= ` + c + ` AND (r.completed_at < ` + c + ` OR r.id < ` + i + ` OR (r.id = ` + i + ` AND a.question_key > ` + k + `))`
	}
	score := "NULL"
	if scoreQ.Key != "" {
		score = "sa.num"
	}
	query := `SELECT r.id, r.completed_at, r.touchpoint, r.channel, r.customer_id, a.question_key, a.text, ` + score + `
		FROM survey_responses r` + join + ` WHERE ` + where + `
		ORDER BY r.completed_at DESC, r.id DESC, a.question_key LIMIT ` + a.add(limit+1)
	page := VerbatimPage{Items: []Verbatim{}}
	err = s.serialQuery(ctx, query, a, func(rows *sql.Rows) error {
		for rows.Next() {
			var v Verbatim
			var at int64
			var num *float64
			if err := rows.Scan(&v.ResponseID, &at, &v.Touchpoint, &v.Channel, &v.CustomerID, &v.Question, &v.Text, &num); err != nil {
				return err
			}
			v.CompletedAt = time.UnixMilli(at).UTC()
			v.ScoreQuestion = scoreQ.Key
			if num != nil {
				v.Score = stats.Known(*num)
			}
			page.Items = append(page.Items, v)
		}
		return rows.Err()
	})
	if err != nil {
		return VerbatimPage{}, fmt.Errorf("results: verbatims: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.Next = fmt.Sprintf("%d.%d.%s", last.CompletedAt.UnixMilli(), last.ResponseID, last.Question)
	}
	return page, nil
}

func parseCursor(s string) (at, id int64, question string, err error) {
	parts := strings.SplitN(s, ".", 3)
	bad := kizuna.FieldError("cursor", "the cursor %q is not one this list handed out", s)
	if len(parts) != 3 || parts[2] == "" || len(parts[2]) > 100 {
		return 0, 0, "", bad
	}
	if at, err = strconv.ParseInt(parts[0], 10, 64); err != nil {
		return 0, 0, "", bad
	}
	if id, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return 0, 0, "", bad
	}
	return at, id, parts[2], nil
}

// serialQuery runs a LIMITed newest-first query. On Postgres it runs in a
// read-only transaction with parallel workers off: the planner, misjudging
// how soon the index walk fills the page, starts a parallel Gather Merge
// whose worker start-up alone took 16–80 ms of a 1 ms query (measured over
// a million responses; BENCH.md).
func (s *Service) serialQuery(ctx context.Context, query string, a args, read func(*sql.Rows) error) error {
	if s.db.Dialect != db.Postgres {
		rows, err := s.db.Reader().QueryContext(ctx, query, a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return read(rows)
	}
	tx, err := s.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, query, a...)
	if err != nil {
		return err
	}
	if err := read(rows); err != nil {
		rows.Close()
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return tx.Commit()
}
