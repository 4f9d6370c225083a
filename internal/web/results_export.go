package web

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/kizuna-oss/kizuna/internal/feedback/results"
)

// handleResultsExportCSV streams a survey's responses as CSV (the service
// neutralises cells a spreadsheet would read as formulas).
func (s *Server) handleResultsExportCSV(w http.ResponseWriter, r *http.Request) {
	s.resultsExport(w, r, "csv", "text/csv; charset=utf-8", s.cfg.Results.ExportCSV)
}

// handleResultsExportJSON streams a survey's responses as a JSON array.
func (s *Server) handleResultsExportJSON(w http.ResponseWriter, r *http.Request) {
	s.resultsExport(w, r, "json", "application/json; charset=utf-8", s.cfg.Results.ExportJSON)
}

// resultsExport runs an export with the dashboard's filters (from, to,
// touchpoint, stage). The headers are sent with the first byte of the
// file, so an error found before it (permission, filters, an unknown
// survey) is still a proper error page; one after it can only cut the
// download short, and is logged.
func (s *Server) resultsExport(w http.ResponseWriter, r *http.Request, ext, ctype string,
	export func(context.Context, io.Writer, results.Filter) error) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q, err := parseResultsQuery(r.URL.Query(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	lw := &lazyWriter{w: w, start: func() {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Content-Disposition", `attachment; filename="survey-`+strconv.FormatInt(id, 10)+`-responses.`+ext+`"`)
		h.Set("Cache-Control", "no-store")
	}}
	if err := export(r.Context(), lw, q.Filter); err != nil {
		if !lw.started {
			s.pageError(w, r, err)
			return
		}
		s.log.Error("export cut short", "survey", id, "format", ext, "err", err)
		return
	}
	if !lw.started { // an export always writes something; be safe anyway
		lw.start()
		w.WriteHeader(http.StatusOK)
	}
}

// lazyWriter calls start before the first byte goes out.
type lazyWriter struct {
	w       http.ResponseWriter
	start   func()
	started bool
}

func (l *lazyWriter) Write(b []byte) (int, error) {
	if !l.started {
		l.started = true
		l.start()
	}
	return l.w.Write(b)
}
