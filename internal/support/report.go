package support

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/support/sla"
)

// Report is the desk's figures for tickets created in [From, To).
type Report struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Created counts the tickets created in the period (merged duplicates
	// excluded, as in every figure below).
	Created    int64   `json:"created"`
	ByCategory []Count `json:"by_category"` // key: category slug, "" for none
	ByChannel  []Count `json:"by_channel"`
	// FirstResponse and Resolution are elapsed (calendar) minutes from
	// creation to the first public reply / to the solve, over the tickets
	// that have one.
	FirstResponse Durations `json:"first_response"`
	Resolution    Durations `json:"resolution"`
	// SLA attainment per metric over targets that are settled (met or
	// breached) at the time of the report.
	SLA []Attainment `json:"sla"`
	// Backlog is the tickets unsolved now, by status (all periods).
	Backlog []Count `json:"backlog"`
}

// Count is a number of tickets under a key.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// Durations summarises a set of durations in minutes. Percentiles are by
// the nearest-rank method (the smallest value with at least p % of the
// values at or below it), so they are always an observed value.
type Durations struct {
	N      int     `json:"n"`
	Median float64 `json:"median_minutes"`
	P90    float64 `json:"p90_minutes"`
}

// Attainment is the share of settled targets met.
type Attainment struct {
	Metric   string  `json:"metric"`
	Met      int     `json:"met"`
	Breached int     `json:"breached"`
	Rate     float64 `json:"rate"` // met / (met + breached); 0 when none
}

func summarise(mins []float64) Durations {
	d := Durations{N: len(mins)}
	if len(mins) == 0 {
		return d
	}
	slices.Sort(mins)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(mins)))) - 1
		return mins[max(i, 0)]
	}
	d.Median, d.P90 = rank(0.5), rank(0.9)
	return d
}

// Report computes the desk's figures for tickets created in [from, to).
// Errors: EINVALID (from after to, a span over 366 days). [tickets.read]
func (s *Service) Report(ctx context.Context, from, to time.Time) (*Report, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, kizuna.FieldError("from", "from must be before to")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return nil, kizuna.FieldError("to", "a report spans at most 366 days")
	}
	r := &Report{From: from.UTC(), To: to.UTC(), ByCategory: []Count{}, ByChannel: []Count{}, SLA: []Attainment{}, Backlog: []Count{}}
	q := s.db.Reader()
	f, t := from.UnixMilli(), to.UnixMilli()
	const period = ` FROM support_tickets t WHERE t.created_at >= $1 AND t.created_at < $2 AND t.merged_into IS NULL`
	counts := func(sql string, args ...any) ([]Count, error) {
		rows, err := q.QueryContext(ctx, sql, args...)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		defer rows.Close()
		out := []Count{}
		for rows.Next() {
			var c Count
			if err := rows.Scan(&c.Key, &c.Count); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, rows.Err()
	}
	var err error
	if err = q.QueryRowContext(ctx, `SELECT COUNT(*)`+period, f, t).Scan(&r.Created); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if r.ByCategory, err = counts(`SELECT COALESCE(g.slug, ''), COUNT(*) FROM support_tickets t
		LEFT JOIN support_categories g ON g.id = t.category_id
		WHERE t.created_at >= $1 AND t.created_at < $2 AND t.merged_into IS NULL
		GROUP BY COALESCE(g.slug, '') ORDER BY COUNT(*) DESC, COALESCE(g.slug, '')`, f, t); err != nil {
		return nil, err
	}
	if r.ByChannel, err = counts(`SELECT t.channel, COUNT(*)`+period+` GROUP BY t.channel ORDER BY COUNT(*) DESC, t.channel`, f, t); err != nil {
		return nil, err
	}
	if r.Backlog, err = counts(`SELECT status, COUNT(*) FROM support_tickets WHERE status IN ('new', 'open', 'pending', 'on-hold')
		GROUP BY status ORDER BY status`); err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT `+ticketCols+ticketFrom+` WHERE t.created_at >= $1 AND t.created_at < $2 AND t.merged_into IS NULL ORDER BY t.id`, f, t)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var ts []*Ticket
	for rows.Next() {
		tk, err := scanTicket(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ts = append(ts, tk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var frt, res []float64
	for _, tk := range ts {
		if tk.FirstResponseAt != nil {
			frt = append(frt, tk.FirstResponseAt.Sub(tk.CreatedAt).Minutes())
		}
		if tk.SolvedAt != nil {
			res = append(res, tk.SolvedAt.Sub(tk.CreatedAt).Minutes())
		}
	}
	r.FirstResponse, r.Resolution = summarise(frt), summarise(res)
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	tls, err := s.timelines(ctx, ts)
	if err != nil {
		return nil, err
	}
	now := s.db.Now()
	att := map[sla.Metric]*Attainment{}
	for _, tk := range ts {
		for _, st := range sla.Evaluate(p, *tls[tk.ID], now) {
			a := att[st.Target.Metric]
			if a == nil {
				a = &Attainment{Metric: string(st.Target.Metric)}
				att[st.Target.Metric] = a
			}
			switch {
			case st.Breached():
				a.Breached++
			case st.Met():
				a.Met++
			}
		}
	}
	for _, m := range []sla.Metric{sla.FirstResponse, sla.NextResponse, sla.Resolution} {
		if a := att[m]; a != nil {
			if a.Met+a.Breached > 0 {
				a.Rate = float64(a.Met) / float64(a.Met+a.Breached)
			}
			r.SLA = append(r.SLA, *a)
		}
	}
	return r, nil
}
