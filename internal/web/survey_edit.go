package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

// The survey builder works without JavaScript: the whole survey travels
// in one form, every add / remove / move is a submit button (name "op")
// that posts it, and the server answers with the changed form. Only the
// "save" op calls the service; the others change the posted definition
// and render it again. Field names are flat and positional:
//
//	p0.key, p0.title_ja, p0.if_q …              page 0
//	p0.q1.key, p0.q1.type, p0.q1.text_ja …      question 1 of page 0
//	p0.q1.o2.key, p0.q1.o2.ja, p0.q1.o2.en      its option 2 (a2.… attributes)
//	p0.q1.lab3_ja                               CSAT label of point Min+3
//
// p0.q1.stype is the type the posted scale belongs to: when the type
// select changed, the old scale is dropped and the new type's defaults
// apply (an NPS 0–10 scale would be wrong for a CES question).

// questionTypes in the order the builder offers them.
var questionTypes = []feedback.QuestionType{feedback.QNPS, feedback.QCSAT, feedback.QExpectation, feedback.QCES,
	feedback.QRating, feedback.QSingle, feedback.QMulti, feedback.QText}

// Follow-up presets the "add question" select offers besides the types: a
// free-text question shown only to detractors (NPS 0–6) or promoters
// (9–10) of the nearest NPS question before it.
const (
	presetDetractors = "text_detractors"
	presetPromoters  = "text_promoters"
)

// conditionOps are the operators of a question or page condition.
var conditionOps = []string{"lte", "gte", "lt", "gt", "eq", "ne", "in", "answered"}

// defaultAttributes are what an expectation question starts with.
var defaultAttributes = []feedback.Option{
	{Key: "quality", Text: feedback.Text{JA: "品質", EN: "Quality"}},
	{Key: "price", Text: feedback.Text{JA: "価格", EN: "Price"}},
	{Key: "delivery", Text: feedback.Text{JA: "配送", EN: "Delivery"}},
	{Key: "staff", Text: feedback.Text{JA: "スタッフの対応", EN: "Staff"}},
}

// builderForm is the posted survey: the input the service takes, and the
// op the button asked for.
type builderForm struct {
	In feedback.SurveyInput
	Op string
	// Focus is the anchor of the question or page the op changed, so the
	// page (with survey_builder.js) scrolls back to it.
	Focus string
}

func formInt(v url.Values, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(v.Get(name)))
	return n
}

func formText(v url.Values, prefix string) feedback.Text {
	return feedback.Text{JA: strings.TrimSpace(v.Get(prefix + "_ja")), EN: strings.TrimSpace(v.Get(prefix + "_en"))}
}

// parseBuilder reads the posted survey. Missing indices end a list, so
// the form needs no counts.
func parseBuilder(v url.Values) builderForm {
	in := feedback.SurveyInput{
		Name:         strings.TrimSpace(v.Get("name")),
		Slug:         strings.TrimSpace(v.Get("slug")),
		Touchpoint:   strings.TrimSpace(v.Get("touchpoint")),
		JourneyStage: strings.TrimSpace(v.Get("journey_stage")),
	}
	in.Settings.AllowAnonymous = v.Get("anon") == "1"
	in.Settings.MinN = formInt(v, "min_n")
	in.Settings.MinSeconds = formInt(v, "min_seconds")
	in.Settings.BreakdownAttributes = strings.FieldsFunc(v.Get("breakdown_attributes"), func(r rune) bool {
		return r == ',' || r == '、' || unicode.IsSpace(r)
	})
	if d, err := strconv.ParseFloat(strings.TrimSpace(v.Get("delight")), 64); err == nil {
		in.Settings.DelightThreshold = d
	}
	in.Definition.Title = formText(v, "title")
	in.Definition.Intro = formText(v, "intro")
	in.Definition.ThankYou = formText(v, "thanks")
	in.Definition.Pages = []feedback.Page{}
	for pi := 0; ; pi++ {
		pp := fmt.Sprintf("p%d.", pi)
		if _, ok := v[pp+"key"]; !ok {
			break
		}
		p := feedback.Page{Key: strings.TrimSpace(v.Get(pp + "key")), Title: formText(v, pp+"title"),
			ShowIf: parseCondition(v, pp), Questions: []feedback.Question{}}
		for qi := 0; ; qi++ {
			qp := fmt.Sprintf("%sq%d.", pp, qi)
			if _, ok := v[qp+"key"]; !ok {
				break
			}
			p.Questions = append(p.Questions, parseQuestion(v, qp))
		}
		in.Definition.Pages = append(in.Definition.Pages, p)
	}
	return builderForm{In: in, Op: v.Get("op")}
}

func parseCondition(v url.Values, prefix string) *feedback.Condition {
	q := strings.TrimSpace(v.Get(prefix + "if_q"))
	if q == "" {
		return nil
	}
	c := &feedback.Condition{Question: q, Op: v.Get(prefix + "if_op")}
	val := strings.TrimSpace(v.Get(prefix + "if_v"))
	if c.Op == "in" {
		for _, k := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' || r == '、' }) {
			c.Values = append(c.Values, k)
		}
	} else if c.Op != "answered" {
		c.Value, _ = strconv.ParseFloat(val, 64)
	}
	return c
}

func parseOptions(v url.Values, prefix string) []feedback.Option {
	var out []feedback.Option
	for i := 0; ; i++ {
		op := fmt.Sprintf("%s%d.", prefix, i)
		if _, ok := v[op+"key"]; !ok {
			return out
		}
		o := feedback.Option{Key: strings.TrimSpace(v.Get(op + "key")),
			Text: feedback.Text{JA: strings.TrimSpace(v.Get(op + "ja")), EN: strings.TrimSpace(v.Get(op + "en"))}}
		if o.Key == "" {
			o.Key = keyFrom(o.Text.EN)
		}
		out = append(out, o)
	}
}

// keyFrom makes a stable key from an English text ("Too expensive" →
// "too_expensive"); "" when nothing usable is left.
func keyFrom(s string) string {
	var b strings.Builder
	under := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(c)
		default:
			under = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

func parseQuestion(v url.Values, qp string) feedback.Question {
	q := feedback.Question{
		Key:      strings.TrimSpace(v.Get(qp + "key")),
		Type:     feedback.QuestionType(v.Get(qp + "type")),
		Text:     formText(v, qp+"text"),
		Help:     formText(v, qp+"help"),
		Required: v.Get(qp+"req") == "1",
		Subject:  formText(v, qp+"subject"),
		ShowIf:   parseCondition(v, qp),
	}
	if q.Type == feedback.QSingle || q.Type == feedback.QMulti {
		q.Options = parseOptions(v, qp+"o")
	}
	if q.Type == feedback.QExpectation {
		q.Attributes = parseOptions(v, qp+"a")
	}
	stype := feedback.QuestionType(v.Get(qp + "stype"))
	if stype != q.Type {
		// A new or retyped question: start from the type's defaults.
		applyTypeDefaults(&q)
		return q
	}
	switch q.Type {
	case feedback.QNPS, feedback.QCES, feedback.QCSAT, feedback.QRating, feedback.QExpectation:
		s := &feedback.Scale{Min: formInt(v, qp+"min"), Max: formInt(v, qp+"max"),
			MinLabel: formText(v, qp+"minl"), MaxLabel: formText(v, qp+"maxl"), TopBoxLen: formInt(v, qp+"topbox")}
		if q.Type == feedback.QCSAT {
			for i := 0; ; i++ {
				name := fmt.Sprintf("%slab%d", qp, i)
				if _, ok := v[name+"_ja"]; !ok {
					break
				}
				s.Labels = append(s.Labels, formText(v, name))
			}
		}
		q.Scale = s
	}
	return q
}

// applyTypeDefaults gives a question of a (new) type what it needs to be
// valid apart from its texts: choices, attributes, the standard NPS
// subject; scales come from feedback.Normalize.
func applyTypeDefaults(q *feedback.Question) {
	q.Scale = nil
	switch q.Type {
	case feedback.QNPS:
		if q.Text == (feedback.Text{}) && q.Subject == (feedback.Text{}) {
			q.Subject = feedback.Text{JA: "当社", EN: "us"}
		}
	case feedback.QSingle, feedback.QMulti:
		if len(q.Options) == 0 {
			q.Options = []feedback.Option{{Key: "option_1"}, {Key: "option_2"}}
		}
	case feedback.QExpectation:
		if len(q.Attributes) == 0 {
			q.Attributes = append([]feedback.Option(nil), defaultAttributes...)
		}
	}
	if q.Type != feedback.QSingle && q.Type != feedback.QMulti {
		q.Options = nil
	}
	if q.Type != feedback.QExpectation {
		q.Attributes = nil
	}
}

// newQuestion builds the question an "add" op appends to page pi.
func newQuestion(d feedback.Definition, pi int, kind string) feedback.Question {
	q := feedback.Question{Type: feedback.QuestionType(kind)}
	switch kind {
	case presetDetractors, presetPromoters:
		q.Type = feedback.QText
		nps := lastNPS(d, pi)
		if kind == presetDetractors {
			q.Text = feedback.Text{JA: "どのような点にご不満でしたか？", EN: "What disappointed you?"}
			if nps != "" {
				q.ShowIf = &feedback.Condition{Question: nps, Op: "lte", Value: 6}
			}
		} else {
			q.Text = feedback.Text{JA: "特にご満足いただけた点を教えてください。", EN: "What delighted you?"}
			if nps != "" {
				q.ShowIf = &feedback.Condition{Question: nps, Op: "gte", Value: 9}
			}
		}
	}
	valid := false
	for _, t := range questionTypes {
		valid = valid || t == q.Type
	}
	if !valid {
		q.Type = feedback.QText
	}
	base := string(q.Type)
	if kind == presetDetractors || kind == presetPromoters {
		base = strings.TrimPrefix(kind, "text_")
	}
	q.Key = uniqueKey(d, base)
	applyTypeDefaults(&q)
	return q
}

// lastNPS is the key of the last NPS question on pages up to pi.
func lastNPS(d feedback.Definition, pi int) string {
	key := ""
	for i := 0; i <= pi && i < len(d.Pages); i++ {
		for _, q := range d.Pages[i].Questions {
			if q.Type == feedback.QNPS {
				key = q.Key
			}
		}
	}
	return key
}

func uniqueKey(d feedback.Definition, base string) string {
	used := map[string]bool{}
	for _, p := range d.Pages {
		used[p.Key] = true
		for _, q := range p.Questions {
			used[q.Key] = true
		}
	}
	if !used[base] {
		return base
	}
	for i := 2; ; i++ {
		if k := fmt.Sprintf("%s_%d", base, i); !used[k] {
			return k
		}
	}
}

// apply performs a builder op on the definition; it reports false for an
// op it does not know (or whose indices are out of range).
func (f *builderForm) apply(v url.Values) bool {
	parts := strings.Split(f.Op, ":")
	idx := make([]int, len(parts)-1)
	for i, p := range parts[1:] {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return false
		}
		idx[i] = n
	}
	d := &f.In.Definition
	page := func() *feedback.Page {
		if len(idx) < 1 || idx[0] >= len(d.Pages) {
			return nil
		}
		return &d.Pages[idx[0]]
	}
	question := func() *feedback.Question {
		p := page()
		if p == nil || len(idx) < 2 || idx[1] >= len(p.Questions) {
			return nil
		}
		return &p.Questions[idx[1]]
	}
	switch parts[0] {
	case "add_page":
		key := uniqueKey(*d, fmt.Sprintf("page_%d", len(d.Pages)+1))
		d.Pages = append(d.Pages, feedback.Page{Key: key, Questions: []feedback.Question{}})
		f.Focus = fmt.Sprintf("p%d", len(d.Pages)-1)
	case "del_page":
		if page() == nil {
			return false
		}
		d.Pages = append(d.Pages[:idx[0]], d.Pages[idx[0]+1:]...)
	case "page_up", "page_down":
		if page() == nil {
			return false
		}
		to := idx[0] - 1
		if parts[0] == "page_down" {
			to = idx[0] + 1
		}
		if to < 0 || to >= len(d.Pages) {
			return true
		}
		d.Pages[idx[0]], d.Pages[to] = d.Pages[to], d.Pages[idx[0]]
		f.Focus = fmt.Sprintf("p%d", to)
	case "add_q":
		p := page()
		if p == nil {
			return false
		}
		q := newQuestion(*d, idx[0], v.Get(fmt.Sprintf("p%d.newtype", idx[0])))
		p.Questions = append(p.Questions, q)
		f.Focus = fmt.Sprintf("p%dq%d", idx[0], len(p.Questions)-1)
	case "del_q":
		p := page()
		if question() == nil {
			return false
		}
		p.Questions = append(p.Questions[:idx[1]], p.Questions[idx[1]+1:]...)
		f.Focus = fmt.Sprintf("p%d", idx[0])
	case "up", "down":
		if question() == nil {
			return false
		}
		f.Focus = moveQuestion(d, idx[0], idx[1], parts[0] == "up")
	case "add_opt", "add_attr":
		q := question()
		if q == nil {
			return false
		}
		if parts[0] == "add_opt" {
			q.Options = append(q.Options, feedback.Option{})
		} else {
			q.Attributes = append(q.Attributes, feedback.Option{})
		}
		f.Focus = fmt.Sprintf("p%dq%d", idx[0], idx[1])
	case "del_opt", "del_attr":
		q := question()
		if q == nil || len(idx) < 3 {
			return false
		}
		list := &q.Options
		if parts[0] == "del_attr" {
			list = &q.Attributes
		}
		if idx[2] >= len(*list) {
			return false
		}
		*list = append((*list)[:idx[2]], (*list)[idx[2]+1:]...)
		f.Focus = fmt.Sprintf("p%dq%d", idx[0], idx[1])
	default:
		return false
	}
	return true
}

// moveQuestion moves a question one place up or down; past the first or
// last place of its page it moves to the end of the previous page or the
// start of the next one, which is how questions change pages.
func moveQuestion(d *feedback.Definition, pi, qi int, up bool) string {
	p := &d.Pages[pi]
	q := p.Questions[qi]
	switch {
	case up && qi > 0:
		p.Questions[qi], p.Questions[qi-1] = p.Questions[qi-1], q
		return fmt.Sprintf("p%dq%d", pi, qi-1)
	case !up && qi < len(p.Questions)-1:
		p.Questions[qi], p.Questions[qi+1] = p.Questions[qi+1], q
		return fmt.Sprintf("p%dq%d", pi, qi+1)
	case up && pi > 0:
		p.Questions = append(p.Questions[:qi], p.Questions[qi+1:]...)
		prev := &d.Pages[pi-1]
		prev.Questions = append(prev.Questions, q)
		return fmt.Sprintf("p%dq%d", pi-1, len(prev.Questions)-1)
	case !up && pi < len(d.Pages)-1:
		p.Questions = append(p.Questions[:qi], p.Questions[qi+1:]...)
		next := &d.Pages[pi+1]
		next.Questions = append([]feedback.Question{q}, next.Questions...)
		return fmt.Sprintf("p%dq0", pi+1)
	}
	return fmt.Sprintf("p%dq%d", pi, qi)
}

// dropBlankRows removes option and attribute rows left entirely empty
// (an "add" the user did not fill in) before saving.
func dropBlankRows(d *feedback.Definition) {
	keep := func(in []feedback.Option) []feedback.Option {
		var out []feedback.Option
		for _, o := range in {
			if o.Key != "" || o.Text.JA != "" || o.Text.EN != "" {
				out = append(out, o)
			}
		}
		return out
	}
	for pi := range d.Pages {
		for qi := range d.Pages[pi].Questions {
			q := &d.Pages[pi].Questions[qi]
			q.Options, q.Attributes = keep(q.Options), keep(q.Attributes)
		}
	}
}

// ---- the builder page

type builderView struct {
	P        *i18n.Printer
	ID       int64  // 0 for a new survey
	Action   string // where the form posts
	Status   string
	In       feedback.SurveyInput
	Pages    []builderPage
	Types    []feedback.QuestionType
	Presets  []string
	Ops      []string
	Touch    []string
	Stages   []string
	Focus    string
	ErrorKey string
	ErrorMsg string
	// errs are the service's field errors by path, "definition." removed.
	errs []*kizuna.Error
}

type builderPage struct {
	Index   int
	Number  int    // 1-based
	Prefix  string // "p0."
	Anchor  string // "p0"
	Page    feedback.Page
	Cond    condView
	Earlier []earlierQuestion // questions a condition on this page may use
	Qs      []builderQuestion
	First   bool
	Last    bool
	Errs    []string
}

type builderQuestion struct {
	PI, QI  int
	Prefix  string // "p0.q1."
	Anchor  string // "p0q1"
	Number  int    // 1-based across the survey
	Q       feedback.Question
	Cond    condView
	Earlier []earlierQuestion
	Labels  []labelRow
	First   bool
	Last    bool
	Errs    []string
	errs    []string // field suffixes with a problem, e.g. "text.ja"
}

type labelRow struct {
	Index int
	Point int
	Text  feedback.Text
}

type condView struct {
	Question, Op, Value string
}

type earlierQuestion struct {
	Key  string
	Type feedback.QuestionType
	Text string
}

// Invalid reports whether the service named this question's field (or a
// part or whole of it) as invalid: "text.ja" is invalid when the error
// names "text" or "text.ja".
func (q builderQuestion) Invalid(field string) bool {
	for _, e := range q.errs {
		if e == field || strings.HasPrefix(e, field+".") || strings.HasPrefix(e, field+"[") || strings.HasPrefix(field, e+".") {
			return true
		}
	}
	return false
}

// HasScale, HasEditableRange, HasLabels tell the template which scale
// fields a type has.
func (q builderQuestion) HasScale() bool { return q.Q.Scale != nil }
func (q builderQuestion) HasEditableRange() bool {
	return q.Q.Type == feedback.QRating || q.Q.Type == feedback.QExpectation
}

func condOf(c *feedback.Condition) condView {
	if c == nil {
		return condView{Op: "lte"}
	}
	cv := condView{Question: c.Question, Op: c.Op}
	switch c.Op {
	case "in":
		cv.Value = strings.Join(c.Values, ", ")
	case "answered":
	default:
		cv.Value = strconv.FormatFloat(c.Value, 'f', -1, 64)
	}
	return cv
}

// biField, condField and optionsField are what the builder's partial
// templates ("bilingual", "condition", "options") draw.
type biField struct {
	P            *i18n.Printer
	N, L         string // input name prefix, label key
	T            feedback.Text
	BadJA, BadEN bool
}

type condField struct {
	P   *i18n.Printer
	N   string
	C   condView
	E   []earlierQuestion
	Ops []string
	Bad bool
}

type optionsField struct {
	P      *i18n.Printer
	N      string
	List   []feedback.Option
	Op, At string
	Bad    bool
}

// Bi lays out a Japanese/English pair of inputs.
func (v *builderView) Bi(name, label string, t feedback.Text, badJA, badEN bool) biField {
	return biField{P: v.P, N: name, L: label, T: t, BadJA: badJA, BadEN: badEN}
}

// CondOf lays out a condition's inputs.
func (v *builderView) CondOf(prefix string, c condView, earlier []earlierQuestion, bad bool) condField {
	return condField{P: v.P, N: prefix, C: c, E: earlier, Ops: v.Ops, Bad: bad}
}

// OptsOf lays out a list of choices or attributes.
func (v *builderView) OptsOf(prefix string, list []feedback.Option, op, at string, bad bool) optionsField {
	return optionsField{P: v.P, N: prefix, List: list, Op: op, At: at, Bad: bad}
}

// fieldErrors flattens the service's error: every field error of a
// definition (feedback.FieldErrors), or the single one.
func fieldErrors(err error) []*kizuna.Error {
	var fe feedback.FieldErrors
	if errors.As(err, &fe) {
		return fe
	}
	var ke *kizuna.Error
	if errors.As(err, &ke) && ke.Field != "" {
		f := *ke
		f.Field = strings.TrimPrefix(f.Field, "definition.")
		return []*kizuna.Error{&f}
	}
	return nil
}

// FieldError returns the message for a top-level field ("name", "slug",
// "settings.delight_threshold" …), or "".
func (v *builderView) FieldError(field string) string {
	for _, e := range v.errs {
		if e.Field == field || strings.HasPrefix(e.Field, field+".") {
			return e.Message
		}
	}
	return ""
}

// newBuilderView lays the (normalized) definition out for the template,
// attaching each field error to the page or question it names.
func newBuilderView(id int64, status string, in feedback.SurveyInput, err error) *builderView {
	in.Definition = feedback.Normalize(in.Definition)
	v := &builderView{ID: id, Status: status, In: in, Types: questionTypes, Presets: []string{presetDetractors, presetPromoters},
		Ops: conditionOps, Touch: feedback.Touchpoints, Stages: feedback.JourneyStages, errs: fieldErrors(err)}
	v.Action = "/surveys"
	if id != 0 {
		v.Action = surveyURL(id) + "/edit"
	}
	var earlier []earlierQuestion
	n := 0
	for pi, p := range in.Definition.Pages {
		bp := builderPage{Index: pi, Number: pi + 1, Prefix: fmt.Sprintf("p%d.", pi), Anchor: fmt.Sprintf("p%d", pi), Page: p,
			Cond: condOf(p.ShowIf), Earlier: append([]earlierQuestion(nil), earlier...), First: pi == 0, Last: pi == len(in.Definition.Pages)-1}
		pagePath := fmt.Sprintf("pages[%d]", pi)
		for _, e := range v.errs {
			if e.Field == pagePath || strings.HasPrefix(e.Field, pagePath+".") && !strings.HasPrefix(e.Field, pagePath+".questions[") {
				bp.Errs = append(bp.Errs, e.Message)
			}
		}
		for qi, q := range p.Questions {
			n++
			bq := builderQuestion{PI: pi, QI: qi, Prefix: fmt.Sprintf("p%d.q%d.", pi, qi), Anchor: fmt.Sprintf("p%dq%d", pi, qi),
				Number: n, Q: q, Cond: condOf(q.ShowIf), Earlier: append([]earlierQuestion(nil), earlier...),
				First: pi == 0 && qi == 0, Last: pi == len(in.Definition.Pages)-1 && qi == len(p.Questions)-1}
			qPath := fmt.Sprintf("%s.questions[%d]", pagePath, qi)
			for _, e := range v.errs {
				if e.Field == qPath || strings.HasPrefix(e.Field, qPath+".") {
					bq.Errs = append(bq.Errs, e.Message)
					bq.errs = append(bq.errs, strings.TrimPrefix(strings.TrimPrefix(e.Field, qPath), "."))
				}
			}
			if q.Type == feedback.QCSAT && q.Scale != nil {
				for i := 0; i <= q.Scale.Max-q.Scale.Min; i++ {
					row := labelRow{Index: i, Point: q.Scale.Min + i}
					if i < len(q.Scale.Labels) {
						row.Text = q.Scale.Labels[i]
					}
					bq.Labels = append(bq.Labels, row)
				}
			}
			bp.Qs = append(bp.Qs, bq)
			earlier = append(earlier, earlierQuestion{Key: q.Key, Type: q.Type, Text: q.Text.In("en")})
		}
		v.Pages = append(v.Pages, bp)
	}
	return v
}

func (s *Server) renderBuilder(w http.ResponseWriter, r *http.Request, v *builderView, status int, err error) {
	title := "surveys.new.title"
	if v.ID != 0 {
		title = "surveys.edit.title"
	}
	v.P = state(r).Printer
	if v.P == nil {
		s.setLocale(state(r), r)
		v.P = state(r).Printer
	}
	if err != nil {
		code := kizuna.ErrorCode(s.classify(r, err))
		switch code {
		case kizuna.EINVALID, kizuna.ECONFLICT:
			v.ErrorKey, v.ErrorMsg = "error."+code, kizuna.ErrorMessage(err)
			status = statusOf(code)
		default:
			s.pageError(w, r, err)
			return
		}
	}
	s.render(w, r, status, "survey_edit", s.newPage(w, r, title, "surveys", v))
}

// builderStep handles a builder post: any op but "save" changes the posted
// definition and shows it again; "save" hands it to save. Builder steps
// write nothing, but they belong to designing a survey, so they need the
// permission the save will need (a viewer gets 403 at once, not after
// filling in a whole survey).
func (s *Server) builderStep(w http.ResponseWriter, r *http.Request, id int64, status string, save func(in feedback.SurveyInput) (int64, error)) {
	if err := auth.Require(r.Context(), auth.PermSurveysWrite); err != nil {
		s.pageError(w, r, err)
		return
	}
	f := parseBuilder(r.PostForm)
	if f.Op == "" || f.Op == "save" {
		dropBlankRows(&f.In.Definition)
		newID, err := save(f.In)
		if err != nil {
			s.renderBuilder(w, r, newBuilderView(id, status, f.In, err), http.StatusOK, err)
			return
		}
		http.Redirect(w, r, surveyURL(newID)+"?done=survey_saved", http.StatusSeeOther)
		return
	}
	if !f.apply(r.PostForm) {
		s.pageError(w, r, kizuna.FieldError("op", "unknown builder action %q", f.Op))
		return
	}
	v := newBuilderView(id, status, f.In, nil)
	v.Focus = f.Focus
	s.renderBuilder(w, r, v, http.StatusOK, nil)
}

func (s *Server) handleSurveyEdit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = auth.Require(r.Context(), auth.PermSurveysWrite) // the builder is for those who may save it
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	sv, err := s.cfg.Surveys.Get(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	in := feedback.SurveyInput{Slug: sv.Slug, Name: sv.Name, Touchpoint: sv.Touchpoint, JourneyStage: sv.JourneyStage,
		Settings: sv.Settings, Definition: sv.Draft}
	s.renderBuilder(w, r, newBuilderView(id, sv.Status, in, nil), http.StatusOK, nil)
}

func (s *Server) handleSurveyUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	status := r.PostFormValue("status")
	s.builderStep(w, r, id, status, func(in feedback.SurveyInput) (int64, error) {
		sv, err := s.cfg.Surveys.UpdateDraft(r.Context(), id, in)
		if err != nil {
			return 0, err
		}
		return sv.ID, nil
	})
}
