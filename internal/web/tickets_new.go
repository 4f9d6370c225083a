package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// ticketNewView is the form an agent logs a phone call or a manual ticket
// with.
type ticketNewView struct {
	In         support.NewTicket
	Tags       string
	Channels   []string
	Priorities []string
	Categories []categoryOption
	ErrorKey   string
	ErrorMsg   string
	Field      string
}

// newTicketChannels are the channels an agent logs by hand.
var newTicketChannels = []string{"phone", "email", "web"}

func (s *Server) showTicketForm(w http.ResponseWriter, r *http.Request, v *ticketNewView, formErr error) {
	l, err := s.ticketLookups(r.Context(), state(r).Printer.Locale)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Channels, v.Priorities, v.Categories = newTicketChannels, support.Priorities, l.Categories
	if formErr != nil {
		s.renderWithError(w, r, "tickets_new", "tickets.new.title", "tickets", v, formErr, func(key, msg string) {
			v.ErrorKey, v.ErrorMsg, v.Field = key, msg, kizuna.ErrorField(formErr)
		})
		return
	}
	s.render(w, r, http.StatusOK, "tickets_new", s.newPage(w, r, "tickets.new.title", "tickets", v))
}

func (s *Server) handleTicketNew(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Support.CanWrite(r.Context()); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.showTicketForm(w, r, &ticketNewView{In: support.NewTicket{Channel: "phone"}}, nil)
}

func (s *Server) handleTicketCreate(w http.ResponseWriter, r *http.Request) {
	f := r.PostFormValue
	in := support.NewTicket{Subject: f("subject"), Body: f("body"), Channel: f("channel"), Priority: f("priority"),
		Complaint: f("complaint") == "1", Team: strings.TrimSpace(f("team")),
		Requester: support.Requester{Email: strings.TrimSpace(f("email")), Phone: strings.TrimSpace(f("phone")), Name: strings.TrimSpace(f("name"))},
		Tags:      splitTags(f("tags"))}
	v := &ticketNewView{In: in, Tags: f("tags")}
	if c := f("category_id"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			s.showTicketForm(w, r, v, kizuna.FieldError("category_id", "unknown category"))
			return
		}
		in.CategoryID = n
		v.In.CategoryID = n
	}
	if f("assign_me") == "1" {
		if p := state(r).Principal; p != nil {
			in.AssigneeID = p.ID
		}
	}
	t, err := s.cfg.Support.CreateTicket(r.Context(), in)
	if kizuna.ErrorCode(err) == kizuna.EINVALID && kizuna.ErrorField(err) == "userId" {
		// The identity rules found no usable key in what was typed.
		err = kizuna.FieldError("requester", "enter a valid email address or phone number")
	}
	if err != nil {
		s.showTicketForm(w, r, v, err)
		return
	}
	http.Redirect(w, r, ticketPath(t.ID, "created"), http.StatusSeeOther)
}
