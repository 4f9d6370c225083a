package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/kb"
)

type kbListView struct {
	Articles   []kb.Article
	Categories map[int64]kb.Category
	Locales    []string
	Deflection *kb.Deflection
	// Rate is the deflection rate and its interval in whole percent, nil
	// without sessions shown suggestions.
	Rate *struct{ Value, Low, High string }
}

// handleKBList lists every article with where each locale stands, and the
// last 30 days' deflection.
func (s *Server) handleKBList(w http.ResponseWriter, r *http.Request) {
	arts, err := s.cfg.KB.Articles(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	cats, err := s.cfg.KB.Categories(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	now := s.cfg.Now()
	defl, err := s.cfg.KB.Deflection(r.Context(), now.Add(-30*24*time.Hour), now)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := kbListView{Articles: arts, Categories: map[int64]kb.Category{}, Locales: kb.Locales, Deflection: defl}
	for _, c := range cats {
		v.Categories[c.ID] = c
	}
	if val, ok := defl.Rate.Value.Get(); ok {
		pct := func(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) }
		v.Rate = &struct{ Value, Low, High string }{pct(val), pct(defl.Rate.Low.Or(0)), pct(defl.Rate.High.Or(0))}
	}
	s.render(w, r, http.StatusOK, "kb_list", s.newPage(w, r, "kb.title", "kb", v))
}

type kbShowView struct {
	Article *kb.ArticleDetail
	Locales []string
}

func (s *Server) handleKBShow(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	a, err := s.cfg.KB.Article(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "kb_show", s.newPage(w, r, "kb.title", "kb", kbShowView{Article: a, Locales: kb.Locales}))
}

// kbEditView is the editor: a new article (ID 0) or a locale's draft.
type kbEditView struct {
	ID         int64
	Slug       string
	Locale     string
	Title      string
	Body       string
	CategoryID int64
	Categories []kb.Category
	Locales    []string
	Live       *kb.Version
	ErrorKey   string
	ErrorMsg   string
	Field      string
}

func (s *Server) showKBEditor(w http.ResponseWriter, r *http.Request, v *kbEditView, formErr error) {
	cats, err := s.cfg.KB.Categories(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Categories, v.Locales = cats, kb.Locales
	if formErr != nil {
		s.renderWithError(w, r, "kb_edit", "kb.edit.title", "kb", v, formErr, func(key, msg string) {
			v.ErrorKey, v.ErrorMsg, v.Field = key, msg, kizuna.ErrorField(formErr)
		})
		return
	}
	s.render(w, r, http.StatusOK, "kb_edit", s.newPage(w, r, "kb.edit.title", "kb", v))
}

func (s *Server) handleKBNew(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.KB.CanWrite(r.Context()); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.showKBEditor(w, r, &kbEditView{Locale: helpLocale(r)}, nil)
}

func (s *Server) handleKBCreate(w http.ResponseWriter, r *http.Request) {
	cat, _ := strconv.ParseInt(r.PostFormValue("category_id"), 10, 64)
	in := kb.NewArticle{
		Slug: strings.TrimSpace(r.PostFormValue("slug")), CategoryID: cat, Locale: r.PostFormValue("locale"),
		Title: r.PostFormValue("title"), Body: r.PostFormValue("body"),
	}
	a, err := s.cfg.KB.CreateArticle(r.Context(), in)
	if err != nil {
		s.showKBEditor(w, r, &kbEditView{Slug: in.Slug, Locale: in.Locale, Title: in.Title, Body: in.Body, CategoryID: cat}, err)
		return
	}
	http.Redirect(w, r, "/kb/"+strconv.FormatInt(a.ID, 10)+"?done=saved", http.StatusSeeOther)
}

func (s *Server) handleKBEdit(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.KB.CanWrite(r.Context()); err != nil {
		s.pageError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	a, err := s.cfg.KB.Article(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	locale := r.PathValue("locale")
	st := a.State(locale)
	v := &kbEditView{ID: a.ID, Slug: a.Slug, Locale: locale, CategoryID: a.CategoryID, Live: st.Live}
	switch {
	case st.Draft != nil:
		v.Title, v.Body = st.Draft.Title, st.Draft.Body
	case st.Live != nil: // a new draft starts from the live text
		v.Title, v.Body = st.Live.Title, st.Live.Body
	}
	s.showKBEditor(w, r, v, nil)
}

func (s *Server) handleKBSaveDraft(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	locale := r.PathValue("locale")
	d := kb.Draft{Title: r.PostFormValue("title"), Body: r.PostFormValue("body")}
	if _, err := s.cfg.KB.SaveDraft(r.Context(), id, locale, d); err != nil {
		s.showKBEditor(w, r, &kbEditView{ID: id, Slug: r.PostFormValue("slug"), Locale: locale, Title: d.Title, Body: d.Body}, err)
		return
	}
	http.Redirect(w, r, "/kb/"+strconv.FormatInt(id, 10)+"?done=saved", http.StatusSeeOther)
}

func (s *Server) handleKBPublish(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		_, err = s.cfg.KB.Publish(r.Context(), id, r.PathValue("locale"))
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/kb/"+strconv.FormatInt(id, 10)+"?done=published", http.StatusSeeOther)
}
