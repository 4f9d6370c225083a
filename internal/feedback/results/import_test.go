package results

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

const pastFeedback = "\ufeffid,date,email,score,would_return,title,body,store,sku\n" +
	"a1,2025-10-01,hanako@example.jp,10,y,最高,\"とても良い\n対応でした\",Shibuya,S-1\n" +
	"a2,2025-10-02,,7,n,,普通,Umeda,\n" +
	"a3,2025-10-02 13:45:00,taro@example.jp,3,n,Bad,\"=HYPERLINK(\"\"http://x\"\")\",Shibuya,S-2\n" +
	"a4,2025-10-03,hanako@example.jp,11,y,,,Shibuya,\n" + // 11 is off the 0–10 scale
	"a5,yesterday,,5,y,,,Shibuya,\n" + // not a date
	"a6,2025-10-04,not-an-email,9,y,,,Shibuya,\n" + // bad customer key
	"a7,2025-10-04,,9,maybe,,,Shibuya,\n" + // unmapped choice
	"a8,2025-10-05,,,,,,Shibuya,\n" + // no answer at all
	",2025-10-05,,8,y,,,Shibuya,\n" + // no reference
	"a9,2025-10-06,,abc,y,,,Shibuya,\n" + // not a number
	"a10,2025-10-06T09:00:00+09:00,,9,y,,,Umeda,S-3\n"

func pastMapping() Mapping {
	return Mapping{
		Survey:           ImportSurvey{Slug: "past-nps", Name: "Past NPS", Touchpoint: "store"},
		Scores:           []ScoreColumn{{Column: "score", Question: "nps", Type: feedback.QNPS}},
		Choices:          []ChoiceColumn{{Column: "would_return", Question: "return", Options: []feedback.Option{{Key: "yes"}, {Key: "no"}}, Values: map[string]string{"y": "yes", "n": "no"}}},
		DateColumn:       "date",
		Location:         mustLoc("Asia/Tokyo"),
		CustomerColumn:   "email",
		CustomerKind:     customer.KindEmail,
		TextColumns:      []string{"title", "body"},
		TouchpointColumn: "store",
		RefColumn:        "id",
		AttributeColumns: []string{"SKU"},
	}
}

func TestImportCSV(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := auth.System(context.Background(), "import")
		cs := customer.NewService(d)
		var report bytes.Buffer
		m := pastMapping()
		m.Errors = &report
		sum, err := ImportCSV(ctx, d, cs, strings.NewReader(pastFeedback), m)
		if err != nil {
			t.Fatal(err)
		}
		// The report: BOM, a header, one row per rejection with the row's
		// own cells (neutralised as in exports).
		rep, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(report.String(), "\ufeff"))).ReadAll()
		if err != nil || !strings.HasPrefix(report.String(), "\ufeff") {
			t.Fatalf("report: %v\n%s", err, report.String())
		}
		if len(rep) != 8 || rep[0][0] != "line" || rep[0][3] != "id" || rep[1][0] != "6" || rep[1][1] != "nps" || rep[1][3] != "a4" {
			t.Errorf("report = %q", rep)
		}
		if sum.Rows != 11 || sum.Imported != 4 || sum.Rejected != 7 || sum.Linked != 2 || sum.Existing != 0 {
			t.Fatalf("summary = %+v", sum)
		}
		wantLines := map[int64]string{6: "nps", 7: "date", 8: "email", 9: "would_return", 10: "", 11: "id", 12: "score"} // a1 spans lines 2–3
		for _, r := range sum.Rejections {
			if f, ok := wantLines[r.Line]; !ok || (f != "" && r.Field != f) {
				t.Errorf("rejection %+v (want field %q)", r, f)
			}
		}
		// Again: nothing new.
		again, err := ImportCSV(ctx, d, cs, strings.NewReader(pastFeedback), pastMapping())
		if err != nil {
			t.Fatal(err)
		}
		if again.Imported != 0 || again.Existing != 4 || again.SurveyID != sum.SurveyID || again.Version != sum.Version {
			t.Fatalf("second import = %+v", again)
		}
		svc := New(d)
		// NPS of 10, 7, 3, 9 → P 2, Pa 1, D 1 → 25.
		nps, err := svc.NPS(viewer(), Filter{SurveyID: sum.SurveyID})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "imported NPS", nps.NPS.Value, 25)
		br, err := svc.Breakdown(viewer(), Filter{SurveyID: sum.SurveyID}, "response:sku")
		if err != nil {
			t.Fatal(err)
		}
		if len(br.Groups) != 4 { // S-1, S-2, S-3 and none
			t.Errorf("sku groups = %+v", br.Groups)
		}
		tp, _ := svc.Breakdown(viewer(), Filter{SurveyID: sum.SurveyID}, DimTouchpoint)
		if len(tp.Groups) != 2 || tp.Groups[0].Key != "Shibuya" && tp.Groups[0].Key != "Umeda" {
			t.Errorf("touchpoints = %+v", tp.Groups)
		}
		v, err := svc.Verbatims(viewer(), VerbatimQuery{Filter: Filter{SurveyID: sum.SurveyID}})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Items) != 3 || v.Items[2].Text != "最高\n\nとても良い\n対応でした" || v.Items[2].CustomerID == nil {
			t.Errorf("verbatims = %+v", v.Items)
		}
		// Dates without an offset are read in Asia/Tokyo: 2025-10-01 00:00
		// JST is 2025-09-30 15:00 UTC.
		if got := v.Items[2].CompletedAt.Format("2006-01-02 15:04"); got != "2025-09-30 15:00" {
			t.Errorf("completed at %s", got)
		}
		dist, _ := svc.Distribution(viewer(), Filter{SurveyID: sum.SurveyID, Question: "return"})
		if dist.N != 4 || dist.Options[0].Count != 2 || dist.Options[1].Count != 2 {
			t.Errorf("return = %+v", dist.Options)
		}
		// A changed mapping (a new question) makes a new version of the
		// same survey.
		m = pastMapping()
		m.Scores = append(m.Scores, ScoreColumn{Column: "score", Question: "score_copy", Type: feedback.QRating, Min: 0, Max: 10})
		third, err := ImportCSV(ctx, d, cs, strings.NewReader(pastFeedback), m)
		if err != nil {
			t.Fatal(err)
		}
		if third.Version != sum.Version+1 || third.SurveyID != sum.SurveyID || third.Imported != 0 {
			t.Errorf("re-mapped import = %+v", third)
		}

		bad := pastMapping()
		bad.DateColumn = "when"
		if _, err := ImportCSV(ctx, d, cs, strings.NewReader(pastFeedback), bad); kizuna.ErrorField(err) != "date_column" {
			t.Errorf("missing column: %v", err)
		}
		tz := pastMapping()
		tz.Location, tz.TimeZone = nil, "Mars/Olympus_Mons"
		if _, err := ImportCSV(ctx, d, cs, strings.NewReader(pastFeedback), tz); kizuna.ErrorField(err) != "time_zone" {
			t.Errorf("bad time zone: %v", err)
		}
		if _, err := ImportCSV(viewer(), d, cs, strings.NewReader(pastFeedback), pastMapping()); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Errorf("viewer import: %v", err)
		}
	})
}
