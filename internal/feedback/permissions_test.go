package feedback

import (
	"context"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// TestPermissions calls every Service method as every kind of caller and
// checks it is refused exactly when the policy says so (the call may
// still fail for other reasons once allowed; only the auth codes count).
func TestPermissions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := NewService(d, Options{})
		sv := liveSurvey(t, s, "perm", Settings{AllowAnonymous: true})
		id := sv.ID
		methods := []struct {
			name string
			perm auth.Permission
			call func(ctx context.Context) error
		}{
			{"CreateSurvey", auth.PermSurveysWrite, func(ctx context.Context) error {
				_, err := s.CreateSurvey(ctx, SurveyInput{Slug: "", Name: ""})
				return err
			}},
			{"UpdateDraft", auth.PermSurveysWrite, func(ctx context.Context) error { _, err := s.UpdateDraft(ctx, id, SurveyInput{}); return err }},
			{"Publish", auth.PermSurveysWrite, func(ctx context.Context) error { _, err := s.Publish(ctx, id); return err }},
			{"Close", auth.PermSurveysWrite, func(ctx context.Context) error { _, err := s.Close(ctx, -1); return err }},
			{"Get", auth.PermSurveysRead, func(ctx context.Context) error { _, err := s.Get(ctx, id); return err }},
			{"GetBySlug", auth.PermSurveysRead, func(ctx context.Context) error { _, err := s.GetBySlug(ctx, "perm"); return err }},
			{"GetVersion", auth.PermSurveysRead, func(ctx context.Context) error { _, err := s.GetVersion(ctx, id, 1); return err }},
			{"List", auth.PermSurveysRead, func(ctx context.Context) error { _, err := s.List(ctx, ListFilter{}); return err }},
			{"Preview", auth.PermSurveysRead, func(ctx context.Context) error { _, err := s.Preview(ctx, id, "ja", true); return err }},
			{"GetResponse", auth.PermSurveysRead, func(ctx context.Context) error { _, err := s.GetResponse(ctx, -1); return err }},
			{"Report", auth.PermSurveysRead, func(ctx context.Context) error { _, err := s.Report(ctx, id); return err }},
			{"Invitations", auth.PermSurveysRead, func(ctx context.Context) error {
				_, err := s.Invitations(ctx, InvitationFilter{SurveyID: id})
				return err
			}},
			{"Triggers", auth.PermSurveysRead, func(ctx context.Context) error { _, err := s.Triggers(ctx, id); return err }},
			{"ContactRulesOf", auth.PermSurveysRead, func(ctx context.Context) error { _, err := s.ContactRulesOf(ctx, id); return err }},
			{"SetContactRules", auth.PermSurveysWrite, func(ctx context.Context) error { return s.SetContactRules(ctx, id, ContactRules{}) }},
			{"ClearContactRules", auth.PermSurveysWrite, func(ctx context.Context) error { return s.ClearContactRules(ctx, id) }},
			{"CreateTrigger", auth.PermSurveysWrite, func(ctx context.Context) error { _, err := s.CreateTrigger(ctx, TriggerInput{}); return err }},
			{"SetTriggerEnabled", auth.PermSurveysWrite, func(ctx context.Context) error { return s.SetTriggerEnabled(ctx, -1, false) }},
			{"Invite", auth.PermSurveysWrite, func(ctx context.Context) error { _, err := s.Invite(ctx, InviteInput{}); return err }},
			{"SendDue", auth.PermSurveysWrite, func(ctx context.Context) error { _, err := s.SendDue(ctx); return err }},
			{"AbandonPartials", auth.PermSurveysWrite, func(ctx context.Context) error { _, err := s.AbandonPartials(ctx); return err }},
			{"OnEvents", auth.PermIngest, func(ctx context.Context) error { return s.OnEvents(ctx, nil) }},
			{"PublicForm", auth.PermSurveysRespond, func(ctx context.Context) error { _, err := s.PublicForm(ctx, "perm", "en"); return err }},
			{"TokenForm", auth.PermSurveysRespond, func(ctx context.Context) error { _, err := s.TokenForm(ctx, "x", "en"); return err }},
			{"StartResponse", auth.PermSurveysRespond, func(ctx context.Context) error { _, err := s.StartResponse(ctx, StartInput{}); return err }},
			{"SavePage", auth.PermSurveysRespond, func(ctx context.Context) error { _, err := s.SavePage(ctx, SaveInput{}); return err }},
			{"Complete", auth.PermSurveysRespond, func(ctx context.Context) error { _, err := s.Complete(ctx, CompleteInput{}); return err }},
			{"Unsubscribe", auth.PermSurveysRespond, func(ctx context.Context) error { return s.Unsubscribe(ctx, "x") }},
		}
		callers := []struct {
			name string
			p    *auth.Principal
		}{
			{"anonymous", nil},
			{"viewer", &auth.Principal{Kind: auth.PrincipalUser, ID: 1, Role: auth.RoleViewer}},
			{"agent", &auth.Principal{Kind: auth.PrincipalUser, ID: 1, Role: auth.RoleAgent}},
			{"manager", &auth.Principal{Kind: auth.PrincipalUser, ID: 1, Role: auth.RoleManager}},
			{"admin", &auth.Principal{Kind: auth.PrincipalUser, ID: 1, Role: auth.RoleAdmin}},
			{"write key", &auth.Principal{Kind: auth.PrincipalWriteKey, ID: 1}},
			{"respondent", &auth.Principal{Kind: auth.PrincipalRespondent}},
		}
		for _, m := range methods {
			for _, c := range callers {
				ctx := context.Background()
				if c.p != nil {
					ctx = auth.WithPrincipal(ctx, *c.p)
				}
				err := m.call(ctx)
				code := kizuna.ErrorCode(err)
				allowed := c.p != nil && c.p.Can(m.perm)
				switch {
				case c.p == nil && code != kizuna.EUNAUTHORIZED:
					t.Errorf("%s as %s: %v, want unauthorized", m.name, c.name, err)
				case c.p != nil && !allowed && code != kizuna.EFORBIDDEN:
					t.Errorf("%s as %s: %v, want forbidden", m.name, c.name, err)
				case allowed && (code == kizuna.EFORBIDDEN || code == kizuna.EUNAUTHORIZED):
					t.Errorf("%s as %s: refused: %v", m.name, c.name, err)
				}
			}
		}
		// The policy as the lead asked: everyone reads surveys, managers and
		// admins write and export, nobody else.
		for _, r := range auth.Roles {
			if !auth.RoleCan(r, auth.PermSurveysRead) {
				t.Errorf("%s cannot read surveys", r)
			}
			w := r == auth.RoleManager || r == auth.RoleAdmin
			if auth.RoleCan(r, auth.PermSurveysWrite) != w || auth.RoleCan(r, auth.PermResponsesExport) != w {
				t.Errorf("%s write/export wrong", r)
			}
		}
	})
}
