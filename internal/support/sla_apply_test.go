package support

import (
	"context"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/jobs"
	"github.com/kizuna-oss/kizuna/internal/support/sla"
)

// step is something that happens to the ticket at a time (JST).
type step struct {
	at     string
	status string // a status change, or "" for an agent reply
}

// TestSLAPauses drives tickets through the service on the default policy
// (Mon–Fri 9–18 JST, holidays closed; first response 4 business hours;
// pending and on-hold pause) and reads the first-response due time back.
func TestSLAPauses(t *testing.T) {
	cases := []struct {
		name    string
		created string
		steps   []step
		now     string
		due     string
		state   sla.State
	}{
		{"running", "2026-11-16 10:00", nil, "2026-11-16 10:30", "2026-11-16 14:00", sla.Running},
		{"pending pauses overnight", "2026-11-16 10:00", []step{{"2026-11-16 11:00", "pending"}, {"2026-11-17 10:00", "open"}},
			"2026-11-17 10:05", "2026-11-17 13:00", sla.Running},
		{"on-hold pauses too", "2026-11-16 10:00", []step{{"2026-11-16 11:00", "on-hold"}, {"2026-11-17 10:00", "open"}},
			"2026-11-17 10:05", "2026-11-17 13:00", sla.Running},
		{"still paused: due if picked up now", "2026-11-16 10:00", []step{{"2026-11-16 11:00", "pending"}},
			"2026-11-16 16:00", "2026-11-17 10:00", sla.Paused},
		{"Friday evening over the weekend and 勤労感謝の日", "2026-11-20 17:00", nil,
			"2026-11-20 17:30", "2026-11-24 12:00", sla.Running},
		{"pending across the holiday weekend", "2026-11-20 15:00", []step{{"2026-11-20 16:00", "pending"}, {"2026-11-24 10:00", "open"}},
			"2026-11-24 10:00", "2026-11-24 13:00", sla.Running},
		{"reply stops the clock", "2026-11-16 10:00", []step{{"2026-11-16 11:00", ""}},
			"2026-11-16 12:00", "2026-11-16 14:00", sla.Stopped},
	}
	run(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e.clk.Set(jst(tc.created))
				tk := e.open("sla@example.jp", tc.name)
				for _, s := range tc.steps {
					e.clk.Set(jst(s.at))
					if s.status == "" {
						e.reply(tk.ID, "回答")
					} else {
						e.status(tk.ID, s.status)
					}
				}
				e.clk.Set(jst(tc.now))
				st, err := e.svc.SLA(e.as["viewer"], tk.ID)
				if err != nil {
					t.Fatal(err)
				}
				fr := st.Targets[0]
				if fr.Target.Metric != sla.FirstResponse || !fr.DueAt.Equal(jst(tc.due)) || fr.State != tc.state {
					t.Fatalf("first response %s %s due %s, want %s %s", fr.Target.Metric, fr.State, fr.DueAt.In(tokyo), tc.state, tc.due)
				}
			})
		}
	})
}

func TestComplaintShorterSLA(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.clk.Set(jst("2026-11-16 10:00"))
		k := e.open("angry@example.jp", "商品が壊れていた", func(n *NewTicket) { n.Complaint = true })
		st, err := e.svc.SLA(e.agent(), k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Category != ComplaintCategory || !st.Targets[0].DueAt.Equal(jst("2026-11-16 11:00")) {
			t.Fatalf("complaint SLA: %+v", st)
		}
	})
}

// TestBreachJobOnce: the job records the warning and the breach once each,
// however often it runs, and leaves settled tickets alone.
func TestBreachJobOnce(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.clk.Set(jst("2026-11-16 09:00"))
		tk := e.open("late@example.jp", "返事がない")
		count := func(kind string) int {
			var n int
			if err := e.d.Reader().QueryRowContext(context.Background(),
				`SELECT COUNT(*) FROM support_sla_events WHERE ticket_id = $1 AND kind = $2`, tk.ID, kind).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		runner := jobs.NewRunner(e.d, nil)
		job := e.svc.Jobs()[0]
		e.clk.Set(jst("2026-11-16 11:59"))
		if err := e.svc.CheckSLA(e.sys); err != nil {
			t.Fatal(err)
		}
		if count("warning") != 0 {
			t.Fatal("warned before 75 %")
		}
		e.clk.Set(jst("2026-11-16 12:30"))
		for range 3 {
			if err := e.svc.CheckSLA(e.sys); err != nil {
				t.Fatal(err)
			}
		}
		if count("warning") != 1 || count("breach") != 0 {
			t.Fatalf("at 12:30: %d warnings, %d breaches", count("warning"), count("breach"))
		}
		e.clk.Set(jst("2026-11-16 14:00"))
		if ran, err := runner.RunOnce(context.Background(), job); err != nil || !ran {
			t.Fatalf("job: %v %v", ran, err)
		}
		if err := e.svc.CheckSLA(e.sys); err != nil {
			t.Fatal(err)
		}
		if count("warning") != 1 || count("breach") != 1 {
			t.Fatalf("at 14:00: %d warnings, %d breaches", count("warning"), count("breach"))
		}
		st, _ := e.svc.SLA(e.agent(), tk.ID)
		if len(st.Records) != 2 || st.Records[1].Kind != "breach" || !st.Records[1].At.Equal(jst("2026-11-16 13:00")) {
			t.Fatalf("records: %+v", st.Records)
		}
		// Solved: the job settles the ticket and stops reading it.
		e.reply(tk.ID, "遅くなりました")
		e.status(tk.ID, StatusSolved)
		e.clk.Set(jst("2026-11-16 15:00"))
		if err := e.svc.CheckSLA(e.sys); err != nil {
			t.Fatal(err)
		}
		var open int
		e.d.Reader().QueryRowContext(context.Background(), `SELECT sla_open FROM support_tickets WHERE id = $1`, tk.ID).Scan(&open)
		if open != 0 || count("breach") != 1 {
			t.Fatalf("after solve: sla_open %d, %d breaches", open, count("breach"))
		}
		// The viewer may not run the job.
		if err := e.svc.CheckSLA(e.as["viewer"]); code(err) != "forbidden" {
			t.Fatalf("viewer ran the job: %v", err)
		}
	})
}

func TestPolicyEditable(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		pc := DefaultPolicy()
		pc.Policy.Rules[0].Targets[0].Minutes = 60
		if _, err := e.svc.SetPolicy(e.agent(), pc); code(err) != "forbidden" {
			t.Fatalf("agent set the policy: %v", err)
		}
		if _, err := e.svc.SetPolicy(e.as["manager"], pc); err != nil {
			t.Fatal(err)
		}
		e.clk.Set(jst("2026-11-16 10:00"))
		tk := e.open("p@example.jp", "x")
		st, _ := e.svc.SLA(e.agent(), tk.ID)
		if !st.Targets[0].DueAt.Equal(jst("2026-11-16 11:00")) {
			t.Fatalf("edited policy not applied: %s", st.Targets[0].DueAt)
		}
		pc.Policy.Rules[0].Targets[0].Minutes = 0
		if _, err := e.svc.SetPolicy(e.as["manager"], pc); code(err) != "invalid" {
			t.Fatalf("invalid policy: %v", err)
		}
	})
}
