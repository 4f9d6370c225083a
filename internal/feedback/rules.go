package feedback

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/kizuna-oss/kizuna"
)

// ContactRules keep customers from being surveyed too often. The global
// set (survey 0) applies to every survey unless a survey has its own set,
// which then replaces it whole.
type ContactRules struct {
	// CooldownDays since the customer's last invitation to any survey
	// (default 30 when the field is omitted; 0 or NoCooldown turns the
	// cooldown off).
	CooldownDays int  `json:"cooldown_days"`
	NoCooldown   bool `json:"no_cooldown,omitempty"`
	// MaxPerPeriod invitations per PeriodDays (default 3 per 90 days; 0
	// means no limit).
	MaxPerPeriod int `json:"max_per_period"`
	PeriodDays   int `json:"period_days"`
	// SamplePercent of customers are invited (1–100, default 100). Who is
	// in the sample is a hash of customer and survey: re-evaluating never
	// changes the decision.
	SamplePercent int `json:"sample_percent"`
	// QuietStart and QuietEnd ("HH:MM", local time of the customer) bound
	// the hours no invitation is sent; a send that falls inside waits for
	// QuietEnd. Both empty: no quiet hours. Default 21:00–09:00.
	QuietStart string `json:"quiet_start"`
	QuietEnd   string `json:"quiet_end"`
	// TimeZone for customers without one (IANA name, default Asia/Tokyo).
	TimeZone string `json:"time_zone"`
}

// DefaultContactRules are the rules before anyone changes them.
func DefaultContactRules() ContactRules {
	return ContactRules{CooldownDays: 30, MaxPerPeriod: 3, PeriodDays: 90, SamplePercent: 100,
		QuietStart: "21:00", QuietEnd: "09:00", TimeZone: "Asia/Tokyo"}
}

// Skip reasons recorded on skipped invitations.
const (
	SkipCooldown      = "cooldown"
	SkipMaxPerPeriod  = "max_per_period"
	SkipSampledOut    = "sampled_out"
	SkipOpenComplaint = "open_complaint"
	SkipNoEmail       = "no_email"
	SkipUnsubscribed  = "unsubscribed"
	SkipSurveyClosed  = "survey_closed"
	// SkipNoCustomer: the invitation's customer no longer exists.
	SkipNoCustomer = "no_customer"
)

func parseClock(field, s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, kizuna.FieldError(field, "%q is not a time of day (HH:MM)", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Check validates the rules. Errors: EINVALID naming the field.
func (r ContactRules) Check() error {
	if r.CooldownDays < 0 || r.CooldownDays > 3650 {
		return kizuna.FieldError("cooldown_days", "the cooldown is 0–3650 days")
	}
	if r.MaxPerPeriod < 0 {
		return kizuna.FieldError("max_per_period", "the maximum cannot be negative")
	}
	if r.MaxPerPeriod > 0 && (r.PeriodDays < 1 || r.PeriodDays > 3650) {
		return kizuna.FieldError("period_days", "the period is 1–3650 days")
	}
	if r.SamplePercent < 1 || r.SamplePercent > 100 {
		return kizuna.FieldError("sample_percent", "the sample is 1–100 percent")
	}
	if (r.QuietStart == "") != (r.QuietEnd == "") {
		return kizuna.FieldError("quiet_end", "quiet hours need a start and an end")
	}
	if r.QuietStart != "" {
		s, err := parseClock("quiet_start", r.QuietStart)
		if err != nil {
			return err
		}
		e, err := parseClock("quiet_end", r.QuietEnd)
		if err != nil {
			return err
		}
		if s == e {
			return kizuna.FieldError("quiet_end", "quiet hours cannot start and end at the same time")
		}
	}
	if _, err := time.LoadLocation(r.TimeZone); err != nil || r.TimeZone == "" {
		return kizuna.FieldError("time_zone", "unknown time zone %q", r.TimeZone)
	}
	return nil
}

// ContactState is what a send decision knows about the customer.
type ContactState struct {
	Now        time.Time
	SurveyID   int64
	CustomerID int64
	Channel    string
	// SurveyLive is false when the survey was closed meanwhile.
	SurveyLive    bool
	CustomerFound bool
	Email         string
	TimeZone      string // the customer's IANA zone, "" if unknown
	Unsubscribed  bool
	OpenComplaint bool
	// LastInvitedAt is the customer's latest invitation sent for any
	// survey (nil: never).
	LastInvitedAt *time.Time
	// InvitedInPeriod counts invitations sent in the rules' period.
	InvitedInPeriod int
}

// Decision is the outcome of the contact rules for one invitation: send
// now, skip (with the reason recorded), or wait until DeferUntil.
type Decision struct {
	Send       bool
	Skip       string
	DeferUntil time.Time
}

// Decide applies the rules, in the order of the strongest reason first
// (a closed survey or an unsubscribed customer says more than a cooldown),
// quiet hours last: they only move a send that every other rule allows.
func Decide(r ContactRules, st ContactState) Decision {
	switch {
	case !st.SurveyLive:
		return Decision{Skip: SkipSurveyClosed}
	case !st.CustomerFound:
		return Decision{Skip: SkipNoCustomer}
	case st.Unsubscribed:
		return Decision{Skip: SkipUnsubscribed}
	case st.Channel == ChannelEmail && st.Email == "":
		return Decision{Skip: SkipNoEmail}
	case st.OpenComplaint:
		return Decision{Skip: SkipOpenComplaint}
	case !InSample(st.SurveyID, st.CustomerID, r.SamplePercent):
		return Decision{Skip: SkipSampledOut}
	case !r.NoCooldown && r.CooldownDays > 0 && st.LastInvitedAt != nil &&
		st.Now.Sub(*st.LastInvitedAt) < time.Duration(r.CooldownDays)*24*time.Hour:
		return Decision{Skip: SkipCooldown}
	case r.MaxPerPeriod > 0 && st.InvitedInPeriod >= r.MaxPerPeriod:
		return Decision{Skip: SkipMaxPerPeriod}
	}
	if until, quiet := QuietUntil(r, st.TimeZone, st.Now); quiet {
		return Decision{DeferUntil: until}
	}
	return Decision{Send: true}
}

// InSample reports whether the customer is in the survey's sample: the
// first 8 bytes of SHA-256("survey:customer") taken modulo 10,000 fall
// below percent × 100. Stable across re-evaluations and nodes, and
// independent between surveys.
func InSample(surveyID, customerID int64, percent int) bool {
	if percent >= 100 {
		return true
	}
	if percent <= 0 {
		return false
	}
	h := sha256.Sum256([]byte(strconv.FormatInt(surveyID, 10) + ":" + strconv.FormatInt(customerID, 10)))
	return binary.BigEndian.Uint64(h[:8])%10000 < uint64(percent)*100
}

// QuietUntil reports whether now falls in the quiet hours of zone tz (the
// rules' default zone when tz is empty or unknown) and, if so, when they
// end. The end is a wall-clock time on the right local day: across a DST
// change the wait is an hour longer or shorter, and an end inside a
// skipped hour moves to the first valid instant after it.
func QuietUntil(r ContactRules, tz string, now time.Time) (time.Time, bool) {
	if r.QuietStart == "" || r.QuietEnd == "" {
		return time.Time{}, false
	}
	start, err1 := parseClock("quiet_start", r.QuietStart)
	end, err2 := parseClock("quiet_end", r.QuietEnd)
	if err1 != nil || err2 != nil || start == end {
		return time.Time{}, false
	}
	loc := loadZone(tz, r.TimeZone)
	local := now.In(loc)
	m := local.Hour()*60 + local.Minute()
	y, mo, d := local.Date()
	endOn := func(day int) time.Time {
		return time.Date(y, mo, day, end/60, end%60, 0, 0, loc)
	}
	if start < end { // e.g. 12:00–14:00, same day
		if m >= start && m < end {
			return endOn(d), true
		}
		return time.Time{}, false
	}
	// Across midnight, e.g. 21:00–09:00.
	switch {
	case m >= start:
		return endOn(d + 1), true
	case m < end:
		return endOn(d), true
	}
	return time.Time{}, false
}

func loadZone(names ...string) *time.Location {
	for _, n := range names {
		if n == "" {
			continue
		}
		if loc, err := time.LoadLocation(n); err == nil {
			return loc
		}
	}
	return time.UTC
}

// PropertyCondition narrows a trigger to events whose property (a dotted
// path into the properties object) matches: ops eq, ne (compare as JSON
// values), gt, gte, lt, lte (numbers), exists, in (any of Values).
type PropertyCondition struct {
	Property string `json:"property"`
	Op       string `json:"op"`
	Value    any    `json:"value,omitempty"`
	Values   []any  `json:"values,omitempty"`
}

func (c PropertyCondition) check(field string) error {
	if c.Property == "" {
		return kizuna.FieldError(field+".property", "name the event property to test")
	}
	switch c.Op {
	case "eq", "ne":
		if c.Value == nil {
			return kizuna.FieldError(field+".value", "%q needs a value", c.Op)
		}
	case "gt", "gte", "lt", "lte":
		if _, ok := c.Value.(float64); !ok {
			return kizuna.FieldError(field+".value", "%q compares numbers; give a number", c.Op)
		}
	case "in":
		if len(c.Values) == 0 {
			return kizuna.FieldError(field+".values", "\"in\" needs values")
		}
	case "exists":
	default:
		return kizuna.FieldError(field+".op", "unknown operator %q (want eq, ne, gt, gte, lt, lte, exists or in)", c.Op)
	}
	return nil
}

// lookup follows a dotted path into decoded JSON properties.
func lookup(props map[string]any, path string) (any, bool) {
	var cur any = props
	start := 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '.' {
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[path[start:i]]
		if !ok {
			return nil, false
		}
		start = i + 1
	}
	return cur, true
}

func sameJSON(a, b any) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// Matches reports whether every condition holds for the properties.
func Matches(conds []PropertyCondition, props map[string]any) bool {
	for _, c := range conds {
		v, ok := lookup(props, c.Property)
		switch c.Op {
		case "exists":
			if !ok || v == nil {
				return false
			}
		case "eq":
			if !ok || !sameJSON(v, c.Value) {
				return false
			}
		case "ne":
			if ok && sameJSON(v, c.Value) {
				return false
			}
		case "in":
			found := false
			for _, x := range c.Values {
				found = found || ok && sameJSON(v, x)
			}
			if !found {
				return false
			}
		case "gt", "gte", "lt", "lte":
			n, isNum := v.(float64)
			want, _ := c.Value.(float64)
			if !ok || !isNum {
				return false
			}
			if (c.Op == "gt" && !(n > want)) || (c.Op == "gte" && !(n >= want)) ||
				(c.Op == "lt" && !(n < want)) || (c.Op == "lte" && !(n <= want)) {
				return false
			}
		default:
			return false
		}
	}
	return true
}
