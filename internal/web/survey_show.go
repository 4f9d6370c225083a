package web

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// draftPending reports whether a published survey's draft holds edits
// that Publish would make a new version.
func draftPending(sv *feedback.Survey) bool {
	a, _ := json.Marshal(feedback.Normalize(sv.Draft))
	b, _ := json.Marshal(feedback.Normalize(sv.Definition))
	return !bytes.Equal(a, b)
}

type surveyShowView struct {
	Survey  *feedback.Survey
	Pending bool
	// NextVersion is the number Publish would give the draft.
	NextVersion int
	Versions    []feedback.Version
	Questions   int
	Pages       int
	Report      *feedback.DistributionReport
	Done        string // catalog key of a confirmation
	ErrorKey    string
	ErrorMsg    string
}

// surveyDone maps the ?done= marker of the survey pages to its message.
func surveyDone(done string) string {
	switch done {
	case "survey_saved":
		return "surveys.done.saved"
	case "survey_published":
		return "surveys.done.published"
	case "survey_closed":
		return "surveys.done.closed"
	case "trigger_created":
		return "surveys.done.trigger_created"
	case "trigger_changed":
		return "surveys.done.trigger_changed"
	case "rules_saved":
		return "surveys.done.rules_saved"
	case "rules_cleared":
		return "surveys.done.rules_cleared"
	case "invited":
		return "surveys.done.invited"
	}
	return ""
}

func (s *Server) loadSurveyShow(r *http.Request, id int64) (*surveyShowView, error) {
	sv, err := s.cfg.Surveys.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v := &surveyShowView{Survey: sv, Done: surveyDone(r.URL.Query().Get("done"))}
	v.Pending = sv.CurrentVersion == 0 || draftPending(sv)
	v.NextVersion = sv.CurrentVersion + 1
	for _, p := range sv.Draft.Pages {
		v.Pages++
		v.Questions += len(p.Questions)
	}
	// Newest first; a survey has a handful of versions.
	for n := sv.CurrentVersion; n >= 1; n-- {
		ver, err := s.cfg.Surveys.GetVersion(r.Context(), id, n)
		if err != nil {
			return nil, err
		}
		v.Versions = append(v.Versions, *ver)
	}
	if v.Report, err = s.cfg.Surveys.Report(r.Context(), id); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *Server) handleSurveyShow(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v, err := s.loadSurveyShow(r, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "survey_show", s.newPage(w, r, "surveys.show.title", "surveys", v))
}

// surveyAction runs a state change and returns to the survey page; an
// invalid draft (publish) is shown there with the problem.
func (s *Server) surveyAction(w http.ResponseWriter, r *http.Request, done string, act func(id int64) error) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if err := act(id); err != nil {
		switch kizuna.ErrorCode(err) {
		case kizuna.EINVALID, kizuna.ECONFLICT:
		default:
			s.pageError(w, r, err)
			return
		}
		v, lerr := s.loadSurveyShow(r, id)
		if lerr != nil {
			s.pageError(w, r, lerr)
			return
		}
		v.ErrorKey, v.ErrorMsg = "error."+kizuna.ErrorCode(err), kizuna.ErrorField(err)+": "+kizuna.ErrorMessage(err)
		s.render(w, r, statusOf(kizuna.ErrorCode(err)), "survey_show", s.newPage(w, r, "surveys.show.title", "surveys", v))
		return
	}
	http.Redirect(w, r, surveyURL(id)+"?done="+done, http.StatusSeeOther)
}

func (s *Server) handleSurveyPublish(w http.ResponseWriter, r *http.Request) {
	s.surveyAction(w, r, "survey_published", func(id int64) error {
		_, err := s.cfg.Surveys.Publish(r.Context(), id)
		return err
	})
}

func (s *Server) handleSurveyClose(w http.ResponseWriter, r *http.Request) {
	s.surveyAction(w, r, "survey_closed", func(id int64) error {
		_, err := s.cfg.Surveys.Close(r.Context(), id)
		return err
	})
}
