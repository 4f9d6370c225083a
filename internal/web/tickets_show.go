package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/kb"
	"github.com/kizuna-oss/kizuna/internal/support"
	"github.com/kizuna-oss/kizuna/internal/support/mailbox"
)

// ticketView is the ticket page: the conversation and its forms, and the
// customer's 360 panel beside it.
type ticketView struct {
	Ticket     *support.Ticket
	Messages   []support.Message
	SLA        *support.TicketSLA
	Badge      slaBadge
	Macros     []support.Macro
	Categories []categoryOption
	Agents     []support.Agent
	Assignee   string
	Category   string
	Statuses   []string // where the status may go from here (and itself)
	Priorities []string
	Problem    *support.Ticket  // the problem this ticket is an incident of
	Incidents  []support.Ticket // a problem's incidents
	Articles   []kb.Hit         // suggested knowledge-base articles
	Panel      *customerPanel
	// Deliveries is the mail state of each mailed reply, by message id
	// (empty without a support mailbox).
	Deliveries map[int64]mailbox.Delivery

	// Form state: the reply being written, and the last action's outcome.
	Reply      string
	Internal   bool
	FilesAgain bool   // the refused form carried files, to be chosen again
	Flash      string // catalog key
	ErrorKey   string
	ErrorMsg   string
	ErrorForm  string // which form the error belongs to
}

// customerPanel is the 360 view beside the ticket.
type customerPanel struct {
	Customer  *customer.Customer
	Summary   *customer.Summary
	Orders    []customer.Order
	Earlier   []support.Ticket // the customer's other tickets, newest first
	Surveys   []surveyScore
	Complaint bool // an open complaint (any ticket)
}

// surveyScore is a survey response's score from the customer timeline.
type surveyScore struct {
	Survey string
	At     customer.TimelineItem
	NPS    *int64
	CSAT   *int64
}

const (
	panelOrders   = 5
	panelTickets  = 10
	panelSurveys  = 5
	timelineScans = 3 // timeline pages of 200 searched for survey responses
	kbSuggestions = 5
)

// ticketFlash maps the ?done= marker of this page's redirects.
func ticketFlash(done string) string {
	switch done {
	case "created", "replied", "noted", "updated", "assigned", "merged", "linked", "solved", "mail_retry":
		return "tickets.flash." + done
	}
	return ""
}

// loadTicket gathers everything the ticket page shows.
func (s *Server) loadTicket(r *http.Request, id int64) (*ticketView, error) {
	ctx := r.Context()
	st := state(r)
	sup := s.cfg.Support
	v := &ticketView{Flash: ticketFlash(r.URL.Query().Get("done")), Priorities: support.Priorities}
	var err error
	if v.Ticket, err = sup.Ticket(ctx, id); err != nil {
		return nil, err
	}
	t := v.Ticket
	if v.Messages, err = sup.Messages(ctx, id); err != nil {
		return nil, err
	}
	v.Deliveries = map[int64]mailbox.Delivery{}
	if s.cfg.Mailbox != nil {
		ds, err := s.cfg.Mailbox.Deliveries(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, dl := range ds {
			v.Deliveries[dl.MessageID] = dl
		}
	}
	if v.SLA, err = sup.SLA(ctx, id); err != nil {
		return nil, err
	}
	b, err := sup.Badge(ctx, id)
	if err != nil {
		return nil, err
	}
	v.Badge = badgeView(st.Printer, b)
	if v.Macros, err = sup.Macros(ctx); err != nil {
		return nil, err
	}
	l, err := s.ticketLookups(ctx, st.Printer.Locale)
	if err != nil {
		return nil, err
	}
	v.Categories, v.Agents = l.Categories, l.Agents
	row := l.row(st.Printer, support.QueueItem{Ticket: *t})
	v.Assignee, v.Category = row.Assignee, row.Category
	v.Statuses = []string{t.Status}
	for _, to := range []string{support.StatusOpen, support.StatusPending, support.StatusOnHold, support.StatusSolved, support.StatusClosed} {
		if support.CanTransition(t.Status, to) {
			v.Statuses = append(v.Statuses, to)
		}
	}
	if t.ProblemID != nil {
		if v.Problem, err = sup.Ticket(ctx, *t.ProblemID); err != nil {
			return nil, err
		}
	}
	if t.Kind == support.KindProblem {
		if v.Incidents, err = sup.Incidents(ctx, id); err != nil {
			return nil, err
		}
	}
	if s.cfg.KB != nil {
		v.Articles = s.suggestArticles(ctx, t, v.Messages)
	}
	if v.Panel, err = s.loadCustomerPanel(ctx, t); err != nil {
		return nil, err
	}
	return v, nil
}

// suggestArticles asks the knowledge base for articles answering the
// ticket: its subject and the customer's latest message, in the language
// the text is written in. Suggestions are a help, so a failure leaves
// them out rather than failing the page.
func (s *Server) suggestArticles(ctx context.Context, t *support.Ticket, ms []support.Message) []kb.Hit {
	text := t.Subject
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Direction == support.DirectionIn {
			text += "\n" + ms[i].Body
			break
		}
	}
	hits, err := s.cfg.KB.Suggest(ctx, text, textLocale(text), kbSuggestions)
	if err != nil {
		s.log.Warn("kb suggestions for ticket", "ticket", t.ID, "err", err)
		return nil
	}
	return hits
}

// textLocale guesses ja when the text holds kana or kanji, else en.
func textLocale(text string) string {
	for _, r := range text {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return "ja"
		}
	}
	return "en"
}

// loadCustomerPanel reads the 360 panel. Parts the caller may not read
// (EFORBIDDEN) are left out; a viewer of tickets may still lack orders.
func (s *Server) loadCustomerPanel(ctx context.Context, t *support.Ticket) (*customerPanel, error) {
	p := &customerPanel{}
	skip := func(err error) bool { return kizuna.ErrorCode(err) == kizuna.EFORBIDDEN }
	var err error
	if p.Customer, err = s.cfg.Customers.Get(ctx, t.CustomerID); err != nil {
		if skip(err) {
			return nil, nil
		}
		return nil, err
	}
	if p.Summary, err = s.cfg.Customers.Summary(ctx, t.CustomerID); err != nil && !skip(err) {
		return nil, err
	}
	if orders, err := s.cfg.Customers.Orders(ctx, t.CustomerID, panelOrders, ""); err == nil {
		p.Orders = orders.Items
	} else if !skip(err) {
		return nil, err
	}
	earlier, err := s.cfg.Support.Tickets(ctx, support.Filter{CustomerID: t.CustomerID, Limit: panelTickets + 1})
	if err != nil {
		return nil, err
	}
	for _, e := range earlier.Items {
		if e.ID != t.ID && len(p.Earlier) < panelTickets {
			p.Earlier = append(p.Earlier, e)
		}
	}
	if p.Complaint, err = s.cfg.Support.HasOpenComplaint(ctx, t.CustomerID); err != nil {
		return nil, err
	}
	cursor := ""
	for range timelineScans {
		tl, err := s.cfg.Customers.Timeline(ctx, t.CustomerID, 200, cursor)
		if skip(err) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, it := range tl.Items {
			if it.Kind != "survey_response" || len(p.Surveys) == panelSurveys {
				continue
			}
			sc := surveyScore{Survey: it.Title, At: it}
			if n, ok := asInt64(it.Detail["nps"]); ok {
				sc.NPS = &n
			}
			if n, ok := asInt64(it.Detail["csat"]); ok {
				sc.CSAT = &n
			}
			if sc.NPS != nil || sc.CSAT != nil {
				p.Surveys = append(p.Surveys, sc)
			}
		}
		if tl.Next == "" || len(p.Surveys) == panelSurveys {
			break
		}
		cursor = tl.Next
	}
	return p, nil
}

func (s *Server) handleTicketShow(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v, err := s.loadTicket(r, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "tickets_show", s.newPage(w, r, "tickets.show.title", "tickets", v))
}

// showTicketWithError shows the ticket page again with err beside form,
// keeping the reply being written.
func (s *Server) showTicketWithError(w http.ResponseWriter, r *http.Request, id int64, form string, formErr error) {
	v, err := s.loadTicket(r, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Reply, v.Internal = r.PostFormValue("body"), r.PostFormValue("internal") == "1"
	// A browser cannot refill a file input: say so when files were sent.
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["attachments"] {
			if fh.Filename != "" {
				v.FilesAgain = true
			}
		}
	}
	s.renderWithError(w, r, "tickets_show", "tickets.show.title", "tickets", v, formErr, func(key, msg string) {
		v.ErrorKey, v.ErrorMsg, v.ErrorForm = key, msg, form
	})
}

// ticketPath is the ticket page's URL with a ?done= marker.
func ticketPath(id int64, done string) string {
	p := "/tickets/" + strconv.FormatInt(id, 10)
	if done != "" {
		p += "?done=" + done
	}
	return p
}

// handleTicketAttachment sends a stored attachment as a download: never
// shown inline, never sniffed, so a customer's file cannot run in the
// desk's origin.
func (s *Server) handleTicketAttachment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	att, err := strconv.ParseInt(r.PathValue("att"), 10, 64)
	if err != nil || att <= 0 {
		s.pageError(w, r, kizuna.FieldError("att", "att must be a positive integer"))
		return
	}
	a, err := s.cfg.Support.TicketAttachment(r.Context(), id, att)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", attachmentDisposition(a.Filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	_, _ = w.Write(a.Data)
}

// attachmentDisposition names the download: an ASCII fallback and the
// UTF-8 name (RFC 6266 / 5987), so Japanese file names survive.
func attachmentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name)
	if ascii == "" {
		ascii = "attachment"
	}
	return `attachment; filename="` + ascii + `"; filename*=UTF-8''` + urlPathEscape(name)
}

// urlPathEscape percent-encodes everything but RFC 5987 attr-chars.
func urlPathEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ErrorIn reports whether the last action's error belongs to form.
func (v *ticketView) ErrorIn(form string) bool { return v.ErrorKey != "" && v.ErrorForm == form }

// Is reports whether the optional id p is id (selected options).
func (v *ticketView) Is(p *int64, id int64) bool { return p != nil && *p == id }

// TagText is the tags as the tags field shows them.
func (v *ticketView) TagText() string { return strings.Join(v.Ticket.Tags, ", ") }

// handleTicketMailRetry sends a reply whose mail failed again (POST
// /tickets/{id}/messages/{msg}/retry-mail). The message must be one of the
// ticket's mailed replies.
func (s *Server) handleTicketMailRetry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	msg, err := strconv.ParseInt(r.PathValue("msg"), 10, 64)
	if err != nil || msg <= 0 {
		s.pageError(w, r, kizuna.FieldError("msg", "malformed message id"))
		return
	}
	ds, err := s.cfg.Mailbox.Deliveries(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	found := false
	for _, d := range ds {
		found = found || d.MessageID == msg
	}
	if !found {
		s.pageError(w, r, &kizuna.Error{Code: kizuna.ENOTFOUND, Message: "no mailed reply with that id on this ticket"})
		return
	}
	if err := s.cfg.Mailbox.Retry(r.Context(), msg); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(id, 10)+"?done=mail_retry#m"+strconv.FormatInt(msg, 10), http.StatusSeeOther)
}
