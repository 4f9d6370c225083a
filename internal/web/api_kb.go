package web

import (
	"net/http"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/kb"
)

func (s *Server) apiKBArticles(w http.ResponseWriter, r *http.Request) {
	arts, err := s.cfg.KB.Articles(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	if arts == nil {
		arts = []kb.Article{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"items": arts})
}

func (s *Server) apiKBArticle(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	a, err := s.cfg.KB.Article(r.Context(), id)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, a)
}

func (s *Server) apiKBCreate(w http.ResponseWriter, r *http.Request) {
	var in kb.NewArticle
	if err := decodeJSON(r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	a, err := s.cfg.KB.CreateArticle(r.Context(), in)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, a)
}

func (s *Server) apiKBSaveDraft(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var d kb.Draft
	if err := decodeJSON(r, &d); err != nil {
		s.apiError(w, r, err)
		return
	}
	v, err := s.cfg.KB.SaveDraft(r.Context(), id, r.PathValue("locale"), d)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiKBPublish(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	v, err := s.cfg.KB.Publish(r.Context(), id, r.PathValue("locale"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiKBCategories(w http.ResponseWriter, r *http.Request) {
	cats, err := s.cfg.KB.Categories(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	if cats == nil {
		cats = []kb.Category{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"items": cats})
}

func (s *Server) apiKBCategoryCreate(w http.ResponseWriter, r *http.Request) {
	var in kb.NewCategory
	if err := decodeJSON(r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	c, err := s.cfg.KB.CreateCategory(r.Context(), in)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, c)
}

// apiKBDeflection reports deflection over ?from=&to= (RFC 3339; default
// the last 30 days).
func (s *Server) apiKBDeflection(w http.ResponseWriter, r *http.Request) {
	to, from := s.cfg.Now(), time.Time{}
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.apiError(w, r, kizuna.FieldError(p.name, "%s must be an RFC 3339 time", p.name))
				return
			}
			*p.dst = t
		}
	}
	if from.IsZero() {
		from = to.Add(-30 * 24 * time.Hour)
	}
	d, err := s.cfg.KB.Deflection(r.Context(), from, to)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, d)
}
