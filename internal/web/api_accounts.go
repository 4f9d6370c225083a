package web

import (
	"net/http"

	"github.com/kizuna-oss/kizuna/internal/auth"
)

func (s *Server) apiUserList(w http.ResponseWriter, r *http.Request) {
	us, err := s.cfg.Accounts.ListUsers(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, list(us))
}

func (s *Server) apiUserCreate(w http.ResponseWriter, r *http.Request) {
	var in NewUser
	if err := decodeJSON(r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	u, err := s.cfg.Accounts.CreateUser(r.Context(), in.Email, in.Name, in.Password, in.Role)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, u)
}

type roleRequest struct {
	Role string `json:"role"`
}

func (s *Server) apiUserRole(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		var in roleRequest
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		role, err := auth.ParseRole(in.Role)
		if err != nil {
			return nil, err
		}
		return s.cfg.Accounts.SetRole(r.Context(), id, role)
	})
}

func (s *Server) apiUserDisable(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return nil, s.cfg.Accounts.DisableUser(r.Context(), id) })
}

func (s *Server) apiUserEnable(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return nil, s.cfg.Accounts.EnableUser(r.Context(), id) })
}

func (s *Server) apiKeyList(w http.ResponseWriter, r *http.Request) {
	ks, err := s.cfg.Accounts.ListKeys(r.Context())
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, list(ks))
}

// createdKey is the only response that ever carries a key's secret.
type createdKey struct {
	Key    *auth.Key `json:"key"`
	Secret string    `json:"secret"`
}

func (s *Server) apiKeyCreate(w http.ResponseWriter, r *http.Request) {
	var in NewKey
	if err := decodeJSON(r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	k, secret, err := s.cfg.Accounts.CreateKey(r.Context(), in.Kind, in.Name, in.Role)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, createdKey{Key: k, Secret: secret})
}

func (s *Server) apiKeyRevoke(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return nil, s.cfg.Accounts.RevokeKey(r.Context(), id) })
}

// auditPage is the audit log in the API's list shape; the log is not
// counted (total -1), since it only grows.
type auditPage struct {
	Items []auth.AuditEntry `json:"items"`
	Next  string            `json:"next,omitempty"`
	Total int64             `json:"total"`
}

func (s *Server) apiAuditList(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	q := r.URL.Query()
	page, err := s.cfg.Accounts.ListAudit(r.Context(), auth.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Limit: limit, Cursor: cursor})
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := auditPage{Items: page.Items, Next: page.Next, Total: -1}
	if out.Items == nil {
		out.Items = []auth.AuditEntry{}
	}
	s.writeJSON(w, http.StatusOK, out)
}
