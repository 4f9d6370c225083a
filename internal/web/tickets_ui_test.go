package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/support"
	"github.com/kizuna-oss/kizuna/internal/support/sla"
)

// ticketPageBodies are valid form bodies of the support desk's HTML
// routes for the route × role matrix.
func ticketPageBodies(h *harness) map[string]string {
	other := fmt.Sprint(h.ids.support.other)
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	return map[string]string{
		"POST /tickets":                                form("subject", "電話：届かない", "body", "注文した商品がまだ届かない", "channel", "phone", "phone", "090-1234-9999", "name", "山田"),
		"POST /tickets/{id}/reply":                     form("body", "ご連絡ありがとうございます。", "internal", "0", "status", "pending", "action", "send"),
		"POST /tickets/{id}/update":                    form("status", "open", "priority", "urgent", "tags", "vip 返品", "complaint_shown", "1", "complaint", "1"),
		"POST /tickets/{id}/assign":                    form("assignee", "me", "team", "一次対応"),
		"POST /tickets/{id}/merge":                     form("into", other),
		"POST /tickets/{id}/problem":                   form("problem_id", other),
		"POST /tickets/{id}/incidents":                 form("incident_id", other),
		"POST /tickets/{id}/solve-problem":             form("solve_body", "{{customer.name}} 様、復旧しました。"),
		"POST /tickets/{id}/messages/{msg}/retry-mail": "",
	}
}

// ticketWithAttachment opens a ticket carrying a file in h's database and
// returns the ticket and attachment ids.
func ticketWithAttachment(t *testing.T, h *harness) (int64, int64) {
	t.Helper()
	svc := support.NewService(h.db, h.customers)
	sys := auth.System(context.Background(), "test")
	tk, err := svc.CreateTicket(sys, support.NewTicket{Subject: "写真", Body: "添付します", Channel: "email",
		CustomerID: h.ids.hanako, Attachments: []support.NewAttachment{{Filename: "破損<img src=x onerror=alert(1)>.txt", ContentType: "text/plain", Data: []byte("<script>alert(1)</script>")}}})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := svc.Messages(sys, tk.ID)
	if err != nil || len(ms) == 0 || len(ms[0].Attachments) != 1 {
		t.Fatalf("messages %+v %v", ms, err)
	}
	return tk.ID, ms[0].Attachments[0].ID
}

// hostile is text a customer could send to make the desk run script.
const hostile = `<script>document.title='pwned';console.error('xss')</script><img src=x onerror="document.title='pwned'"></textarea><a href="javascript:alert(1)">x</a>`

// hostileTicket opens a ticket whose subject, body and requester name
// carry hostile markup, for a customer whose name does too.
func hostileTicket(t *testing.T, h *harness) int64 {
	t.Helper()
	sys := auth.System(context.Background(), "test")
	name := `<img src=x onerror="document.title='pwned'">`
	if _, err := h.customers.Update(sys, h.ids.john, customer.Patch{FamilyName: &name}); err != nil {
		t.Fatal(err)
	}
	svc := support.NewService(h.db, h.customers)
	tk, err := svc.CreateTicket(sys, support.NewTicket{Subject: "<script>console.error('xss')</script>返品 " + `<img src=x onerror="document.title='pwned'">`,
		Body: hostile, Channel: "web", CustomerID: h.ids.john, Requester: support.Requester{Name: `"><script>alert(1)</script>`},
		Tags: []string{"<b>x</b>"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reply(sys, tk.ID, support.NewReply{Body: hostile, Internal: true}); err != nil {
		t.Fatal(err)
	}
	return tk.ID
}

func TestTicketPagesEscapeHostileText(t *testing.T) {
	h := newHarness(t)
	id := hostileTicket(t, h)
	for _, path := range []string{"/tickets", "/tickets?status=all&sort=priority", fmt.Sprintf("/tickets/%d", id), fmt.Sprintf("/tickets/%d", h.ids.support.other), fmt.Sprintf("/customers/%d", h.ids.john)} {
		w := h.get(path, "agent")
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body.String())
		}
		body := w.Body.String()
		for _, bad := range []string{"<script>", "<img src=x", `onerror="`, "</textarea><a", `href="javascript:`, "<b>x</b>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: unescaped %q in the page", path, bad)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;") && !strings.Contains(body, "&lt;img") {
			t.Errorf("%s: the hostile text is not shown escaped", path)
		}
	}
	// The seeded ticket's HTML subject and script body are shown as text.
	w := h.get(fmt.Sprintf("/tickets/%d", h.ids.support.ticket), "viewer")
	if body := w.Body.String(); !strings.Contains(body, "&lt;b&gt;届いた商品が壊れていました&lt;/b&gt;") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;箱が潰れていました。") {
		t.Errorf("seeded ticket not shown escaped")
	}
	// A macro inserted into the reply box cannot close the textarea either.
	w = h.serve(h.request("POST", fmt.Sprintf("/tickets/%d/reply", id), "agent",
		url.Values{"action": {"macro"}, "macro": {fmt.Sprint(h.ids.support.macro)}, "body": {"</textarea><script>alert(1)</script>"}}.Encode(), false))
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "</textarea><script>") || !strings.Contains(w.Body.String(), "チケット #") {
		t.Errorf("macro insertion: %d", w.Code)
	}
}

func TestTicketQueueFiltersAndViews(t *testing.T) {
	h := newHarness(t)
	ticket := fmt.Sprintf(`href="/tickets/%d"`, h.ids.support.ticket)
	other := fmt.Sprintf(`href="/tickets/%d"`, h.ids.support.other)
	has := func(path, who string, want, notWant string) {
		t.Helper()
		w := h.get(path, who)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body.String())
		}
		b := w.Body.String()
		if want != "" && !strings.Contains(b, want) {
			t.Errorf("%s: want %s", path, want)
		}
		if notWant != "" && strings.Contains(b, notWant) {
			t.Errorf("%s: do not want %s", path, notWant)
		}
	}
	has("/tickets", "viewer", ticket, "")
	has("/tickets", "viewer", other, `href="/tickets/new"`) // a viewer cannot log tickets
	has("/tickets", "agent", `href="/tickets/new"`, "")
	has("/tickets?complaint=1", "agent", ticket, other)
	has("/tickets?channel=web", "agent", other, ticket)
	has("/tickets?assignee=me&status=unsolved", "agent", "", ticket)
	// Assign the complaint to the agent: it moves to "My open tickets".
	w := h.serve(h.request("POST", fmt.Sprintf("/tickets/%d/assign", h.ids.support.ticket), "agent", "assignee=me&team=A", false))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", w.Code, w.Body.String())
	}
	has("/tickets?assignee=me&status=unsolved", "agent", ticket, other)
	has("/tickets?assignee=none&status=unsolved", "agent", other, ticket)
	has("/tickets?team=A", "agent", ticket, other)
	// The complaint (1 business hour) and the question show SLA badges.
	has("/tickets", "agent", `class="sla sla-`, "")
	has("/tickets?view=breaching", "agent", "", "")
	if w := h.get("/tickets?sort=priority&cursor=zz", "agent"); w.Code != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", w.Code)
	}
	if w := h.get("/tickets?sort=bogus", "agent"); w.Code != http.StatusBadRequest {
		t.Errorf("bad sort: %d", w.Code)
	}
	// Japanese UI.
	w = h.serve(func() *http.Request {
		r := h.request("GET", "/tickets", "agent", "", false)
		r.Header.Set("Accept-Language", "ja")
		return r
	}())
	if !strings.Contains(w.Body.String(), "自分の未解決チケット") {
		t.Errorf("Japanese queue missing its saved views")
	}
}

func TestTicketPageWorkflow(t *testing.T) {
	h := newHarness(t)
	// An agent logs a phone call for a known customer (by phone).
	w := h.serve(h.request("POST", "/tickets", "agent", url.Values{"subject": {"電話：返品したい"}, "body": {"サイズが合わない"},
		"channel": {"phone"}, "email": {"hanako@example.jp"}, "name": {"山田花子"}, "assign_me": {"1"}}.Encode(), false))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	loc := w.Header().Get("Location")
	page := h.get(loc, "agent").Body.String()
	for _, want := range []string{"電話：返品したい", "山田 花子", "&lt;b&gt;届いた商品が壊れていました&lt;/b&gt;", "ORD-536365", "Ticket created."} {
		if !strings.Contains(page, want) {
			t.Errorf("new ticket page lacks %q", want)
		}
	}
	// A form error keeps the page with the message beside the form.
	for _, body := range []string{"subject=x&body=y&channel=phone", "subject=x&body=y&channel=phone&phone=090-0000-1111"} {
		w = h.serve(h.request("POST", "/tickets", "agent", body, false))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `role="alert"`) || !strings.Contains(w.Body.String(), `id="rq-phone" name="phone" type="tel" value="`) ||
			!strings.Contains(w.Body.String(), `aria-invalid="true"`) {
			t.Errorf("create with %s: %d", body, w.Code)
		}
	}

	id := h.ids.support.ticket
	path := fmt.Sprintf("/tickets/%d", id)
	post := func(action, body string) *http.Response {
		t.Helper()
		w := h.serve(h.request("POST", path+action, "agent", body, false))
		return w.Result()
	}
	if r := post("/reply", "body=社内で確認中&internal=1&action=send"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("note: %d", r.StatusCode)
	}
	if r := post("/reply", "body=お詫び申し上げます&internal=0&action=send&status=pending"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply: %d", r.StatusCode)
	}
	page = h.get(path, "agent").Body.String()
	if !strings.Contains(page, `class="msg msg-note"`) || !strings.Contains(page, `class="msg msg-out"`) || !strings.Contains(page, `class="msg msg-in"`) {
		t.Errorf("public replies and notes are not told apart")
	}
	if !strings.Contains(page, "お客様返答待ち") && !strings.Contains(page, "Pending") {
		t.Errorf("status after the reply")
	}
	// The customer's earlier ticket (another subject) is listed in the panel
	// of the phone call ticket; the customer has an open complaint.
	page = h.get(loc, "agent").Body.String()
	if !strings.Contains(page, fmt.Sprintf(`href="/tickets/%d"`, id)) || !strings.Contains(page, "Open complaint") {
		t.Errorf("360 panel lacks the earlier ticket or the complaint flag")
	}
	// Update, then an invalid transition is refused beside the form.
	if r := post("/update", "status=open&priority=urgent&tags=vip,返品&complaint_shown=1"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d", r.StatusCode)
	}
	tk, err := support.NewService(h.db, h.customers).Ticket(auth.System(context.Background(), "test"), id)
	if err != nil || tk.Priority != "urgent" || tk.Complaint || len(tk.Tags) != 2 {
		t.Errorf("after update: %+v %v", tk, err)
	}
	if w := h.serve(h.request("POST", path+"/update", "agent", "status=new", false)); w.Code != http.StatusConflict {
		t.Errorf("invalid transition: %d", w.Code)
	}
	// Problem and incidents: link the other ticket, solve both with one reply.
	if r := post("/incidents", fmt.Sprintf("incident_id=%d", h.ids.support.other)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d", r.StatusCode)
	}
	page = h.get(path, "agent").Body.String()
	if !strings.Contains(page, "How do I reset my password?") || !strings.Contains(page, "/solve-problem") {
		t.Errorf("problem page lacks its incident or the solve form")
	}
	if r := post("/solve-problem", url.Values{"solve_body": {"{{customer.name}} 様、解決しました。"}}.Encode()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("solve: %d", r.StatusCode)
	}
	inc := h.get(fmt.Sprintf("/tickets/%d", h.ids.support.other), "agent").Body.String()
	if !strings.Contains(inc, "John Smith 様、解決しました。") && !strings.Contains(inc, "Smith John 様、解決しました。") {
		t.Errorf("incident did not get its own reply")
	}
	// Merging into an unknown ticket shows the error by the merge form.
	if w := h.serve(h.request("POST", path+"/merge", "agent", "into=99999", false)); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `id="merge-into"`) {
		t.Errorf("merge into nothing: %d", w.Code)
	}
}

func TestTicketAttachmentDownload(t *testing.T) {
	h := newHarness(t)
	tk, att := ticketWithAttachment(t, h)
	w := h.get(fmt.Sprintf("/tickets/%d/attachments/%d", tk, att), "viewer")
	if w.Code != http.StatusOK || w.Body.String() != "<script>alert(1)</script>" {
		t.Fatalf("download: %d %q", w.Code, w.Body.String())
	}
	hd := w.Header()
	if !strings.HasPrefix(hd.Get("Content-Disposition"), "attachment;") || hd.Get("X-Content-Type-Options") != "nosniff" ||
		hd.Get("Content-Type") != "application/octet-stream" || !strings.Contains(hd.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("download headers: %v", hd)
	}
	if strings.ContainsAny(strings.SplitN(hd.Get("Content-Disposition"), "filename*", 2)[0], "<>") {
		t.Errorf("raw file name in the header: %q", hd.Get("Content-Disposition"))
	}
	// Another ticket's path cannot reach the file.
	if w := h.get(fmt.Sprintf("/tickets/%d/attachments/%d", h.ids.support.ticket, att), "agent"); w.Code != http.StatusNotFound {
		t.Errorf("through another ticket: %d", w.Code)
	}
	page := h.get(fmt.Sprintf("/tickets/%d", tk), "viewer").Body.String()
	if !strings.Contains(page, fmt.Sprintf(`href="/tickets/%d/attachments/%d"`, tk, att)) {
		t.Errorf("ticket page lacks the download link")
	}
}

func TestCustomerPageListsTickets(t *testing.T) {
	h := newHarness(t)
	page := h.get(fmt.Sprintf("/customers/%d", h.ids.hanako), "viewer").Body.String()
	if !strings.Contains(page, fmt.Sprintf(`href="/tickets/%d"`, h.ids.support.ticket)) || strings.Contains(page, fmt.Sprintf(`href="/tickets/%d"`, h.ids.support.other)) {
		t.Errorf("customer page tickets section wrong")
	}
	if w := h.get(fmt.Sprintf("/tickets?customer=%d&status=all", h.ids.hanako), "viewer"); !strings.Contains(w.Body.String(), fmt.Sprintf(`href="/tickets/%d"`, h.ids.support.ticket)) {
		t.Errorf("queue by customer")
	}
}

// ticketKeyPrefixes are the values of the support desk's catalog keys
// built at run time, for TestTemplateKeysInCatalog.
func ticketKeyPrefixes() map[string][]string {
	statuses := []string{"unsolved", "all", support.StatusNew, support.StatusOpen, support.StatusPending, support.StatusOnHold, support.StatusSolved, support.StatusClosed}
	return map[string][]string{
		"tickets.status.":     statuses,
		"tickets.priority.":   support.Priorities,
		"tickets.channel.":    support.Channels,
		"tickets.sort.":       support.QueueSorts,
		"tickets.sla.metric.": {string(sla.FirstResponse), string(sla.NextResponse), string(sla.Resolution)},
		"tickets.sla.state.":  {string(sla.Running), string(sla.Paused), string(sla.Stopped)},
		"tickets.author.":     {support.AuthorCustomer, support.AuthorAgent, support.AuthorSystem},
		"tickets.flash.":      {"created", "replied", "noted", "updated", "assigned", "merged", "linked", "solved"},
	}
}

// TestTicketMailDelivery: a reply whose mail failed says so on the ticket
// page, with the server's answer; an agent can send it again (the outbox
// then picks it up), a viewer sees no button and is refused.
func TestTicketMailDelivery(t *testing.T) {
	h := newHarness(t)
	page := fmt.Sprintf("/tickets/%d", h.ids.support.ticket)
	retry := fmt.Sprintf("%s/messages/%d/retry-mail", page, h.ids.support.mailed)
	body := h.get(page, "agent").Body.String()
	if !strings.Contains(body, "Mail to hanako@example.jp failed") || !strings.Contains(body, "550 mailbox unavailable") ||
		!strings.Contains(body, `action="`+retry+`"`) {
		t.Fatalf("agent's ticket page lacks the failed mail:\n%s", body)
	}
	if body := h.get(page, "viewer").Body.String(); strings.Contains(body, `action="`+retry+`"`) {
		t.Fatal("viewer is offered a retry")
	}
	// The same state through the API.
	api := h.serve(h.request(http.MethodGet, fmt.Sprintf("/api/v1/tickets/%d/deliveries", h.ids.support.ticket), "key:viewer", "", true))
	var ds []struct {
		MessageID int64  `json:"message_id"`
		Status    string `json:"status"`
		LastError string `json:"last_error"`
	}
	if err := json.Unmarshal(api.Body.Bytes(), &ds); err != nil || api.Code != http.StatusOK || len(ds) != 1 ||
		ds[0].MessageID != h.ids.support.mailed || ds[0].Status != "failed" || ds[0].LastError != "550 mailbox unavailable" {
		t.Fatalf("deliveries API: %d %s", api.Code, api.Body)
	}
	if w := h.post(retry, "viewer", url.Values{}); w.Code != http.StatusForbidden {
		t.Fatalf("viewer retry: %d", w.Code)
	}
	if w := h.post(fmt.Sprintf("/tickets/%d/messages/%d/retry-mail", h.ids.support.other, h.ids.support.mailed), "agent", url.Values{}); w.Code != http.StatusNotFound {
		t.Fatalf("retry through another ticket: %d", w.Code)
	}
	if w := h.post(retry, "agent", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("agent retry: %d %s", w.Code, w.Body)
	}
	if body := h.get(page, "agent").Body.String(); !strings.Contains(body, "Mail to hanako@example.jp queued") || strings.Contains(body, `action="`+retry+`"`) {
		t.Fatalf("after retry the page should show the mail queued")
	}
	if w := h.post(retry, "agent", url.Values{}); w.Code != http.StatusNotFound {
		t.Fatalf("second retry of a queued mail: %d", w.Code)
	}
}
