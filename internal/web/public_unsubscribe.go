package web

import (
	"net/http"
	"net/url"

	"github.com/kizuna-oss/kizuna"
)

// /u/{token} is the unsubscribe link of a survey invitation. The GET only
// asks for confirmation (a mail scanner following the link unsubscribes
// nobody); the POST unsubscribes, whether it comes from the confirmation
// button or from a mail client's one-click List-Unsubscribe-Post (RFC
// 8058), which carries no cookie: the token is the credential.

type unsubscribeView struct {
	Action string
	Done   bool
}

func (s *Server) handleUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	ctx := s.respondentCtx(r)
	s.respondentLocale(r, s.cfg.Surveys.LinkLocale(ctx, token))
	s.renderUnsubscribe(w, r, http.StatusOK, unsubscribeView{Action: "/u/" + url.PathEscape(token)})
}

func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	ctx := s.respondentCtx(r)
	s.respondentLocale(r, s.cfg.Surveys.LinkLocale(ctx, token))
	if err := s.cfg.Surveys.Unsubscribe(ctx, token); err != nil {
		if kizuna.ErrorCode(err) == kizuna.ENOTFOUND {
			s.renderForm(w, r, http.StatusNotFound, surveyView{State: "message", MessageKey: "respond.msg.bad_unsubscribe"})
			return
		}
		s.pageError(w, r, err)
		return
	}
	s.renderUnsubscribe(w, r, http.StatusOK, unsubscribeView{Done: true})
}

func (s *Server) renderUnsubscribe(w http.ResponseWriter, r *http.Request, status int, v unsubscribeView) {
	w.Header().Set("X-Robots-Tag", "noindex")
	s.render(w, r, status, "public_unsubscribe", s.newPage(w, r, "respond.unsubscribe.title", "", v))
}
