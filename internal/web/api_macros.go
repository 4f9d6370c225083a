package web

import (
	"net/http"

	"github.com/kizuna-oss/kizuna/internal/support"
)

type macroList struct {
	Items     []support.Macro `json:"items"`
	Variables []string        `json:"variables"`
}

func (s *Server) apiMacroList(w http.ResponseWriter, r *http.Request) {
	ms, err := s.cfg.Support.Macros(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, macroList{Items: ms, Variables: support.MacroVariables})
}

func (s *Server) apiMacroCreate(w http.ResponseWriter, r *http.Request) {
	withBody(s, w, r, http.StatusCreated, func(in support.MacroInput) (any, error) {
		return s.cfg.Support.CreateMacro(r.Context(), in)
	})
}

func (s *Server) apiMacroUpdate(w http.ResponseWriter, r *http.Request) {
	withIDBody(s, w, r, http.StatusOK, func(id int64, in support.MacroInput) (any, error) {
		return s.cfg.Support.UpdateMacro(r.Context(), id, in)
	})
}

func (s *Server) apiMacroDelete(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return nil, s.cfg.Support.DeleteMacro(r.Context(), id) })
}

type renderRequest struct {
	TicketID int64 `json:"ticket_id"`
}

type rendered struct {
	Body string `json:"body"`
}

func (s *Server) apiMacroRender(w http.ResponseWriter, r *http.Request) {
	withIDBody(s, w, r, http.StatusOK, func(id int64, in renderRequest) (any, error) {
		body, err := s.cfg.Support.RenderMacro(r.Context(), id, in.TicketID)
		return rendered{Body: body}, err
	})
}
