package support

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

func TestRenderHostile(t *testing.T) {
	vars := map[string]string{"customer.name": "<script>alert(1)</script>{{ticket.id}}", "ticket.id": "42",
		"customer.last_order": "ORD-1 (2026-11-01)"}
	for _, tc := range []struct{ body, want string }{
		{"{{customer.name}} 様", "<script>alert(1)</script>{{ticket.id}} 様"},
		{"#{{ ticket.id }} / {{customer.last_order}}", "#42 / ORD-1 (2026-11-01)"},
		{"{{.}}{{printf \"%s\" 1}}{{template \"x\"}}", "{{.}}{{printf \"%s\" 1}}{{template \"x\"}}"},
		{"{{agent.name}}", "{{agent.name}}"}, // no value: left as written
	} {
		if got := Render(tc.body, vars); got != tc.want {
			t.Errorf("Render(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestMacros(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		mgr := e.as[auth.RoleManager]
		if _, err := e.svc.CreateMacro(e.agent(), MacroInput{Name: "x", Body: "y"}); code(err) != kizuna.EFORBIDDEN {
			t.Fatalf("agent created a macro: %v", err)
		}
		if _, err := e.svc.CreateMacro(mgr, MacroInput{Name: "bad", Body: "{{customer.password}}"}); kizuna.ErrorField(err) != "body" {
			t.Fatalf("unknown variable: %v", err)
		}
		m, err := e.svc.CreateMacro(mgr, MacroInput{Name: "お詫び", Body: "{{customer.name}} 様\nご注文 {{customer.last_order}} の件（#{{ticket.id}}）"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateMacro(mgr, MacroInput{Name: "お詫び", Body: "z"}); code(err) != kizuna.ECONFLICT {
			t.Fatalf("duplicate name: %v", err)
		}
		tk := e.open("evil@example.jp", "<img src=x onerror=alert(1)>")
		if _, err := e.customers.Update(e.sys, tk.CustomerID, customerPatch("<script>alert(1)</script>", "{{ticket.id}}")); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.RenderMacro(e.agent(), m.ID, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := "<script>alert(1)</script> {{ticket.id}} 様\nご注文  の件（#" + itoa(tk.ID) + "）"
		if got != want {
			t.Fatalf("rendered %q, want %q", got, want)
		}
		if list, _ := e.svc.Macros(e.as[auth.RoleViewer]); len(list) != 1 {
			t.Fatalf("macros: %+v", list)
		}
		if err := e.svc.DeleteMacro(mgr, m.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCategories(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cs, err := e.svc.Categories(e.as[auth.RoleViewer])
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 16 || cs[0].Slug != "before-purchase" || cs[1].Slug != "product-usage" || cs[15].Slug != "opinions-requests" {
			t.Fatalf("default tree: %+v", cs)
		}
		if cs[9].NameJA != "交換・返品" || cs[9].NameEN != "Exchanges" {
			t.Fatalf("names: %+v", cs[9])
		}
		parent := cs[0].ID
		mgr := e.as[auth.RoleManager]
		c, err := e.svc.CreateCategory(mgr, CategoryInput{ParentID: &parent, Slug: "stock", NameJA: "在庫", NameEN: "Stock"})
		if err != nil {
			t.Fatal(err)
		}
		child := cs[1].ID
		if _, err := e.svc.CreateCategory(mgr, CategoryInput{ParentID: &child, Slug: "deep", NameJA: "深", NameEN: "Deep"}); kizuna.ErrorField(err) != "parent_id" {
			t.Fatalf("three levels: %v", err)
		}
		if _, err := e.svc.CreateCategory(e.agent(), CategoryInput{Slug: "x", NameJA: "x", NameEN: "x"}); code(err) != kizuna.EFORBIDDEN {
			t.Fatalf("agent: %v", err)
		}
		if _, err := e.svc.UpdateCategory(mgr, c.ID, CategoryInput{ParentID: &parent, Slug: "stock", NameJA: "在庫", NameEN: "Stock", Archived: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateTicket(e.agent(), NewTicket{Subject: "s", Body: "b", Channel: "web", Requester: Requester{Email: "a@b.jp"}, CategoryID: c.ID}); kizuna.ErrorField(err) != "category_id" {
			t.Fatalf("archived category: %v", err)
		}
	})
}

// TestComplaintPausesSurveys: an open complaint makes the survey engine
// skip the customer; solving it lets surveys through again.
func TestComplaintPausesSurveys(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		var _ feedback.ComplaintChecker = e.svc
		e.clk.Set(jst("2026-11-16 10:00"))
		k := e.open("angry@example.jp", "対応が悪い", func(n *NewTicket) { n.Complaint = true })
		calm := e.open("calm@example.jp", "質問")
		if ok, err := e.svc.HasOpenComplaint(context.Background(), k.CustomerID); err != nil || !ok {
			t.Fatalf("open complaint: %v %v", ok, err)
		}
		if ok, _ := e.svc.HasOpenComplaint(context.Background(), calm.CustomerID); ok {
			t.Fatal("calm customer has a complaint")
		}
		fb := feedback.NewService(e.d, feedback.Options{Complaints: e.svc, BaseURL: "https://cx.example.com"})
		mgr := e.as[auth.RoleManager]
		txt := feedback.Text{JA: "満足度を教えてください。", EN: "How satisfied are you?"}
		sv, err := fb.CreateSurvey(mgr, feedback.SurveyInput{Slug: "after-support", Name: "サポート満足度",
			Definition: feedback.Definition{Pages: []feedback.Page{{Key: "p", Questions: []feedback.Question{{Key: "csat", Type: feedback.QCSAT, Required: true, Text: txt}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if sv, err = fb.Publish(mgr, sv.ID); err != nil {
			t.Fatal(err)
		}
		invite := func(cust int64) string {
			t.Helper()
			out, err := fb.Invite(mgr, feedback.InviteInput{SurveyID: sv.ID, CustomerIDs: []int64{cust}, Channel: feedback.ChannelLink})
			if err != nil || len(out) != 1 {
				t.Fatalf("invite: %+v %v", out, err)
			}
			return out[0].SkipReason
		}
		if r := invite(k.CustomerID); r != feedback.SkipOpenComplaint {
			t.Fatalf("complainant: skip %q", r)
		}
		if r := invite(calm.CustomerID); r != "" {
			t.Fatalf("calm: skip %q", r)
		}
		e.status(k.ID, StatusSolved)
		if ok, _ := e.svc.HasOpenComplaint(context.Background(), k.CustomerID); ok {
			t.Fatal("solved complaint still open")
		}
	})
}

// TestReportFigures pins the figures of a small desk morning.
func TestReportFigures(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		cats, _ := e.svc.Categories(e.sys)
		slug := map[string]int64{}
		for _, c := range cats {
			slug[c.Slug] = c.ID
		}
		at := func(s string) { e.clk.Set(jst("2026-11-16 " + s)) }
		with := func(ch, cat string) func(*NewTicket) {
			return func(n *NewTicket) { n.Channel, n.CategoryID = ch, slug[cat] }
		}
		at("09:00")
		t1 := e.open("a@example.jp", "t1", with("web", "delivery"))
		at("09:10")
		t2 := e.open("b@example.jp", "t2", with("email", "payment"))
		at("09:20")
		t3 := e.open("c@example.jp", "t3", with("email", ""))
		at("09:30")
		e.reply(t1.ID, "r")
		e.open("d@example.jp", "t4", with("phone", "delivery"))
		at("10:00")
		e.status(t1.ID, StatusSolved)
		at("10:10")
		e.reply(t2.ID, "r")
		at("11:20")
		e.reply(t3.ID, "r")
		at("12:10")
		e.status(t2.ID, StatusSolved)
		at("14:00")
		r, err := e.svc.Report(e.as[auth.RoleViewer], jst("2026-11-16 00:00"), jst("2026-11-17 00:00"))
		if err != nil {
			t.Fatal(err)
		}
		eq := func(name string, got, want []Count) {
			if len(got) != len(want) {
				t.Fatalf("%s: %+v, want %+v", name, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: %+v, want %+v", name, got, want)
				}
			}
		}
		if r.Created != 4 {
			t.Fatalf("created %d", r.Created)
		}
		eq("by category", r.ByCategory, []Count{{"delivery", 2}, {"", 1}, {"payment", 1}})
		eq("by channel", r.ByChannel, []Count{{"email", 2}, {"phone", 1}, {"web", 1}})
		eq("backlog", r.Backlog, []Count{{"new", 1}, {"open", 1}})
		if r.FirstResponse != (Durations{N: 3, Median: 60, P90: 120}) || r.Resolution != (Durations{N: 2, Median: 60, P90: 180}) {
			t.Fatalf("times: %+v %+v", r.FirstResponse, r.Resolution)
		}
		want := []Attainment{{"first_response", 3, 1, 0.75}, {"resolution", 2, 0, 1}}
		if len(r.SLA) != 2 || r.SLA[0] != want[0] || r.SLA[1] != want[1] {
			t.Fatalf("sla: %+v", r.SLA)
		}
		if _, err := e.svc.Report(e.sys, jst("2026-11-17 00:00"), jst("2026-11-16 00:00")); code(err) != kizuna.EINVALID {
			t.Fatalf("reversed period: %v", err)
		}
		_ = time.Hour
	})
}

// TestAuthorization: each role can do what the policy says, and a
// customer principal sees only its own tickets.
func TestAuthorization(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		mine := e.open("me@example.jp", "私のチケット")
		other := e.open("other@example.jp", "他人のチケット")
		e.reply(mine.ID, "公開の返信")
		if _, err := e.svc.Reply(e.agent(), mine.ID, NewReply{Body: "社内メモ", Internal: true}); err != nil {
			t.Fatal(err)
		}
		calls := map[string]func(ctx context.Context) error{
			"read": func(ctx context.Context) error { _, err := e.svc.Ticket(ctx, mine.ID); return err },
			"list": func(ctx context.Context) error { _, err := e.svc.Tickets(ctx, Filter{}); return err },
			"report": func(ctx context.Context) error {
				_, err := e.svc.Report(ctx, jst("2026-11-01 00:00"), jst("2026-12-01 00:00"))
				return err
			},
			"write": func(ctx context.Context) error {
				p := "low"
				_, err := e.svc.UpdateTicket(ctx, mine.ID, Patch{Priority: &p})
				return err
			},
			"assign": func(ctx context.Context) error {
				_, err := e.svc.Assign(ctx, mine.ID, Assignment{Team: "t"})
				return err
			},
			"macros": func(ctx context.Context) error {
				_, err := e.svc.CreateMacro(ctx, MacroInput{Name: "m" + time.Now().Format("150405.000000000"), Body: "b"})
				return err
			},
			"sla":      func(ctx context.Context) error { _, err := e.svc.SetPolicy(ctx, DefaultPolicy()); return err },
			"category": func(ctx context.Context) error { _, err := e.svc.Categories(ctx); return err },
		}
		allowed := map[auth.Role][]string{
			auth.RoleViewer:  {"read", "list", "report", "category"},
			auth.RoleAgent:   {"read", "list", "report", "category", "write", "assign"},
			auth.RoleManager: {"read", "list", "report", "category", "write", "assign", "macros", "sla"},
			auth.RoleAdmin:   {"read", "list", "report", "category", "write", "assign", "macros", "sla"},
		}
		for role, ok := range allowed {
			for name, call := range calls {
				err := call(e.as[role])
				can := false
				for _, n := range ok {
					can = can || n == name
				}
				if can && err != nil {
					t.Errorf("%s %s: %v", role, name, err)
				}
				if !can && code(err) != kizuna.EFORBIDDEN {
					t.Errorf("%s %s: want forbidden, got %v", role, name, err)
				}
			}
		}
		// The customer principal: staff methods are forbidden, its own
		// tickets are visible with public messages only, another's is 404.
		me := auth.Customer(context.Background(), mine.CustomerID, "192.0.2.9")
		for name, call := range calls {
			if err := call(me); code(err) != kizuna.EFORBIDDEN {
				t.Errorf("customer %s: %v", name, err)
			}
		}
		page, err := e.svc.MyTickets(me, 0, "")
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != mine.ID {
			t.Fatalf("my tickets: %+v %v", page, err)
		}
		_, ms, err := e.svc.MyTicket(me, mine.ID)
		if err != nil || len(ms) != 2 {
			t.Fatalf("my ticket: %d messages, %v", len(ms), err)
		}
		for _, m := range ms {
			if !m.Public {
				t.Fatal("the customer saw an internal note")
			}
		}
		if _, _, err := e.svc.MyTicket(me, other.ID); code(err) != kizuna.ENOTFOUND {
			t.Fatalf("another's ticket: %v", err)
		}
		if _, err := e.svc.MyTickets(e.sys, 0, ""); code(err) != kizuna.EFORBIDDEN {
			t.Fatalf("system as customer: %v", err)
		}
		if _, err := e.svc.MyTickets(e.as[auth.RoleAdmin], 0, ""); code(err) != kizuna.EFORBIDDEN {
			t.Fatalf("admin as customer: %v", err)
		}
	})
}

// TestTimelineBranches: the customer's timeline shows the ticket and its
// public messages, never an internal note.
func TestTimelineBranches(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		tk := e.open("tl@example.jp", "返品について", func(n *NewTicket) { n.Complaint = true })
		e.reply(tk.ID, "承知しました")
		if _, err := e.svc.Reply(e.agent(), tk.ID, NewReply{Body: "社内メモ", Internal: true}); err != nil {
			t.Fatal(err)
		}
		page, err := e.customers.Timeline(e.as[auth.RoleViewer], tk.CustomerID, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, it := range page.Items {
			kinds[it.Kind]++
			if it.Kind == "ticket" && (it.Title != "返品について" || it.Detail["complaint"] != true) {
				t.Fatalf("ticket item: %+v", it)
			}
		}
		if kinds["ticket"] != 1 || kinds["ticket_message"] != 2 {
			t.Fatalf("timeline kinds: %v", kinds)
		}
	})
}
