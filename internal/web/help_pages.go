package web

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/kb"
)

// helpSessionCookie keys a help-center visit for the deflection report:
// a random value with no link to an account; the knowledge base stores
// only its hash. The contact form (support) reads it with helpSession so
// that its "suggested" and "submitted" events join the same visit.
const helpSessionCookie = "kizuna_help"

// helpSession returns the visitor's help-center session id, starting one
// (a session cookie, gone when the browser closes) if needed.
func (s *Server) helpSession(w http.ResponseWriter, r *http.Request) string {
	if v := readCookie(r, helpSessionCookie); len(v) >= 16 && len(v) <= 64 {
		return v
	}
	v := randomToken()
	s.setCookie(w, r, helpSessionCookie, v, 0)
	return v
}

// record stores a help-center event; a failure is logged, never shown: the
// visitor came for an answer, not for our statistics.
func (s *Server) record(w http.ResponseWriter, r *http.Request, e kb.Event) {
	e.Session = s.helpSession(w, r)
	if err := s.cfg.KB.Record(r.Context(), e); err != nil {
		s.log.Warn("recording help-center event", "kind", e.Kind, "err", err)
	}
}

// helpLocale is the page's language, which is also the articles' locale.
func helpLocale(r *http.Request) string {
	if state(r).Locale == kb.Japanese {
		return kb.Japanese
	}
	return kb.English
}

type helpCategory struct {
	Name     string
	Articles []kb.Published
}

type helpIndexView struct {
	Query      string
	Categories []helpCategory
}

func (s *Server) handleHelpIndex(w http.ResponseWriter, r *http.Request) {
	locale := helpLocale(r)
	cats, err := s.cfg.KB.Categories(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	arts, err := s.cfg.KB.PublishedArticles(r.Context(), locale)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := helpIndexView{}
	byCat := map[int64][]kb.Published{}
	for _, a := range arts {
		byCat[a.CategoryID] = append(byCat[a.CategoryID], a)
	}
	for _, c := range cats {
		if len(byCat[c.ID]) > 0 {
			v.Categories = append(v.Categories, helpCategory{Name: c.Name(locale), Articles: byCat[c.ID]})
		}
	}
	if len(byCat[0]) > 0 {
		v.Categories = append(v.Categories, helpCategory{Name: state(r).Printer.T("help.other"), Articles: byCat[0]})
	}
	s.helpSession(w, r)
	s.render(w, r, http.StatusOK, "help_index", s.newPage(w, r, "help.title", "help", v))
}

type helpSearchView struct {
	Query string
	Hits  []kb.Hit
}

func (s *Server) handleHelpSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		http.Redirect(w, r, "/help", http.StatusSeeOther)
		return
	}
	locale := helpLocale(r)
	hits, err := s.cfg.KB.Search(r.Context(), q, locale, false, 20)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.record(w, r, kb.Event{Kind: kb.EventSearched, Locale: locale, Query: q})
	s.render(w, r, http.StatusOK, "help_search", s.newPage(w, r, "help.search.title", "help", helpSearchView{Query: q, Hits: hits}))
}

type helpArticleView struct {
	Article *kb.Published
	// HTML is kb.Render's output: goldmark without raw HTML or
	// dangerous URLs, so it is embedded as is.
	HTML template.HTML
	// Other is set when the article is not live in the page's language
	// and is shown in this other one.
	Other string
	Voted string
}

func (s *Server) handleHelpArticle(w http.ResponseWriter, r *http.Request) {
	locale := helpLocale(r)
	slug := r.PathValue("slug")
	v := helpArticleView{Voted: r.URL.Query().Get("voted")}
	a, err := s.cfg.KB.PublishedArticle(r.Context(), slug, locale)
	if live := kb.LiveLocales(err); len(live) > 0 {
		v.Other = live[0]
		a, err = s.cfg.KB.PublishedArticle(r.Context(), slug, live[0])
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Article, v.HTML = a, template.HTML(a.HTML) // #nosec: kb.Render drops raw HTML
	if v.Voted == "" {
		s.record(w, r, kb.Event{Kind: kb.EventViewed, ArticleID: a.ArticleID, Locale: a.Locale})
	}
	p := s.newPage(w, r, "help.title", "help", v)
	s.render(w, r, http.StatusOK, "help_article", p)
}

// handleHelpFeedback records "was this helpful?" and shows the article
// again with thanks.
func (s *Server) handleHelpFeedback(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	kind := kb.EventNotHelpful
	if r.PostFormValue("helpful") == "yes" {
		kind = kb.EventHelpful
	}
	id, locale, err := s.liveArticleID(r, slug)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	e := kb.Event{Session: s.helpSession(w, r), Kind: kind, ArticleID: id, Locale: locale}
	if err := s.cfg.KB.Record(r.Context(), e); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/help/articles/"+slug+"?voted="+string(kind), http.StatusSeeOther)
}

func (s *Server) liveArticleID(r *http.Request, slug string) (int64, string, error) {
	locale := helpLocale(r)
	a, err := s.cfg.KB.PublishedArticle(r.Context(), slug, locale)
	if live := kb.LiveLocales(err); len(live) > 0 {
		a, err = s.cfg.KB.PublishedArticle(r.Context(), slug, live[0])
	}
	if err != nil {
		return 0, "", err
	}
	return a.ArticleID, a.Locale, nil
}

// apiHelpSearch is the help center's search as JSON (public): as-you-type
// with ?prefix=1.
func (s *Server) apiHelpSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	locale, limit, err := helpParams(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	hits, err := s.cfg.KB.Search(r.Context(), q.Get("q"), locale, q.Get("prefix") == "1", limit)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, hitList{Items: nonNil(hits)})
}

// apiHelpSuggest suggests articles for long text (public): the contact
// form before it is submitted, an agent's reply to a ticket.
func (s *Server) apiHelpSuggest(w http.ResponseWriter, r *http.Request) {
	locale, limit, err := helpParams(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	hits, err := s.cfg.KB.Suggest(r.Context(), r.URL.Query().Get("text"), locale, limit)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, hitList{Items: nonNil(hits)})
}

type hitList struct {
	Items []kb.Hit `json:"items"`
}

func nonNil(h []kb.Hit) []kb.Hit {
	if h == nil {
		return []kb.Hit{}
	}
	return h
}

func helpParams(r *http.Request) (string, int, error) {
	q := r.URL.Query()
	locale := q.Get("locale")
	if locale == "" {
		locale = kb.English
	}
	limit := 5
	if q.Get("limit") != "" {
		n, _, err := pageParams(r)
		if err != nil {
			return "", 0, err
		}
		if n > kb.MaxResults {
			return "", 0, kizuna.FieldError("limit", "limit must be at most %d", kb.MaxResults)
		}
		limit = n
	}
	return locale, limit, nil
}
