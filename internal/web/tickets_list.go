package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/i18n"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// breachingWindow is how close to its due time a running SLA clock must
// be for the "Breaching soon" view.
const breachingWindow = 2 * time.Hour

// ticketRow is a queue line as the template shows it.
type ticketRow struct {
	support.QueueItem
	Assignee string
	Category string
	SLA      slaBadge
}

// slaBadge is a ticket's SLA state in words: Class is ok, warn, breach or
// paused ("" shows nothing).
type slaBadge struct {
	Class, Text, Title string
}

type ticketListView struct {
	Rows   []ticketRow
	Next   string
	Query  url.Values
	View   string // "breaching" for the saved view computed from SLA clocks
	Status string // the status filter as chosen ("unsolved" by default)

	Statuses   []string
	Priorities []string
	Channels   []string
	Sorts      []string
	Categories []categoryOption
	Agents     []support.Agent
	MeID       int64
}

// categoryOption is a ticket category in the viewer's language, children
// indented under their parent.
type categoryOption struct {
	ID    int64
	Label string
	Child bool
}

// ticketLookups are the names a ticket's ids show as.
type ticketLookups struct {
	Categories []categoryOption
	catNames   map[int64]string
	Agents     []support.Agent
	agentNames map[int64]string
}

func (s *Server) ticketLookups(ctx context.Context, locale string) (*ticketLookups, error) {
	cats, err := s.cfg.Support.Categories(ctx)
	if err != nil {
		return nil, err
	}
	agents, err := s.cfg.Support.Agents(ctx)
	if err != nil {
		return nil, err
	}
	l := &ticketLookups{Agents: agents, catNames: map[int64]string{}, agentNames: map[int64]string{}}
	name := func(c support.Category) string {
		if locale == i18n.Japanese {
			return c.NameJA
		}
		return c.NameEN
	}
	for _, c := range cats {
		l.catNames[c.ID] = name(c)
	}
	for _, c := range cats { // parents first, each followed by its children
		if c.ParentID != nil || c.Archived {
			continue
		}
		l.Categories = append(l.Categories, categoryOption{ID: c.ID, Label: name(c)})
		for _, k := range cats {
			if k.ParentID != nil && *k.ParentID == c.ID && !k.Archived {
				l.Categories = append(l.Categories, categoryOption{ID: k.ID, Label: name(k), Child: true})
			}
		}
	}
	for _, a := range agents {
		l.agentNames[a.ID] = a.Name
		if a.Name == "" {
			l.agentNames[a.ID] = a.Email
		}
	}
	return l, nil
}

func (l *ticketLookups) row(pr *i18n.Printer, it support.QueueItem) ticketRow {
	r := ticketRow{QueueItem: it, SLA: badgeView(pr, it.SLA)}
	if it.AssigneeID != nil {
		r.Assignee = l.agentNames[*it.AssigneeID]
		if r.Assignee == "" {
			r.Assignee = "#" + strconv.FormatInt(*it.AssigneeID, 10)
		}
	}
	if it.CategoryID != nil {
		r.Category = l.catNames[*it.CategoryID]
	}
	return r
}

// badgeView words an SLA badge: "3h 20m left", "45m overdue", "paused".
func badgeView(pr *i18n.Printer, b *support.Badge) slaBadge {
	if b == nil {
		return slaBadge{}
	}
	v := slaBadge{Class: "ok", Title: pr.T("tickets.sla.metric."+string(b.Metric)) + " · " + pr.T("tickets.sla.due", pr.DateTime(b.DueAt))}
	switch {
	case b.Breached:
		v.Class = "breach"
		v.Text = pr.T("tickets.sla.overdue", duration(pr, -b.Remaining))
	case b.State == "paused":
		v.Class = "paused"
		v.Text = pr.T("tickets.sla.paused", duration(pr, b.Remaining))
	default:
		if b.Warned {
			v.Class = "warn"
		}
		v.Text = pr.T("tickets.sla.left", duration(pr, b.Remaining))
	}
	return v
}

// duration shows d in days, hours and minutes, the two largest units.
func duration(pr *i18n.Printer, d time.Duration) string {
	if d < 0 {
		d = -d
	}
	m := int64(d / time.Minute)
	days, hours, mins := m/(24*60), m/60%24, m%60
	switch {
	case days > 0:
		return pr.T("tickets.dur.dh", days, hours)
	case hours > 0:
		return pr.T("tickets.dur.hm", hours, mins)
	}
	return pr.T("tickets.dur.m", mins)
}

// queueFilter reads the queue's query: status (default unsolved, "all"
// for every status), assignee (an id, "me" or "none"), team, category,
// complaint, channel, tag, sort and cursor.
func queueFilter(r *http.Request, me int64) (support.QueueFilter, string, error) {
	q := r.URL.Query()
	f := support.QueueFilter{Team: q.Get("team"), Channel: q.Get("channel"), Tag: q.Get("tag"), Sort: q.Get("sort"),
		Cursor: q.Get("cursor"), Complaint: q.Get("complaint") == "1"}
	status := q.Get("status")
	switch status {
	case "":
		status = "unsolved"
		f.Status = status
	case "all":
	default:
		f.Status = status
	}
	switch a := q.Get("assignee"); a {
	case "":
	case "me":
		f.AssigneeID = me
	case "none":
		f.Unassigned = true
	default:
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n <= 0 {
			return f, status, kizuna.FieldError("assignee", "assignee must be a user id, me or none")
		}
		f.AssigneeID = n
	}
	if c := q.Get("customer"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return f, status, kizuna.FieldError("customer", "customer must be a customer id")
		}
		f.CustomerID = n
	}
	if c := q.Get("category"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return f, status, kizuna.FieldError("category", "category must be a category id")
		}
		f.CategoryID = n
	}
	return f, status, nil
}

// handleTicketList is the agents' queue with its filters and saved views.
func (s *Server) handleTicketList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	var me int64
	if st.Principal != nil {
		me = st.Principal.ID
	}
	f, status, err := queueFilter(r, me)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := ticketListView{Query: r.URL.Query(), Status: status, View: r.URL.Query().Get("view"), MeID: me,
		Statuses:   []string{"unsolved", support.StatusNew, support.StatusOpen, support.StatusPending, support.StatusOnHold, support.StatusSolved, support.StatusClosed, "all"},
		Priorities: support.Priorities, Channels: support.Channels, Sorts: support.QueueSorts}
	var items []support.QueueItem
	if v.View == "breaching" {
		items, err = s.cfg.Support.BreachingSoon(ctx, breachingWindow, 100)
	} else {
		v.View = ""
		var page *support.Page[support.QueueItem]
		if page, err = s.cfg.Support.Queue(ctx, f); err == nil {
			items, v.Next = page.Items, page.Next
		}
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	l, err := s.ticketLookups(ctx, st.Printer.Locale)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Categories, v.Agents = l.Categories, l.Agents
	for _, it := range items {
		v.Rows = append(v.Rows, l.row(st.Printer, it))
	}
	s.render(w, r, http.StatusOK, "tickets_list", s.newPage(w, r, "tickets.title", "tickets", v))
}

// savedView reports which saved view a query is, for the tabs.
func savedView(q url.Values) string {
	switch {
	case q.Get("view") == "breaching":
		return "breaching"
	case q.Get("assignee") == "me" && q.Get("status") == "unsolved" && len(q) == 2:
		return "mine"
	case q.Get("assignee") == "none" && q.Get("status") == "unsolved" && len(q) == 2:
		return "unassigned"
	case len(q) == 0:
		return "all"
	}
	return ""
}

// Tab is the saved view the queue shows, for aria-current.
func (v ticketListView) Tab() string { return savedView(v.Query) }

// Filtered reports whether any filter is set (to offer a reset).
func (v ticketListView) Filtered() bool {
	for k := range v.Query {
		if k != "cursor" && strings.TrimSpace(v.Query.Get(k)) != "" {
			return true
		}
	}
	return false
}
