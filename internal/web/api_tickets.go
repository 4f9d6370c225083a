package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// ticketFilter reads the ticket list's query parameters.
func ticketFilter(r *http.Request) (support.Filter, error) {
	q := r.URL.Query()
	limit, cursor, err := pageParams(r)
	if err != nil {
		return support.Filter{}, err
	}
	f := support.Filter{Status: q.Get("status"), Tag: q.Get("tag"), Query: q.Get("q"), Limit: limit, Cursor: cursor,
		Complaint: q.Get("complaint") == "true"}
	for name, dst := range map[string]*int64{"customer_id": &f.CustomerID, "assignee_id": &f.AssigneeID, "category_id": &f.CategoryID} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return f, kizuna.FieldError(name, "%s must be a positive integer", name)
			}
			*dst = n
		}
	}
	return f, nil
}

func (s *Server) apiTicketList(w http.ResponseWriter, r *http.Request) {
	f, err := ticketFilter(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	page, err := s.cfg.Support.Tickets(r.Context(), f)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, page)
}

// withBody decodes a JSON body into in and runs fn, answering status.
func withBody[T any](s *Server, w http.ResponseWriter, r *http.Request, status int, fn func(in T) (any, error)) {
	var in T
	if err := decodeJSON(r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	v, err := fn(in)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, status, v)
}

// withIDBody is withBody with the path id.
func withIDBody[T any](s *Server, w http.ResponseWriter, r *http.Request, status int, fn func(id int64, in T) (any, error)) {
	id, err := pathID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	withBody(s, w, r, status, func(in T) (any, error) { return fn(id, in) })
}

func (s *Server) apiTicketCreate(w http.ResponseWriter, r *http.Request) {
	withBody(s, w, r, http.StatusCreated, func(in support.NewTicket) (any, error) {
		return s.cfg.Support.CreateTicket(r.Context(), in)
	})
}

func (s *Server) apiTicketGet(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return s.cfg.Support.Ticket(r.Context(), id) })
}

func (s *Server) apiTicketUpdate(w http.ResponseWriter, r *http.Request) {
	withIDBody(s, w, r, http.StatusOK, func(id int64, p support.Patch) (any, error) {
		return s.cfg.Support.UpdateTicket(r.Context(), id, p)
	})
}

func (s *Server) apiTicketAssign(w http.ResponseWriter, r *http.Request) {
	withIDBody(s, w, r, http.StatusOK, func(id int64, a support.Assignment) (any, error) {
		return s.cfg.Support.Assign(r.Context(), id, a)
	})
}

type messageList struct {
	Items []support.Message `json:"items"`
}

func (s *Server) apiTicketMessages(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		ms, err := s.cfg.Support.Messages(r.Context(), id)
		return messageList{Items: ms}, err
	})
}

func (s *Server) apiTicketReply(w http.ResponseWriter, r *http.Request) {
	withIDBody(s, w, r, http.StatusCreated, func(id int64, in support.NewReply) (any, error) {
		return s.cfg.Support.Reply(r.Context(), id, in)
	})
}

type mergeTicketRequest struct {
	Into int64 `json:"into"`
}

func (s *Server) apiTicketMerge(w http.ResponseWriter, r *http.Request) {
	withIDBody(s, w, r, http.StatusOK, func(id int64, in mergeTicketRequest) (any, error) {
		return s.cfg.Support.Merge(r.Context(), id, in.Into)
	})
}

type incidentRequest struct {
	IncidentID int64 `json:"incident_id"`
}

func (s *Server) apiTicketLinkIncident(w http.ResponseWriter, r *http.Request) {
	withIDBody(s, w, r, http.StatusOK, func(id int64, in incidentRequest) (any, error) {
		return s.cfg.Support.LinkIncident(r.Context(), id, in.IncidentID)
	})
}

type solveProblemRequest struct {
	Body string `json:"body"`
}

func (s *Server) apiTicketSolveProblem(w http.ResponseWriter, r *http.Request) {
	withIDBody(s, w, r, http.StatusOK, func(id int64, in solveProblemRequest) (any, error) {
		return s.cfg.Support.SolveProblem(r.Context(), id, in.Body)
	})
}

func (s *Server) apiTicketSLA(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return s.cfg.Support.SLA(r.Context(), id) })
}

// apiTicketDeliveries lists the mail delivery of the ticket's mailed
// replies; empty when the desk has no mailbox (no support address).
func (s *Server) apiTicketDeliveries(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		if s.cfg.Mailbox == nil {
			if _, err := s.cfg.Support.Ticket(r.Context(), id); err != nil {
				return nil, err
			}
			return []any{}, nil
		}
		return s.cfg.Mailbox.Deliveries(r.Context(), id)
	})
}

// apiSupportReport: from and to are RFC 3339; by default the last 30 days.
func (s *Server) apiSupportReport(w http.ResponseWriter, r *http.Request) {
	to := s.cfg.Now()
	from := to.AddDate(0, 0, -30)
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := strings.TrimSpace(r.URL.Query().Get(name)); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.apiError(w, r, kizuna.FieldError(name, "%s must be an RFC 3339 time", name))
				return
			}
			*dst = t
		}
	}
	rep, err := s.cfg.Support.Report(r.Context(), from, to)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, rep)
}
