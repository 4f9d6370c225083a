package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

// Body limits: forms are small; API bodies hold at most a customer patch
// or a user.
const (
	maxFormBody = 64 << 10
	maxAPIBody  = 1 << 20
)

// Cookie names. Over HTTPS the session cookie takes the __Host- prefix,
// which browsers only accept with Secure, Path=/ and no Domain: no sibling
// subdomain can set or shadow it.
const (
	sessionCookie = "kizuna_session"
	csrfCookie    = "kizuna_csrf" // anonymous forms (login, language): double-submit token
	localeCookie  = "kizuna_lang"
	csrfField     = "csrf_token"
	csrfHeader    = "X-CSRF-Token"
)

// reqState is what the middleware learned about a request.
type reqState struct {
	Session   *auth.Session
	Token     string // session cookie value, for logout
	Principal *auth.Principal
	AnonCSRF  string // the anonymous double-submit token, if any
	Locale    string
	Printer   *i18n.Printer
}

type stateKey struct{}

func state(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

func isSecure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func cookieName(r *http.Request, base string) string {
	if isSecure(r) {
		return "__Host-" + base
	}
	return base
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, base, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name:     cookieName(r, base),
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   isSecure(r),
		SameSite: http.SameSiteLaxMode,
	}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
	case maxAge > 0:
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

func readCookie(r *http.Request, base string) string {
	c, err := r.Cookie(cookieName(r, base))
	if err != nil {
		return ""
	}
	return c.Value
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientIP is the caller's address for throttling and the audit log.
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			return strings.TrimSpace(strings.Split(xff, ",")[0])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusWriter records the status for metrics and logs.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times requests under the route's pattern (never
// the raw path, which would explode the label set).
func (s *Server) instrument(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		took := time.Since(start)
		s.requests.WithLabelValues(pattern, r.Method, strconv.Itoa(sw.status)).Inc()
		s.latency.WithLabelValues(pattern, r.Method).Observe(took.Seconds())
		// The access log is debug-level: metrics carry the volume, and a
		// busy ingestion endpoint would drown everything else.
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("method", r.Method), slog.String("route", pattern),
				slog.String("path", r.URL.Path), slog.Int("status", sw.status), slog.Duration("took", took), slog.String("ip", s.clientIP(r)))
		}
	})
}

// wrap builds a route's middleware chain: metrics, body limit,
// authentication, locale, CSRF.
func (s *Server) wrap(rt route) http.Handler {
	h := http.Handler(rt.Handler)
	if rt.Access == writeKey {
		return s.instrument(rt.Pattern, h)
	}
	unsafe := rt.Method != http.MethodGet && rt.Method != http.MethodHead
	if rt.Access == customerPortal {
		h = s.authenticatePortal(rt, unsafe, h)
	} else {
		h = s.authenticate(rt, unsafe, h)
	}
	limit := int64(maxFormBody)
	if rt.Access == api {
		limit = maxAPIBody
	}
	if unsafe && uploadRoutes[rt.Pattern] {
		limit = maxUploadBody
	}
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		inner.ServeHTTP(w, r)
	})
	return s.instrument(rt.Pattern, h)
}

var errCSRF = &kizuna.Error{Code: kizuna.EFORBIDDEN, Message: "missing or invalid CSRF token; reload the page and try again"}

func (s *Server) authenticate(rt route, unsafe bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{}
		ctx := context.WithValue(r.Context(), stateKey{}, st)
		r = r.WithContext(ctx)

		if rt.Access == api {
			if bearer, ok := bearerToken(r); ok {
				p, err := s.cfg.Accounts.AuthenticateAPIKey(ctx, bearer)
				if err != nil {
					s.apiError(w, r, err)
					return
				}
				p.IP = s.clientIP(r)
				st.Principal = &p
				next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(ctx, p)))
				return
			}
		}

		if tok := readCookie(r, sessionCookie); tok != "" {
			sess, _, p, err := s.cfg.Accounts.LookupSession(ctx, tok)
			switch {
			case err == nil:
				p.IP = s.clientIP(r)
				st.Session, st.Token, st.Principal = sess, tok, &p
				ctx = auth.WithPrincipal(ctx, p)
				r = r.WithContext(ctx)
			case kizuna.ErrorCode(err) == kizuna.EUNAUTHORIZED:
				// Expired or killed: forget the cookie.
				s.setCookie(w, r, sessionCookie, "", -1)
			default:
				s.fail(rt, w, r, err)
				return
			}
		}
		if rt.Access != api {
			st.AnonCSRF = readCookie(r, csrfCookie)
			s.setLocale(st, r)
		}

		if st.Principal == nil && rt.Access != public && rt.Access != respondent {
			if rt.Access == api {
				s.apiError(w, r, &kizuna.Error{Code: kizuna.EUNAUTHORIZED, Message: "sign in or send an API key (Authorization: Bearer <key>)"})
				return
			}
			s.redirectToLogin(w, r)
			return
		}

		if unsafe && rt.Access != api {
			// Read the form now, so that an over-long body is reported as
			// such rather than as a missing CSRF token.
			if err := readForm(r); err != nil {
				var mbe *http.MaxBytesError
				if !errors.As(err, &mbe) {
					err = &kizuna.Error{Code: kizuna.EINVALID, Message: "malformed form body", Err: err}
				}
				s.fail(rt, w, r, err)
				return
			}
		}
		if rt.Access == respondent {
			next.ServeHTTP(w, r)
			return
		}
		if unsafe && !sameOrigin(r) {
			s.fail(rt, w, r, &kizuna.Error{Code: kizuna.EFORBIDDEN, Message: "cross-origin request refused"})
			return
		}
		if unsafe && !s.validCSRF(rt, r, st) {
			s.fail(rt, w, r, errCSRF)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin rejects a state-changing browser request whose Origin (or,
// without one, Referer) names another site: defence in depth beside the
// CSRF token and SameSite cookies. Requests without either header (API
// clients, curl) pass; they carry no ambient browser credentials or are
// checked by the token.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return r.Header.Get("Origin") != "null"
	}
	u, err := url.Parse(src)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// validCSRF checks the token of a state-changing request made with a
// cookie: the hidden form field (HTML) or the X-CSRF-Token header (JSON
// API with a session). API-key calls never reach here.
func (s *Server) validCSRF(rt route, r *http.Request, st *reqState) bool {
	var got string
	if rt.Access == api {
		got = r.Header.Get(csrfHeader)
	} else {
		got = r.PostFormValue(csrfField)
	}
	if st.Session != nil && auth.ValidCSRF(st.Session, got) {
		return true
	}
	// Public forms (sign-in, language) may have been rendered before the
	// session existed, in another tab: their double-submit token counts.
	return rt.Access == public && st.AnonCSRF != "" && got != "" &&
		subtle.ConstantTimeCompare([]byte(got), []byte(st.AnonCSRF)) == 1
}

// csrfToken is what forms on this page carry. Anonymous visitors get a
// double-submit cookie so the login form cannot be posted cross-site.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	st := state(r)
	if st.Session != nil {
		return st.Session.CSRFToken
	}
	if st.AnonCSRF == "" {
		st.AnonCSRF = randomToken()
		s.setCookie(w, r, csrfCookie, st.AnonCSRF, 0)
	}
	return st.AnonCSRF
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// setLocale picks the language: the switch's cookie, the user's setting,
// then Accept-Language.
func (s *Server) setLocale(st *reqState, r *http.Request) {
	choice := readCookie(r, localeCookie)
	if !i18n.Supported(choice) && st.Principal != nil {
		choice = st.Principal.Locale
	}
	st.Locale = i18n.Negotiate(choice, r.Header.Get("Accept-Language"))
	st.Printer = i18n.NewPrinter(st.Locale, s.cfg.Location)
}

func (s *Server) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext accepts only local paths as a post-login destination, so the
// login page is no open redirect.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// fail reports err in the route's format.
func (s *Server) fail(rt route, w http.ResponseWriter, r *http.Request, err error) {
	if rt.Access == api {
		s.apiError(w, r, err)
		return
	}
	s.pageError(w, r, err)
}

// statusOf maps an error code to its HTTP status.
func statusOf(code string) int { return kizuna.HTTPStatus(code) }

// classify turns transport errors (an over-long body) into kizuna errors
// and logs internal ones once, with the request they broke.
func (s *Server) classify(r *http.Request, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &kizuna.Error{Code: kizuna.ETOOLARGE, Message: "request body larger than " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}
	}
	if kizuna.ErrorCode(err) == kizuna.EINTERNAL {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return err
}

func contextWithState(r *http.Request, st *reqState) context.Context {
	return context.WithValue(r.Context(), stateKey{}, st)
}
