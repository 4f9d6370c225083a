package web

import (
	"net/http"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
)

// handleSettings opens the first settings page the caller may see; the
// page's service call still decides.
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	p := state(r).Principal
	target := "/settings/audit"
	switch {
	case p.Can(auth.PermUsersManage):
		target = "/settings/users"
	case p.Can(auth.PermKeysManage):
		target = "/settings/keys"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

type usersView struct {
	Users    []auth.User
	Roles    []auth.Role
	New      NewUser
	ErrorKey string
	ErrorMsg string
	Field    string
}

func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, v *usersView, formErr error) {
	users, err := s.cfg.Accounts.ListUsers(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Users, v.Roles = users, auth.Roles
	if formErr != nil {
		s.renderWithError(w, r, "settings_users", "settings.users.title", "settings", v, formErr, func(key, msg string) {
			v.ErrorKey, v.ErrorMsg, v.Field = key, msg, kizuna.ErrorField(formErr)
		})
		return
	}
	s.render(w, r, http.StatusOK, "settings_users", s.newPage(w, r, "settings.users.title", "settings", v))
}

func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) {
	s.showUsers(w, r, &usersView{New: NewUser{Role: auth.RoleAgent}}, nil)
}

func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	in := NewUser{
		Email:    strings.TrimSpace(r.PostFormValue("email")),
		Name:     strings.TrimSpace(r.PostFormValue("name")),
		Password: r.PostFormValue("password"),
		Role:     auth.Role(r.PostFormValue("role")),
	}
	if _, err := s.cfg.Accounts.CreateUser(r.Context(), in.Email, in.Name, in.Password, in.Role); err != nil {
		in.Password = "" // never echo a password back into the page
		s.showUsers(w, r, &usersView{New: in}, err)
		return
	}
	http.Redirect(w, r, "/settings/users?done=user_created", http.StatusSeeOther)
}

func (s *Server) handleUserRole(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var role auth.Role
		if role, err = auth.ParseRole(r.PostFormValue("role")); err == nil {
			_, err = s.cfg.Accounts.SetRole(r.Context(), id, role)
		}
	}
	if err != nil {
		s.showUsers(w, r, &usersView{New: NewUser{Role: auth.RoleAgent}}, err)
		return
	}
	http.Redirect(w, r, "/settings/users?done=role_changed", http.StatusSeeOther)
}

func (s *Server) handleUserDisable(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.cfg.Accounts.DisableUser(r.Context(), id)
	}
	if err != nil {
		s.showUsers(w, r, &usersView{New: NewUser{Role: auth.RoleAgent}}, err)
		return
	}
	http.Redirect(w, r, "/settings/users?done=user_disabled", http.StatusSeeOther)
}

func (s *Server) handleUserEnable(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.cfg.Accounts.EnableUser(r.Context(), id)
	}
	if err != nil {
		s.showUsers(w, r, &usersView{New: NewUser{Role: auth.RoleAgent}}, err)
		return
	}
	http.Redirect(w, r, "/settings/users?done=user_enabled", http.StatusSeeOther)
}

type keysView struct {
	Keys     []auth.Key
	Roles    []auth.Role
	New      NewKey
	Created  *auth.Key
	Secret   string // shown once, right after creation
	ErrorKey string
	ErrorMsg string
	Field    string
}

func (s *Server) showKeys(w http.ResponseWriter, r *http.Request, v *keysView, status int, formErr error) {
	keys, err := s.cfg.Accounts.ListKeys(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Keys, v.Roles = keys, auth.Roles
	if formErr != nil {
		s.renderWithError(w, r, "settings_keys", "settings.keys.title", "settings", v, formErr, func(key, msg string) {
			v.ErrorKey, v.ErrorMsg, v.Field = key, msg, kizuna.ErrorField(formErr)
		})
		return
	}
	s.render(w, r, status, "settings_keys", s.newPage(w, r, "settings.keys.title", "settings", v))
}

func (s *Server) handleKeyList(w http.ResponseWriter, r *http.Request) {
	s.showKeys(w, r, &keysView{New: NewKey{Kind: auth.KeyAPI, Role: auth.RoleViewer}}, http.StatusOK, nil)
}

// handleKeyCreate renders the secret directly in the response (no
// redirect): it exists only in this one page, never in a URL or a log.
func (s *Server) handleKeyCreate(w http.ResponseWriter, r *http.Request) {
	in := NewKey{
		Kind: auth.KeyKind(r.PostFormValue("kind")),
		Name: strings.TrimSpace(r.PostFormValue("name")),
		Role: auth.Role(r.PostFormValue("role")),
	}
	if in.Kind == auth.KeyWrite {
		in.Role = ""
	}
	k, secret, err := s.cfg.Accounts.CreateKey(r.Context(), in.Kind, in.Name, in.Role)
	if err != nil {
		s.showKeys(w, r, &keysView{New: in}, http.StatusOK, err)
		return
	}
	s.showKeys(w, r, &keysView{New: NewKey{Kind: auth.KeyAPI, Role: auth.RoleViewer}, Created: k, Secret: secret}, http.StatusCreated, nil)
}

func (s *Server) handleKeyRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.cfg.Accounts.RevokeKey(r.Context(), id)
	}
	if err != nil {
		s.showKeys(w, r, &keysView{New: NewKey{Kind: auth.KeyAPI, Role: auth.RoleViewer}}, http.StatusOK, err)
		return
	}
	http.Redirect(w, r, "/settings/keys?done=key_revoked", http.StatusSeeOther)
}

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
