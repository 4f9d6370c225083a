package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
)

// Results over the JSON API: the figures of internal/feedback/results
// (each with its interval, n and small-sample warning), verbatims, exports
// and the CSV import. The results service checks surveys.read,
// responses.export and data.import itself.

// resultsFilter reads the query parameters every figure shares:
// question, from, to, touchpoint, channel, journey_stage, include_flagged.
func resultsFilter(r *http.Request) (results.Filter, error) {
	id, err := pathID(r)
	if err != nil {
		return results.Filter{}, err
	}
	q := r.URL.Query()
	f := results.Filter{SurveyID: id, Question: q.Get("question"), Touchpoint: q.Get("touchpoint"),
		Channel: q.Get("channel"), JourneyStage: q.Get("journey_stage")}
	if f.From, err = dateParam(q.Get("from"), "from"); err != nil {
		return f, err
	}
	if f.To, err = dateParam(q.Get("to"), "to"); err != nil {
		return f, err
	}
	if f.IncludeFlagged, err = boolParam(q.Get("include_flagged"), "include_flagged"); err != nil {
		return f, err
	}
	return f, nil
}

// dateParam reads a date (YYYY-MM-DD, a UTC day) or an RFC 3339 time; ""
// is the zero time (an open side of a range).
func dateParam(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, kizuna.FieldError(name, "%s must be a date (YYYY-MM-DD) or an RFC 3339 time, not %q", name, v)
}

// figure answers GET with fn's result over the request's filter.
func (s *Server) figure(w http.ResponseWriter, r *http.Request, fn func(f results.Filter) (any, error)) {
	f, err := resultsFilter(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	v, err := fn(f)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiResultsNPS(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) { return s.cfg.Results.NPS(r.Context(), f) })
}

func (s *Server) apiResultsCSAT(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) { return s.cfg.Results.CSAT(r.Context(), f) })
}

func (s *Server) apiResultsCES(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) { return s.cfg.Results.CES(r.Context(), f) })
}

func (s *Server) apiResultsDistribution(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) { return s.cfg.Results.Distribution(r.Context(), f) })
}

func (s *Server) apiResultsGaps(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) { return s.cfg.Results.Gaps(r.Context(), f) })
}

func (s *Server) apiResultsTrend(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) {
		iv := results.Interval(r.URL.Query().Get("interval"))
		switch iv {
		case "", results.Day, results.Week, results.Month:
		default:
			return nil, kizuna.FieldError("interval", "interval must be day, week or month")
		}
		return s.cfg.Results.Trend(r.Context(), f, iv)
	})
}

// apiResultsCompare tests the change of the headline figure from period
// a (a_from, a_to) to period b (b_from, b_to).
func (s *Server) apiResultsCompare(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) {
		if !f.From.IsZero() || !f.To.IsZero() {
			return nil, kizuna.FieldError("from", "compare takes its two periods as a_from, a_to, b_from and b_to, not from and to")
		}
		q := r.URL.Query()
		var ps [2]results.Period
		for i, p := range []string{"a", "b"} {
			var err error
			if ps[i].From, err = requiredDate(q, p+"_from"); err != nil {
				return nil, err
			}
			if ps[i].To, err = requiredDate(q, p+"_to"); err != nil {
				return nil, err
			}
			if !ps[i].To.After(ps[i].From) {
				return nil, kizuna.FieldError(p+"_to", "%s_to must be after %s_from", p, p)
			}
		}
		return s.cfg.Results.Compare(r.Context(), f, ps[0], ps[1])
	})
}

func requiredDate(q map[string][]string, name string) (time.Time, error) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return time.Time{}, kizuna.FieldError(name, "%s is required (YYYY-MM-DD)", name)
	}
	return dateParam(v, name)
}

// apiResultsBreakdown groups the headline figure by dimension: touchpoint,
// journey_stage, channel, lifecycle_stage, country, customer:<attribute>
// or response:<attribute>.
func (s *Server) apiResultsBreakdown(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) {
		dim := r.URL.Query().Get("dimension")
		if dim == "" {
			return nil, kizuna.FieldError("dimension", "dimension is required: touchpoint, journey_stage, channel, lifecycle_stage, country, customer:<key> or response:<key>")
		}
		return s.cfg.Results.Breakdown(r.Context(), f, results.Dimension(dim))
	})
}

func (s *Server) apiResultsDrivers(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) {
		return s.cfg.Results.KeyDrivers(r.Context(), f, r.URL.Query().Get("outcome"))
	})
}

var scoreGroups = []string{string(results.Promoters), string(results.Passives), string(results.Detractors),
	string(results.Satisfied), string(results.Neutral), string(results.Dissatisfied)}

// apiResultsVerbatims pages free-text answers, newest first, by score
// group (promoter, passive, detractor, satisfied, neutral, dissatisfied)
// and the shared filter; cursor is the previous page's next.
func (s *Server) apiResultsVerbatims(w http.ResponseWriter, r *http.Request) {
	s.figure(w, r, func(f results.Filter) (any, error) {
		limit, cursor, err := pageParams(r)
		if err != nil {
			return nil, err
		}
		g := r.URL.Query().Get("group")
		if g != "" && !oneOf(g, scoreGroups) {
			return nil, kizuna.FieldError("group", "group must be one of %s", strings.Join(scoreGroups, ", "))
		}
		page, err := s.cfg.Results.Verbatims(r.Context(), results.VerbatimQuery{Filter: f, Group: results.ScoreGroup(g), Limit: limit, Cursor: cursor})
		if page.Items == nil {
			page.Items = []results.Verbatim{}
		}
		return page, err
	})
}

// lazyDownload defers the status line and headers to the first write, so
// an export that fails before writing (permission, unknown survey, bad
// filter) still answers with a proper API error.
type lazyDownload struct {
	w           http.ResponseWriter
	contentType string
	filename    string
	started     bool
}

func (d *lazyDownload) Write(p []byte) (int, error) {
	if !d.started {
		d.started = true
		h := d.w.Header()
		h.Set("Content-Type", d.contentType)
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.filename}))
		h.Set("Cache-Control", "no-store")
		d.w.WriteHeader(http.StatusOK)
	}
	return d.w.Write(p)
}

func (s *Server) export(w http.ResponseWriter, r *http.Request, ext, contentType string,
	fn func(w io.Writer, f results.Filter) error) {
	f, err := resultsFilter(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	d := &lazyDownload{w: w, contentType: contentType, filename: fmt.Sprintf("survey-%d-responses.%s", f.SurveyID, ext)}
	if err := fn(d, f); err != nil {
		if !d.started {
			s.apiError(w, r, err)
			return
		}
		// The status line is gone: abort the connection so the client sees
		// a broken download rather than a silently truncated file.
		s.log.Error("survey export failed midway", "survey", f.SurveyID, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !d.started { // nothing written at all: still a valid, empty download
		_, _ = d.Write(nil)
	}
}

// apiResultsExportCSV streams the responses as CSV (UTF-8 with a BOM,
// every cell neutralised against formula injection).
func (s *Server) apiResultsExportCSV(w http.ResponseWriter, r *http.Request) {
	s.export(w, r, "csv", "text/csv; charset=utf-8", func(w io.Writer, f results.Filter) error {
		return s.cfg.Results.ExportCSV(r.Context(), w, f)
	})
}

// apiResultsExportJSON streams the responses as one JSON array.
func (s *Server) apiResultsExportJSON(w http.ResponseWriter, r *http.Request) {
	s.export(w, r, "json", "application/json; charset=utf-8", func(w io.Writer, f results.Filter) error {
		return s.cfg.Results.ExportJSON(r.Context(), w, f)
	})
}

// apiResultsImport imports past feedback from CSV, sent one of three ways:
// JSON {"mapping": results.Mapping, "csv": "<the file>"}; multipart/form-
// data with a "mapping" part (JSON) and a "file" part; or a text/csv body
// with the mapping (JSON) as the "mapping" query parameter. The
// API's 1 MiB body limit applies; larger files go through `kizuna import`.
func (s *Server) apiResultsImport(w http.ResponseWriter, r *http.Request) {
	customers, ok := s.cfg.Customers.(results.Customers)
	if !ok {
		s.apiError(w, r, &kizuna.Error{Code: kizuna.EUNAVAILABLE, Message: "imports need the customer service"})
		return
	}
	var m results.Mapping
	var file io.Reader
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json", "":
		var in importRequest
		if err := decodeJSON(r, &in); err != nil {
			s.apiError(w, r, err)
			return
		}
		if in.Mapping == nil {
			s.apiError(w, r, kizuna.FieldError("mapping", "mapping is required: the JSON column mapping"))
			return
		}
		m, file = *in.Mapping, strings.NewReader(in.CSV)
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxAPIBody); err != nil {
			s.apiError(w, r, bodyError(err, "malformed multipart body"))
			return
		}
		defer r.MultipartForm.RemoveAll()
		f, _, err := r.FormFile("file")
		if err != nil {
			s.apiError(w, r, kizuna.FieldError("file", "attach the CSV file as the part \"file\""))
			return
		}
		defer f.Close()
		if m, err = decodeMapping(r.FormValue("mapping")); err != nil {
			s.apiError(w, r, err)
			return
		}
		file = f
	case "text/csv":
		var err error
		if m, err = decodeMapping(r.URL.Query().Get("mapping")); err != nil {
			s.apiError(w, r, err)
			return
		}
		file = r.Body
	default:
		s.apiError(w, r, kizuna.FieldError("Content-Type", "send application/json, multipart/form-data (parts mapping and file) or text/csv with a mapping query parameter"))
		return
	}
	// Read the whole (bounded) file first, so a body over the limit is
	// reported as 413 rather than as rows cut short.
	b, err := io.ReadAll(file)
	if err != nil {
		s.apiError(w, r, bodyError(err, "cannot read the CSV file"))
		return
	}
	sum, err := s.cfg.Results.ImportCSV(r.Context(), customers, bytes.NewReader(b), m)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, importSummaryOf(sum))
}

// importRequest is the JSON form of an import: the mapping and the CSV
// text itself.
type importRequest struct {
	Mapping *results.Mapping `json:"mapping"`
	CSV     string           `json:"csv"`
}

// decodeMapping reads the mapping of a multipart or text/csv import.
func decodeMapping(v string) (results.Mapping, error) {
	var m results.Mapping
	if v == "" {
		return m, kizuna.FieldError("mapping", "mapping is required: the JSON column mapping")
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, kizuna.FieldError("mapping", "mapping is not a valid column mapping: %v", err)
	}
	return m, nil
}

// importSummary is results.ImportSummary with the duration in
// milliseconds rather than Go's nanoseconds.
type importSummary struct {
	SurveyID   int64               `json:"survey_id"`
	Version    int                 `json:"version"`
	Rows       int64               `json:"rows"`
	Imported   int64               `json:"imported"`
	Existing   int64               `json:"existing"`
	Linked     int64               `json:"linked"`
	Rejected   int64               `json:"rejected"`
	Rejections []results.Rejection `json:"rejections"`
	DurationMS int64               `json:"duration_ms"`
}

func importSummaryOf(s *results.ImportSummary) importSummary {
	out := importSummary{SurveyID: s.SurveyID, Version: s.Version, Rows: s.Rows, Imported: s.Imported, Existing: s.Existing,
		Linked: s.Linked, Rejected: s.Rejected, Rejections: s.Rejections, DurationMS: s.Duration.Milliseconds()}
	if out.Rejections == nil {
		out.Rejections = []results.Rejection{}
	}
	return out
}

// bodyError keeps an over-long body a 413 (apiError maps it) and calls
// anything else malformed input.
func bodyError(err error, msg string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return &kizuna.Error{Code: kizuna.EINVALID, Message: msg + ": " + err.Error()}
}
