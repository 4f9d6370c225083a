package feedback

import (
	"errors"
	"testing"

	"github.com/kizuna-oss/kizuna"
)

func TestValidateAcceptsSample(t *testing.T) {
	d := Normalize(sampleDefinition())
	if err := Validate(d); err != nil {
		t.Fatalf("sample: %v", err)
	}
	nps := d.Pages[0].Questions[0]
	if nps.Scale == nil || nps.Scale.Min != 0 || nps.Scale.Max != 10 {
		t.Fatalf("NPS scale not defaulted: %+v", nps.Scale)
	}
	if nps.Text.EN != "How likely are you to recommend our store to a friend or colleague?" || nps.Text.JA == "" {
		t.Fatalf("NPS wording: %+v", nps.Text)
	}
	csat := d.Pages[2].Questions[0]
	if csat.Scale.Min != 1 || csat.Scale.Max != 5 || len(csat.Scale.Labels) != 5 || csat.Scale.TopBoxLen != 2 {
		t.Fatalf("CSAT defaults: %+v", csat.Scale)
	}
	if e := d.Pages[2].Questions[1].Scale; e == nil || e.Min != 1 || e.Max != 5 {
		t.Fatalf("expectation default scale: %+v", e)
	}
	// Normalize does not touch its input.
	if sampleDefinition().Pages[0].Questions[0].Scale != nil {
		t.Fatal("Normalize changed its input")
	}
}

func TestValidateFieldErrors(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(d *Definition)
		field string
	}{
		{"no pages", func(d *Definition) { d.Pages = nil }, "pages"},
		{"bad page key", func(d *Definition) { d.Pages[1].Key = "Why" }, "pages[1].key"},
		{"duplicate page key", func(d *Definition) { d.Pages[2].Key = "score" }, "pages[2].key"},
		{"duplicate question key", func(d *Definition) { d.Pages[2].Questions[0].Key = "nps" }, "pages[2].questions[0].key"},
		{"bad question key", func(d *Definition) { d.Pages[2].Questions[0].Key = "c-sat" }, "pages[2].questions[0].key"},
		{"missing english", func(d *Definition) { d.Pages[2].Questions[0].Text.EN = "" }, "pages[2].questions[0].text.en"},
		{"missing japanese option", func(d *Definition) { d.Pages[2].Questions[2].Options[1].Text.JA = " " }, "pages[2].questions[2].options[1].text.ja"},
		{"nps max", func(d *Definition) { d.Pages[0].Questions[0].Scale = &Scale{Min: 0, Max: 5} }, "pages[0].questions[0].scale.max"},
		{"ces min", func(d *Definition) {
			d.Pages[2].Questions[0] = Question{Key: "effort", Type: QCES, Text: tx("簡単", "Easy"), Scale: &Scale{Min: 0, Max: 7}}
		}, "pages[2].questions[0].scale.min"},
		{"rating too wide", func(d *Definition) {
			d.Pages[2].Questions[0] = Question{Key: "r", Type: QRating, Text: tx("評価", "Rate"), Scale: &Scale{Min: 0, Max: 20}}
		}, "pages[2].questions[0].scale.max"},
		{"rating reversed", func(d *Definition) {
			d.Pages[2].Questions[0] = Question{Key: "r", Type: QRating, Text: tx("評価", "Rate"), Scale: &Scale{Min: 5, Max: 1}}
		}, "pages[2].questions[0].scale.max"},
		{"csat labels count", func(d *Definition) {
			d.Pages[2].Questions[0].Scale = &Scale{Min: 1, Max: 5, Labels: []Text{tx("a", "a")}}
		}, "pages[2].questions[0].scale.labels"},
		{"expectation without attributes", func(d *Definition) { d.Pages[2].Questions[1].Attributes = nil }, "pages[2].questions[1].attributes"},
		{"single without options", func(d *Definition) { d.Pages[2].Questions[2].Options = nil }, "pages[2].questions[2].options"},
		{"unknown type", func(d *Definition) { d.Pages[2].Questions[0].Type = "slider" }, "pages[2].questions[0].type"},
		{"condition on later question", func(d *Definition) {
			d.Pages[0].Questions[0].ShowIf = &Condition{Question: "csat", Op: "gte", Value: 4}
		}, "pages[0].questions[0].show_if.question"},
		{"condition on itself", func(d *Definition) {
			d.Pages[2].Questions[0].ShowIf = &Condition{Question: "csat", Op: "gte", Value: 4}
		}, "pages[2].questions[0].show_if.question"},
		{"numeric op on text", func(d *Definition) {
			d.Pages[2].Questions[0].ShowIf = &Condition{Question: "disappointed", Op: "lt", Value: 3}
		}, "pages[2].questions[0].show_if.op"},
		{"in on a score", func(d *Definition) {
			d.Pages[2].Questions[0].ShowIf = &Condition{Question: "nps", Op: "in", Values: []string{"x"}}
		}, "pages[2].questions[0].show_if.op"},
		{"in unknown option", func(d *Definition) {
			d.Pages[2].Questions[3].ShowIf = &Condition{Question: "channel", Op: "in", Values: []string{"web", "phone"}}
		}, "pages[2].questions[3].show_if.values[1]"},
		{"value outside scale", func(d *Definition) {
			d.Pages[1].Questions[0].ShowIf = &Condition{Question: "nps", Op: "lte", Value: 11}
		}, "pages[1].questions[0].show_if.value"},
		{"unknown op", func(d *Definition) { d.Pages[1].ShowIf = &Condition{Question: "nps", Op: "like"} }, "pages[1].show_if.op"},
		{"empty page", func(d *Definition) { d.Pages[1].Questions = nil }, "pages[1].questions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := sampleDefinition()
			c.edit(&d)
			err := Validate(Normalize(d))
			if err == nil {
				t.Fatal("accepted")
			}
			if kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != c.field {
				t.Fatalf("got %s %q (%v), want field %q", kizuna.ErrorCode(err), kizuna.ErrorField(err), err, c.field)
			}
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	d := sampleDefinition()
	d.Pages[2].Questions[0].Text.EN = ""
	d.Pages[2].Questions[2].Options[0].Key = "Web"
	err := Validate(Normalize(d))
	var all FieldErrors
	if !errors.As(err, &all) || len(all) != 2 {
		t.Fatalf("want 2 field errors, got %v", err)
	}
	if all[1].Field != "pages[2].questions[2].options[0].key" {
		t.Fatalf("second: %q", all[1].Field)
	}
}

func TestVisible(t *testing.T) {
	d := Normalize(sampleDefinition())
	cases := []struct {
		name         string
		answers      []Answer
		disappointed bool
		delighted    bool
		whyPage      bool
	}{
		{"nothing yet", nil, false, false, false},
		{"detractor 0", []Answer{{Question: "nps", Num: f64(0)}}, true, false, true},
		{"detractor 6", []Answer{{Question: "nps", Num: f64(6)}}, true, false, true},
		{"passive 7", []Answer{{Question: "nps", Num: f64(7)}}, false, false, true},
		{"passive 8", []Answer{{Question: "nps", Num: f64(8)}}, false, false, true},
		{"promoter 9", []Answer{{Question: "nps", Num: f64(9)}}, false, true, true},
		{"promoter 10", []Answer{{Question: "nps", Num: f64(10)}}, false, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Visible(d, AnswersOf(c.answers))
			if v.Questions["disappointed"] != c.disappointed || v.Questions["delighted"] != c.delighted || v.Pages[1] != c.whyPage {
				t.Fatalf("got disappointed=%v delighted=%v page=%v", v.Questions["disappointed"], v.Questions["delighted"], v.Pages[1])
			}
			if !v.Questions["csat"] || !v.Questions["nps"] {
				t.Fatal("unconditional questions hidden")
			}
		})
	}
	// A condition on a hidden question does not hold, however it was answered.
	d2 := Normalize(sampleDefinition())
	d2.Pages[2].Questions = append(d2.Pages[2].Questions, Question{Key: "followup", Type: QText, Text: tx("a", "a"),
		ShowIf: &Condition{Question: "disappointed", Op: "answered"}})
	v := Visible(d2, AnswersOf([]Answer{{Question: "nps", Num: f64(10)}, {Question: "disappointed", Text: "old"}}))
	if v.Questions["followup"] {
		t.Fatal("a condition on a hidden question held")
	}
	// in: single and multi choices.
	d3 := Normalize(sampleDefinition())
	d3.Pages[2].Questions = append(d3.Pages[2].Questions,
		Question{Key: "webq", Type: QText, Text: tx("a", "a"), ShowIf: &Condition{Question: "channel", Op: "in", Values: []string{"web"}}},
		Question{Key: "saleq", Type: QText, Text: tx("a", "a"), ShowIf: &Condition{Question: "topics", Op: "in", Values: []string{"sale"}}})
	if err := Validate(d3); err != nil {
		t.Fatal(err)
	}
	v = Visible(d3, AnswersOf([]Answer{{Question: "channel", Text: "web"}, {Question: "topics", Text: `["new","sale"]`}}))
	if !v.Questions["webq"] || !v.Questions["saleq"] {
		t.Fatalf("in: %v", v.Questions)
	}
	v = Visible(d3, AnswersOf([]Answer{{Question: "channel", Text: "store"}, {Question: "topics", Text: `["new"]`}}))
	if v.Questions["webq"] || v.Questions["saleq"] {
		t.Fatalf("in (no match): %v", v.Questions)
	}
}

func TestCheckAnswer(t *testing.T) {
	d := Normalize(sampleDefinition())
	q := func(key string) Question { x, _, _ := questionByKey(d, key); return x }
	cases := []struct {
		name  string
		q     string
		a     Answer
		field string // "" = valid
	}{
		{"nps 10", "nps", Answer{Question: "nps", Num: f64(10)}, ""},
		{"nps 11", "nps", Answer{Question: "nps", Num: f64(11)}, "a.num"},
		{"nps -1", "nps", Answer{Question: "nps", Num: f64(-1)}, "a.num"},
		{"nps 7.5", "nps", Answer{Question: "nps", Num: f64(7.5)}, "a.num"},
		{"nps none", "nps", Answer{Question: "nps"}, "a.num"},
		{"csat 0", "csat", Answer{Question: "csat", Num: f64(0)}, "a.num"},
		{"csat text", "csat", Answer{Question: "csat", Num: f64(3), Text: "x"}, "a"},
		{"expectation ok", "expect", Answer{Question: "expect", Attribute: "price", Num: f64(3), Num2: f64(5)}, ""},
		{"expectation bad attribute", "expect", Answer{Question: "expect", Attribute: "staff", Num: f64(3), Num2: f64(5)}, "a.attribute"},
		{"expectation no perception", "expect", Answer{Question: "expect", Attribute: "price", Num: f64(3)}, "a.num2"},
		{"single ok", "channel", Answer{Question: "channel", Text: "web"}, ""},
		{"single unknown", "channel", Answer{Question: "channel", Text: "phone"}, "a.text"},
		{"multi ok", "topics", Answer{Question: "topics", Text: `["sale","new"]`}, ""},
		{"multi twice", "topics", Answer{Question: "topics", Text: `["sale","sale"]`}, "a.text"},
		{"multi not json", "topics", Answer{Question: "topics", Text: `sale`}, "a.text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkAnswer(q(c.q), c.a, "a")
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if kizuna.ErrorField(err) != c.field {
				t.Fatalf("got %v (field %q), want field %q", err, kizuna.ErrorField(err), c.field)
			}
		})
	}
}

func TestRender(t *testing.T) {
	ja := Render(sampleDefinition(), "ja-JP")
	en := Render(sampleDefinition(), "en-US")
	if ja.Locale != "ja" || en.Locale != "en" {
		t.Fatalf("locales %q %q", ja.Locale, en.Locale)
	}
	nps := en.Pages[0].Questions[0]
	if len(nps.Points) != 11 || nps.Points[0].Value != 0 || nps.Points[10].Value != 10 || nps.MinLabel != "Not at all likely" {
		t.Fatalf("NPS points: %+v", nps)
	}
	csat := ja.Pages[2].Questions[0]
	if len(csat.Points) != 5 || csat.Points[0].Label != "非常に不満" || csat.Points[4].Label != "非常に満足" {
		t.Fatalf("CSAT points: %+v", csat.Points)
	}
	if !ja.Pages[1].Conditional || !ja.Pages[1].Questions[0].Conditional || ja.Pages[1].Questions[0].Text != "何が残念でしたか？" {
		t.Fatalf("conditional page: %+v", ja.Pages[1])
	}
	if ja.Pages[2].Questions[1].Attributes[1].Text != "価格" || en.Intro != "Thank you for your purchase." {
		t.Fatal("attributes or intro not localized")
	}
}
