// Package feedback is the voice of the customer: surveys designed in
// Japanese and English, versioned so that edits never reinterpret earlier
// answers, distributed without tiring customers, answered once per
// invitation, and read through statistically honest metrics
// (internal/feedback/stats).
//
// Data model (migration 00005_feedback and later):
//   - surveys: the survey, its touchpoint and journey stage, its status
//     (draft, live, closed) and the number of its current version.
//   - survey_versions: the Definition (pages, questions, logic) as JSON.
//     Publishing an edit writes a new version; responses point at the
//     version they answered.
//   - survey_invitations: personal links (token stored as SHA-256) and
//     every invitation contact rules skipped, with the reason.
//   - survey_responses: one per respondent; UNIQUE(invitation_id) makes a
//     personal link single-use in the database; UNIQUE(survey_id,
//     client_key) makes page saves of anonymous responses idempotent.
//   - survey_answers: one row per (question, attribute); num is the score
//     or the expectation, num2 the perception, text free text or choices.
//   - 00006_distribution: survey_triggers, feedback_contact_rules (survey 0
//     global, a survey's own row replaces it), feedback_contacts (per
//     customer: unsubscribed, and the row decisions lock), survey_rate_hits.
//
// # Responses
//
// A response is written only by explicit calls: StartResponse, SavePage
// (one page, idempotent), Complete (exactly once). PublicForm and
// TokenForm only read. The web layer must keep it that way — map only
// POSTs to the writing calls — because mail scanners and link previewers
// GET every link in a mail: a link's GET renders the form, nothing more.
// The public link's form carries a client_key (NewClientKey, rendered
// into the page); a personal link's token (/r/{token}) is redeemed by the
// first StartResponse, decided by UNIQUE(invitation_id), every other
// redemption gets ECONFLICT. Completed responses may carry quality flags
// (FlagHoneypot, FlagTooFast); they are kept and exported, but metrics
// leave flagged responses out by default (results: empty flags). Partials
// untouched for 7 days become abandoned (AbandonJob) and never count.
//
// # Distribution
//
// Triggers (OnEvents, called by ingestion after commit) and Invite
// schedule invitations; SendJob claims due ones atomically, applies the
// contact rules (Decide: cooldown, maximum per period, sampling, open
// complaint, unsubscribed, quiet hours in the customer's zone — which
// defer rather than skip), mails them through InvitationMailer
// (internal/mail) and later sends one reminder to non-responders. Every
// skipped invitation keeps its reason.
package feedback

import (
	"regexp"
	"time"
)

// Survey statuses.
const (
	StatusDraft  = "draft"
	StatusLive   = "live"
	StatusClosed = "closed"
)

// Response statuses.
const (
	ResponsePartial   = "partial"
	ResponseCompleted = "completed"
	// ResponseAbandoned is a partial response untouched for 7 days: closed
	// and reported apart, never counted in the metrics.
	ResponseAbandoned = "abandoned"
)

// Channels a response or invitation comes through.
const (
	ChannelLink   = "link"   // the public (anonymous) link
	ChannelEmail  = "email"  // a personal link sent by email
	ChannelWidget = "widget" // the in-page web widget
	ChannelImport = "import" // imported past feedback
	ChannelAPI    = "api"
)

// Touchpoints a survey can belong to. Free text is allowed too; these are
// the ones the UI offers and translates.
var Touchpoints = []string{"purchase", "delivery", "support", "onboarding", "renewal", "web", "store", "app", "review"}

// Journey stages.
var JourneyStages = []string{"awareness", "consideration", "purchase", "usage", "support", "loyalty"}

// Text is a string in both product languages.
type Text struct {
	JA string `json:"ja,omitempty"`
	EN string `json:"en,omitempty"`
}

// In returns the text in locale ("ja" or "en"), falling back to the other.
func (t Text) In(locale string) string {
	if locale == "ja" {
		if t.JA != "" {
			return t.JA
		}
		return t.EN
	}
	if t.EN != "" {
		return t.EN
	}
	return t.JA
}

// QuestionType names a kind of question.
type QuestionType string

const (
	// QNPS: 0–10, "how likely are you to recommend … to a friend or
	// colleague". Promoters 9–10, passives 7–8, detractors 0–6.
	QNPS QuestionType = "nps"
	// QCSAT: 1–5 with a label per point; top-2-box (4–5) is satisfied.
	QCSAT QuestionType = "csat"
	// QExpectation: for each attribute, what the customer expected and what
	// they got, on the same scale (answers: num = expected, num2 = got).
	QExpectation QuestionType = "expectation"
	// QCES: customer effort, 1–7 (7 = very easy).
	QCES QuestionType = "ces"
	// QRating: a generic rating scale (Scale gives its range).
	QRating QuestionType = "rating"
	QSingle QuestionType = "single" // one option (answer text = option key)
	QMulti  QuestionType = "multi"  // options (answer text = JSON array of keys)
	QText   QuestionType = "text"   // free text (a verbatim)
)

// Definition is what a survey version asks.
type Definition struct {
	// Title is what respondents see as the survey's name, in both
	// languages (Survey.Name is the team's internal name); optional.
	Title Text   `json:"title,omitempty"`
	Pages []Page `json:"pages"`
	// Intro and ThankYou are shown before the first and after the last page.
	Intro    Text `json:"intro,omitempty"`
	ThankYou Text `json:"thank_you,omitempty"`
}

// Page is one screen of questions; a page break is the start of a page.
type Page struct {
	Key       string     `json:"key"`
	Title     Text       `json:"title,omitempty"`
	Questions []Question `json:"questions"`
	ShowIf    *Condition `json:"show_if,omitempty"`
}

// Question is one question. Key is stable across versions ([a-z0-9_]),
// so results of a question can be followed through edits.
type Question struct {
	Key        string       `json:"key"`
	Type       QuestionType `json:"type"`
	Text       Text         `json:"text"`
	Help       Text         `json:"help,omitempty"`
	Required   bool         `json:"required,omitempty"`
	Scale      *Scale       `json:"scale,omitempty"`      // rating, csat, ces, expectation (defaults by type)
	Options    []Option     `json:"options,omitempty"`    // single, multi
	Attributes []Option     `json:"attributes,omitempty"` // expectation: quality, price, delivery, staff …
	// Subject fills "how likely are you to recommend {subject}" in NPS.
	Subject Text       `json:"subject,omitempty"`
	ShowIf  *Condition `json:"show_if,omitempty"`
}

// Scale is the range of a scale question and its labels.
type Scale struct {
	Min       int    `json:"min"`
	Max       int    `json:"max"`
	MinLabel  Text   `json:"min_label,omitempty"`
	MaxLabel  Text   `json:"max_label,omitempty"`
	Labels    []Text `json:"labels,omitempty"`  // one per point, Min first (CSAT)
	TopBoxLen int    `json:"top_box,omitempty"` // points counted as satisfied (CSAT: 2)
}

// Option is a choice (or an expectation attribute).
type Option struct {
	Key  string `json:"key"`
	Text Text   `json:"text"`
}

// Condition shows a page or question only when an earlier answer matches:
// e.g. {question: "nps", op: "lte", value: 6} asks detractors what
// disappointed them. Ops: eq, ne, lt, lte, gt, gte (numbers), in (option
// keys), answered.
type Condition struct {
	Question string   `json:"question"`
	Op       string   `json:"op"`
	Value    float64  `json:"value,omitempty"`
	Values   []string `json:"values,omitempty"`
}

// Settings are a survey's options.
type Settings struct {
	// DelightThreshold: perceived − expected at or above which an
	// expectation answer is "delighted" (default 2 points).
	DelightThreshold float64 `json:"delight_threshold,omitempty"`
	// MinN below which results carry a small-sample warning (default 30).
	MinN int `json:"min_n,omitempty"`
	// AllowAnonymous lets the public link collect responses without an
	// invitation.
	AllowAnonymous bool `json:"allow_anonymous,omitempty"`
	// MinSeconds: a completed response faster than this is flagged
	// too_fast (default 2 s per question, computed when 0).
	MinSeconds int `json:"min_seconds,omitempty"`
	// BreakdownAttributes are the customer attributes (keys of the
	// customer's custom attributes, e.g. "plan") this survey keeps rolled
	// up, so that a breakdown of its results by one of them is as fast as
	// one by country: each response counts under the value its customer
	// had when it completed. At most MaxBreakdownAttributes; package
	// internal/feedback/results does the rolling up.
	BreakdownAttributes []string `json:"breakdown_attributes,omitempty"`
}

// MaxBreakdownAttributes bounds Settings.BreakdownAttributes: each adds
// rows to every completion's rollups.
const MaxBreakdownAttributes = 10

// AttributeKey is the form of an attribute key a breakdown can name:
// letters, digits and _, not starting with a digit, at most 64 bytes.
var AttributeKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Survey is a survey with its current definition.
type Survey struct {
	ID             int64      `json:"id"`
	Slug           string     `json:"slug"`
	Name           string     `json:"name"`
	Touchpoint     string     `json:"touchpoint"`
	JourneyStage   string     `json:"journey_stage"`
	Status         string     `json:"status"`
	CurrentVersion int        `json:"current_version"`
	Settings       Settings   `json:"settings"`
	Definition     Definition `json:"definition"`
	// Draft is the definition being edited; Publish makes it the next
	// version. Equal to Definition when nothing is pending.
	Draft     Definition `json:"draft"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Answer is one answered question (or attribute).
type Answer struct {
	Question  string   `json:"question"`
	Attribute string   `json:"attribute,omitempty"`
	Num       *float64 `json:"num,omitempty"`  // score, or expectation
	Num2      *float64 `json:"num2,omitempty"` // perception
	Text      string   `json:"text,omitempty"`
}

// Response is one respondent's answers.
type Response struct {
	ID           int64      `json:"id"`
	SurveyID     int64      `json:"survey_id"`
	Version      int        `json:"version"`
	CustomerID   *int64     `json:"customer_id,omitempty"`
	InvitationID *int64     `json:"invitation_id,omitempty"`
	Channel      string     `json:"channel"`
	Status       string     `json:"status"`
	Locale       string     `json:"locale"`
	Touchpoint   string     `json:"touchpoint"`
	JourneyStage string     `json:"journey_stage"`
	StartedAt    time.Time  `json:"started_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	CompletedAt  *time.Time `json:"completed_at,omitempty"`
	DurationMS   *int64     `json:"duration_ms,omitempty"`
	// Flags: FlagHoneypot, FlagTooFast. A flagged response is kept but
	// left out of metrics by default.
	Flags       []string `json:"flags,omitempty"`
	ExternalRef string   `json:"external_ref,omitempty"`
	// NPSScore and CSATScore are the first NPS and CSAT answers, copied at
	// completion for lists and the customer timeline.
	NPSScore  *int     `json:"nps_score,omitempty"`
	CSATScore *int     `json:"csat_score,omitempty"`
	Answers   []Answer `json:"answers,omitempty"`
}

// Quality flags of a completed response. Flagged responses are stored and
// exported, but metrics leave them out by default (the results package
// filters flags = ”), so a bot or a click-through cannot move a score.
const (
	// FlagHoneypot: the hidden form field a person never sees was filled.
	FlagHoneypot = "honeypot"
	// FlagTooFast: completed faster than Settings.MinSeconds allows.
	FlagTooFast = "too_fast"
)
