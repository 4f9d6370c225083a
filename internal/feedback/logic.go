package feedback

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/kizuna-oss/kizuna"
)

// Answers holds a respondent's answers so far by question key. An
// expectation question has one Answer per attribute.
type Answers map[string][]Answer

// AnswersOf indexes a flat answer list.
func AnswersOf(list []Answer) Answers {
	a := Answers{}
	for _, x := range list {
		a[x.Question] = append(a[x.Question], x)
	}
	return a
}

// Visibility says which pages and questions a respondent sees given the
// answers so far.
type Visibility struct {
	Pages     []bool          // by page index
	Questions map[string]bool // by question key
}

// Visible evaluates the definition's logic. A page or question is visible
// when it has no condition or its condition holds; a question on a hidden
// page is hidden; a condition on a hidden or unanswered question does not
// hold (except "ne", which also does not hold: no answer is not an answer
// different from x). Conditions only look back, so one pass in order
// decides everything, and an answer to a question that became hidden
// (the respondent went back and changed their score) no longer counts.
func Visible(d Definition, answers Answers) Visibility {
	vis := Visibility{Pages: make([]bool, len(d.Pages)), Questions: map[string]bool{}}
	for pi, p := range d.Pages {
		pageOn := p.ShowIf == nil || holds(*p.ShowIf, answers, vis.Questions)
		vis.Pages[pi] = pageOn
		for _, q := range p.Questions {
			vis.Questions[q.Key] = pageOn && (q.ShowIf == nil || holds(*q.ShowIf, answers, vis.Questions))
		}
	}
	return vis
}

func holds(c Condition, answers Answers, visible map[string]bool) bool {
	if !visible[c.Question] {
		return false
	}
	as := answers[c.Question]
	if len(as) == 0 {
		return false
	}
	a := as[0]
	switch c.Op {
	case "answered":
		return true
	case "in":
		chosen := []string{a.Text}
		var multi []string
		if json.Unmarshal([]byte(a.Text), &multi) == nil {
			chosen = multi
		}
		for _, k := range chosen {
			if slices.Contains(c.Values, k) {
				return true
			}
		}
		return false
	}
	if a.Num == nil {
		return false
	}
	n := *a.Num
	switch c.Op {
	case "eq":
		return n == c.Value
	case "ne":
		return n != c.Value
	case "lt":
		return n < c.Value
	case "lte":
		return n <= c.Value
	case "gt":
		return n > c.Value
	case "gte":
		return n >= c.Value
	}
	return false
}

// questionByKey finds a question and its page index.
func questionByKey(d Definition, key string) (Question, int, bool) {
	for pi, p := range d.Pages {
		for _, q := range p.Questions {
			if q.Key == key {
				return q, pi, true
			}
		}
	}
	return Question{}, -1, false
}

// pageIndex finds a page by key.
func pageIndex(d Definition, key string) int {
	for i, p := range d.Pages {
		if p.Key == key {
			return i
		}
	}
	return -1
}

// checkAnswer validates one answer against its question: scores are whole
// numbers on the scale, choices are option keys, expectation answers name
// an attribute and carry both numbers. field prefixes error fields.
func checkAnswer(q Question, a Answer, field string) error {
	inScale := func(f string, x *float64) error {
		if x == nil {
			return kizuna.FieldError(f, "question %q needs a score", q.Key)
		}
		if math.IsNaN(*x) || *x != math.Trunc(*x) || *x < float64(q.Scale.Min) || *x > float64(q.Scale.Max) {
			return kizuna.FieldError(f, "question %q takes a whole number from %d to %d, not %v", q.Key, q.Scale.Min, q.Scale.Max, *x)
		}
		return nil
	}
	switch q.Type {
	case QNPS, QCSAT, QCES, QRating:
		if a.Attribute != "" || a.Num2 != nil || a.Text != "" {
			return kizuna.FieldError(field, "question %q takes one score only", q.Key)
		}
		return inScale(field+".num", a.Num)
	case QExpectation:
		found := false
		for _, at := range q.Attributes {
			found = found || at.Key == a.Attribute
		}
		if !found {
			return kizuna.FieldError(field+".attribute", "question %q has no attribute %q", q.Key, a.Attribute)
		}
		if err := inScale(field+".num", a.Num); err != nil {
			return err
		}
		return inScale(field+".num2", a.Num2)
	case QSingle:
		if a.Num != nil || a.Num2 != nil || a.Attribute != "" {
			return kizuna.FieldError(field, "question %q takes one option key", q.Key)
		}
		if !hasOption(q, a.Text) {
			return kizuna.FieldError(field+".text", "question %q has no option %q", q.Key, a.Text)
		}
	case QMulti:
		var keys []string
		if err := json.Unmarshal([]byte(a.Text), &keys); err != nil || len(keys) == 0 {
			return kizuna.FieldError(field+".text", "question %q takes a JSON array of option keys", q.Key)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if !hasOption(q, k) {
				return kizuna.FieldError(field+".text", "question %q has no option %q", q.Key, k)
			}
			if seen[k] {
				return kizuna.FieldError(field+".text", "option %q is chosen twice", k)
			}
			seen[k] = true
		}
	case QText:
		if a.Num != nil || a.Num2 != nil || a.Attribute != "" {
			return kizuna.FieldError(field, "question %q takes text only", q.Key)
		}
		if len(a.Text) > maxTextAnswer {
			return kizuna.FieldError(field+".text", "an answer has at most %d bytes", maxTextAnswer)
		}
	default:
		return kizuna.FieldError(field, "question %q has an unknown type", q.Key)
	}
	return nil
}

// maxTextAnswer bounds a free-text answer (about 6,000 Japanese characters).
const maxTextAnswer = 20000

func hasOption(q Question, key string) bool {
	for _, o := range q.Options {
		if o.Key == key {
			return true
		}
	}
	return false
}

// answered reports whether q has a complete answer: every attribute of an
// expectation question, non-blank text for a text question.
func answered(q Question, as []Answer) bool {
	switch q.Type {
	case QExpectation:
		got := map[string]bool{}
		for _, a := range as {
			got[a.Attribute] = true
		}
		for _, at := range q.Attributes {
			if !got[at.Key] {
				return false
			}
		}
		return true
	case QText:
		return len(as) > 0 && as[0].Text != ""
	}
	return len(as) > 0
}

// missingRequired returns the first visible required question without a
// complete answer, or "".
func missingRequired(d Definition, answers Answers) (string, string) {
	vis := Visible(d, answers)
	for pi, p := range d.Pages {
		for qi, q := range p.Questions {
			if q.Required && vis.Questions[q.Key] && !answered(q, answers[q.Key]) {
				return q.Key, fmt.Sprintf("pages[%d].questions[%d]", pi, qi)
			}
		}
	}
	return "", ""
}
