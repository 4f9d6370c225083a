package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// The ticket page's forms. Each posts to its own route, redirects back to
// the ticket on success and shows the page again with the error beside
// the form otherwise; the service checks every permission.

// formID reads a positive id from form field name.
func formID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(r.PostFormValue(name), "#")), 10, 64)
	if err != nil || n <= 0 {
		return 0, kizuna.FieldError(name, "%s must be a ticket number", name)
	}
	return n, nil
}

// splitTags reads tags separated by commas or spaces.
func splitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '、' || r == ' ' || r == '\u3000' || r == '\n' || r == '\t' || r == '\r'
	})
}

// handleTicketReply sends a public reply or saves an internal note, with
// the files of the form's "attachments" input (a public reply's files go
// out with its mail). The
// "insert macro" button of the same form renders the chosen macro for this
// ticket into the text area instead (no script needed).
func (s *Server) handleTicketReply(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	body := r.PostFormValue("body")
	if r.PostFormValue("action") == "macro" {
		s.insertMacro(w, r, id, body)
		return
	}
	internal := r.PostFormValue("internal") == "1"
	// The form is multipart (files); the service checks each file's type,
	// size and the count, and refuses the whole reply if one is refused.
	atts, err := formFiles(r, "attachments")
	if err == nil {
		in := support.NewReply{Body: body, Internal: internal, Status: r.PostFormValue("status"), Attachments: atts}
		_, err = s.cfg.Support.Reply(r.Context(), id, in)
	}
	if err != nil {
		s.showTicketWithError(w, r, id, "reply", err)
		return
	}
	done := "replied"
	if internal {
		done = "noted"
	}
	http.Redirect(w, r, ticketPath(id, done), http.StatusSeeOther)
}

func (s *Server) insertMacro(w http.ResponseWriter, r *http.Request, id int64, body string) {
	mid, err := strconv.ParseInt(r.PostFormValue("macro"), 10, 64)
	if err != nil || mid <= 0 {
		s.showTicketWithError(w, r, id, "reply", kizuna.FieldError("macro", "choose a macro"))
		return
	}
	// Inserting text is not working the ticket, but the form belongs to
	// those who may reply.
	if err := s.cfg.Support.CanWrite(r.Context()); err != nil {
		s.pageError(w, r, err)
		return
	}
	text, err := s.cfg.Support.RenderMacro(r.Context(), mid, id)
	if err != nil {
		s.showTicketWithError(w, r, id, "reply", err)
		return
	}
	v, err := s.loadTicket(r, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if strings.TrimSpace(body) != "" {
		text = strings.TrimRight(body, "\r\n") + "\n\n" + text
	}
	v.Reply, v.Internal = text, r.PostFormValue("internal") == "1"
	s.render(w, r, http.StatusOK, "tickets_show", s.newPage(w, r, "tickets.show.title", "tickets", v))
}

// handleTicketUpdate changes status, priority, category, tags and the
// complaint flag.
func (s *Server) handleTicketUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	var p support.Patch
	if v := r.PostFormValue("status"); v != "" {
		p.Status = &v
	}
	if v := r.PostFormValue("priority"); v != "" {
		p.Priority = &v
	}
	if r.PostForm.Has("category_id") {
		var cat int64
		if v := r.PostFormValue("category_id"); v != "" {
			if cat, err = strconv.ParseInt(v, 10, 64); err != nil || cat <= 0 {
				s.showTicketWithError(w, r, id, "update", kizuna.FieldError("category_id", "unknown category"))
				return
			}
		}
		p.CategoryID = &cat
	}
	if r.PostForm.Has("tags") {
		tags := splitTags(r.PostFormValue("tags"))
		p.Tags = &tags
	}
	if r.PostForm.Has("complaint_shown") { // the checkbox sends nothing when cleared
		c := r.PostFormValue("complaint") == "1"
		p.Complaint = &c
	}
	if _, err := s.cfg.Support.UpdateTicket(r.Context(), id, p); err != nil {
		s.showTicketWithError(w, r, id, "update", err)
		return
	}
	http.Redirect(w, r, ticketPath(id, "updated"), http.StatusSeeOther)
}

// handleTicketAssign sets the assignee ("" unassigns, "me") and team.
func (s *Server) handleTicketAssign(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	a := support.Assignment{Team: r.PostFormValue("team")}
	switch v := r.PostFormValue("assignee"); v {
	case "":
	case "me":
		if p := state(r).Principal; p != nil {
			a.AssigneeID = &p.ID
		}
	default:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			s.showTicketWithError(w, r, id, "assign", kizuna.FieldError("assignee", "unknown assignee"))
			return
		}
		a.AssigneeID = &n
	}
	if _, err := s.cfg.Support.Assign(r.Context(), id, a); err != nil {
		s.showTicketWithError(w, r, id, "assign", err)
		return
	}
	http.Redirect(w, r, ticketPath(id, "assigned"), http.StatusSeeOther)
}

// handleTicketMerge folds this ticket into another; the survivor's page
// opens.
func (s *Server) handleTicketMerge(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	into, err := formID(r, "into")
	if err == nil {
		_, err = s.cfg.Support.Merge(r.Context(), id, into)
	}
	if err != nil {
		s.showTicketWithError(w, r, id, "merge", err)
		return
	}
	http.Redirect(w, r, ticketPath(into, "merged"), http.StatusSeeOther)
}

// handleTicketProblem makes this ticket an incident of a problem ticket.
func (s *Server) handleTicketProblem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	problem, err := formID(r, "problem_id")
	if err == nil {
		_, err = s.cfg.Support.LinkIncident(r.Context(), problem, id)
	}
	if err != nil {
		s.showTicketWithError(w, r, id, "problem", err)
		return
	}
	http.Redirect(w, r, ticketPath(id, "linked"), http.StatusSeeOther)
}

// handleTicketIncident links another ticket to this one as its incident
// (this ticket becomes a problem).
func (s *Server) handleTicketIncident(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	inc, err := formID(r, "incident_id")
	if err == nil {
		_, err = s.cfg.Support.LinkIncident(r.Context(), id, inc)
	}
	if err != nil {
		s.showTicketWithError(w, r, id, "incidents", err)
		return
	}
	http.Redirect(w, r, ticketPath(id, "linked"), http.StatusSeeOther)
}

// handleTicketSolveProblem solves a problem and each open incident with
// one reply each.
func (s *Server) handleTicketSolveProblem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if _, err := s.cfg.Support.SolveProblem(r.Context(), id, r.PostFormValue("solve_body")); err != nil {
		s.showTicketWithError(w, r, id, "solve", err)
		return
	}
	http.Redirect(w, r, ticketPath(id, "solved"), http.StatusSeeOther)
}
