package support

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

// CSATReport is CSAT after resolution for the ratings received in
// [From, To): the top-2-box share (4 or 5 of 5: satisfied) with its Wilson
// 95% interval, overall, per agent and per team. Responses the survey
// engine flagged (too fast, honeypot) are left out, as in every survey
// metric.
type CSATReport struct {
	From    time.Time   `json:"from"`
	To      time.Time   `json:"to"`
	Overall CSATGroup   `json:"overall"`
	ByAgent []CSATGroup `json:"by_agent"` // most ratings first
	ByTeam  []CSATGroup `json:"by_team"`
	// Sent counts the CSAT surveys handed to the survey engine for
	// tickets solved in the period, Answered those answered so far.
	Sent     int `json:"sent"`
	Answered int `json:"answered"`
}

// CSATGroup is the CSAT of one agent, one team, or everyone.
type CSATGroup struct {
	// Key is the agent's user id or the team's name ("" for no agent or
	// no team, and for Overall); Name is what to show.
	Key       string `json:"key"`
	Name      string `json:"name"`
	Satisfied int    `json:"satisfied"`
	// TopBox is Satisfied/N with its interval; LowSample (N under
	// stats.DefaultMinN) means the figure needs the warning shown next to
	// it.
	TopBox stats.Estimate `json:"top_box"`
}

// csatRow is one rating.
type csatRow struct {
	agent sql.NullInt64
	name  string
	team  string
	score int
}

// CSATReport computes CSAT per agent and team for ratings received in
// [from, to). Errors: EINVALID (from after to, a span over 366 days).
// [tickets.read]
func (s *Service) CSATReport(ctx context.Context, from, to time.Time) (*CSATReport, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, kizuna.FieldError("from", "from must be before to")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return nil, kizuna.FieldError("to", "a report spans at most 366 days")
	}
	f, t := from.UnixMilli(), to.UnixMilli()
	q := s.db.Reader()
	rows, err := q.QueryContext(ctx, `SELECT c.agent_id, COALESCE(NULLIF(u.name, ''), u.email, ''), c.team, c.score
		FROM support_csat c LEFT JOIN users u ON u.id = c.agent_id
		WHERE c.responded_at >= $1 AND c.responded_at < $2 AND c.score IS NOT NULL AND c.flagged = 0`, f, t)
	if err != nil {
		return nil, fmt.Errorf("csat report: %w", err)
	}
	var all []csatRow
	for rows.Next() {
		var r csatRow
		if err := rows.Scan(&r.agent, &r.name, &r.team, &r.score); err != nil {
			rows.Close()
			return nil, fmt.Errorf("csat report: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	r := &CSATReport{From: from.UTC(), To: to.UTC()}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(c.responded_at) FROM support_csat c
		WHERE c.solved_at >= $1 AND c.solved_at < $2 AND c.status = 'invited'`, f, t).Scan(&r.Sent, &r.Answered); err != nil {
		return nil, fmt.Errorf("csat report: %w", err)
	}
	if r.Overall, err = csatGroup("", "", all); err != nil {
		return nil, err
	}
	if r.ByAgent, err = csatGroups(all, func(c csatRow) (string, string) {
		if !c.agent.Valid {
			return "", ""
		}
		return strconv.FormatInt(c.agent.Int64, 10), c.name
	}); err != nil {
		return nil, err
	}
	if r.ByTeam, err = csatGroups(all, func(c csatRow) (string, string) { return c.team, c.team }); err != nil {
		return nil, err
	}
	return r, nil
}

// csatGroups groups ratings by key, most ratings first (then by name).
func csatGroups(all []csatRow, key func(csatRow) (string, string)) ([]CSATGroup, error) {
	var order []string
	names := map[string]string{}
	by := map[string][]csatRow{}
	for _, c := range all {
		k, n := key(c)
		if _, ok := by[k]; !ok {
			order = append(order, k)
			names[k] = n
		}
		by[k] = append(by[k], c)
	}
	out := make([]CSATGroup, 0, len(order))
	for _, k := range order {
		g, err := csatGroup(k, names[k], by[k])
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	slices.SortStableFunc(out, func(a, b CSATGroup) int {
		if a.TopBox.N != b.TopBox.N {
			return b.TopBox.N - a.TopBox.N
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// csatGroup is the top-2-box of rows with the Wilson interval (stats).
func csatGroup(key, name string, rows []csatRow) (CSATGroup, error) {
	g := CSATGroup{Key: key, Name: name}
	for _, r := range rows {
		if r.score >= 4 {
			g.Satisfied++
		}
	}
	est, err := stats.Wilson(g.Satisfied, len(rows), stats.Options{})
	if err != nil {
		return g, err
	}
	g.TopBox = est
	return g, nil
}
