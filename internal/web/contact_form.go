package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/kb"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// contactHoneypot is a field people never see (hidden by portal.css) and
// bots fill in: a form with it set is thanked and dropped.
const contactHoneypot = "website"

// contactView is the contact form in its three steps: the form, the
// suggested answers ("check for answers") before submitting, and done.
type contactView struct {
	Name, Email, Subject, Body string
	CategoryID                 int64
	Categories                 []contactCategory
	Suggestions                []kb.Hit
	ErrorKey, Error, Field     string
	TicketID                   int64
}

type contactCategory struct {
	ID     int64
	Name   string
	Parent bool // a group heading of the purchase cycle
}

func (s *Server) contactCategories(r *http.Request) ([]contactCategory, error) {
	cats, err := s.cfg.Portal.Categories(r.Context())
	if err != nil {
		return nil, err
	}
	ja := state(r).Locale == "ja"
	out := make([]contactCategory, 0, len(cats))
	for _, c := range cats {
		name := c.NameEN
		if ja {
			name = c.NameJA
		}
		out = append(out, contactCategory{ID: c.ID, Name: name, Parent: c.ParentID == nil})
	}
	return out, nil
}

func (s *Server) handleContactForm(w http.ResponseWriter, r *http.Request) {
	cats, err := s.contactCategories(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "contact_form", s.newPage(w, r, "contact.title", "contact", contactView{Categories: cats}))
}

// handleContactSubmit runs both steps: step=check shows the suggested
// help articles for what was typed (recorded as "suggested" for the
// deflection report) with the choice to submit anyway; step=submit
// opens the ticket (recorded as "submitted") and mails a confirmation.
func (s *Server) handleContactSubmit(w http.ResponseWriter, r *http.Request) {
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	v := contactView{Name: r.PostFormValue("name"), Email: r.PostFormValue("email"),
		Subject: r.PostFormValue("subject"), Body: r.PostFormValue("body")}
	v.CategoryID, _ = strconv.ParseInt(r.PostFormValue("category_id"), 10, 64)
	if r.PostFormValue(contactHoneypot) != "" {
		s.render(w, r, http.StatusOK, "contact_done", s.newPage(w, r, "contact.title", "contact", v))
		return
	}
	cats, err := s.contactCategories(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Categories = cats
	locale := helpLocale(r)
	if r.PostFormValue("step") != "submit" {
		if strings.TrimSpace(v.Subject) == "" || strings.TrimSpace(v.Body) == "" || strings.TrimSpace(v.Email) == "" {
			v.ErrorKey = "contact.required"
			s.render(w, r, http.StatusBadRequest, "contact_form", s.newPage(w, r, "contact.title", "contact", v))
			return
		}
		if s.cfg.KB != nil {
			hits, err := s.cfg.KB.Suggest(r.Context(), v.Subject+"\n"+v.Body, locale, 5)
			if err != nil {
				s.log.Warn("contact form: suggestions", "err", err)
			}
			v.Suggestions = hits
			if len(hits) > 0 {
				s.record(w, r, kb.Event{Kind: kb.EventSuggested, Locale: locale})
			}
		}
		s.render(w, r, http.StatusOK, "contact_check", s.newPage(w, r, "contact.title", "contact", v))
		return
	}
	atts, err := formFiles(r, "attachment")
	var t *support.Ticket
	if err == nil {
		t, err = s.cfg.Portal.SubmitContact(r.Context(), support.ContactForm{Name: v.Name, Email: v.Email,
			CategoryID: v.CategoryID, Subject: v.Subject, Body: v.Body, Locale: state(r).Locale, Attachments: atts}, s.clientIP(r))
	}
	if err != nil {
		code := kizuna.ErrorCode(err)
		if code == kizuna.ETOOMANY {
			v.ErrorKey = "portal.too_many"
			s.render(w, r, http.StatusTooManyRequests, "contact_form", s.newPage(w, r, "contact.title", "contact", v))
			return
		}
		v.Field = kizuna.ErrorField(err)
		s.renderWithError(w, r, "contact_form", "contact.title", "contact", &v, err, func(key, msg string) {
			v.ErrorKey, v.Error = key, msg
		})
		return
	}
	if s.cfg.KB != nil {
		s.record(w, r, kb.Event{Kind: kb.EventSubmitted, Locale: locale})
	}
	v.TicketID = t.ID
	s.render(w, r, http.StatusOK, "contact_done", s.newPage(w, r, "contact.title", "contact", v))
}
