package web

import (
	"net/http"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
)

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
