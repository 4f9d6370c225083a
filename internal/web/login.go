package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

type loginView struct {
	Email      string
	Next       string
	ErrorKey   string // catalog key, empty when there is nothing to say
	RetryAfter string // when a throttled login may try again, formatted
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if state(r).Principal != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", s.newPage(w, r, "login.title", "", loginView{Next: next}))
}

func (s *Server) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	view := loginView{Email: email, Next: next}
	if email == "" || password == "" {
		view.ErrorKey = "login.error.missing"
		s.render(w, r, http.StatusBadRequest, "login", s.newPage(w, r, "login.title", "", view))
		return
	}
	// A session from before the login is dropped: the new one gets a new
	// id (no session fixation).
	if old := state(r).Token; old != "" {
		_ = s.cfg.Accounts.Logout(r.Context(), old)
	}
	token, sess, user, err := s.cfg.Accounts.Login(r.Context(), email, password, s.clientIP(r), r.UserAgent())
	if err != nil {
		status := statusOf(kizuna.ErrorCode(err))
		switch kizuna.ErrorCode(err) {
		case kizuna.EUNAUTHORIZED:
			view.ErrorKey = "login.error.invalid"
		case kizuna.ETOOMANY:
			view.ErrorKey = "login.error.throttled"
			if at, ok := auth.RetryAt(err); ok {
				view.RetryAfter = state(r).Printer.DateTime(at)
			}
			setRetryAfter(w, err)
		case kizuna.EINVALID:
			view.ErrorKey = "login.error.missing"
		default:
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, status, "login", s.newPage(w, r, "login.title", "", view))
		return
	}
	maxAge := time.Until(sess.ExpiresAt)
	if maxAge <= 0 {
		maxAge = 0
	}
	s.setCookie(w, r, sessionCookie, token, maxAge)
	if i18n.Supported(user.Locale) && readCookie(r, localeCookie) == "" {
		s.setCookie(w, r, localeCookie, user.Locale, 365*24*time.Hour)
	}
	s.log.Info("login", "user_id", user.ID, "ip", s.clientIP(r))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Accounts.Logout(r.Context(), state(r).Token); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// handleLocaleSwitch stores the language choice in a cookie and, for a
// signed-in user, in their settings, then returns to the page.
func (s *Server) handleLocaleSwitch(w http.ResponseWriter, r *http.Request) {
	loc := r.PostFormValue("locale")
	if !i18n.Supported(loc) {
		s.pageError(w, r, kizuna.FieldError("locale", "unsupported language %q", loc))
		return
	}
	st := state(r)
	if st.Principal != nil && st.Session != nil {
		if err := s.cfg.Accounts.SetLocale(r.Context(), st.Principal.ID, loc); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	s.setCookie(w, r, localeCookie, loc, 365*24*time.Hour)
	http.Redirect(w, r, safeNext(r.PostFormValue("return")), http.StatusSeeOther)
}
