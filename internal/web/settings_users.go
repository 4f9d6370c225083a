package web

import (
	"net/http"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
)

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
