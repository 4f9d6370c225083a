package web

import (
	"net/http"

	"github.com/kizuna-oss/kizuna/internal/auth"
)

type auditView struct {
	Page   *auth.AuditPage
	Cursor string
}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) {
	cursor := r.URL.Query().Get("cursor")
	page, err := s.cfg.Accounts.ListAudit(r.Context(), auth.AuditFilter{Limit: 50, Cursor: cursor})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "settings_audit", s.newPage(w, r, "settings.audit.title", "settings", auditView{Page: page, Cursor: cursor}))
}
