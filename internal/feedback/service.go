package feedback

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// CompleteHook runs inside the transaction that completes (or imports) a
// response, with the full response, answers included. An error rolls the
// completion back, so whatever the hook maintains (results rollups) never
// disagrees with the responses.
type CompleteHook = func(ctx context.Context, tx *db.Tx, r *Response) error

// ComplaintChecker says whether a customer has an open complaint; no
// survey is sent while one is open. The support desk implements it.
type ComplaintChecker interface {
	HasOpenComplaint(ctx context.Context, customerID int64) (bool, error)
}

// Options configure a Service. Zero values pick the documented defaults.
type Options struct {
	// OnComplete hooks run inside the completing transaction.
	OnComplete []CompleteHook
	// Mailer sends email invitations and reminders (internal/mail). Without
	// one, due email invitations stay scheduled.
	Mailer InvitationMailer
	// Complaints; nil means nobody has an open complaint.
	Complaints ComplaintChecker
	// BaseURL is the installation's public URL, e.g.
	// "https://cx.example.com"; links are BaseURL+"/r/"+token.
	BaseURL string
	// ReminderDelay after sending, one reminder goes to non-responders
	// (default 3 days; negative disables reminders).
	ReminderDelay time.Duration
	// InvitationTTL: a personal link stops working this long after it was
	// sent (default 30 days).
	InvitationTTL time.Duration
	// RateLimit response starts per IP and survey within RateWindow
	// (defaults 20 per 10 minutes).
	RateLimit  int
	RateWindow time.Duration
	// AbandonAfter: a partial response untouched this long is abandoned
	// (default 7 days).
	AbandonAfter time.Duration
	// MaxEventAge: a trigger ignores events that occurred longer ago than
	// this (an import of old history must not invite anyone; default 3 days).
	MaxEventAge time.Duration
	// SendBatch bounds the invitations one job run claims (default 200).
	SendBatch int
	// DefaultLocale of mail to customers without a locale (default "ja").
	DefaultLocale string
	Log           *slog.Logger
}

// Service is the survey capability. Every method checks the caller's
// permission first; methods ending in Tx run in their caller's transaction
// and trust it.
//
// Writes happen only in explicitly named methods (CreateSurvey …
// StartResponse, SavePage, Complete, Unsubscribe); Form, Get and other
// readers never write. The web layer must map only POSTs to writing
// methods: mail scanners and link previewers fetch every GET of a mailed
// link, and a GET that started or completed a response would record
// answers nobody gave.
type Service struct {
	db   *db.DB
	opts Options
	log  *slog.Logger
}

// NewService returns the survey service over d.
func NewService(d *db.DB, opts Options) *Service {
	if opts.ReminderDelay == 0 {
		opts.ReminderDelay = 3 * 24 * time.Hour
	}
	if opts.InvitationTTL <= 0 {
		opts.InvitationTTL = 30 * 24 * time.Hour
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 20
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = 10 * time.Minute
	}
	if opts.AbandonAfter <= 0 {
		opts.AbandonAfter = 7 * 24 * time.Hour
	}
	if opts.MaxEventAge <= 0 {
		opts.MaxEventAge = 3 * 24 * time.Hour
	}
	if opts.SendBatch <= 0 {
		opts.SendBatch = 200
	}
	if opts.DefaultLocale == "" {
		opts.DefaultLocale = "ja"
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: d, opts: opts, log: log}
}

func internalError(op string, err error) error {
	var ke *kizuna.Error
	if errors.As(err, &ke) {
		return err
	}
	return &kizuna.Error{Code: kizuna.EINTERNAL, Op: op, Err: err}
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := msTime(n.Int64)
	return &t
}

// SurveyInput is what a survey is created or edited with.
type SurveyInput struct {
	Slug         string     `json:"slug"`
	Name         string     `json:"name"`
	Touchpoint   string     `json:"touchpoint"`
	JourneyStage string     `json:"journey_stage"`
	Settings     Settings   `json:"settings"`
	Definition   Definition `json:"definition"`
}

func validSlug(s string) bool {
	if len(s) < 1 || len(s) > 80 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (in *SurveyInput) check() error {
	in.Name = strings.TrimSpace(in.Name)
	in.Slug = strings.TrimSpace(in.Slug)
	in.Touchpoint = strings.TrimSpace(in.Touchpoint)
	in.JourneyStage = strings.TrimSpace(in.JourneyStage)
	if in.Name == "" {
		return kizuna.FieldError("name", "a survey needs a name")
	}
	if len(in.Name) > 200 {
		return kizuna.FieldError("name", "a survey name has at most 200 bytes")
	}
	if !validSlug(in.Slug) {
		return kizuna.FieldError("slug", "slug %q must be 1–80 characters of a–z, 0–9, - and _", in.Slug)
	}
	if len(in.Touchpoint) > 60 {
		return kizuna.FieldError("touchpoint", "a touchpoint has at most 60 bytes")
	}
	if len(in.JourneyStage) > 60 {
		return kizuna.FieldError("journey_stage", "a journey stage has at most 60 bytes")
	}
	st := in.Settings
	if st.DelightThreshold < 0 || st.DelightThreshold > 10 {
		return kizuna.FieldError("settings.delight_threshold", "the delight threshold is between 0 and 10 points")
	}
	if st.MinN < 0 {
		return kizuna.FieldError("settings.min_n", "the minimum n cannot be negative")
	}
	if st.MinSeconds < 0 || st.MinSeconds > 3600 {
		return kizuna.FieldError("settings.min_seconds", "the minimum time is between 0 and 3600 seconds")
	}
	if len(st.BreakdownAttributes) > MaxBreakdownAttributes {
		return kizuna.FieldError("settings.breakdown_attributes", "at most %d breakdown attributes, got %d", MaxBreakdownAttributes, len(st.BreakdownAttributes))
	}
	for i, k := range st.BreakdownAttributes {
		if !AttributeKey.MatchString(k) {
			return kizuna.FieldError("settings.breakdown_attributes", "attribute key %q must be letters, digits and _ (at most 64, not starting with a digit)", k)
		}
		if slices.Contains(st.BreakdownAttributes[:i], k) {
			return kizuna.FieldError("settings.breakdown_attributes", "attribute key %q is listed twice", k)
		}
	}
	in.Definition = Normalize(in.Definition)
	if err := Validate(in.Definition); err != nil {
		var ke *kizuna.Error
		if errors.As(err, &ke) {
			ke.Field = "definition." + ke.Field
		}
		return err
	}
	return nil
}

func actorID(ctx context.Context) any {
	if p, ok := auth.PrincipalFrom(ctx); ok && p.Kind == auth.PrincipalUser {
		return p.ID
	}
	return nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	return string(b)
}

// CreateSurvey creates a draft survey. The definition is normalized
// (default scales filled in) and validated in full.
// Errors: EINVALID (field path), ECONFLICT (slug taken). [surveys.write]
func (s *Service) CreateSurvey(ctx context.Context, in SurveyInput) (*Survey, error) {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO surveys (slug, name, touchpoint, journey_stage, status, settings, draft, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
			in.Slug, in.Name, in.Touchpoint, in.JourneyStage, StatusDraft, mustJSON(in.Settings), mustJSON(in.Definition),
			actorID(ctx), tx.NowMS()).Scan(&id)
		if db.IsUniqueViolation(err) {
			return &kizuna.Error{Code: kizuna.ECONFLICT, Field: "slug", Message: fmt.Sprintf("a survey with slug %q exists", in.Slug)}
		}
		return err
	})
	if err != nil {
		return nil, internalError("feedback.CreateSurvey", err)
	}
	return s.get(ctx, s.db.Reader(), id)
}

// UpdateDraft replaces a survey's name, touchpoint, settings and draft
// definition. On a live survey the edit waits in the draft until Publish
// makes it a new version; responses keep answering the current one.
// Errors: ENOTFOUND, EINVALID, ECONFLICT (slug taken). [surveys.write]
func (s *Service) UpdateDraft(ctx context.Context, id int64, in SurveyInput) (*Survey, error) {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE surveys SET slug = $1, name = $2, touchpoint = $3, journey_stage = $4,
			settings = $5, draft = $6, updated_at = $7 WHERE id = $8`,
			in.Slug, in.Name, in.Touchpoint, in.JourneyStage, mustJSON(in.Settings), mustJSON(in.Definition), tx.NowMS(), id)
		if db.IsUniqueViolation(err) {
			return &kizuna.Error{Code: kizuna.ECONFLICT, Field: "slug", Message: fmt.Sprintf("a survey with slug %q exists", in.Slug)}
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(id)
		}
		return nil
	})
	if err != nil {
		return nil, internalError("feedback.UpdateDraft", err)
	}
	return s.get(ctx, s.db.Reader(), id)
}

func notFound(id int64) error {
	return kizuna.Errorf(kizuna.ENOTFOUND, "survey %d not found", id)
}

// Publish makes the draft the survey's next version and the survey live.
// Publishing an unchanged draft of a live survey writes nothing. A closed
// survey reopens. Errors: ENOTFOUND, EINVALID (the draft). [surveys.write]
func (s *Service) Publish(ctx context.Context, id int64) (*Survey, error) {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return nil, err
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		var status, draft string
		var current int
		err := tx.QueryRowContext(ctx, `SELECT status, draft, current_version FROM surveys WHERE id = $1`, id).Scan(&status, &draft, &current)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		var def Definition
		if err := json.Unmarshal([]byte(draft), &def); err != nil {
			return fmt.Errorf("survey %d draft: %w", id, err)
		}
		def = Normalize(def)
		if err := Validate(def); err != nil {
			return err
		}
		canon := mustJSON(def)
		newVersion := true
		if current > 0 {
			var last string
			if err := tx.QueryRowContext(ctx, `SELECT definition FROM survey_versions WHERE survey_id = $1 AND version = $2`,
				id, current).Scan(&last); err != nil {
				return err
			}
			newVersion = last != canon
		}
		if newVersion {
			current++
			if _, err := tx.ExecContext(ctx, `INSERT INTO survey_versions (survey_id, version, definition, created_by, created_at)
				VALUES ($1, $2, $3, $4, $5)`, id, current, canon, actorID(ctx), tx.NowMS()); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE surveys SET status = $1, current_version = $2, draft = $3, updated_at = $4 WHERE id = $5`,
			StatusLive, current, canon, tx.NowMS(), id)
		return err
	})
	if err != nil {
		return nil, internalError("feedback.Publish", err)
	}
	return s.get(ctx, s.db.Reader(), id)
}

// Close stops a survey from taking new responses and invitations (due
// invitations are skipped with reason survey_closed); its results stay.
// Errors: ENOTFOUND. [surveys.write]
func (s *Service) Close(ctx context.Context, id int64) (*Survey, error) {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return nil, err
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE surveys SET status = $1, updated_at = $2 WHERE id = $3`, StatusClosed, tx.NowMS(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(id)
		}
		return nil
	})
	if err != nil {
		return nil, internalError("feedback.Close", err)
	}
	return s.get(ctx, s.db.Reader(), id)
}

// Get returns a survey with its current definition (the draft for a
// survey never published). Errors: ENOTFOUND. [surveys.read]
func (s *Service) Get(ctx context.Context, id int64) (*Survey, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return nil, err
	}
	return s.get(ctx, s.db.Reader(), id)
}

// GetBySlug is Get by slug. Errors: ENOTFOUND. [surveys.read]
func (s *Service) GetBySlug(ctx context.Context, slug string) (*Survey, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.Reader().QueryRowContext(ctx, `SELECT id FROM surveys WHERE slug = $1`, slug).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.Errorf(kizuna.ENOTFOUND, "survey %q not found", slug)
	}
	if err != nil {
		return nil, internalError("feedback.GetBySlug", err)
	}
	return s.get(ctx, s.db.Reader(), id)
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

const surveyColumns = `s.id, s.slug, s.name, s.touchpoint, s.journey_stage, s.status, s.current_version, s.settings, s.draft,
	COALESCE(v.definition, s.draft), s.created_at, s.updated_at`

const surveyFrom = ` FROM surveys s LEFT JOIN survey_versions v ON v.survey_id = s.id AND v.version = s.current_version`

func scanSurvey(sc interface{ Scan(...any) error }) (*Survey, error) {
	var sv Survey
	var settings, draft, def string
	var created, updated int64
	if err := sc.Scan(&sv.ID, &sv.Slug, &sv.Name, &sv.Touchpoint, &sv.JourneyStage, &sv.Status, &sv.CurrentVersion,
		&settings, &draft, &def, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &sv.Settings); err != nil {
		return nil, fmt.Errorf("survey %d settings: %w", sv.ID, err)
	}
	if err := json.Unmarshal([]byte(draft), &sv.Draft); err != nil {
		return nil, fmt.Errorf("survey %d draft: %w", sv.ID, err)
	}
	if err := json.Unmarshal([]byte(def), &sv.Definition); err != nil {
		return nil, fmt.Errorf("survey %d definition: %w", sv.ID, err)
	}
	sv.CreatedAt, sv.UpdatedAt = msTime(created), msTime(updated)
	return &sv, nil
}

func (s *Service) get(ctx context.Context, q querier, id int64) (*Survey, error) {
	sv, err := scanSurvey(q.QueryRowContext(ctx, `SELECT `+surveyColumns+surveyFrom+` WHERE s.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, internalError("feedback.Get", err)
	}
	return sv, nil
}

// Version is one published version of a survey.
type Version struct {
	SurveyID   int64      `json:"survey_id"`
	ID         int64      `json:"id"`
	Version    int        `json:"version"`
	Definition Definition `json:"definition"`
	CreatedAt  time.Time  `json:"created_at"`
}

// GetVersion returns version n of a survey, as its responses answered it.
// Errors: ENOTFOUND. [surveys.read]
func (s *Service) GetVersion(ctx context.Context, surveyID int64, n int) (*Version, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return nil, err
	}
	return loadVersion(ctx, s.db.Reader(), `survey_id = $1 AND version = $2`, surveyID, n)
}

func loadVersion(ctx context.Context, q querier, where string, args ...any) (*Version, error) {
	var v Version
	var def string
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, survey_id, version, definition, created_at FROM survey_versions WHERE `+where, args...).
		Scan(&v.ID, &v.SurveyID, &v.Version, &def, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.Errorf(kizuna.ENOTFOUND, "survey version not found")
	}
	if err != nil {
		return nil, internalError("feedback.version", err)
	}
	if err := json.Unmarshal([]byte(def), &v.Definition); err != nil {
		return nil, internalError("feedback.version", err)
	}
	v.CreatedAt = msTime(created)
	return &v, nil
}

// ListFilter narrows List.
type ListFilter struct {
	Status     string // "" for every status
	Touchpoint string
}

// List returns surveys, most recently updated first.
// Errors: EINVALID (status). [surveys.read]
func (s *Service) List(ctx context.Context, f ListFilter) ([]Survey, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return nil, err
	}
	switch f.Status {
	case "", StatusDraft, StatusLive, StatusClosed:
	default:
		return nil, kizuna.FieldError("status", "unknown status %q (want draft, live or closed)", f.Status)
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+surveyColumns+surveyFrom+`
		WHERE ($1 = '' OR s.status = $1) AND ($2 = '' OR s.touchpoint = $2)
		ORDER BY s.updated_at DESC, s.id DESC`, f.Status, f.Touchpoint)
	if err != nil {
		return nil, internalError("feedback.List", err)
	}
	defer rows.Close()
	out := []Survey{}
	for rows.Next() {
		sv, err := scanSurvey(rows)
		if err != nil {
			return nil, internalError("feedback.List", err)
		}
		out = append(out, *sv)
	}
	if err := rows.Err(); err != nil {
		return nil, internalError("feedback.List", err)
	}
	return out, nil
}

// Preview renders a survey for locale: the draft (what Publish would
// make live) when draft is true, else the current version.
// Errors: ENOTFOUND. [surveys.read]
func (s *Service) Preview(ctx context.Context, id int64, locale string, draft bool) (*Form, error) {
	sv, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	def := sv.Definition
	if draft {
		def = sv.Draft
	}
	f := Render(def, locale)
	f.SurveyID, f.Slug, f.Name, f.Version = sv.ID, sv.Slug, sv.Name, sv.CurrentVersion
	return &f, nil
}
