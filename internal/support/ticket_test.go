package support

import (
	"testing"

	"github.com/kizuna-oss/kizuna"
)

func TestTransitionTable(t *testing.T) {
	all := []string{StatusNew, StatusOpen, StatusPending, StatusOnHold, StatusSolved, StatusClosed}
	allowed := map[[2]string]bool{}
	for _, p := range [][2]string{
		{"new", "open"}, {"new", "pending"}, {"new", "on-hold"}, {"new", "solved"},
		{"open", "pending"}, {"open", "on-hold"}, {"open", "solved"},
		{"pending", "open"}, {"pending", "on-hold"}, {"pending", "solved"},
		{"on-hold", "open"}, {"on-hold", "pending"}, {"on-hold", "solved"},
		{"solved", "open"}, {"solved", "closed"},
	} {
		allowed[p] = true
	}
	for _, from := range all {
		for _, to := range all {
			if got := CanTransition(from, to); got != allowed[[2]string{from, to}] {
				t.Errorf("%s → %s: %v", from, to, got)
			}
		}
	}
}

func TestTicketLifecycle(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		a := e.open("Hanako@Example.jp", "返品したい")
		if a.Status != StatusNew || a.Priority != "normal" || a.Channel != "email" {
			t.Fatalf("created: %+v", a)
		}
		// The unknown sender became a customer; the same sender resolves to it.
		b := e.open("hanako@example.jp", "二通目")
		if b.CustomerID != a.CustomerID {
			t.Fatalf("same sender, customers %d and %d", a.CustomerID, b.CustomerID)
		}
		c, err := e.customers.Get(e.sys, a.CustomerID)
		if err != nil || c.Email != "hanako@example.jp" {
			t.Fatalf("customer: %+v %v", c, err)
		}
		// Known customer by id; complaint gets high priority.
		k := e.open("", "クレーム", func(n *NewTicket) { n.CustomerID, n.Requester, n.Complaint = a.CustomerID, Requester{}, true })
		if k.CustomerID != a.CustomerID || k.Priority != "high" || !k.Complaint {
			t.Fatalf("complaint: %+v", k)
		}
		if _, err := e.svc.CreateTicket(e.agent(), NewTicket{Subject: "x", Body: "y", Channel: "fax", Requester: Requester{Email: "a@b.jp"}}); kizuna.ErrorField(err) != "channel" {
			t.Fatalf("bad channel: %v", err)
		}
		if _, err := e.svc.CreateTicket(e.agent(), NewTicket{Subject: "x", Body: "y", Channel: "web"}); kizuna.ErrorField(err) != "requester" {
			t.Fatalf("no requester: %v", err)
		}
		// A public reply opens the ticket and stamps the first response.
		e.reply(a.ID, "承知しました")
		got, _ := e.svc.Ticket(e.agent(), a.ID)
		if got.Status != StatusOpen || got.FirstResponseAt == nil {
			t.Fatalf("after reply: %+v", got)
		}
		// An internal note does not count as a response.
		if _, err := e.svc.Reply(e.agent(), b.ID, NewReply{Body: "memo", Internal: true}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.svc.Ticket(e.agent(), b.ID); got.FirstResponseAt != nil || got.Status != StatusNew {
			t.Fatalf("note counted: %+v", got)
		}
		// Invalid transition, then pending → customer writes → open.
		closed := StatusClosed
		if _, err := e.svc.UpdateTicket(e.agent(), a.ID, Patch{Status: &closed}); code(err) != kizuna.ECONFLICT {
			t.Fatalf("open → closed: %v", err)
		}
		e.status(a.ID, StatusPending)
		if _, err := e.svc.AddCustomerMessage(e.agent(), a.ID, NewCustomerMessage{Body: "まだです"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.svc.Ticket(e.agent(), a.ID); got.Status != StatusOpen {
			t.Fatalf("customer reply on pending: %s", got.Status)
		}
		e.status(a.ID, StatusSolved)
		e.status(a.ID, StatusClosed)
		if _, err := e.svc.AddCustomerMessage(e.agent(), a.ID, NewCustomerMessage{Body: "again"}); code(err) != kizuna.ECONFLICT {
			t.Fatalf("message on closed: %v", err)
		}
		if _, err := e.svc.Reply(e.agent(), a.ID, NewReply{Body: "x"}); code(err) != kizuna.ECONFLICT {
			t.Fatalf("reply on closed: %v", err)
		}
		// Tags, assignment, filters.
		tags := []string{" VIP", "vip", "返品"}
		if got, err := e.svc.UpdateTicket(e.agent(), b.ID, Patch{Tags: &tags}); err != nil || len(got.Tags) != 2 || got.Tags[0] != "vip" {
			t.Fatalf("tags: %+v %v", got, err)
		}
		uid := e.users["agent"]
		if got, err := e.svc.Assign(e.agent(), b.ID, Assignment{AssigneeID: &uid, Team: "一次対応"}); err != nil || *got.AssigneeID != uid {
			t.Fatalf("assign: %+v %v", got, err)
		}
		page, err := e.svc.Tickets(e.agent(), Filter{Tag: "vip"})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != b.ID {
			t.Fatalf("by tag: %+v %v", page, err)
		}
		page, err = e.svc.Tickets(e.agent(), Filter{Status: "unsolved", Limit: 1})
		if err != nil || len(page.Items) != 1 || page.Next == "" {
			t.Fatalf("unsolved page 1: %+v %v", page, err)
		}
		page2, err := e.svc.Tickets(e.agent(), Filter{Status: "unsolved", Limit: 1, Cursor: page.Next})
		if err != nil || len(page2.Items) != 1 || page2.Items[0].ID >= page.Items[0].ID {
			t.Fatalf("unsolved page 2: %+v %v", page2, err)
		}
		// Attachments: type and size limits.
		png := NewAttachment{Filename: "../../etc/photo.png", ContentType: "image/png", Data: []byte("\x89PNG")}
		m, err := e.svc.Reply(e.agent(), b.ID, NewReply{Body: "写真です", Attachments: []NewAttachment{png}})
		if err != nil || len(m.Attachments) != 1 || m.Attachments[0].Filename != "photo.png" || m.Attachments[0].Size != 4 {
			t.Fatalf("attachment: %+v %v", m, err)
		}
		if a, err := e.svc.Attachment(e.as["viewer"], m.Attachments[0].ID); err != nil || string(a.Data) != "\x89PNG" {
			t.Fatalf("read attachment: %v", err)
		}
		html := NewAttachment{Filename: "x.html", ContentType: "text/html", Data: []byte("<script>")}
		if _, err := e.svc.Reply(e.agent(), b.ID, NewReply{Body: "x", Attachments: []NewAttachment{html}}); kizuna.ErrorField(err) != "attachments[0].content_type" {
			t.Fatalf("html attachment: %v", err)
		}
		big := NewAttachment{Filename: "big.pdf", ContentType: "application/pdf", Data: make([]byte, MaxAttachmentSize+1)}
		if _, err := e.svc.Reply(e.agent(), b.ID, NewReply{Body: "x", Attachments: []NewAttachment{big}}); code(err) != kizuna.ETOOLARGE {
			t.Fatalf("big attachment: %v", err)
		}
	})
}

func TestMergeTickets(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		a := e.open("taro@example.jp", "届かない", func(n *NewTicket) { n.Tags = []string{"delivery"} })
		b := e.open("taro@example.jp", "届かない（再送）", func(n *NewTicket) { n.Tags = []string{"urgent"} })
		e.reply(b.ID, "確認します")
		got, err := e.svc.Merge(e.agent(), b.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Tags) != 2 {
			t.Fatalf("tags: %v", got.Tags)
		}
		src, _ := e.svc.Ticket(e.agent(), b.ID)
		if src.Status != StatusClosed || src.MergedInto == nil || *src.MergedInto != a.ID {
			t.Fatalf("source: %+v", src)
		}
		ms, _ := e.svc.Messages(e.agent(), a.ID)
		moved := 0
		for _, m := range ms {
			if m.MergedFrom != nil && *m.MergedFrom == b.ID {
				moved++
			}
		}
		// a's first message, b's first and reply moved, a system note.
		if len(ms) != 4 || moved != 2 {
			t.Fatalf("messages after merge: %d, moved %d", len(ms), moved)
		}
		left, _ := e.svc.Messages(e.agent(), b.ID)
		if len(left) != 1 || left[0].AuthorKind != AuthorSystem || left[0].Public {
			t.Fatalf("left on source: %+v", left)
		}
		if _, err := e.svc.Merge(e.agent(), b.ID, a.ID); code(err) != kizuna.ECONFLICT {
			t.Fatalf("merge a closed ticket: %v", err)
		}
		if _, err := e.svc.Merge(e.agent(), a.ID, a.ID); code(err) != kizuna.EINVALID {
			t.Fatalf("merge into itself: %v", err)
		}
	})
}

func TestProblemSolvesIncidents(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		p := e.open("ops@example.jp", "決済障害", func(n *NewTicket) { n.Kind = KindProblem })
		i1 := e.open("hanako@example.jp", "決済できない")
		i2 := e.open("ken@example.jp", "カードエラー")
		i3 := e.open("jiro@example.jp", "支払いエラー")
		name := "山田"
		if _, err := e.customers.Update(e.sys, i1.CustomerID, customerPatch(name, "花子")); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int64{i1.ID, i2.ID, i3.ID} {
			if _, err := e.svc.LinkIncident(e.agent(), p.ID, i); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.svc.LinkIncident(e.agent(), i1.ID, i2.ID); code(err) != kizuna.EINVALID {
			t.Fatalf("incident as problem: %v", err)
		}
		e.status(i3.ID, StatusSolved) // solved on its own: no second reply
		res, err := e.svc.SolveProblem(e.agent(), p.ID, "{{customer.name}} 様、チケット #{{ticket.id}} の障害は復旧しました。")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Incidents) != 2 || res.Incidents[0] != i1.ID || res.Incidents[1] != i2.ID {
			t.Fatalf("solved incidents: %+v", res)
		}
		for _, tc := range []struct {
			id      int64
			replies int
			want    string
		}{
			{p.ID, 1, "ops@example.jp 様、チケット #" + itoa(p.ID) + " の障害は復旧しました。"},
			{i1.ID, 1, "山田 花子 様、チケット #" + itoa(i1.ID) + " の障害は復旧しました。"},
			{i2.ID, 1, "ken@example.jp 様、チケット #" + itoa(i2.ID) + " の障害は復旧しました。"},
			{i3.ID, 0, ""},
		} {
			tk, _ := e.svc.Ticket(e.agent(), tc.id)
			if tk.Status != StatusSolved {
				t.Errorf("ticket %d: %s", tc.id, tk.Status)
			}
			ms, _ := e.svc.Messages(e.agent(), tc.id)
			var out []Message
			for _, m := range ms {
				if m.Direction == DirectionOut {
					out = append(out, m)
				}
			}
			if len(out) != tc.replies || (tc.replies == 1 && out[0].Body != tc.want) {
				t.Errorf("ticket %d replies: %+v", tc.id, out)
			}
		}
	})
}
