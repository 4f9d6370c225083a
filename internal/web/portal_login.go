package web

import (
	"net/http"

	"github.com/kizuna-oss/kizuna"
)

// portalLoginView is the portal's sign-in page (email form) and its
// outcomes: Sent after a request (the same whether or not the address is
// known), ErrorKey/Message when something went wrong.
type portalLoginView struct {
	Email    string
	Sent     bool
	ErrorKey string
	Message  string
	Token    string // the confirm page's link token
}

func (s *Server) handlePortalLogin(w http.ResponseWriter, r *http.Request) {
	v := portalLoginView{}
	if r.URL.Query().Get("done") == "signed_out" {
		v.Message = "portal.signed_out"
	}
	s.render(w, r, http.StatusOK, "portal_login", s.newPage(w, r, "portal.login.title", "portal", v))
}

// handlePortalLoginSubmit mails a sign-in link if the address is a
// customer's, and answers the same either way.
func (s *Server) handlePortalLoginSubmit(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	err := s.cfg.Portal.RequestLink(r.Context(), email, s.clientIP(r), state(r).Locale)
	v := portalLoginView{Email: email}
	status := http.StatusOK
	switch kizuna.ErrorCode(err) {
	case "":
		v.Sent = true
	case kizuna.EINVALID:
		v.ErrorKey, status = "portal.login.bad_email", http.StatusBadRequest
	case kizuna.ETOOMANY:
		v.ErrorKey, status = "portal.too_many", http.StatusTooManyRequests
	default:
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, status, "portal_login", s.newPage(w, r, "portal.login.title", "portal", v))
}

// handlePortalConfirm shows the sign-in button for a link; it uses
// nothing, so a mail scanner fetching the link does not spend it.
func (s *Server) handlePortalConfirm(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if err := s.cfg.Portal.CheckLink(r.Context(), token); err != nil {
		s.badLink(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "portal_confirm", s.newPage(w, r, "portal.login.title", "portal", portalLoginView{Token: token}))
}

func (s *Server) badLink(w http.ResponseWriter, r *http.Request, err error) {
	if kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusGone, "portal_login", s.newPage(w, r, "portal.login.title", "portal",
		portalLoginView{ErrorKey: "portal.login.bad_link"}))
}

// handlePortalRedeem uses the link once and starts a new portal session
// (any earlier one in this browser ends: a fresh id at every sign-in).
func (s *Server) handlePortalRedeem(w http.ResponseWriter, r *http.Request) {
	tok, sess, err := s.cfg.Portal.Redeem(r.Context(), r.PathValue("token"), s.clientIP(r), r.UserAgent())
	if err != nil {
		s.badLink(w, r, err)
		return
	}
	if old := readCookie(r, portalCookie); old != "" {
		if err := s.cfg.Portal.Logout(r.Context(), old); err != nil {
			s.log.Warn("portal: ending the previous session", "err", err)
		}
	}
	s.setPortalCookie(w, r, tok, sess)
	http.Redirect(w, r, "/portal", http.StatusSeeOther)
}

func (s *Server) handlePortalLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Portal.Logout(r.Context(), portalOf(r).Token); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.setCookie(w, r, portalCookie, "", -1)
	http.Redirect(w, r, "/portal/login?done=signed_out", http.StatusSeeOther)
}
