package sla

import (
	"testing"

	"github.com/kizuna-oss/kizuna"
)

func TestTargetsForPicksTheMostSpecificRulePerMetric(t *testing.T) {
	tests := []struct {
		priority, category string
		want               []Target
	}{
		{"normal", "shipping", []Target{biz(FirstResponse, 240), biz(NextResponse, 480), biz(Resolution, 1620)}},
		{"urgent", "shipping", []Target{biz(FirstResponse, 60), biz(NextResponse, 480), wall(Resolution, 480)}},
		{"normal", "complaint", []Target{biz(FirstResponse, 30), biz(NextResponse, 480), biz(Resolution, 1620)}},
		{"urgent", "complaint", []Target{wall(FirstResponse, 15), biz(NextResponse, 480), wall(Resolution, 480)}},
	}
	for _, tt := range tests {
		got := basePol.TargetsFor(tt.priority, tt.category)
		if len(got) != len(tt.want) {
			t.Errorf("%s/%s: %v, want %v", tt.priority, tt.category, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s/%s: %v, want %v", tt.priority, tt.category, got, tt.want)
				break
			}
		}
	}
	p := &Policy{Rules: []Rule{{Priority: "urgent", Targets: []Target{biz(FirstResponse, 60)}}}}
	if got := p.TargetsFor("low", ""); got != nil {
		t.Errorf("no matching rule must give no targets, got %v", got)
	}
	if got := Evaluate(p, Timeline{Priority: "low"}, jst("2026-11-24 10:00")); got != nil {
		t.Errorf("Evaluate without targets = %v", got)
	}
}

func TestPolicyValidate(t *testing.T) {
	ok := func() Policy {
		return Policy{Warning: Warning{Percent: 75}, Rules: []Rule{{Targets: []Target{biz(FirstResponse, 60)}}}}
	}
	tests := []struct {
		name  string
		edit  func(*Policy)
		field string
	}{
		{"valid", func(*Policy) {}, ""},
		{"no rules", func(p *Policy) { p.Rules = nil }, "rules"},
		{"percent 100", func(p *Policy) { p.Warning.Percent = 100 }, "warning.percent"},
		{"negative minutes before", func(p *Policy) { p.Warning.MinutesBefore = -5 }, "warning.minutes_before"},
		{"rule without targets", func(p *Policy) { p.Rules[0].Targets = nil }, "rules[0].targets"},
		{"unknown metric", func(p *Policy) { p.Rules[0].Targets[0].Metric = "happiness" }, "rules[0].targets[0].metric"},
		{"zero minutes", func(p *Policy) { p.Rules[0].Targets[0].Minutes = 0 }, "rules[0].targets[0].minutes"},
		{"over a year", func(p *Policy) { p.Rules[0].Targets[0].Minutes = 400 * 24 * 60 }, "rules[0].targets[0].minutes"},
		{"no measure", func(p *Policy) { p.Rules[0].Targets[0].Measure = "" }, "rules[0].targets[0].measure"},
		{"metric twice", func(p *Policy) {
			p.Rules[0].Targets = append(p.Rules[0].Targets, biz(FirstResponse, 30))
		}, "rules[0].targets[1].metric"},
		{"same selector twice", func(p *Policy) { p.Rules = append(p.Rules, p.Rules[0]) }, "rules[1]"},
	}
	for _, tt := range tests {
		p := ok()
		tt.edit(&p)
		err := p.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != tt.field {
			t.Errorf("%s: Validate = %v (field %q), want EINVALID on %q", tt.name, err, kizuna.ErrorField(err), tt.field)
		}
	}
}

func TestWarningMinutesBeforeAndPercentTakeTheEarlier(t *testing.T) {
	tl := Timeline{CreatedAt: jst("2026-11-24 10:00")}
	now := jst("2026-11-24 10:01")
	tests := []struct {
		w    Warning
		want string // WarnAt of the 4h first-response target
	}{
		{Warning{Percent: 75}, "2026-11-24 13:00"},
		{Warning{MinutesBefore: 30}, "2026-11-24 13:30"},
		{Warning{Percent: 75, MinutesBefore: 30}, "2026-11-24 13:00"},
		{Warning{Percent: 75, MinutesBefore: 90}, "2026-11-24 12:30"},
		{Warning{MinutesBefore: 600}, "2026-11-24 10:00"}, // more than the target: warn from the start
		{Warning{}, "-"},
	}
	for _, tt := range tests {
		p := &Policy{Calendar: officeJP, Warning: tt.w, Rules: rules}
		st := Evaluate(p, tl, now)
		if got := fmtT(st[0].WarnAt); got != tt.want {
			t.Errorf("%+v: WarnAt = %s, want %s", tt.w, got, tt.want)
		}
		if tt.w.MinutesBefore == 600 && !st[0].Warned() {
			t.Errorf("%+v: should already be warned", tt.w)
		}
	}
}
