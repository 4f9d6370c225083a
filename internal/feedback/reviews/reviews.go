// Package reviews loads the Women's E-Commerce Clothing Reviews sample
// (sampledata.WomensClothingReviews, 23,486 reviews) as the responses of a
// survey, so the demo's results dashboards show real feedback.
//
// How a review becomes a response:
//   - Rating (1–5) → the CSAT question "rating" (top-2-box = 4 and 5).
//   - Recommended IND (1/0) → the single-choice question "recommend"
//     (options yes/no). It is not a 0–10 NPS answer and is not shown as
//     one: a yes/no recommendation has no passives.
//   - Title and Review Text → the free-text question "review" (the title,
//     a blank line, the text; either alone when the other is empty), the
//     verbatim.
//   - Department Name → the response's touchpoint (lower-cased: dresses,
//     tops, bottoms, intimate, jackets, trend; "review" when empty), so the
//     touchpoint filter and breakdown read the rollups; and, unchanged, the
//     response attribute "department". Division Name, Class Name, Clothing
//     ID, Age and Positive Feedback Count are response attributes too
//     (breakdown "response:age" …).
//   - The row index (first column) is the external reference
//     ("wcr:<index>"): loading twice adds nothing.
//
// Every review is an anonymous response, linked to no customer: the
// reviewers are real, anonymised people with no identifier, nothing ties
// two reviews to the same person, and inventing 23,486 synthetic profiles
// would fill the customer list and the 360 view with people who do not
// exist and inflate every customer count the demo shows.
//
// The file has no dates. Reviews are spread evenly, in file order, over
// the 365 days before Options.End (one every ~22 minutes), so trends have
// data to draw; any movement in them is the order of the file, not time.
package reviews

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
)

// Survey is the slug of the survey the reviews are loaded into.
const Survey = "womens-clothing-reviews"

// FileRows is the number of reviews in the sample file.
const FileRows = 23486

// Summary reports a load.
type Summary = results.ImportSummary

// Options tune a load.
type Options struct {
	// End is the completion time of the last review (default: the store's
	// clock); the others are spread over the Span before it.
	End time.Time
	// Span defaults to 365 days.
	Span time.Duration
	// Errors, when set, receives the rejected-rows report.
	Errors io.Writer
}

var columns = []string{"", "Clothing ID", "Age", "Title", "Review Text", "Rating", "Recommended IND",
	"Positive Feedback Count", "Division Name", "Department Name", "Class Name"}

// Definition is the survey the reviews answer.
func definition() results.ImportSurvey {
	return results.ImportSurvey{
		Slug: Survey, Name: "Women's clothing reviews (sample)", Touchpoint: "review", JourneyStage: "usage",
		Questions: []feedback.Question{
			{Key: "rating", Type: feedback.QCSAT, Required: true,
				Text: feedback.Text{EN: "How would you rate this product?", JA: "この商品の評価をお聞かせください"},
				Scale: &feedback.Scale{Min: 1, Max: 5, TopBoxLen: 2,
					MinLabel: feedback.Text{EN: "Very dissatisfied", JA: "非常に不満"}, MaxLabel: feedback.Text{EN: "Very satisfied", JA: "非常に満足"}}},
			{Key: "recommend", Type: feedback.QSingle,
				Text: feedback.Text{EN: "Would you recommend this product?", JA: "この商品をおすすめしますか？"},
				Options: []feedback.Option{
					{Key: "yes", Text: feedback.Text{EN: "Yes", JA: "はい"}},
					{Key: "no", Text: feedback.Text{EN: "No", JA: "いいえ"}},
				}},
			{Key: "review", Type: feedback.QText, Text: feedback.Text{EN: "Your review", JA: "レビュー"}},
		},
	}
}

// Import loads reviews from r (the uncompressed CSV). ctx must carry a
// principal allowed to import (auth.System(ctx, "demo") in the demo).
// Errors: EINVALID when the header is not the sample's; EUNAUTHORIZED,
// EFORBIDDEN; store failures. Bad rows are rejected and counted.
func Import(ctx context.Context, d *db.DB, customers results.Customers, r io.Reader, opt Options) (*Summary, error) {
	if opt.End.IsZero() {
		opt.End = d.Now()
	}
	if opt.Span <= 0 {
		opt.Span = 365 * 24 * time.Hour
	}
	step := opt.Span / FileRows
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return &Summary{}, kizuna.Errorf(kizuna.EINVALID, "cannot read the reviews header: %v", err)
	}
	if len(header) != len(columns) {
		return &Summary{}, kizuna.Errorf(kizuna.EINVALID, "the reviews file has %d columns, want %d (%s)", len(header), len(columns), strings.Join(columns[1:], ", "))
	}
	for i, c := range columns {
		if strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")) != c {
			return &Summary{}, kizuna.Errorf(kizuna.EINVALID, "column %d of the reviews file is %q, want %q", i+1, header[i], c)
		}
	}
	next := func() (results.ImportRecord, error) {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return results.ImportRecord{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return results.ImportRecord{}, &results.RowError{Line: int64(pe.StartLine), Err: fmt.Errorf("malformed CSV: %v", pe.Err)}
		}
		if err != nil {
			return results.ImportRecord{}, err
		}
		line, _ := cr.FieldPos(0)
		fail := func(field, format string, a ...any) (results.ImportRecord, error) {
			return results.ImportRecord{}, &results.RowError{Line: int64(line), Err: kizuna.FieldError(field, format, a...), Raw: slices.Clone(rec)}
		}
		if len(rec) != len(columns) {
			return fail("", "the row has %d cells, want %d", len(rec), len(columns))
		}
		get := func(i int) string { return strings.TrimSpace(rec[i]) }
		idx, err := strconv.Atoi(get(0))
		if err != nil || idx < 0 {
			return fail("index", "%q is not a row index", get(0))
		}
		rating, err := strconv.Atoi(get(5))
		if err != nil || rating < 1 || rating > 5 {
			return fail("Rating", "%q is not a rating 1–5", get(5))
		}
		var rec1 string
		switch get(6) {
		case "1":
			rec1 = "yes"
		case "0":
			rec1 = "no"
		default:
			return fail("Recommended IND", "%q is not 1 or 0", get(6))
		}
		score := float64(rating)
		out := results.ImportRecord{
			Line:        int64(line),
			Ref:         "wcr:" + strconv.Itoa(idx),
			CompletedAt: opt.End.Add(-time.Duration(FileRows-1-idx) * step).UTC(),
			Touchpoint:  strings.ToLower(get(9)),
			Locale:      "en",
			Answers: []feedback.Answer{
				{Question: "rating", Num: &score},
				{Question: "recommend", Text: rec1},
			},
			Attributes: make(map[string]string),
		}
		if out.Touchpoint == "" {
			out.Touchpoint = "review"
		}
		var text []string
		for _, i := range []int{3, 4} {
			if v := get(i); v != "" {
				text = append(text, v)
			}
		}
		if len(text) > 0 {
			out.Answers = append(out.Answers, feedback.Answer{Question: "review", Text: strings.Join(text, "\n\n")})
		}
		for i, key := range map[int]string{1: "clothing_id", 2: "age", 7: "positive_feedback_count", 8: "division", 9: "department", 10: "class"} {
			if v := get(i); v != "" {
				out.Attributes[key] = v
			}
		}
		return out, nil
	}
	return results.ImportRecords(ctx, d, customers, definition(), results.ImportOptions{Errors: opt.Errors, Header: columns}, next)
}

// LoadDemo loads the gzip-compressed sample (sampledata.Open(
// sampledata.WomensClothingReviews)) for `kizuna demo`, the last review
// completed now. ctx must carry a principal allowed to import.
func LoadDemo(ctx context.Context, d *db.DB, customers *customer.Service, gz io.Reader) (Summary, error) {
	zr, err := gzip.NewReader(gz)
	if err != nil {
		return Summary{}, kizuna.Errorf(kizuna.EINVALID, "the reviews sample is not gzip: %v", err)
	}
	defer zr.Close()
	sum, err := Import(ctx, d, customers, zr, Options{})
	if sum == nil {
		return Summary{}, err
	}
	return *sum, err
}
