package web

import (
	"net/http"

	"github.com/kizuna-oss/kizuna/internal/support"
)

type categoryList struct {
	Items []support.Category `json:"items"`
}

func (s *Server) apiTicketCategoryList(w http.ResponseWriter, r *http.Request) {
	cs, err := s.cfg.Support.Categories(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, categoryList{Items: cs})
}

func (s *Server) apiTicketCategoryCreate(w http.ResponseWriter, r *http.Request) {
	withBody(s, w, r, http.StatusCreated, func(in support.CategoryInput) (any, error) {
		return s.cfg.Support.CreateCategory(r.Context(), in)
	})
}

func (s *Server) apiTicketCategoryUpdate(w http.ResponseWriter, r *http.Request) {
	withIDBody(s, w, r, http.StatusOK, func(id int64, in support.CategoryInput) (any, error) {
		return s.cfg.Support.UpdateCategory(r.Context(), id, in)
	})
}

func (s *Server) apiSLAPolicyGet(w http.ResponseWriter, r *http.Request) {
	pc, err := s.cfg.Support.Policy(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, pc)
}

func (s *Server) apiSLAPolicyPut(w http.ResponseWriter, r *http.Request) {
	withBody(s, w, r, http.StatusOK, func(in support.PolicyConfig) (any, error) {
		return s.cfg.Support.SetPolicy(r.Context(), in)
	})
}
