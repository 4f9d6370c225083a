package web

import (
	"net/http"
	"strings"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

type auditView struct {
	Page    *auth.AuditPage
	Cursor  string
	Action  string // filter
	Actor   string // filter
	Actions []string
}

// auditActions are the actions the filter offers: everything auth and the
// customer capability record.
var auditActions = []string{
	auth.ActionLoginOK, auth.ActionLoginFailed, auth.ActionLoginThrottled, auth.ActionLogout,
	auth.ActionUserCreated, auth.ActionUserRoleChanged, auth.ActionUserDisabled, auth.ActionUserEnabled,
	auth.ActionPasswordChanged, auth.ActionKeyCreated, auth.ActionKeyRevoked, auth.ActionDataExported,
	auth.ActionDataImported, auth.ActionCustomerMerge, auth.ActionCustomerMergeSkipped, auth.ActionCustomerUnmerge,
	customer.ActionUpdate,
}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := auditView{Cursor: q.Get("cursor"), Action: q.Get("action"), Actor: strings.TrimSpace(q.Get("actor")), Actions: auditActions}
	page, err := s.cfg.Accounts.ListAudit(r.Context(), auth.AuditFilter{Limit: 50, Cursor: v.Cursor, Action: v.Action, Actor: v.Actor})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Page = page
	s.render(w, r, http.StatusOK, "settings_audit", s.newPage(w, r, "settings.audit.title", "settings", v))
}
