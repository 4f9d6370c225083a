package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// parseTemplates parses every page once at start-up, each with the shared
// layout (miniflux style); a template error is a bug and panics in tests.
func parseTemplates(funcs template.FuncMap) map[string]*template.Template {
	pages := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return pages
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": s.assetURL,
		"join":  strings.Join,
		// query returns the current query with key set to value (paging,
		// sorting links keep the other filters).
		"query": func(q url.Values, kv ...string) string {
			out := url.Values{}
			for k, v := range q {
				out[k] = v
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "" {
					out.Del(kv[i])
				} else {
					out.Set(kv[i], kv[i+1])
				}
			}
			if len(out) == 0 {
				return "?"
			}
			return "?" + out.Encode()
		},
		// json shows structured detail (audit entries) as compact JSON.
		"json": func(v any) string {
			if v == nil {
				return ""
			}
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Sprint(v)
			}
			return string(b)
		},
	}
}

// pageData is what every page template receives.
type pageData struct {
	P         *i18n.Printer
	Title     string // catalog key
	Nav       string // which nav item is current
	CSRF      string
	Principal *auth.Principal
	Path      string // this page's URL, for the language switch to return to
	Flash     string // catalog key of a one-line confirmation
	Data      any
}

// Can tells templates whether to offer an action; the service still
// decides when it is taken.
func (d pageData) Can(perm string) bool {
	return d.Principal != nil && d.Principal.Can(auth.Permission(perm))
}

// Locales lists the language switch's choices.
func (d pageData) Locales() []string { return i18n.Locales }

func (s *Server) newPage(w http.ResponseWriter, r *http.Request, title, nav string, data any) pageData {
	st := state(r)
	if st.Printer == nil {
		s.setLocale(st, r)
	}
	return pageData{
		P: st.Printer, Title: title, Nav: nav, CSRF: s.csrfToken(w, r), Principal: st.Principal,
		Path: r.URL.RequestURI(), Flash: flashKey(r.URL.Query().Get("done")), Data: data,
	}
}

// flashKey maps the ?done= marker a redirect leaves to its message.
func flashKey(done string) string {
	switch done {
	case "saved", "merged", "unmerged", "user_created", "role_changed", "user_disabled", "user_enabled", "key_revoked":
		return "flash." + done
	case "published":
		return "kb.flash.published"
	}
	return ""
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	var buf bytes.Buffer
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("unknown template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("rendering page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorView is the error page's content.
type errorView struct {
	Status  int
	Key     string // catalog key of the headline
	Message string // the service's own message (English), if any
	Field   string
}

// pageError renders err as an HTML page, or sends the visitor to sign in.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	err = s.classify(r, err)
	code := kizuna.ErrorCode(err)
	if code == kizuna.EUNAUTHORIZED && state(r).Principal == nil {
		s.redirectToLogin(w, r)
		return
	}
	v := errorView{Status: statusOf(code), Key: "error." + code, Field: kizuna.ErrorField(err)}
	if code != kizuna.EINTERNAL {
		v.Message = kizuna.ErrorMessage(err)
	}
	s.render(w, r, v.Status, "error", s.newPage(w, r, "error.title", "", v))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowedMethods(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		err := &kizuna.Error{Code: "method_not_allowed", Message: r.Method + " is not allowed here; use " + strings.Join(allow, " or ")}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.writeJSON(w, http.StatusMethodNotAllowed, apiErrorBody{Error: apiErrorDetail{Code: err.Code, Message: err.Message}})
			return
		}
		http.Error(w, err.Message, http.StatusMethodNotAllowed)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		s.apiError(w, r, &kizuna.Error{Code: kizuna.ENOTFOUND, Message: "no such API route: " + r.Method + " " + r.URL.Path})
		return
	}
	st := &reqState{}
	r = r.WithContext(contextWithState(r, st))
	s.setLocale(st, r)
	s.pageError(w, r, &kizuna.Error{Code: kizuna.ENOTFOUND, Message: "no such page"})
}

// allowedMethods lists the methods routes.go serves at r's path, for a
// 405 with an Allow header instead of a misleading 404.
func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	seen := map[string]bool{}
	for _, rt := range s.routes {
		if rt.Method == "" || seen[rt.Method] || rt.Method == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = rt.Method
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			seen[rt.Method] = true
			allow = append(allow, rt.Method)
		}
	}
	sort.Strings(allow)
	return allow
}

// renderWithError shows a form page again with the error beside the form
// (status from the error code), keeping what the user typed. Errors that
// are not about the input get the error page.
func (s *Server) renderWithError(w http.ResponseWriter, r *http.Request, tmpl, title, nav string, view any, err error, set func(key, msg string)) {
	err = s.classify(r, err)
	code := kizuna.ErrorCode(err)
	switch code {
	case kizuna.EINVALID, kizuna.ECONFLICT, kizuna.ETOOLARGE, kizuna.ENOTFOUND:
	default:
		s.pageError(w, r, err)
		return
	}
	msg := kizuna.ErrorMessage(err)
	set("error."+code, msg)
	s.render(w, r, statusOf(code), tmpl, s.newPage(w, r, title, nav, view))
}
