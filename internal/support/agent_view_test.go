package support

import (
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/support/sla"
)

func queueIDs(t *testing.T, e *env, f QueueFilter) ([]int64, string) {
	t.Helper()
	p, err := e.svc.Queue(e.as[auth.RoleViewer], f)
	if err != nil {
		t.Fatalf("queue %+v: %v", f, err)
	}
	var ids []int64
	for _, it := range p.Items {
		ids = append(ids, it.ID)
	}
	return ids, p.Next
}

func sameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQueueFiltersSortsAndPages(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		a := e.open("a@example.jp", "first")
		e.clk.Set(jst("2026-11-16 09:10"))
		b := e.open("b@example.jp", "second", func(n *NewTicket) { n.Channel = "phone"; n.Priority = "urgent"; n.Tags = []string{"vip"} })
		e.clk.Set(jst("2026-11-16 09:20"))
		c := e.open("c@example.jp", "third", func(n *NewTicket) { n.Complaint = true; n.Team = "一次対応" })
		agent := e.users[auth.RoleAgent]
		e.clk.Set(jst("2026-11-16 09:25"))
		if _, err := e.svc.Assign(e.agent(), a.ID, Assignment{AssigneeID: &agent, Team: "一次対応"}); err != nil {
			t.Fatal(err)
		}
		e.clk.Set(jst("2026-11-16 09:30"))
		e.status(b.ID, StatusSolved)

		tests := []struct {
			name string
			f    QueueFilter
			want []int64
		}{
			{"newest", QueueFilter{}, []int64{c.ID, b.ID, a.ID}},
			{"oldest", QueueFilter{Sort: SortOldest}, []int64{a.ID, b.ID, c.ID}},
			{"updated", QueueFilter{Sort: SortUpdated}, []int64{b.ID, a.ID, c.ID}},
			{"priority", QueueFilter{Sort: SortPriority}, []int64{b.ID, c.ID, a.ID}},
			{"unsolved", QueueFilter{Status: "unsolved"}, []int64{c.ID, a.ID}},
			{"mine", QueueFilter{AssigneeID: agent}, []int64{a.ID}},
			{"unassigned", QueueFilter{Unassigned: true}, []int64{c.ID, b.ID}},
			{"team", QueueFilter{Team: "一次対応"}, []int64{c.ID, a.ID}},
			{"complaint", QueueFilter{Complaint: true}, []int64{c.ID}},
			{"channel", QueueFilter{Channel: "phone"}, []int64{b.ID}},
			{"tag", QueueFilter{Tag: "VIP"}, []int64{b.ID}},
		}
		for _, tt := range tests {
			if got, _ := queueIDs(t, e, tt.f); !sameIDs(got, tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
		// Every sort pages through all tickets exactly once.
		for _, sort := range QueueSorts {
			var all []int64
			cursor := ""
			for i := 0; i < 5; i++ {
				ids, next := queueIDs(t, e, QueueFilter{Sort: sort, Limit: 1, Cursor: cursor})
				all = append(all, ids...)
				if next == "" {
					break
				}
				cursor = next
			}
			full, _ := queueIDs(t, e, QueueFilter{Sort: sort})
			if !sameIDs(all, full) {
				t.Errorf("paging %s: %v, want %v", sort, all, full)
			}
		}
		for _, f := range []QueueFilter{{Sort: "random"}, {Channel: "fax"}, {Status: "lost"}, {Sort: SortUpdated, Cursor: "12"}, {Limit: 201}} {
			if _, err := e.svc.Queue(e.agent(), f); code(err) != kizuna.EINVALID {
				t.Errorf("%+v: want EINVALID, got %v", f, err)
			}
		}
		// The complaint's first response (1 business hour from 09:20) runs.
		p, err := e.svc.Queue(e.agent(), QueueFilter{Complaint: true})
		if err != nil {
			t.Fatal(err)
		}
		if bd := p.Items[0].SLA; bd == nil || bd.Metric != sla.FirstResponse || bd.Remaining != 50*time.Minute || bd.Breached {
			t.Errorf("complaint badge %+v", bd)
		}
	})
}

func TestBreachingSoonAndAttachments(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		slow := e.open("a@example.jp", "normal")                                                 // 4 h first response
		hot := e.open("b@example.jp", "complaint", func(n *NewTicket) { n.Complaint = true })    // 1 h
		done := e.open("c@example.jp", "answered", func(n *NewTicket) { n.Priority = "urgent" }) // replied
		e.reply(done.ID, "on it")
		e.clk.Set(jst("2026-11-16 10:30")) // the complaint breached 30 minutes ago
		got, err := e.svc.BreachingSoon(e.as[auth.RoleViewer], 4*time.Hour, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != hot.ID || !got[0].SLA.Breached || got[1].ID != slow.ID {
			t.Fatalf("breaching soon: %+v", got)
		}
		if got, _ := e.svc.BreachingSoon(e.agent(), time.Hour, 50); len(got) != 1 || got[0].ID != hot.ID {
			t.Errorf("within 1h: %+v", got)
		}

		withFile := e.open("d@example.jp", "file", func(n *NewTicket) {
			n.Attachments = []NewAttachment{{Filename: "a.txt", ContentType: "text/plain", Data: []byte("hello")}}
		})
		ms, err := e.svc.Messages(e.agent(), withFile.ID)
		if err != nil || len(ms) == 0 || len(ms[0].Attachments) != 1 {
			t.Fatalf("messages %+v %v", ms, err)
		}
		att := ms[0].Attachments[0].ID
		a, err := e.svc.TicketAttachment(e.as[auth.RoleViewer], withFile.ID, att)
		if err != nil || string(a.Data) != "hello" {
			t.Fatalf("attachment: %+v %v", a, err)
		}
		if _, err := e.svc.TicketAttachment(e.agent(), slow.ID, att); code(err) != kizuna.ENOTFOUND {
			t.Errorf("another ticket's attachment: %v", err)
		}

		ags, err := e.svc.Agents(e.as[auth.RoleViewer])
		if err != nil || len(ags) != 3 {
			t.Errorf("agents %+v %v", ags, err)
		}
		if _, err := e.svc.LinkIncident(e.agent(), slow.ID, hot.ID); err != nil {
			t.Fatal(err)
		}
		if inc, err := e.svc.Incidents(e.agent(), slow.ID); err != nil || len(inc) != 1 || inc[0].ID != hot.ID {
			t.Errorf("incidents %+v %v", inc, err)
		}
	})
}
