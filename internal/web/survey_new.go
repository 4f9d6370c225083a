package web

import (
	"fmt"
	"net/http"

	"github.com/kizuna-oss/kizuna/internal/auth"

	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// starterSurvey is what "new survey" opens with: a relationship NPS with
// its two follow-ups, ready to edit or trim.
func starterSurvey(now int64) feedback.SurveyInput {
	in := feedback.SurveyInput{Slug: fmt.Sprintf("survey-%d", now), Touchpoint: "purchase", JourneyStage: "purchase"}
	in.Settings.AllowAnonymous = true
	d := feedback.Definition{Pages: []feedback.Page{{Key: "page_1", Questions: []feedback.Question{}}}}
	d.Pages[0].Questions = append(d.Pages[0].Questions, newQuestion(d, 0, string(feedback.QNPS)))
	d.Pages[0].Questions[0].Required = true
	d.Pages = append(d.Pages, feedback.Page{Key: "page_2"})
	d.Pages[1].Questions = []feedback.Question{newQuestion(d, 1, presetDetractors)}
	d.Pages[1].Questions = append(d.Pages[1].Questions, newQuestion(d, 1, presetPromoters))
	in.Definition = d
	return in
}

func (s *Server) handleSurveyNew(w http.ResponseWriter, r *http.Request) {
	// The builder is for those who may save it; it calls no service yet.
	if err := auth.Require(r.Context(), auth.PermSurveysWrite); err != nil {
		s.pageError(w, r, err)
		return
	}
	in := starterSurvey(s.cfg.Now().Unix())
	s.renderBuilder(w, r, newBuilderView(0, feedback.StatusDraft, in, nil), http.StatusOK, nil)
}

// handleSurveyCreate is the new-survey builder's post: builder steps, or
// "save", which creates the draft survey.
func (s *Server) handleSurveyCreate(w http.ResponseWriter, r *http.Request) {
	s.builderStep(w, r, 0, feedback.StatusDraft, func(in feedback.SurveyInput) (int64, error) {
		sv, err := s.cfg.Surveys.CreateSurvey(r.Context(), in)
		if err != nil {
			return 0, err
		}
		return sv.ID, nil
	})
}
