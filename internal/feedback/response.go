package feedback

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// NewToken returns a personal-link token (32 random bytes, base64url) and
// the SHA-256 hash stored in its place. The token itself is never stored:
// a leaked database cannot answer anyone's survey.
func NewToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken is the stored form of a token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// NewClientKey returns a random key identifying one respondent's response
// to the form that carries it (a hidden field the form page renders; the
// GET that renders it writes nothing).
func NewClientKey() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func validClientKey(k string) bool {
	if len(k) < 16 || len(k) > 128 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// hashIP stores an address only as a hash, reduced first to what a rate
// limit counts: the IPv4 address, or the /64 of an IPv6 one (one
// subscriber holds a whole /64).
func hashIP(ip string) string {
	if ip == "" {
		return ""
	}
	key := ip
	if addr, err := netip.ParseAddr(ip); err == nil {
		addr = addr.Unmap().WithZone("")
		if addr.Is6() {
			p, _ := addr.Prefix(64)
			key = p.String()
		} else {
			key = addr.String()
		}
	}
	h := sha256.Sum256([]byte("kizuna-survey-ip:" + key))
	return hex.EncodeToString(h[:16])
}

// StartInput starts (or resumes) a response. Exactly one of Slug (the
// public link) and Token (a personal link) is set.
type StartInput struct {
	Slug  string `json:"slug,omitempty"`
	Token string `json:"token,omitempty"`
	// ClientKey identifies the response to the form that carries it:
	// required for the public link (NewClientKey, rendered into the form),
	// optional for a personal link (generated when empty; pass the one
	// returned earlier to resume on the same device).
	ClientKey string `json:"client_key,omitempty"`
	Locale    string `json:"locale,omitempty"`
	// IP of the respondent, for the rate limit (stored hashed). Empty
	// means not rate limited (trusted callers: tests, the widget proxy).
	IP string `json:"-"`
	// OpenedAt is when the form page was rendered (the web layer carries
	// it, signed, in the form): the first page is often answered before
	// the first POST starts the response, and the too-fast check should
	// count that time. Zero means now; it is clamped to the last hour.
	OpenedAt time.Time `json:"-"`
}

// startedAt is when a response counts as started.
func (in StartInput) startedAt(now int64) int64 {
	if in.OpenedAt.IsZero() {
		return now
	}
	return min(now, max(in.OpenedAt.UnixMilli(), now-time.Hour.Milliseconds()))
}

// Session is a response in progress: what the form needs to go on.
type Session struct {
	SurveyID   int64    `json:"survey_id"`
	ResponseID int64    `json:"response_id"`
	ClientKey  string   `json:"client_key"`
	Version    int      `json:"version"`
	Status     string   `json:"status"`
	Resumed    bool     `json:"resumed"`
	Form       Form     `json:"form"`
	Answers    []Answer `json:"answers"`
	// NextPage is the key of the first visible page without answers ("" if
	// every visible page has been answered).
	NextPage string `json:"next_page"`
}

type versionRow struct {
	id  int64
	n   int
	def Definition
}

// currentVersion loads the live version of a survey for answering.
func currentVersion(ctx context.Context, q querier, surveyID int64) (*versionRow, string, error) {
	var status string
	var v versionRow
	var def sql.NullString
	var vid sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT s.status, s.current_version, v.id, v.definition FROM surveys s
		LEFT JOIN survey_versions v ON v.survey_id = s.id AND v.version = s.current_version WHERE s.id = $1`, surveyID).
		Scan(&status, &v.n, &vid, &def)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", notFound(surveyID)
	}
	if err != nil {
		return nil, "", err
	}
	if !vid.Valid {
		return nil, status, kizuna.Errorf(kizuna.ENOTFOUND, "survey %d has not been published", surveyID)
	}
	v.id = vid.Int64
	if err := json.Unmarshal([]byte(def.String), &v.def); err != nil {
		return nil, "", err
	}
	return &v, status, nil
}

var errSurveyClosed = &kizuna.Error{Code: kizuna.ECONFLICT, Message: "this survey is closed"}

// StartResponse starts a response, or resumes the one the client key (or
// the personal link on the same device) already started. A personal link
// is redeemed exactly once: the response row's UNIQUE(invitation_id)
// decides between concurrent submits, and every loser gets ECONFLICT.
// Errors: EINVALID (client_key, slug/token), ENOTFOUND (survey or link),
// EFORBIDDEN (public link of an invitation-only survey), ECONFLICT (link
// used, survey closed, response completed), ETOOMANY (rate limit).
// [surveys.respond]
func (s *Service) StartResponse(ctx context.Context, in StartInput) (*Session, error) {
	if err := auth.Require(ctx, auth.PermSurveysRespond); err != nil {
		return nil, err
	}
	if (in.Slug == "") == (in.Token == "") {
		return nil, kizuna.FieldError("token", "give either the survey's slug or a personal token")
	}
	if in.Token == "" || in.ClientKey != "" {
		if !validClientKey(in.ClientKey) {
			return nil, kizuna.FieldError("client_key", "the client key must be 16–128 characters of A–Z, a–z, 0–9, - and _")
		}
	} else {
		in.ClientKey = NewClientKey()
	}
	locale := NormalizeLocale(in.Locale)
	var responseID int64
	var resumed bool
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		resumed = false
		var err error
		if in.Token != "" {
			responseID, resumed, err = s.startPersonal(ctx, tx, in, locale)
		} else {
			responseID, resumed, err = s.startPublic(ctx, tx, in, locale)
		}
		return err
	})
	if err != nil {
		return nil, internalError("feedback.StartResponse", err)
	}
	sess, err := s.session(ctx, s.db.Reader(), responseID, locale)
	if err != nil {
		return nil, err
	}
	sess.Resumed = resumed
	return sess, nil
}

func (s *Service) startPublic(ctx context.Context, tx *db.Tx, in StartInput, locale string) (int64, bool, error) {
	var surveyID int64
	var settingsJSON string
	err := tx.QueryRowContext(ctx, `SELECT id, settings FROM surveys WHERE slug = $1`, in.Slug).Scan(&surveyID, &settingsJSON)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, kizuna.Errorf(kizuna.ENOTFOUND, "survey %q not found", in.Slug)
	}
	if err != nil {
		return 0, false, err
	}
	if id, ok, err := existingByKey(ctx, tx, surveyID, in.ClientKey); err != nil || ok {
		return id, ok, err
	}
	var st Settings
	_ = json.Unmarshal([]byte(settingsJSON), &st)
	if !st.AllowAnonymous {
		return 0, false, &kizuna.Error{Code: kizuna.EFORBIDDEN, Message: "this survey is answered by invitation only"}
	}
	v, status, err := currentVersion(ctx, tx, surveyID)
	if err != nil {
		return 0, false, err
	}
	if status != StatusLive {
		return 0, false, errSurveyClosed
	}
	ipHash := hashIP(in.IP)
	if err := s.rateLimit(ctx, tx, surveyID, ipHash); err != nil {
		return 0, false, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO survey_responses (survey_id, version_id, client_key, channel, status, locale,
		touchpoint, journey_stage, started_at, updated_at, ip_hash)
		SELECT $1, $2, $3, $4, $5, $6, touchpoint, journey_stage, $7, $8, $9 FROM surveys WHERE id = $1
		ON CONFLICT DO NOTHING RETURNING id`,
		surveyID, v.id, in.ClientKey, ChannelLink, ResponsePartial, locale, in.startedAt(tx.NowMS()), tx.NowMS(), ipHash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// The same form started twice at once: the other request won.
		id, ok, err := existingByKey(ctx, tx, surveyID, in.ClientKey)
		if err == nil && !ok {
			err = fmt.Errorf("response of client key vanished")
		}
		return id, true, err
	}
	return id, false, err
}

func existingByKey(ctx context.Context, tx *db.Tx, surveyID int64, key string) (int64, bool, error) {
	var id int64
	var status string
	err := tx.QueryRowContext(ctx, `SELECT id, status FROM survey_responses WHERE survey_id = $1 AND client_key = $2`,
		surveyID, key).Scan(&id, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return id, true, nil
}

var errLinkUsed = &kizuna.Error{Code: kizuna.ECONFLICT, Field: "token", Message: "this survey link has already been used"}

func (s *Service) startPersonal(ctx context.Context, tx *db.Tx, in StartInput, locale string) (int64, bool, error) {
	h := HashToken(in.Token)
	var invID, surveyID int64
	var customerID sql.NullInt64
	var channel, status string
	var expires sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT id, survey_id, customer_id, channel, status, expires_at FROM survey_invitations
		WHERE token_hash = $1 OR reminder_token_hash = $1`, h).Scan(&invID, &surveyID, &customerID, &channel, &status, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "token", Message: "this survey link is not valid"}
	}
	if err != nil {
		return 0, false, err
	}
	if expires.Valid && tx.NowMS() > expires.Int64 {
		return 0, false, &kizuna.Error{Code: kizuna.ECONFLICT, Field: "token", Message: "this survey link has expired"}
	}
	v, sstatus, err := currentVersion(ctx, tx, surveyID)
	if err != nil {
		return 0, false, err
	}
	if sstatus != StatusLive {
		return 0, false, errSurveyClosed
	}
	ipHash := hashIP(in.IP)
	if err := s.rateLimit(ctx, tx, surveyID, ipHash); err != nil {
		return 0, false, err
	}
	// The insert is the only arbiter: UNIQUE(invitation_id) lets exactly one
	// of any number of concurrent submits through. ON CONFLICT DO NOTHING
	// (rather than a failing insert) keeps the transaction usable on
	// Postgres to tell a resume from a second redemption.
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO survey_responses (survey_id, version_id, customer_id, invitation_id, client_key,
		channel, status, locale, touchpoint, journey_stage, started_at, updated_at, ip_hash)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, touchpoint, journey_stage, $9, $10, $11 FROM surveys WHERE id = $1
		ON CONFLICT DO NOTHING RETURNING id`,
		surveyID, v.id, customerID, invID, in.ClientKey, channel, ResponsePartial, locale, in.startedAt(tx.NowMS()), tx.NowMS(), ipHash).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	var key, rstatus string
	err = tx.QueryRowContext(ctx, `SELECT id, COALESCE(client_key, ''), status FROM survey_responses WHERE invitation_id = $1`, invID).
		Scan(&id, &key, &rstatus)
	if errors.Is(err, sql.ErrNoRows) {
		// The conflict was on (survey_id, client_key): a key from another
		// response. Not this link's response either way.
		return 0, false, errLinkUsed
	}
	if err != nil {
		return 0, false, err
	}
	if key == in.ClientKey && rstatus == ResponsePartial {
		return id, true, nil
	}
	return 0, false, errLinkUsed
}

// rateLimit counts this start in a sliding window per (survey, IP) and
// refuses it when the window is full. The window lives in the database so
// the limit holds across nodes; on SQLite the check and insert are one
// exclusive transaction, on Postgres concurrent starts may overshoot by the
// number in flight at the same instant.
func (s *Service) rateLimit(ctx context.Context, tx *db.Tx, surveyID int64, ipHash string) error {
	if ipHash == "" {
		return nil
	}
	key := strconv.FormatInt(surveyID, 10) + ":" + ipHash
	now := tx.NowMS()
	since := now - s.opts.RateWindow.Milliseconds()
	var oldest int64
	err := tx.QueryRowContext(ctx, `SELECT at FROM survey_rate_hits WHERE key = $1 AND at > $2
		ORDER BY at DESC LIMIT 1 OFFSET $3`, key, since, s.opts.RateLimit-1).Scan(&oldest)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		wait := time.Duration(oldest+s.opts.RateWindow.Milliseconds()-now) * time.Millisecond
		return &kizuna.Error{Code: kizuna.ETOOMANY,
			Message: fmt.Sprintf("too many responses from your network; try again in %d seconds", int(wait.Seconds())+1)}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO survey_rate_hits (key, at) VALUES ($1, $2)`, key, now)
	return err
}

type responseRow struct {
	Response
	versionID int64
	clientKey string
	updated   int64
	started   int64
}

const responseColumns = `r.id, r.survey_id, v.version, r.version_id, r.customer_id, r.invitation_id, COALESCE(r.client_key, ''),
	r.channel, r.status, r.locale, r.touchpoint, r.journey_stage, r.started_at, r.updated_at, r.completed_at, r.duration_ms,
	r.flags, COALESCE(r.external_ref, ''), r.nps_score, r.csat_score`

func scanResponse(sc interface{ Scan(...any) error }) (*responseRow, error) {
	var r responseRow
	var cust, inv, completed, dur, nps, csat sql.NullInt64
	var flags string
	if err := sc.Scan(&r.ID, &r.SurveyID, &r.Version, &r.versionID, &cust, &inv, &r.clientKey, &r.Channel, &r.Status,
		&r.Locale, &r.Touchpoint, &r.JourneyStage, &r.started, &r.updated, &completed, &dur, &flags, &r.ExternalRef,
		&nps, &csat); err != nil {
		return nil, err
	}
	if cust.Valid {
		r.CustomerID = &cust.Int64
	}
	if inv.Valid {
		r.InvitationID = &inv.Int64
	}
	if dur.Valid {
		r.DurationMS = &dur.Int64
	}
	if nps.Valid {
		n := int(nps.Int64)
		r.NPSScore = &n
	}
	if csat.Valid {
		n := int(csat.Int64)
		r.CSATScore = &n
	}
	if flags != "" {
		r.Flags = strings.Split(flags, ",")
	}
	r.StartedAt, r.UpdatedAt, r.CompletedAt = msTime(r.started), msTime(r.updated), nullTime(completed)
	return &r, nil
}

var errNoResponse = &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "client_key", Message: "no response was started with this form"}

func loadResponseByKey(ctx context.Context, q querier, surveyID int64, key string) (*responseRow, error) {
	r, err := scanResponse(q.QueryRowContext(ctx, `SELECT `+responseColumns+` FROM survey_responses r
		JOIN survey_versions v ON v.id = r.version_id WHERE r.survey_id = $1 AND r.client_key = $2`, surveyID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoResponse
	}
	return r, err
}

func loadAnswers(ctx context.Context, q querier, responseID int64) ([]Answer, error) {
	rows, err := q.QueryContext(ctx, `SELECT question_key, attribute_key, num, num2, text FROM survey_answers
		WHERE response_id = $1 ORDER BY question_key, attribute_key`, responseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Answer{}
	for rows.Next() {
		var a Answer
		var n1, n2 sql.NullFloat64
		if err := rows.Scan(&a.Question, &a.Attribute, &n1, &n2, &a.Text); err != nil {
			return nil, err
		}
		if n1.Valid {
			a.Num = &n1.Float64
		}
		if n2.Valid {
			a.Num2 = &n2.Float64
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *Service) definitionOf(ctx context.Context, q querier, versionID int64) (Definition, error) {
	v, err := loadVersion(ctx, q, `id = $1`, versionID)
	if err != nil {
		return Definition{}, err
	}
	return v.Definition, nil
}

func (s *Service) session(ctx context.Context, q querier, responseID int64, locale string) (*Session, error) {
	r, err := scanResponse(q.QueryRowContext(ctx, `SELECT `+responseColumns+` FROM survey_responses r
		JOIN survey_versions v ON v.id = r.version_id WHERE r.id = $1`, responseID))
	if err != nil {
		return nil, internalError("feedback.session", err)
	}
	def, err := s.definitionOf(ctx, q, r.versionID)
	if err != nil {
		return nil, err
	}
	answers, err := loadAnswers(ctx, q, responseID)
	if err != nil {
		return nil, internalError("feedback.session", err)
	}
	var slug, name string
	if err := q.QueryRowContext(ctx, `SELECT slug, name FROM surveys WHERE id = $1`, r.SurveyID).Scan(&slug, &name); err != nil {
		return nil, internalError("feedback.session", err)
	}
	if r.Locale != "" {
		locale = r.Locale
	}
	f := Render(def, locale)
	f.SurveyID, f.Slug, f.Name, f.Version = r.SurveyID, slug, name, r.Version
	return &Session{SurveyID: r.SurveyID, ResponseID: r.ID, ClientKey: r.clientKey, Version: r.Version, Status: r.Status,
		Form: f, Answers: answers, NextPage: nextPage(def, AnswersOf(answers), -1)}, nil
}

// nextPage returns the key of the first visible page after index `after`
// with a visible question left unanswered, or "".
func nextPage(d Definition, answers Answers, after int) string {
	vis := Visible(d, answers)
	for pi := after + 1; pi < len(d.Pages); pi++ {
		if !vis.Pages[pi] {
			continue
		}
		for _, q := range d.Pages[pi].Questions {
			if vis.Questions[q.Key] && len(answers[q.Key]) == 0 {
				return d.Pages[pi].Key
			}
		}
		if after >= 0 {
			// Going forward, a visible page counts even if answered before.
			return d.Pages[pi].Key
		}
	}
	return ""
}

// SaveInput is one page's answers.
type SaveInput struct {
	SurveyID  int64    `json:"survey_id"`
	ClientKey string   `json:"client_key"`
	Page      string   `json:"page"`
	Answers   []Answer `json:"answers"`
}

// PageResult says where the form goes after a saved page.
type PageResult struct {
	ResponseID int64 `json:"response_id"`
	// NextPage is the next visible page's key; "" means the response can be
	// completed.
	NextPage string `json:"next_page"`
}

// SavePage stores one page's answers, replacing what that page held
// before, so saving the same page twice (a retry, the back button) leaves
// one answer per question. Answers are checked against the version the
// response started on and its logic: every answer must be to a question on
// this page that is visible given the answers so far, with a score on the
// question's scale or one of its options.
// Errors: ENOTFOUND (no such response), EINVALID (page, answers[i]…),
// ECONFLICT (response completed or abandoned). [surveys.respond]
func (s *Service) SavePage(ctx context.Context, in SaveInput) (*PageResult, error) {
	if err := auth.Require(ctx, auth.PermSurveysRespond); err != nil {
		return nil, err
	}
	var res PageResult
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		r, err := loadResponseByKey(ctx, tx, in.SurveyID, in.ClientKey)
		if err != nil {
			return err
		}
		if err := stillOpen(r); err != nil {
			return err
		}
		def, err := s.definitionOf(ctx, tx, r.versionID)
		if err != nil {
			return err
		}
		pi := pageIndex(def, in.Page)
		if pi < 0 {
			return kizuna.FieldError("page", "the survey has no page %q", in.Page)
		}
		existing, err := loadAnswers(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		onPage := map[string]Question{}
		for _, q := range def.Pages[pi].Questions {
			onPage[q.Key] = q
		}
		merged := []Answer{}
		for _, a := range existing {
			if _, ok := onPage[a.Question]; !ok {
				merged = append(merged, a)
			}
		}
		merged = append(merged, in.Answers...)
		all := AnswersOf(merged)
		vis := Visible(def, all)
		if !vis.Pages[pi] {
			return kizuna.FieldError("page", "page %q is not shown for the answers given so far", in.Page)
		}
		seen := map[[2]string]bool{}
		for i, a := range in.Answers {
			f := fmt.Sprintf("answers[%d]", i)
			q, ok := onPage[a.Question]
			if !ok {
				if _, _, known := questionByKey(def, a.Question); known {
					return kizuna.FieldError(f+".question", "question %q is not on page %q", a.Question, in.Page)
				}
				return kizuna.FieldError(f+".question", "the survey has no question %q", a.Question)
			}
			if !vis.Questions[a.Question] {
				return kizuna.FieldError(f+".question", "question %q is not shown for the answers given so far", a.Question)
			}
			k := [2]string{a.Question, a.Attribute}
			if seen[k] {
				return kizuna.FieldError(f+".question", "question %q is answered twice", a.Question)
			}
			seen[k] = true
			if err := checkAnswer(q, a, f); err != nil {
				return err
			}
		}
		keys := make([]any, 0, len(onPage)+1)
		keys = append(keys, r.ID)
		for k := range onPage {
			keys = append(keys, k)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM survey_answers WHERE response_id = $1 AND question_key IN (`+
			db.Placeholders(2, len(keys)-1)+`)`, keys...); err != nil {
			return err
		}
		if err := insertAnswers(ctx, tx, r.ID, in.Answers); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE survey_responses SET updated_at = $1, last_page = $2 WHERE id = $3`,
			tx.NowMS(), pi, r.ID); err != nil {
			return err
		}
		res = PageResult{ResponseID: r.ID, NextPage: nextPage(def, all, pi)}
		return nil
	})
	if err != nil {
		return nil, internalError("feedback.SavePage", err)
	}
	return &res, nil
}

func stillOpen(r *responseRow) error {
	switch r.Status {
	case ResponseCompleted:
		return &kizuna.Error{Code: kizuna.ECONFLICT, Message: "this response has already been completed"}
	case ResponseAbandoned:
		return &kizuna.Error{Code: kizuna.ECONFLICT, Message: "this response was left unfinished too long and has been closed"}
	}
	return nil
}

func insertAnswers(ctx context.Context, tx *db.Tx, responseID int64, answers []Answer) error {
	for _, a := range answers {
		if _, err := tx.ExecContext(ctx, `INSERT INTO survey_answers (response_id, question_key, attribute_key, num, num2, text)
			VALUES ($1, $2, $3, $4, $5, $6)`, responseID, a.Question, a.Attribute, a.Num, a.Num2, a.Text); err != nil {
			return err
		}
	}
	return nil
}

// CompleteInput completes a response.
type CompleteInput struct {
	SurveyID  int64  `json:"survey_id"`
	ClientKey string `json:"client_key"`
	// Honeypot is the value of the form's hidden trap field; people leave
	// it empty, form-filling bots do not.
	Honeypot string `json:"-"`
}

// Complete completes a response exactly once: answers to questions the
// final answers hide are dropped, every visible required question must be
// answered, completed_at and the duration are set, quality flags are
// raised (FlagHoneypot, FlagTooFast — the response is kept but metrics
// exclude it by default), and the OnComplete hooks run in the same
// transaction. Errors: ENOTFOUND, EINVALID (answers.<question>: required),
// ECONFLICT (already completed or abandoned). [surveys.respond]
func (s *Service) Complete(ctx context.Context, in CompleteInput) (*Response, error) {
	if err := auth.Require(ctx, auth.PermSurveysRespond); err != nil {
		return nil, err
	}
	var out *Response
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		r, err := loadResponseByKey(ctx, tx, in.SurveyID, in.ClientKey)
		if err != nil {
			return err
		}
		if err := stillOpen(r); err != nil {
			return err
		}
		def, err := s.definitionOf(ctx, tx, r.versionID)
		if err != nil {
			return err
		}
		answers, err := loadAnswers(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		all := AnswersOf(answers)
		if key, _ := missingRequired(def, all); key != "" {
			return kizuna.FieldError("answers."+key, "question %q must be answered", key)
		}
		vis := Visible(def, all)
		kept := answers[:0:0]
		for _, a := range answers {
			if vis.Questions[a.Question] {
				kept = append(kept, a)
			} else if _, err := tx.ExecContext(ctx, `DELETE FROM survey_answers WHERE response_id = $1 AND question_key = $2`,
				r.ID, a.Question); err != nil {
				return err
			}
		}
		var settingsJSON string
		if err := tx.QueryRowContext(ctx, `SELECT settings FROM surveys WHERE id = $1`, r.SurveyID).Scan(&settingsJSON); err != nil {
			return err
		}
		var st Settings
		_ = json.Unmarshal([]byte(settingsJSON), &st)
		now := tx.NowMS()
		dur := now - r.started
		var flags []string
		if strings.TrimSpace(in.Honeypot) != "" {
			flags = append(flags, FlagHoneypot)
		}
		if dur < minDuration(def, vis, st).Milliseconds() {
			flags = append(flags, FlagTooFast)
		}
		nps, csat := headlineScores(def, vis, AnswersOf(kept))
		res, err := tx.ExecContext(ctx, `UPDATE survey_responses SET status = $1, completed_at = $2, updated_at = $2,
			duration_ms = $3, flags = $4, nps_score = $5, csat_score = $6 WHERE id = $7 AND status = $8`,
			ResponseCompleted, now, dur, strings.Join(flags, ","), nps, csat, r.ID, ResponsePartial)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &kizuna.Error{Code: kizuna.ECONFLICT, Message: "this response has already been completed"}
		}
		if r.InvitationID != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE survey_invitations SET responded_at = $1 WHERE id = $2`, now, *r.InvitationID); err != nil {
				return err
			}
		}
		resp := r.Response
		resp.Status, resp.UpdatedAt = ResponseCompleted, msTime(now)
		c := msTime(now)
		resp.CompletedAt, resp.DurationMS, resp.Flags, resp.Answers = &c, &dur, flags, kept
		resp.NPSScore, resp.CSATScore = intPtr(nps), intPtr(csat)
		for _, hook := range s.opts.OnComplete {
			if err := hook(ctx, tx, &resp); err != nil {
				return fmt.Errorf("completion hook: %w", err)
			}
		}
		out = &resp
		return nil
	})
	if err != nil {
		return nil, internalError("feedback.Complete", err)
	}
	return out, nil
}

func intPtr(v any) *int {
	if n, ok := v.(int); ok {
		return &n
	}
	return nil
}

// minDuration is the fastest a person can honestly answer: the survey's
// MinSeconds, or 2 seconds per visible question.
func minDuration(d Definition, vis Visibility, st Settings) time.Duration {
	if st.MinSeconds > 0 {
		return time.Duration(st.MinSeconds) * time.Second
	}
	n := 0
	for _, p := range d.Pages {
		for _, q := range p.Questions {
			if vis.Questions[q.Key] {
				n++
			}
		}
	}
	return time.Duration(2*n) * time.Second
}

// headlineScores returns the first visible NPS and CSAT answers (as any:
// an int or nil, ready for a nullable column).
func headlineScores(d Definition, vis Visibility, answers Answers) (nps, csat any) {
	for _, p := range d.Pages {
		for _, q := range p.Questions {
			as := answers[q.Key]
			if !vis.Questions[q.Key] || len(as) == 0 || as[0].Num == nil {
				continue
			}
			switch {
			case q.Type == QNPS && nps == nil:
				nps = int(*as[0].Num)
			case q.Type == QCSAT && csat == nil:
				csat = int(*as[0].Num)
			}
		}
	}
	return nps, csat
}

// GetResponse returns a response with its answers.
// Errors: ENOTFOUND. [surveys.read]
func (s *Service) GetResponse(ctx context.Context, id int64) (*Response, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return nil, err
	}
	q := s.db.Reader()
	r, err := scanResponse(q.QueryRowContext(ctx, `SELECT `+responseColumns+` FROM survey_responses r
		JOIN survey_versions v ON v.id = r.version_id WHERE r.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.Errorf(kizuna.ENOTFOUND, "response %d not found", id)
	}
	if err != nil {
		return nil, internalError("feedback.GetResponse", err)
	}
	if r.Answers, err = loadAnswers(ctx, q, id); err != nil {
		return nil, internalError("feedback.GetResponse", err)
	}
	return &r.Response, nil
}

// ImportedResponse is one past response brought in from elsewhere.
type ImportedResponse struct {
	// ExternalRef identifies the row in its source; importing the same ref
	// again changes nothing.
	ExternalRef string
	CustomerID  *int64
	Locale      string
	CompletedAt time.Time
	Answers     []Answer
}

// ImportReport counts what ImportTx did.
type ImportReport struct {
	Created int `json:"created"`
	// Existing: refs already imported, left as they were.
	Existing int `json:"existing"`
}

// ImportTx creates completed responses (channel import) to the survey's
// current version in the caller's transaction, checking each answer like
// SavePage does, idempotent by UNIQUE(survey_id, external_ref), and runs
// the OnComplete hooks for each new response. The caller (the importer)
// has checked its own permission. Errors: ENOTFOUND (survey unpublished),
// EINVALID (responses[i]…).
func (s *Service) ImportTx(ctx context.Context, tx *db.Tx, surveyID int64, rows []ImportedResponse) (ImportReport, error) {
	var rep ImportReport
	v, _, err := currentVersion(ctx, tx, surveyID)
	if err != nil {
		return rep, internalError("feedback.ImportTx", err)
	}
	var touchpoint, stage string
	if err := tx.QueryRowContext(ctx, `SELECT touchpoint, journey_stage FROM surveys WHERE id = $1`, surveyID).
		Scan(&touchpoint, &stage); err != nil {
		return rep, internalError("feedback.ImportTx", err)
	}
	for i, in := range rows {
		f := fmt.Sprintf("responses[%d]", i)
		if in.ExternalRef == "" {
			return rep, kizuna.FieldError(f+".external_ref", "an imported response needs its source reference")
		}
		if in.CompletedAt.IsZero() {
			return rep, kizuna.FieldError(f+".completed_at", "an imported response needs its date")
		}
		all := AnswersOf(in.Answers)
		vis := Visible(v.def, all)
		seen := map[[2]string]bool{}
		for j, a := range in.Answers {
			af := fmt.Sprintf("%s.answers[%d]", f, j)
			q, _, ok := questionByKey(v.def, a.Question)
			if !ok {
				return rep, kizuna.FieldError(af+".question", "the survey has no question %q", a.Question)
			}
			if !vis.Questions[a.Question] {
				return rep, kizuna.FieldError(af+".question", "question %q is not shown for the other answers", a.Question)
			}
			k := [2]string{a.Question, a.Attribute}
			if seen[k] {
				return rep, kizuna.FieldError(af+".question", "question %q is answered twice", a.Question)
			}
			seen[k] = true
			if err := checkAnswer(q, a, af); err != nil {
				return rep, err
			}
		}
		at := in.CompletedAt.UnixMilli()
		nps, csat := headlineScores(v.def, vis, all)
		locale := ""
		if in.Locale != "" {
			locale = NormalizeLocale(in.Locale)
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO survey_responses (survey_id, version_id, customer_id, channel, status, locale,
			touchpoint, journey_stage, started_at, updated_at, completed_at, external_ref, nps_score, csat_score)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $10, $11, $12)
			ON CONFLICT (survey_id, external_ref) DO NOTHING RETURNING id`,
			surveyID, v.id, in.CustomerID, ChannelImport, ResponseCompleted, locale, touchpoint, stage, at, in.ExternalRef, nps, csat).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			rep.Existing++
			continue
		}
		if err != nil {
			return rep, internalError("feedback.ImportTx", err)
		}
		if err := insertAnswers(ctx, tx, id, in.Answers); err != nil {
			return rep, internalError("feedback.ImportTx", err)
		}
		c := msTime(at)
		ref := in.ExternalRef
		resp := Response{ID: id, SurveyID: surveyID, Version: v.n, CustomerID: in.CustomerID, Channel: ChannelImport,
			Status: ResponseCompleted, Locale: locale, Touchpoint: touchpoint, JourneyStage: stage, StartedAt: c,
			UpdatedAt: c, CompletedAt: &c, ExternalRef: ref, NPSScore: intPtr(nps), CSATScore: intPtr(csat),
			Answers: append([]Answer(nil), in.Answers...)}
		for _, hook := range s.opts.OnComplete {
			if err := hook(ctx, tx, &resp); err != nil {
				return rep, fmt.Errorf("feedback.ImportTx: completion hook: %w", err)
			}
		}
		rep.Created++
	}
	return rep, nil
}

// AbandonPartials closes partial responses untouched for AbandonAfter
// (status abandoned: reported apart, never in metrics) and forgets rate
// limit hits that left their window. It returns how many it closed.
// [surveys.write] (the job runs as the system)
func (s *Service) AbandonPartials(ctx context.Context) (int64, error) {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE survey_responses SET status = $1 WHERE status = $2 AND updated_at < $3`,
			ResponseAbandoned, ResponsePartial, tx.NowMS()-s.opts.AbandonAfter.Milliseconds())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM survey_rate_hits WHERE at <= $1`, tx.NowMS()-s.opts.RateWindow.Milliseconds())
		return err
	})
	if err != nil {
		return 0, internalError("feedback.AbandonPartials", err)
	}
	return n, nil
}

// PublicForm renders the live version of a survey's public link for
// locale. It only reads: the page a GET shows (with a fresh NewClientKey
// in the form) creates nothing until the respondent posts.
// Errors: ENOTFOUND, EFORBIDDEN (invitation only), ECONFLICT (closed).
// [surveys.respond]
func (s *Service) PublicForm(ctx context.Context, slug, locale string) (*Form, error) {
	if err := auth.Require(ctx, auth.PermSurveysRespond); err != nil {
		return nil, err
	}
	q := s.db.Reader()
	var id int64
	var name, settingsJSON string
	err := q.QueryRowContext(ctx, `SELECT id, name, settings FROM surveys WHERE slug = $1`, slug).Scan(&id, &name, &settingsJSON)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.Errorf(kizuna.ENOTFOUND, "survey %q not found", slug)
	}
	if err != nil {
		return nil, internalError("feedback.PublicForm", err)
	}
	var st Settings
	_ = json.Unmarshal([]byte(settingsJSON), &st)
	if !st.AllowAnonymous {
		return nil, &kizuna.Error{Code: kizuna.EFORBIDDEN, Message: "this survey is answered by invitation only"}
	}
	return s.liveForm(ctx, q, id, slug, name, locale)
}

func (s *Service) liveForm(ctx context.Context, q querier, id int64, slug, name, locale string) (*Form, error) {
	v, status, err := currentVersion(ctx, q, id)
	if err != nil {
		return nil, internalError("feedback.form", err)
	}
	if status != StatusLive {
		return nil, errSurveyClosed
	}
	f := Render(v.def, locale)
	f.SurveyID, f.Slug, f.Name, f.Version = id, slug, name, v.n
	return &f, nil
}

// TokenForm renders the survey behind a personal link, read-only, and
// says whether the link can still be used: a GET of the link (a mail
// scanner's prefetch included) shows the form and changes nothing.
// Errors: ENOTFOUND (bad token), ECONFLICT (used, expired, closed).
// [surveys.respond]
func (s *Service) TokenForm(ctx context.Context, token, locale string) (*Form, error) {
	if err := auth.Require(ctx, auth.PermSurveysRespond); err != nil {
		return nil, err
	}
	q := s.db.Reader()
	var id int64
	var slug, name string
	var expires sql.NullInt64
	var used bool
	err := q.QueryRowContext(ctx, `SELECT s.id, s.slug, s.name, i.expires_at,
		EXISTS (SELECT 1 FROM survey_responses r WHERE r.invitation_id = i.id AND r.status <> $2)
		FROM survey_invitations i JOIN surveys s ON s.id = i.survey_id
		WHERE i.token_hash = $1 OR i.reminder_token_hash = $1`, HashToken(token), ResponsePartial).Scan(&id, &slug, &name, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "token", Message: "this survey link is not valid"}
	}
	if err != nil {
		return nil, internalError("feedback.TokenForm", err)
	}
	if used {
		return nil, errLinkUsed
	}
	if expires.Valid && s.db.Now().UnixMilli() > expires.Int64 {
		return nil, &kizuna.Error{Code: kizuna.ECONFLICT, Field: "token", Message: "this survey link has expired"}
	}
	return s.liveForm(ctx, q, id, slug, name, locale)
}
