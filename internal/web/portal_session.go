package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// portalCookie holds a customer's portal session token. It is a cookie of
// its own (with the __Host- prefix over HTTPS, like the staff one), read
// only by customerPortal routes; staff routes never look at it, and
// customerPortal routes never look at the staff session cookie.
const portalCookie = "kizuna_portal"

// maxUploadBody caps the forms that carry files (the contact form, a
// portal reply, an agent's reply): one file of the desk's largest size
// plus the text, so several files share that size.
const maxUploadBody = support.MaxAttachmentSize + 1<<20

// uploadRoutes are the POST patterns whose bodies may hold files.
var uploadRoutes = map[string]bool{"/contact": true, "/portal/tickets/{id}": true, "/tickets/{id}/reply": true}

// portalState is the signed-in customer of a customerPortal request.
type portalState struct {
	Session *support.PortalSession
	Token   string
}

type portalKey struct{}

func portalOf(r *http.Request) *portalState {
	if ps, ok := r.Context().Value(portalKey{}).(*portalState); ok {
		return ps
	}
	return &portalState{}
}

// authenticatePortal is authenticate for customerPortal routes: the portal
// cookie gives an auth.Customer principal (which holds tickets.own only);
// state-changing requests need the same origin and the portal session's
// CSRF token.
func (s *Server) authenticatePortal(rt route, unsafe bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{}
		ctx := context.WithValue(r.Context(), stateKey{}, st)
		st.AnonCSRF = readCookie(r, csrfCookie)
		r = r.WithContext(ctx)
		s.setLocale(st, r)

		tok := readCookie(r, portalCookie)
		var sess *support.PortalSession
		if tok != "" {
			var err error
			sess, err = s.cfg.Portal.LookupSession(ctx, tok)
			switch {
			case err == nil:
			case kizuna.ErrorCode(err) == kizuna.EUNAUTHORIZED:
				s.setCookie(w, r, portalCookie, "", -1)
			default:
				s.pageError(w, r, err)
				return
			}
		}
		if sess == nil {
			http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
			return
		}
		ctx = auth.Customer(ctx, sess.CustomerID, s.clientIP(r))
		ctx = context.WithValue(ctx, portalKey{}, &portalState{Session: sess, Token: tok})
		r = r.WithContext(ctx)
		if unsafe {
			if err := parseUpload(r); err != nil {
				s.pageError(w, r, err)
				return
			}
			if !sameOrigin(r) {
				s.pageError(w, r, &kizuna.Error{Code: kizuna.EFORBIDDEN, Message: "cross-origin request refused"})
				return
			}
			got := r.PostFormValue(csrfField)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
				s.pageError(w, r, errCSRF)
				return
			}
		}
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
		}
		next.ServeHTTP(w, r)
	})
}

// readForm parses a form body, multipart (a form with files) or not.
// ParseForm alone would leave a multipart body unread and, worse, make
// PostFormValue skip it, so its CSRF field would seem missing.
func readForm(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseMultipartForm(1 << 20)
	}
	return r.ParseForm()
}

// parseUpload reads a form body, multipart or not, so that an over-long
// body is reported as such (413) rather than as a missing CSRF token.
func parseUpload(r *http.Request) error {
	err := readForm(r)
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return &kizuna.Error{Code: kizuna.EINVALID, Message: "malformed form body", Err: err}
}

// setPortalCookie starts the browser side of a portal session: it lasts
// until the session's absolute end.
func (s *Server) setPortalCookie(w http.ResponseWriter, r *http.Request, token string, sess *support.PortalSession) {
	s.setCookie(w, r, portalCookie, token, time.Until(sess.ExpiresAt).Truncate(time.Second))
}
