package web

import (
	"net/http"
	"strconv"

	"github.com/kizuna-oss/kizuna/internal/feedback"
)

func surveyURL(id int64) string { return "/surveys/" + strconv.FormatInt(id, 10) }

type surveyRow struct {
	feedback.Survey
	Completed int64
	Partial   int64
	Invited   int64
	// Pending: the draft differs from the live version.
	Pending bool
}

type surveyListView struct {
	Rows     []surveyRow
	Status   string
	Statuses []string
}

func (s *Server) handleSurveyList(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	list, err := s.cfg.Surveys.List(r.Context(), feedback.ListFilter{Status: status})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := &surveyListView{Status: status, Statuses: []string{feedback.StatusDraft, feedback.StatusLive, feedback.StatusClosed}}
	for _, sv := range list {
		// One small report per survey: a team has tens of surveys, not
		// thousands, and the report's counts are indexed by survey.
		rep, err := s.cfg.Surveys.Report(r.Context(), sv.ID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		row := surveyRow{Survey: sv, Completed: int64(rep.Responses[feedback.ResponseCompleted]), Partial: int64(rep.Responses[feedback.ResponsePartial]),
			Pending: sv.CurrentVersion > 0 && draftPending(&sv)}
		for _, n := range rep.Invitations {
			row.Invited += int64(n)
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, http.StatusOK, "survey_list", s.newPage(w, r, "surveys.title", "surveys", v))
}
