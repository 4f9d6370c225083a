package support

import (
	"context"
	"math"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// TestCSATReport pins CSAT per agent and team: top-2-box with the Wilson
// 95% interval, the small-sample flag, flagged and out-of-period ratings
// left out.
func TestCSATReport(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		agent, manager := e.users[auth.RoleAgent], e.users[auth.RoleManager]
		day := jst("2026-11-16 12:00").UnixMilli()
		type rating struct {
			agent   int64
			team    string
			score   int
			flagged bool
			at      int64
		}
		var rs []rating
		for _, sc := range []int{5, 5, 4, 4, 5, 4, 2, 3} { // 6 of 8 satisfied
			rs = append(rs, rating{agent, "東京", sc, false, day})
		}
		rs = append(rs, rating{manager, "大阪", 5, false, day}, rating{manager, "大阪", 1, false, day},
			rating{agent, "東京", 1, true, day},          // flagged: left out
			rating{agent, "東京", 1, false, day - 864e5}, // the day before: left out
			rating{0, "", 5, false, day})               // nobody assigned
		var tks []*Ticket
		for i := range rs {
			tks = append(tks, e.open("c"+itoa(int64(i))+"@example.jp", "質問"))
		}
		err := e.d.WriteTx(context.Background(), func(tx *db.Tx) error {
			for i, r := range rs {
				tk := tks[i]
				var ag any
				if r.agent != 0 {
					ag = r.agent
				}
				if _, err := tx.ExecContext(context.Background(), `INSERT INTO support_csat (ticket_id, solved_at, customer_id, agent_id, team,
					status, score, flagged, responded_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'invited', $6, $7, $8, $2, $2)`,
					tk.ID, r.at-3600e3, tk.CustomerID, ag, r.team, r.score, boolInt(r.flagged), r.at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := e.svc.CSATReport(e.as[auth.RoleViewer], jst("2026-11-16 00:00"), jst("2026-11-17 00:00"))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Overall.TopBox.N != 11 || rep.Overall.Satisfied != 8 {
			t.Fatalf("overall: %+v", rep.Overall)
		}
		if len(rep.ByAgent) != 3 || rep.ByAgent[0].Key != itoa(agent) || rep.ByAgent[0].TopBox.N != 8 || rep.ByAgent[0].Satisfied != 6 {
			t.Fatalf("by agent: %+v", rep.ByAgent)
		}
		a := rep.ByAgent[0].TopBox
		near := func(n interface{ Or(float64) float64 }, want float64) bool { return math.Abs(n.Or(-1)-want) < 0.001 }
		// Wilson 6/8: centre 0.6689 ± 0.2596.
		if !near(a.Value, 0.75) || !near(a.Low, 0.4093) || !near(a.High, 0.9285) || !a.LowSample {
			t.Fatalf("agent estimate: %+v", a)
		}
		if len(rep.ByTeam) != 3 || rep.ByTeam[0].Name != "東京" || rep.ByTeam[1].Name != "大阪" || rep.ByTeam[1].TopBox.N != 2 {
			t.Fatalf("by team: %+v", rep.ByTeam)
		}
		if rep.Sent != 12 || rep.Answered != 12 { // solved in the period, the flagged one included
			t.Fatalf("sent %d answered %d", rep.Sent, rep.Answered)
		}
		if _, err := e.svc.CSATReport(e.sys, jst("2026-11-17 00:00"), jst("2026-11-16 00:00")); code(err) != kizuna.EINVALID {
			t.Fatalf("reversed range: %v", err)
		}
		cust := auth.WithPrincipal(e.sys, auth.Principal{Kind: auth.PrincipalCustomer, ID: 1, Label: "x"})
		if _, err := e.svc.CSATReport(cust, jst("2026-11-16 00:00"), jst("2026-11-17 00:00")); code(err) != kizuna.EFORBIDDEN {
			t.Fatalf("customer: %v", err)
		}
	})
}
