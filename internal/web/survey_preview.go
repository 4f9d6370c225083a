package web

import (
	"net/http"
	"strconv"

	"github.com/kizuna-oss/kizuna/internal/feedback"
)

type surveyPreviewView struct {
	Survey  *feedback.Survey
	Form    feedback.Form
	Which   string // "draft", "live" or a version number
	Lang    string
	Choices []previewChoice
}

type previewChoice struct {
	Which string
	N     int // version number, 0 for draft and live
}

// handleSurveyPreview shows a survey as a respondent would see it — the
// draft, the live version or any earlier one, in Japanese or English —
// with no form to submit: nothing a preview does is recorded.
func (s *Server) handleSurveyPreview(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	sv, err := s.cfg.Surveys.Get(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	q := r.URL.Query()
	lang := feedback.NormalizeLocale(q.Get("lang"))
	if q.Get("lang") == "" {
		lang = feedback.NormalizeLocale(state(r).Printer.Locale)
	}
	which := q.Get("v")
	def := sv.Draft
	version := sv.CurrentVersion
	switch n, nerr := strconv.Atoi(which); {
	case which == "live" && sv.CurrentVersion > 0:
		def = sv.Definition
	case nerr == nil && n >= 1:
		ver, err := s.cfg.Surveys.GetVersion(r.Context(), id, n)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		def, version = ver.Definition, n
	default:
		which = "draft"
	}
	f := feedback.Render(def, lang)
	f.SurveyID, f.Slug, f.Name, f.Version = sv.ID, sv.Slug, sv.Name, version
	if f.Title == "" {
		f.Title = sv.Name
	}
	v := &surveyPreviewView{Survey: sv, Form: f, Which: which, Lang: lang, Choices: []previewChoice{{Which: "draft"}}}
	if sv.CurrentVersion > 0 {
		v.Choices = append(v.Choices, previewChoice{Which: "live"})
	}
	for n := sv.CurrentVersion - 1; n >= 1; n-- {
		v.Choices = append(v.Choices, previewChoice{Which: strconv.Itoa(n), N: n})
	}
	s.render(w, r, http.StatusOK, "survey_preview", s.newPage(w, r, "surveys.preview.title", "surveys", v))
}
