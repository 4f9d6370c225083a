package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// Surveys over the JSON API: design (create, edit the draft, publish,
// close), read (list, get, versions) and preview. The feedback service
// checks surveys.read / surveys.write; these handlers only translate.

func (s *Server) apiSurveyList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := feedback.ListFilter{Status: q.Get("status"), Touchpoint: strings.TrimSpace(q.Get("touchpoint"))}
	if len(f.Touchpoint) > 100 {
		s.apiError(w, r, kizuna.FieldError("touchpoint", "touchpoint is longer than 100 bytes"))
		return
	}
	out, err := s.cfg.Surveys.List(r.Context(), f)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, list(out))
}

func (s *Server) apiSurveyCreate(w http.ResponseWriter, r *http.Request) {
	var in feedback.SurveyInput
	if err := decodeJSON(r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	sv, err := s.cfg.Surveys.CreateSurvey(r.Context(), in)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, sv)
}

func (s *Server) apiSurveyGet(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return s.cfg.Surveys.Get(r.Context(), id) })
}

func (s *Server) apiSurveyUpdate(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		var in feedback.SurveyInput
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		return s.cfg.Surveys.UpdateDraft(r.Context(), id, in)
	})
}

func (s *Server) apiSurveyPublish(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return s.cfg.Surveys.Publish(r.Context(), id) })
}

func (s *Server) apiSurveyClose(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return s.cfg.Surveys.Close(r.Context(), id) })
}

func (s *Server) apiSurveyVersion(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 1 {
			return nil, kizuna.FieldError("n", "the version n must be a positive integer")
		}
		if _, err := s.cfg.Surveys.Get(r.Context(), id); err != nil {
			return nil, err // an unknown survey is reported as such, not as a missing version
		}
		return s.cfg.Surveys.GetVersion(r.Context(), id, n)
	})
}

// apiSurveyPreview renders the survey as the form shows it in one locale:
// the live version, or with draft=true what Publish would make live.
func (s *Server) apiSurveyPreview(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		q := r.URL.Query()
		locale := q.Get("locale")
		switch locale {
		case "":
			locale = localeOf(r)
		case "ja", "en":
		default:
			return nil, kizuna.FieldError("locale", "locale must be ja or en")
		}
		draft, err := boolParam(q.Get("draft"), "draft")
		if err != nil {
			return nil, err
		}
		return s.cfg.Surveys.Preview(r.Context(), id, locale, draft)
	})
}

// localeOf is the caller's language when a request does not name one.
func localeOf(r *http.Request) string {
	if st := state(r); st != nil && st.Principal != nil && st.Principal.Locale != "" {
		return feedback.NormalizeLocale(st.Principal.Locale)
	}
	return feedback.NormalizeLocale(r.Header.Get("Accept-Language"))
}

// boolParam reads a query flag: "", "false", "0" are false; "true", "1"
// true; anything else is an error naming the parameter.
func boolParam(v, name string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, kizuna.FieldError(name, "%s must be true or false", name)
}
