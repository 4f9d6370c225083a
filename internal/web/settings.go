package web

import (
	"net/http"

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
