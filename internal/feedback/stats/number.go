package stats

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/kizuna-oss/kizuna"
)

// Number is a statistic that may be missing. The zero value is missing.
//
// A missing number is not 0 (an NPS of 0 is a real, middling result) and
// not NaN (which encoding/json refuses and which silently poisons every sum
// it touches). It marshals to JSON null, so the UI has to decide what to show
// for "no value" instead of drawing a confident zero.
type Number struct {
	v  float64
	ok bool
}

// Known returns v as a present number. NaN and ±Inf become missing: they only
// arise from a division by an empty or degenerate sample, and a caller that
// shows them would be showing a confident number that does not exist.
func Known(v float64) Number {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Number{}
	}
	return Number{v: v, ok: true}
}

// Missing is the absent number (the same as the zero value).
var Missing = Number{}

// Get returns the value and whether it is present.
func (n Number) Get() (float64, bool) { return n.v, n.ok }

// Valid reports whether the number is present.
func (n Number) Valid() bool { return n.ok }

// Or returns the value, or def when the number is missing.
func (n Number) Or(def float64) float64 {
	if !n.ok {
		return def
	}
	return n.v
}

// String formats the number for logs and test messages; "—" when missing.
func (n Number) String() string {
	if !n.ok {
		return "—"
	}
	return strconv.FormatFloat(n.v, 'g', 6, 64)
}

// MarshalJSON writes the number, or null when missing.
func (n Number) MarshalJSON() ([]byte, error) {
	if !n.ok {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, n.v, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number or null.
func (n *Number) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*n = Number{}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*n = Known(v)
	return nil
}

// Reason says why a result must be shown with a warning rather than as a
// confident number. It is a stable code, not a sentence, so the web layer can
// say it in Japanese or English.
type Reason string

// Reasons a result is flagged.
const (
	// ReasonNone: the sample is large enough for the interval to be trusted.
	ReasonNone Reason = ""
	// ReasonNoData: n = 0; there is no value at all.
	ReasonNoData Reason = "no_data"
	// ReasonBelowMinimum: 0 < n < Options.MinN.
	ReasonBelowMinimum Reason = "below_minimum"
	// ReasonNoVariation: every answer is identical, so a standard deviation
	// based interval has zero width, which says nothing about the population.
	ReasonNoVariation Reason = "no_variation"
	// ReasonTooFewPerDriver: a key-driver regression with fewer than
	// MinRowsPerDriver complete responses per attribute (or fewer than MinN).
	ReasonTooFewPerDriver Reason = "too_few_per_driver"
	// ReasonCollinear: two or more driver attributes move together so
	// exactly that their separate effects cannot be estimated.
	ReasonCollinear Reason = "collinear"
)

// Method names the interval (or test) that produced a result, so a reader of
// an export can look it up.
type Method string

// Interval and test methods.
const (
	MethodWald          Method = "wald"
	MethodAdjustedWald  Method = "adjusted_wald"
	MethodScore         Method = "score"
	MethodWilson        Method = "wilson"
	MethodGoodman       Method = "goodman"
	MethodStudentT      Method = "student_t"
	MethodNewcombe      Method = "newcombe_hybrid_score"
	MethodPooledZ       Method = "pooled_z"
	MethodTwoProportion Method = "two_proportion_z"
	MethodWelch         Method = "welch_t"
	MethodOLS           Method = "ols"
)

// Estimate is one number with its uncertainty.
//
// Value, SE, Low and High are missing when they cannot be computed (n = 0
// for Value; n < 2 for a standard deviation). Low and High bound a two-sided
// interval at Level. SE is the plug-in standard error of Value; an interval
// need not be Value ± z·SE (score and adjusted intervals are not, and that is
// why they are better).
type Estimate struct {
	Value  Number  `json:"value"`
	SE     Number  `json:"se"`
	Low    Number  `json:"low"`
	High   Number  `json:"high"`
	Level  float64 `json:"level"`
	Method Method  `json:"method"`
	// N is the number of observations the estimate rests on.
	N int `json:"n"`
	// MinN is the minimum n the result was judged against.
	MinN int `json:"min_n"`
	// LowSample is true when the UI must show a warning instead of a
	// confident number; Reason says why.
	LowSample bool   `json:"low_sample"`
	Reason    Reason `json:"reason,omitempty"`
}

// Default settings.
const (
	// DefaultLevel is the confidence level of every interval unless set.
	DefaultLevel = 0.95
	// DefaultMinN is the smallest n shown without a warning. At n = 30 the
	// 95% interval of an NPS near 0 is about ±33 points wide: still useful
	// to see, too wide to act on without saying so. It is also the classic
	// point where the t and normal quantiles differ by under 5%.
	DefaultMinN = 30
	// DefaultDelightThreshold is the perceived − expected gap, in scale
	// points, from which an answer counts as delighted. See ClassifyGap.
	DefaultDelightThreshold = 2
	// DefaultTopK is the top-box width of CSAT: 4 and 5 on a 1–5 scale.
	DefaultTopK = 2
)

// Options tune every function of the package. The zero value means the
// defaults (95% intervals, minimum n 30, the default NPS interval, delight
// threshold 2).
type Options struct {
	// Level is the two-sided confidence level in (0, 1). Tests of change
	// use α = 1 − Level, so an interval and a test never disagree about
	// the level they speak at.
	Level float64
	// MinN is the smallest n shown without a low-sample warning.
	MinN int
	// NPSMethod chooses the NPS interval; "" means DefaultNPSMethod.
	NPSMethod Method
	// DelightThreshold is the gap (perceived − expected, in points) from
	// which an expectation-vs-perception answer counts as delighted.
	DelightThreshold int
}

// resolve fills in defaults and rejects settings that make no sense.
func (o Options) resolve() (Options, error) {
	if o.Level == 0 {
		o.Level = DefaultLevel
	}
	if !(o.Level > 0 && o.Level < 1) {
		return o, kizuna.FieldError("level", "confidence level must be between 0 and 1 (exclusive), got %v", o.Level)
	}
	switch {
	case o.MinN == 0:
		o.MinN = DefaultMinN
	case o.MinN < 0:
		return o, kizuna.FieldError("min_n", "minimum sample size must not be negative, got %d", o.MinN)
	}
	switch o.NPSMethod {
	case "":
		o.NPSMethod = DefaultNPSMethod
	case MethodWald, MethodAdjustedWald, MethodScore:
	default:
		return o, kizuna.FieldError("nps_method", "unknown NPS interval method %q (want %q, %q or %q)",
			o.NPSMethod, MethodWald, MethodAdjustedWald, MethodScore)
	}
	switch {
	case o.DelightThreshold == 0:
		o.DelightThreshold = DefaultDelightThreshold
	case o.DelightThreshold < 0:
		return o, kizuna.FieldError("delight_threshold", "delight threshold must be at least 1 point, got %d", o.DelightThreshold)
	}
	return o, nil
}

// alpha is the two-sided error rate of the configured level.
func (o Options) alpha() float64 { return 1 - o.Level }

// sampleFlag judges n against the minimum.
func sampleFlag(n, minN int) (bool, Reason) {
	switch {
	case n == 0:
		return true, ReasonNoData
	case n < minN:
		return true, ReasonBelowMinimum
	}
	return false, ReasonNone
}

// newEstimate starts an Estimate with the bookkeeping every result carries.
func newEstimate(n int, o Options, m Method) Estimate {
	low, reason := sampleFlag(n, o.MinN)
	return Estimate{N: n, MinN: o.MinN, Level: o.Level, Method: m, LowSample: low, Reason: reason}
}
