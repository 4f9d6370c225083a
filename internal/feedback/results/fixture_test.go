package results

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// Test fixtures write surveys, versions, responses and answers with plain
// SQL: the feedback service (branch fbcore) that will own these writes is
// built concurrently. Only tests do this.

var testDef = feedback.Definition{Pages: []feedback.Page{{Key: "p1", Questions: []feedback.Question{
	{Key: "nps", Type: feedback.QNPS, Text: feedback.Text{EN: "How likely…", JA: "おすすめしますか"}},
	{Key: "csat", Type: feedback.QCSAT},
	{Key: "ces", Type: feedback.QCES},
	{Key: "exp", Type: feedback.QExpectation, Attributes: []feedback.Option{
		{Key: "quality", Text: feedback.Text{EN: "Quality", JA: "品質"}},
		{Key: "price", Text: feedback.Text{EN: "Price", JA: "価格"}},
	}},
	{Key: "again", Type: feedback.QSingle, Options: []feedback.Option{{Key: "yes"}, {Key: "no"}}},
	{Key: "topics", Type: feedback.QMulti, Options: []feedback.Option{{Key: "fit"}, {Key: "price"}, {Key: "delivery"}}},
	{Key: "comment", Type: feedback.QText},
}}}}

func num(v float64) *float64 { return &v }

func system() context.Context { return auth.System(context.Background(), "test") }

func viewer() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, ID: 7, Role: auth.RoleViewer})
}

// testSurvey is a survey created for a test.
type testSurvey struct {
	ID        int64
	VersionID int64
}

func createSurvey(t testing.TB, d *db.DB, slug string, def feedback.Definition, settings feedback.Settings) testSurvey {
	t.Helper()
	ctx := context.Background()
	defJSON, _ := json.Marshal(def)
	setJSON, _ := json.Marshal(settings)
	var s testSurvey
	err := d.WriteTx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO surveys (slug, name, touchpoint, journey_stage, status, current_version, settings, created_at, updated_at)
			VALUES ($1, $2, 'purchase', 'purchase', 'live', 1, $3, $4, $4) RETURNING id`, slug, "Survey "+slug, string(setJSON), tx.NowMS()).Scan(&s.ID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO survey_versions (survey_id, version, definition, created_at) VALUES ($1, 1, $2, $3) RETURNING id`,
			s.ID, string(defJSON), tx.NowMS()).Scan(&s.VersionID)
	})
	if err != nil {
		t.Fatalf("create survey: %v", err)
	}
	return s
}

// insertResponse stores a response and its answers as the feedback service
// would, inside tx, filling r.ID.
func insertResponse(ctx context.Context, tx *db.Tx, s testSurvey, r *feedback.Response) error {
	var done *int64
	if r.CompletedAt != nil {
		ms := r.CompletedAt.UnixMilli()
		done = &ms
	}
	if r.Status == "" {
		r.Status = feedback.ResponseCompleted
	}
	if r.Channel == "" {
		r.Channel = feedback.ChannelLink
	}
	r.SurveyID, r.Version = s.ID, 1
	if err := tx.QueryRowContext(ctx, `INSERT INTO survey_responses (survey_id, version_id, customer_id, channel, status, touchpoint, journey_stage, started_at, updated_at, completed_at, flags)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) RETURNING id`,
		s.ID, s.VersionID, r.CustomerID, r.Channel, r.Status, r.Touchpoint, r.JourneyStage, r.StartedAt.UnixMilli(), done, strings.Join(r.Flags, ",")).Scan(&r.ID); err != nil {
		return fmt.Errorf("insert response: %w", err)
	}
	for _, a := range r.Answers {
		if _, err := tx.ExecContext(ctx, `INSERT INTO survey_answers (response_id, question_key, attribute_key, num, num2, text) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.ID, a.Question, a.Attribute, a.Num, a.Num2, a.Text); err != nil {
			return fmt.Errorf("insert answer: %w", err)
		}
	}
	return nil
}

// complete stores r and runs the rollup hook in the same transaction, as
// the feedback service does.
func complete(t testing.TB, d *db.DB, s testSurvey, r *feedback.Response) {
	t.Helper()
	ctx := context.Background()
	if err := d.WriteTx(ctx, func(tx *db.Tx) error {
		if err := insertResponse(ctx, tx, s, r); err != nil {
			return err
		}
		return OnComplete(ctx, tx, r)
	}); err != nil {
		t.Fatalf("complete: %v", err)
	}
}

func at(day string, hour int) *time.Time {
	tm, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	tm = tm.Add(time.Duration(hour) * time.Hour)
	return &tm
}

func createCustomer(t testing.TB, d *db.DB, country, stage string, attrs map[string]any) int64 {
	t.Helper()
	ctx := context.Background()
	a, _ := json.Marshal(attrs)
	var id int64
	if err := d.WriteTx(ctx, func(tx *db.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO customers (country, lifecycle_stage, attributes, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id`,
			country, stage, string(a), tx.NowMS()).Scan(&id)
	}); err != nil {
		t.Fatalf("create customer: %v", err)
	}
	return id
}

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}
