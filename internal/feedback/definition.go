package feedback

import (
	"fmt"
	"strings"

	"github.com/kizuna-oss/kizuna"
)

// FieldErrors lists every problem found in a definition; the *kizuna.Error
// Validate returns names the first and wraps the list, so a builder UI can
// mark every field at once.
type FieldErrors []*kizuna.Error

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Message
	}
	return strings.Join(parts, "; ")
}

// Scale limits. A rating wider than 0–10 is not a scale people answer
// consistently, and the stats package reads scores as small integers.
const (
	maxScalePoints = 11
	maxKeyLen      = 64
	maxPages       = 50
	maxQuestions   = 200
	maxOptions     = 100
)

// Default scales per type. NPS and CES are fixed by their definitions (the
// metrics compare across surveys only on the same scale).
var (
	npsScale = Scale{Min: 0, Max: 10,
		MinLabel: Text{JA: "まったく思わない", EN: "Not at all likely"},
		MaxLabel: Text{JA: "非常にそう思う", EN: "Extremely likely"}}
	cesScale = Scale{Min: 1, Max: 7,
		MinLabel: Text{JA: "とても難しかった", EN: "Very difficult"},
		MaxLabel: Text{JA: "とても簡単だった", EN: "Very easy"}}
	csatLabels = []Text{
		{JA: "非常に不満", EN: "Very dissatisfied"},
		{JA: "不満", EN: "Dissatisfied"},
		{JA: "どちらでもない", EN: "Neutral"},
		{JA: "満足", EN: "Satisfied"},
		{JA: "非常に満足", EN: "Very satisfied"},
	}
	expectationScale = Scale{Min: 1, Max: 5,
		MinLabel: Text{JA: "とても低い", EN: "Very low"},
		MaxLabel: Text{JA: "とても高い", EN: "Very high"}}
)

// npsText is the standard NPS wording; {subject} is Question.Subject.
var npsText = Text{
	JA: "{subject}を友人や同僚に薦める可能性はどのくらいありますか？",
	EN: "How likely are you to recommend {subject} to a friend or colleague?",
}

// validKey reports whether k is a stable key: 1–64 of [a-z0-9_].
func validKey(k string) bool {
	if k == "" || len(k) > maxKeyLen {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Normalize fills defaults a definition leaves out, so a stored version is
// self-contained: NPS and CES scales, CSAT's 1–5 scale with labels and
// top-2-box, the expectation scale, and NPS's standard wording from its
// subject. It returns a copy; d is not changed.
func Normalize(d Definition) Definition {
	out := d
	out.Pages = make([]Page, len(d.Pages))
	for pi, p := range d.Pages {
		p.Questions = append([]Question(nil), p.Questions...)
		for qi := range p.Questions {
			q := &p.Questions[qi]
			switch q.Type {
			case QNPS:
				if q.Scale == nil {
					s := npsScale
					q.Scale = &s
				}
				if q.Text.JA == "" && q.Text.EN == "" && q.Subject.JA != "" && q.Subject.EN != "" {
					q.Text = Text{
						JA: strings.ReplaceAll(npsText.JA, "{subject}", q.Subject.JA),
						EN: strings.ReplaceAll(npsText.EN, "{subject}", q.Subject.EN),
					}
				}
			case QCES:
				if q.Scale == nil {
					s := cesScale
					q.Scale = &s
				}
			case QCSAT:
				if q.Scale == nil {
					q.Scale = &Scale{Min: 1, Max: 5}
				}
				if q.Scale.Min == 1 && q.Scale.Max == 5 && len(q.Scale.Labels) == 0 {
					s := *q.Scale
					s.Labels = append([]Text(nil), csatLabels...)
					q.Scale = &s
				}
				if q.Scale.TopBoxLen == 0 {
					s := *q.Scale
					s.TopBoxLen = 2
					q.Scale = &s
				}
			case QExpectation:
				if q.Scale == nil {
					s := expectationScale
					q.Scale = &s
				}
			}
		}
		out.Pages[pi] = p
	}
	return out
}

// Validate checks a (normalized) definition and returns nil or an EINVALID
// *kizuna.Error naming the first bad field by its path, e.g.
// "pages[1].questions[0].scale.max", and wrapping FieldErrors with all of
// them. Rules: at least one page and question; page and question keys
// unique and [a-z0-9_]; JA and EN text for every question, option,
// attribute and scale label; scales sane per type (NPS 0–10, CES 1–7,
// CSAT 1–5 by default with one label per point, rating and expectation
// within 0–10 and at most 11 points); choices and expectation attributes
// non-empty with unique keys; conditions refer to earlier questions only,
// with an operator that fits the question's type.
func Validate(d Definition) error {
	v := &validator{seen: map[string]Question{}}
	v.definition(d)
	if len(v.errs) == 0 {
		return nil
	}
	first := *v.errs[0]
	first.Err = v.errs
	if len(v.errs) > 1 {
		first.Message = fmt.Sprintf("%s (and %d more problems)", first.Message, len(v.errs)-1)
	}
	return &first
}

type validator struct {
	errs FieldErrors
	// seen holds the questions before the one being checked, by key: a
	// condition may only look back.
	seen map[string]Question
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, kizuna.FieldError(field, format, args...))
}

func (v *validator) bilingual(field string, t Text, what string) {
	switch {
	case strings.TrimSpace(t.JA) == "" && strings.TrimSpace(t.EN) == "":
		v.add(field, "%s needs a Japanese and an English text", what)
	case strings.TrimSpace(t.JA) == "":
		v.add(field+".ja", "%s needs a Japanese text", what)
	case strings.TrimSpace(t.EN) == "":
		v.add(field+".en", "%s needs an English text", what)
	}
}

// optional checks a text that may be absent but, when present, must be in
// both languages.
func (v *validator) optional(field string, t Text, what string) {
	if t.JA != "" || t.EN != "" {
		v.bilingual(field, t, what)
	}
}

func (v *validator) definition(d Definition) {
	if len(d.Pages) == 0 {
		v.add("pages", "a survey needs at least one page")
		return
	}
	if len(d.Pages) > maxPages {
		v.add("pages", "at most %d pages", maxPages)
		return
	}
	v.optional("title", d.Title, "the title")
	v.optional("intro", d.Intro, "the introduction")
	v.optional("thank_you", d.ThankYou, "the thank-you message")
	pageKeys := map[string]bool{}
	total := 0
	for pi, p := range d.Pages {
		pf := fmt.Sprintf("pages[%d]", pi)
		switch {
		case !validKey(p.Key):
			v.add(pf+".key", "page key %q must be 1–%d characters of a–z, 0–9 and _", p.Key, maxKeyLen)
		case pageKeys[p.Key]:
			v.add(pf+".key", "page key %q is used twice", p.Key)
		}
		pageKeys[p.Key] = true
		v.optional(pf+".title", p.Title, "the page title")
		if p.ShowIf != nil {
			v.condition(pf+".show_if", *p.ShowIf)
		}
		if len(p.Questions) == 0 {
			v.add(pf+".questions", "a page needs at least one question")
		}
		for qi, q := range p.Questions {
			total++
			qf := fmt.Sprintf("%s.questions[%d]", pf, qi)
			if q.ShowIf != nil {
				v.condition(qf+".show_if", *q.ShowIf)
			}
			v.question(qf, q)
			if validKey(q.Key) {
				if _, dup := v.seen[q.Key]; !dup {
					v.seen[q.Key] = q
				}
			}
		}
	}
	if total > maxQuestions {
		v.add("pages", "at most %d questions", maxQuestions)
	}
}

func (v *validator) question(f string, q Question) {
	switch _, dup := v.seen[q.Key]; {
	case !validKey(q.Key):
		v.add(f+".key", "question key %q must be 1–%d characters of a–z, 0–9 and _", q.Key, maxKeyLen)
	case dup:
		v.add(f+".key", "question key %q is used twice", q.Key)
	}
	v.bilingual(f+".text", q.Text, "the question")
	v.optional(f+".help", q.Help, "the help text")
	switch q.Type {
	case QNPS:
		v.fixedScale(f, q.Scale, npsScale, "NPS")
	case QCES:
		v.fixedScale(f, q.Scale, cesScale, "CES")
	case QCSAT:
		v.scale(f, q.Scale)
		if q.Scale != nil && len(q.Scale.Labels) == 0 {
			v.add(f+".scale.labels", "a CSAT question needs a label for every point")
		}
	case QRating, QExpectation:
		v.scale(f, q.Scale)
		if q.Type == QExpectation {
			v.options(f+".attributes", q.Attributes, "attribute")
		}
	case QSingle, QMulti:
		v.options(f+".options", q.Options, "option")
	case QText:
	case "":
		v.add(f+".type", "the question needs a type")
	default:
		v.add(f+".type", "unknown question type %q (want nps, csat, expectation, ces, rating, single, multi or text)", q.Type)
	}
	if q.Type != QSingle && q.Type != QMulti && len(q.Options) > 0 {
		v.add(f+".options", "only single and multiple choice questions have options")
	}
	if q.Type != QExpectation && len(q.Attributes) > 0 {
		v.add(f+".attributes", "only expectation questions have attributes")
	}
	if (q.Type == QSingle || q.Type == QMulti || q.Type == QText) && q.Scale != nil {
		v.add(f+".scale", "a %s question has no scale", q.Type)
	}
}

func (v *validator) fixedScale(f string, s *Scale, want Scale, name string) {
	if s == nil {
		v.add(f+".scale", "the %s scale is missing", name)
		return
	}
	if s.Min != want.Min {
		v.add(f+".scale.min", "the %s scale starts at %d", name, want.Min)
	}
	if s.Max != want.Max {
		v.add(f+".scale.max", "the %s scale ends at %d", name, want.Max)
	}
	v.scaleLabels(f, s)
}

func (v *validator) scale(f string, s *Scale) {
	if s == nil {
		v.add(f+".scale", "the question needs a scale")
		return
	}
	if s.Min < 0 || s.Min > 10 {
		v.add(f+".scale.min", "the scale must start between 0 and 10")
	}
	switch {
	case s.Max <= s.Min:
		v.add(f+".scale.max", "the scale must end above its start (%d)", s.Min)
	case s.Max-s.Min+1 > maxScalePoints:
		v.add(f+".scale.max", "a scale has at most %d points", maxScalePoints)
	}
	v.scaleLabels(f, s)
}

func (v *validator) scaleLabels(f string, s *Scale) {
	v.optional(f+".scale.min_label", s.MinLabel, "the scale's low label")
	v.optional(f+".scale.max_label", s.MaxLabel, "the scale's high label")
	points := s.Max - s.Min + 1
	if len(s.Labels) > 0 && len(s.Labels) != points {
		v.add(f+".scale.labels", "the scale has %d points but %d labels", points, len(s.Labels))
	}
	for i, l := range s.Labels {
		v.bilingual(fmt.Sprintf("%s.scale.labels[%d]", f, i), l, "a scale label")
	}
	if s.TopBoxLen < 0 || s.TopBoxLen >= points && points > 1 {
		v.add(f+".scale.top_box", "the top box must count fewer points than the scale has (%d)", points)
	}
}

func (v *validator) options(f string, opts []Option, what string) {
	if len(opts) == 0 {
		v.add(f, "at least one %s is needed", what)
		return
	}
	if len(opts) > maxOptions {
		v.add(f, "at most %d of them", maxOptions)
	}
	keys := map[string]bool{}
	for i, o := range opts {
		of := fmt.Sprintf("%s[%d]", f, i)
		switch {
		case !validKey(o.Key):
			v.add(of+".key", "%s key %q must be 1–%d characters of a–z, 0–9 and _", what, o.Key, maxKeyLen)
		case keys[o.Key]:
			v.add(of+".key", "%s key %q is used twice", what, o.Key)
		}
		keys[o.Key] = true
		v.bilingual(of+".text", o.Text, "the "+what)
	}
}

// numericTypes answer with one score a numeric condition can compare.
func numericType(t QuestionType) bool {
	return t == QNPS || t == QCSAT || t == QCES || t == QRating
}

func (v *validator) condition(f string, c Condition) {
	q, ok := v.seen[c.Question]
	if !ok {
		v.add(f+".question", "a condition may only refer to an earlier question (%q is not one)", c.Question)
		return
	}
	switch c.Op {
	case "eq", "ne", "lt", "lte", "gt", "gte":
		if !numericType(q.Type) {
			v.add(f+".op", "%q compares scores; question %q (%s) has none", c.Op, c.Question, q.Type)
			return
		}
		if q.Scale != nil && (c.Value < float64(q.Scale.Min) || c.Value > float64(q.Scale.Max)) {
			v.add(f+".value", "%v is outside question %q's scale (%d–%d)", c.Value, c.Question, q.Scale.Min, q.Scale.Max)
		}
	case "in":
		if q.Type != QSingle && q.Type != QMulti {
			v.add(f+".op", "\"in\" tests choices; question %q (%s) has none", c.Question, q.Type)
			return
		}
		if len(c.Values) == 0 {
			v.add(f+".values", "\"in\" needs at least one option key")
		}
		for i, val := range c.Values {
			found := false
			for _, o := range q.Options {
				found = found || o.Key == val
			}
			if !found {
				v.add(fmt.Sprintf("%s.values[%d]", f, i), "question %q has no option %q", c.Question, val)
			}
		}
	case "answered":
	default:
		v.add(f+".op", "unknown condition %q (want eq, ne, lt, lte, gt, gte, in or answered)", c.Op)
	}
}
