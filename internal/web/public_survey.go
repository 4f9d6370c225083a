package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

// The respondent's survey pages: the public link /s/{slug} and the
// personal link /r/{token}. A GET only renders (a fresh client key and the
// signed time the page was opened go into hidden fields); each POST saves
// the page it carries (idempotent per page), then shows the next page or
// completes the response and thanks. No JavaScript: the form works in any
// mail client's browser.

// honeypotField is the form's trap: hidden from people by CSS, filled by
// form-filling bots. A filled trap flags the response; it is not refused.
const honeypotField = "website"

// linkKeyCookie keeps a personal link's client key on the device that
// started it (Path=/r/{token}), so reopening the mail link resumes the
// response instead of finding the link used.
const linkKeyCookie = "kizuna_rk"

// surveyView is the respondent page's content.
type surveyView struct {
	State     string // form, done, message
	Form      *feedback.Form
	Page      feedback.FormPage
	PageNo    int
	PageCount int
	Action    string
	ClientKey string
	Opened    string
	Honeypot  string
	ErrorKey  string // catalog key of the problem with the posted page
	ErrorText string // the service's message (English detail)
	// MessageKey / MessageDetail: a page that is not the form (link used,
	// expired, survey closed, rate limit, thanks).
	MessageKey    string
	MessageDetail string
	LangPath      string // this page's path, for the language links
}

// respondentCtx acts as an anonymous respondent from the caller's address.
func (s *Server) respondentCtx(r *http.Request) context.Context {
	return auth.Respondent(r.Context(), s.clientIP(r))
}

// respondentLocale: ?lang= (the page's language links), then the
// customer's own language (a personal link), then the language switch's
// cookie and Accept-Language.
func (s *Server) respondentLocale(r *http.Request, customerLocale string) string {
	st := state(r)
	loc := st.Locale
	switch q := r.URL.Query().Get("lang"); {
	case i18n.Supported(q):
		loc = q
	case i18n.Supported(r.PostFormValue("locale")):
		loc = r.PostFormValue("locale")
	case customerLocale != "":
		loc = customerLocale
	}
	if loc == "" {
		loc = i18n.English
	}
	if loc != st.Locale || st.Printer == nil {
		st.Locale = loc
		st.Printer = i18n.NewPrinter(loc, s.cfg.Location)
	}
	return loc
}

func (s *Server) handlePublicSurvey(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	loc := s.respondentLocale(r, "")
	ctx := s.respondentCtx(r)
	form, err := s.cfg.Surveys.PublicForm(ctx, slug, loc)
	s.showForm(w, r, "/s/"+url.PathEscape(slug), form, err, "")
}

func (s *Server) handleLinkSurvey(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	ctx := s.respondentCtx(r)
	loc := s.respondentLocale(r, s.cfg.Surveys.LinkLocale(ctx, token))
	form, err := s.cfg.Surveys.TokenForm(ctx, token, loc)
	s.showForm(w, r, "/r/"+url.PathEscape(token), form, err, readCookie(r, linkKeyCookie))
}

// showForm renders the first page of a form for a GET: nothing is written.
func (s *Server) showForm(w http.ResponseWriter, r *http.Request, action string, form *feedback.Form, err error, key string) {
	if err != nil {
		s.surveyMessage(w, r, err)
		return
	}
	if len(form.Pages) == 0 {
		s.surveyMessage(w, r, &kizuna.Error{Code: kizuna.ENOTFOUND, Message: "this survey has no questions"})
		return
	}
	if key == "" {
		key = feedback.NewClientKey()
	}
	first := 0
	for i, p := range form.Pages {
		if !p.Conditional {
			first = i
			break
		}
	}
	page := form.Pages[first]
	page.Questions = visibleQuestions(page.Questions, nil)
	s.renderForm(w, r, http.StatusOK, surveyView{State: "form", Form: form, Page: page, PageNo: first + 1, PageCount: len(form.Pages),
		Action: action, ClientKey: key})
}

// visibleQuestions keeps the questions shown given vis (nil: the
// unconditional ones, before anything is answered).
func visibleQuestions(qs []feedback.FormQuestion, vis map[string]bool) []feedback.FormQuestion {
	out := make([]feedback.FormQuestion, 0, len(qs))
	for _, q := range qs {
		if vis == nil && !q.Conditional || vis != nil && vis[q.Key] {
			out = append(out, q)
		}
	}
	return out
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, status int, v surveyView) {
	ctx := s.respondentCtx(r)
	if v.State == "form" {
		seal, err := s.cfg.Surveys.SealOpened(ctx, v.ClientKey)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if v.Opened == "" {
			v.Opened = seal
		}
	}
	v.Honeypot = honeypotField
	v.LangPath = r.URL.Path
	title := "respond.title"
	w.Header().Set("X-Robots-Tag", "noindex")
	s.render(w, r, status, "public_survey", s.newPage(w, r, title, "", v))
}

// surveyMessage shows why the form cannot be answered (or the thanks).
func (s *Server) surveyMessage(w http.ResponseWriter, r *http.Request, err error) {
	err = s.classify(r, err)
	code := kizuna.ErrorCode(err)
	key := "respond.msg." + code
	msg := kizuna.ErrorMessage(err)
	switch {
	case strings.Contains(msg, "already been used") || strings.Contains(msg, "already been completed"):
		key = "respond.msg.used"
	case strings.Contains(msg, "expired"):
		key = "respond.msg.expired"
	case strings.Contains(msg, "closed"):
		key = "respond.msg.closed"
	case strings.Contains(msg, "invitation only"):
		key = "respond.msg.invitation_only"
	}
	if code == kizuna.EINTERNAL {
		msg = ""
	}
	setRetryAfter(w, err)
	s.renderForm(w, r, statusOf(code), surveyView{State: "message", MessageKey: key, MessageDetail: msg})
}

func (s *Server) handlePublicSurveySubmit(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	loc := s.respondentLocale(r, "")
	form, err := s.cfg.Surveys.PublicForm(s.respondentCtx(r), slug, loc)
	s.submitPage(w, r, "/s/"+url.PathEscape(slug), form, err, feedback.StartInput{Slug: slug, Locale: loc})
}

func (s *Server) handleLinkSurveySubmit(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	ctx := s.respondentCtx(r)
	loc := s.respondentLocale(r, s.cfg.Surveys.LinkLocale(ctx, token))
	form, err := s.cfg.Surveys.TokenForm(ctx, token, loc)
	if err == nil {
		// Keep the key on this device so that reopening the link resumes.
		http.SetCookie(w, &http.Cookie{Name: linkKeyCookie, Value: r.PostFormValue("client_key"), Path: "/r/" + token,
			HttpOnly: true, Secure: isSecure(r), SameSite: http.SameSiteLaxMode, MaxAge: 30 * 24 * 3600})
	}
	s.submitPage(w, r, "/r/"+url.PathEscape(token), form, err, feedback.StartInput{Token: token, Locale: loc})
}

// submitPage saves the posted page (starting the response on its first
// save), then shows the next page or completes.
func (s *Server) submitPage(w http.ResponseWriter, r *http.Request, action string, form *feedback.Form, err error, start feedback.StartInput) {
	if err != nil {
		s.surveyMessage(w, r, err)
		return
	}
	ctx := s.respondentCtx(r)
	key := r.PostFormValue("client_key")
	seal := r.PostFormValue("opened")
	pageKey := r.PostFormValue("page")
	pi := formPageIndex(form, pageKey)
	if pi < 0 {
		s.surveyMessage(w, r, kizuna.FieldError("page", "the survey has no page %q", pageKey))
		return
	}
	answers := answersFromForm(form.Pages[pi], r.PostForm)
	view := surveyView{State: "form", Form: form, PageNo: pi + 1, PageCount: len(form.Pages), Action: action, ClientKey: key, Opened: seal}
	retry := func(err error) {
		// Show the same page again with what was wrong.
		view.Page = form.Pages[pi]
		if p, perr := s.cfg.Surveys.Progress(ctx, form.SurveyID, key, start.Locale); perr == nil {
			view.Page.Questions = visibleQuestions(view.Page.Questions, p.Visible)
		} else {
			view.Page.Questions = visibleQuestions(view.Page.Questions, nil)
		}
		view.ErrorKey, view.ErrorText = "respond.error.answers", kizuna.ErrorMessage(err)
		s.renderForm(w, r, statusOf(kizuna.ErrorCode(err)), view)
	}
	res, err := s.cfg.Surveys.SavePage(ctx, feedback.SaveInput{SurveyID: form.SurveyID, ClientKey: key, Page: pageKey, Answers: answers})
	if kizuna.ErrorCode(err) == kizuna.ENOTFOUND && kizuna.ErrorField(err) == "client_key" {
		start.ClientKey, start.IP = key, s.clientIP(r)
		start.OpenedAt = s.cfg.Surveys.OpenedAt(ctx, key, seal)
		if _, err = s.cfg.Surveys.StartResponse(ctx, start); err == nil {
			res, err = s.cfg.Surveys.SavePage(ctx, feedback.SaveInput{SurveyID: form.SurveyID, ClientKey: key, Page: pageKey, Answers: answers})
		}
	}
	switch {
	case kizuna.ErrorCode(err) == kizuna.EINVALID && kizuna.ErrorField(err) != "client_key":
		retry(err)
		return
	case err != nil:
		s.surveyMessage(w, r, err)
		return
	}
	if res.NextPage == "" {
		_, err := s.cfg.Surveys.Complete(ctx, feedback.CompleteInput{SurveyID: form.SurveyID, ClientKey: key,
			Honeypot: r.PostFormValue(honeypotField)})
		if f := kizuna.ErrorField(err); kizuna.ErrorCode(err) == kizuna.EINVALID && strings.HasPrefix(f, "answers.") {
			// A required question left open, maybe on an earlier page.
			if i := pageOfQuestion(form, strings.TrimPrefix(f, "answers.")); i >= 0 {
				pi, pageKey = i, form.Pages[i].Key
				view.PageNo = i + 1
			}
			retry(err)
			return
		}
		if err != nil {
			s.surveyMessage(w, r, err)
			return
		}
		s.renderForm(w, r, http.StatusOK, surveyView{State: "done", Form: form, MessageKey: "respond.thanks"})
		return
	}
	p, err := s.cfg.Surveys.Progress(ctx, form.SurveyID, key, start.Locale)
	if err != nil {
		s.surveyMessage(w, r, err)
		return
	}
	ni := formPageIndex(form, res.NextPage)
	if ni < 0 {
		s.surveyMessage(w, r, kizuna.Errorf(kizuna.EINTERNAL, "next page %q is not in the form", res.NextPage))
		return
	}
	view.Page = form.Pages[ni]
	view.Page.Questions = visibleQuestions(view.Page.Questions, p.Visible)
	view.PageNo = ni + 1
	s.renderForm(w, r, http.StatusOK, view)
}

func formPageIndex(f *feedback.Form, key string) int {
	for i, p := range f.Pages {
		if p.Key == key {
			return i
		}
	}
	return -1
}

func pageOfQuestion(f *feedback.Form, q string) int {
	for i, p := range f.Pages {
		for _, fq := range p.Questions {
			if fq.Key == q {
				return i
			}
		}
	}
	return -1
}

// answersFromForm reads one page's answers from form values: q.<key> for
// scores, single choices and text, repeated for multiple choices, and
// q.<key>.<attribute>.exp / .got for expectation vs. perception. Empty
// fields are unanswered; values the service rejects come back as EINVALID.
func answersFromForm(p feedback.FormPage, v url.Values) []feedback.Answer {
	var out []feedback.Answer
	num := func(s string) *float64 {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil
		}
		return &f
	}
	for _, q := range p.Questions {
		name := "q." + q.Key
		switch q.Type {
		case feedback.QNPS, feedback.QCSAT, feedback.QCES, feedback.QRating:
			if s := v.Get(name); s != "" {
				out = append(out, feedback.Answer{Question: q.Key, Num: num(s)})
			}
		case feedback.QExpectation:
			for _, a := range q.Attributes {
				e, g := v.Get(name+"."+a.Key+".exp"), v.Get(name+"."+a.Key+".got")
				if e == "" && g == "" {
					continue
				}
				out = append(out, feedback.Answer{Question: q.Key, Attribute: a.Key, Num: num(e), Num2: num(g)})
			}
		case feedback.QSingle:
			if s := v.Get(name); s != "" {
				out = append(out, feedback.Answer{Question: q.Key, Text: s})
			}
		case feedback.QMulti:
			if vals := v[name]; len(vals) > 0 {
				b, _ := json.Marshal(vals)
				out = append(out, feedback.Answer{Question: q.Key, Text: string(b)})
			}
		default:
			if s := strings.TrimSpace(v.Get(name)); s != "" {
				out = append(out, feedback.Answer{Question: q.Key, Text: s})
			}
		}
	}
	return out
}
