package web

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes /api/v1; a test validates it and checks it
// against routes.go and real responses.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDocument)
}
