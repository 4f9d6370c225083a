package web

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// portalView is what every portal page carries besides its content: the
// portal session's CSRF token for its forms (the layout's CSRF is the
// anonymous one, for the language switch).
type portalView struct {
	CSRF string
}

type portalTicketsView struct {
	portalView
	Tickets []support.Ticket
	Next    string
}

func (s *Server) portalBase(r *http.Request) portalView {
	return portalView{CSRF: portalOf(r).Session.CSRFToken}
}

// handlePortalTickets lists the signed-in customer's tickets.
func (s *Server) handlePortalTickets(w http.ResponseWriter, r *http.Request) {
	page, err := s.cfg.Support.MyTickets(r.Context(), 50, r.URL.Query().Get("cursor"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := portalTicketsView{portalView: s.portalBase(r), Tickets: page.Items, Next: page.Next}
	s.render(w, r, http.StatusOK, "portal_tickets", s.newPage(w, r, "portal.tickets.title", "portal", v))
}

type portalTicketView struct {
	portalView
	Ticket   *support.Ticket
	Messages []support.Message
	Body     string
	ErrorKey string
	Error    string
	Sent     bool
}

func (s *Server) handlePortalTicket(w http.ResponseWriter, r *http.Request) {
	v, err := s.portalTicket(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Sent = r.URL.Query().Get("done") == "sent"
	s.render(w, r, http.StatusOK, "portal_ticket", s.newPage(w, r, "portal.ticket.title", "portal", v))
}

func (s *Server) portalTicket(r *http.Request) (portalTicketView, error) {
	id, err := pathID(r)
	if err != nil {
		return portalTicketView{}, err
	}
	t, ms, err := s.cfg.Support.MyTicket(r.Context(), id)
	if err != nil {
		return portalTicketView{}, err
	}
	return portalTicketView{portalView: s.portalBase(r), Ticket: t, Messages: ms}, nil
}

// handlePortalReply adds the customer's message (and files) to their
// ticket.
func (s *Server) handlePortalReply(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	body := r.PostFormValue("body")
	atts, err := formFiles(r, "attachments")
	if err == nil {
		_, err = s.cfg.Support.MyReply(r.Context(), id, support.NewCustomerMessage{Body: body, Attachments: atts})
	}
	if err != nil {
		v, verr := s.portalTicket(r)
		if verr != nil {
			s.pageError(w, r, verr)
			return
		}
		v.Body = body
		s.renderWithError(w, r, "portal_ticket", "portal.ticket.title", "portal", &v, err, func(key, msg string) {
			v.ErrorKey, v.Error = key, msg
		})
		return
	}
	http.Redirect(w, r, "/portal/tickets/"+strconv.FormatInt(id, 10)+"?done=sent", http.StatusSeeOther)
}

// formFiles reads the files of a multipart field (none for other forms).
func formFiles(r *http.Request, field string) ([]support.NewAttachment, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var out []support.NewAttachment
	for _, fh := range r.MultipartForm.File[field] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // the browser's empty file input
		}
		if fh.Size > support.MaxAttachmentSize {
			return nil, &kizuna.Error{Code: kizuna.ETOOLARGE, Field: field, Message: "the file is too large"}
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(f, support.MaxAttachmentSize+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, support.NewAttachment{Filename: fh.Filename, ContentType: fh.Header.Get("Content-Type"), Data: b})
	}
	return out, nil
}

// handlePortalAttachment sends a file of the customer's own ticket as a
// download: never rendered inline, never sniffed.
func (s *Server) handlePortalAttachment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	att, err := strconv.ParseInt(r.PathValue("att"), 10, 64)
	if err != nil {
		s.pageError(w, r, &kizuna.Error{Code: kizuna.ENOTFOUND, Message: "no such attachment"})
		return
	}
	a, err := s.cfg.Support.MyAttachment(r.Context(), id, att)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	_, _ = w.Write(a.Data)
}
