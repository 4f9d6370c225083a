package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// The web widget's JSON endpoints, called by static/widget.js from the
// customer's own site. Both are CORS "simple requests" (a GET, and a POST
// of text/plain), so no preflight and no OPTIONS route; they send no
// cookies (credentials: omit) and answer Access-Control-Allow-Origin: *
// on these two paths only. What authenticates the visitor is the
// data-user-hash the site's server signed (feedback.WidgetVisitor), and
// what identifies the response is its random client key.

// widgetForm is what GET /w/{slug} returns.
type widgetForm struct {
	Form      *feedback.Form `json:"form"`
	ClientKey string         `json:"client_key"`
	Opened    string         `json:"opened"`
}

// widgetAnswer is the body of POST /w/{slug}: one page's answers.
type widgetAnswer struct {
	ClientKey string            `json:"client_key"`
	Opened    string            `json:"opened"`
	UserID    string            `json:"user_id"`
	UserHash  string            `json:"user_hash"`
	Locale    string            `json:"locale"`
	Page      string            `json:"page"`
	Answers   []feedback.Answer `json:"answers"`
	Website   string            `json:"website"` // the honeypot
}

// widgetResult tells the widget what comes next.
type widgetResult struct {
	NextPage  string          `json:"next_page"`
	Completed bool            `json:"completed"`
	Visible   map[string]bool `json:"visible,omitempty"`
	ThankYou  string          `json:"thank_you,omitempty"`
}

func widgetCORS(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Vary", "Origin")
	// The widget's responses may be read by any page, but never framed or
	// sniffed; they carry no credentials.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
}

func (s *Server) handleWidgetForm(w http.ResponseWriter, r *http.Request) {
	widgetCORS(w)
	q := r.URL.Query()
	ctx := s.respondentCtx(r)
	loc := s.respondentLocale(r, "")
	v := feedback.WidgetVisitor{UserID: q.Get("user_id"), UserHash: q.Get("user_hash")}
	form, err := s.cfg.Surveys.WidgetForm(ctx, r.PathValue("slug"), v, loc)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	key := feedback.NewClientKey()
	seal, err := s.cfg.Surveys.SealOpened(ctx, key)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, widgetForm{Form: form, ClientKey: key, Opened: seal})
}

func (s *Server) handleWidgetAnswer(w http.ResponseWriter, r *http.Request) {
	widgetCORS(w)
	var in widgetAnswer
	b, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(b, &in)
		if err != nil {
			err = &kizuna.Error{Code: kizuna.EINVALID, Message: "malformed JSON: " + err.Error()}
		}
	} else {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = &kizuna.Error{Code: kizuna.EINVALID, Message: "unreadable body"}
		}
	}
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	ctx := s.respondentCtx(r)
	if in.Locale != "" {
		in.Locale = s.respondentLocale(r, feedback.NormalizeLocale(in.Locale))
	} else {
		in.Locale = s.respondentLocale(r, "")
	}
	slug := r.PathValue("slug")
	visitor := feedback.WidgetVisitor{UserID: in.UserID, UserHash: in.UserHash}
	form, err := s.cfg.Surveys.WidgetForm(ctx, slug, visitor, in.Locale)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	save := feedback.SaveInput{SurveyID: form.SurveyID, ClientKey: in.ClientKey, Page: in.Page, Answers: in.Answers}
	res, err := s.cfg.Surveys.SavePage(ctx, save)
	if kizuna.ErrorCode(err) == kizuna.ENOTFOUND && kizuna.ErrorField(err) == "client_key" {
		start := feedback.StartInput{Slug: slug, ClientKey: in.ClientKey, Locale: in.Locale, IP: s.clientIP(r),
			OpenedAt: s.cfg.Surveys.OpenedAt(ctx, in.ClientKey, in.Opened)}
		if _, err = s.cfg.Surveys.StartWidget(ctx, start, visitor); err == nil {
			res, err = s.cfg.Surveys.SavePage(ctx, save)
		}
	}
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := widgetResult{NextPage: res.NextPage}
	if res.NextPage == "" {
		if _, err := s.cfg.Surveys.Complete(ctx, feedback.CompleteInput{SurveyID: form.SurveyID, ClientKey: in.ClientKey,
			Honeypot: in.Website}); err != nil {
			s.apiError(w, r, err)
			return
		}
		out.Completed, out.ThankYou = true, form.ThankYou
		if out.ThankYou == "" {
			out.ThankYou = state(r).Printer.T("respond.thanks")
		}
		s.writeJSON(w, http.StatusOK, out)
		return
	}
	p, err := s.cfg.Surveys.Progress(ctx, form.SurveyID, in.ClientKey, in.Locale)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out.Visible = p.Visible
	s.writeJSON(w, http.StatusOK, out)
}
