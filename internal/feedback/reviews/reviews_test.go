package reviews

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/sampledata"
)

func viewer() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, ID: 1, Role: auth.RoleViewer})
}

// TestLoadDemo loads the whole embedded file and checks its counts against
// the file's own (SOURCE.md of the data set): 23,486 reviews; ratings
// 5: 13,131, 4: 5,077, 3: 2,871, 2: 1,565, 1: 842; recommended 19,314
// yes, 4,172 no. They are read back through the real path (rows →
// rollups → results).
func TestLoadDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 23,486 reviews; skipped with -short")
	}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := auth.System(context.Background(), "demo")
		cs := customer.NewService(d)
		load := func() Summary {
			f, err := sampledata.Open(sampledata.WomensClothingReviews)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sum, err := LoadDemo(ctx, d, cs, f)
			if err != nil {
				t.Fatal(err)
			}
			return sum
		}
		sum := load()
		if sum.Rows != 23486 || sum.Imported != 23486 || sum.Rejected != 0 || sum.Linked != 0 {
			t.Fatalf("summary = %+v", sum)
		}
		svc := results.New(d)
		f := results.Filter{SurveyID: sum.SurveyID}
		csat, err := svc.CSAT(viewer(), f)
		if err != nil {
			t.Fatal(err)
		}
		want := []int{842, 1565, 2871, 5077, 13131}
		for i, r := range csat.Distribution {
			if r.Count != want[i] {
				t.Errorf("rating %d: %d, want %d", r.Score, r.Count, want[i])
			}
		}
		// Top-2-box (13,131 + 5,077)/23,486 = 0.775270.
		if v := csat.TopBox.Value.Or(0); v < 0.77526 || v > 0.77528 || csat.N != 23486 {
			t.Errorf("top box = %v n %d", csat.TopBox.Value, csat.N)
		}
		rec, err := svc.Distribution(viewer(), results.Filter{SurveyID: sum.SurveyID, Question: "recommend"})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Options[0].Key != "yes" || rec.Options[0].Count != 19314 || rec.Options[1].Count != 4172 {
			t.Errorf("recommend = %+v", rec.Options)
		}
		tp, err := svc.Breakdown(viewer(), f, results.DimTouchpoint)
		if err != nil {
			t.Fatal(err)
		}
		if tp.Groups[0].Key != "tops" || tp.Groups[0].Estimate.N != 10468 || len(tp.Groups) != 7 || !tp.ManyGroups {
			t.Errorf("departments = %+v", tp.Groups)
		}
		v, err := svc.Verbatims(viewer(), results.VerbatimQuery{Filter: f, Group: results.Dissatisfied, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Items) != 5 || v.Items[0].Score.Or(0) > 2 || v.Next == "" {
			t.Errorf("verbatims = %+v", v)
		}
		// The last review (index 23485) completes at the load time; the
		// first about a year before.
		tr, err := svc.Trend(viewer(), f, results.Month)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Points) < 12 || len(tr.Points) > 14 {
			t.Errorf("%d months", len(tr.Points))
		}
		t.Logf("loaded in %v", sum.Duration)
	})
}

func TestImportRejects(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := auth.System(context.Background(), "test")
		head := ",Clothing ID,Age,Title,Review Text,Rating,Recommended IND,Positive Feedback Count,Division Name,Department Name,Class Name\n"
		file := head +
			"0,767,33,,\"Lovely,\nsoft\",4,1,0,Initmates,Intimate,Intimates\n" +
			"1,1080,34,Meh,,6,1,4,General,Dresses,Dresses\n" + // rating 6
			"2,1077,60,,,3,2,0,General,Dresses,Dresses\n" + // recommended 2
			"3,1049,50,,,1,0,0,,,\n" // no department: touchpoint "review"
		end := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
		sum, err := Import(ctx, d, customer.NewService(d), strings.NewReader(file), Options{End: end})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Imported != 2 || sum.Rejected != 2 || sum.Rejections[0].Line != 4 || sum.Rejections[0].Field != "Rating" || sum.Rejections[1].Field != "Recommended IND" {
			t.Fatalf("summary = %+v", sum)
		}
		// Loading again adds nothing (the row index is the reference).
		again, err := Import(ctx, d, customer.NewService(d), strings.NewReader(file), Options{End: end.Add(time.Hour)})
		if err != nil || again.Imported != 0 || again.Existing != 2 || again.Rejected != 2 || again.SurveyID != sum.SurveyID {
			t.Fatalf("second load = %+v, %v", again, err)
		}
		v, err := results.New(d).Verbatims(viewer(), results.VerbatimQuery{Filter: results.Filter{SurveyID: sum.SurveyID}})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Items) != 1 || v.Items[0].Text != "Lovely,\nsoft" || v.Items[0].Touchpoint != "intimate" || v.Items[0].CustomerID != nil {
			t.Errorf("verbatims = %+v", v.Items)
		}
		tp, _ := results.New(d).Breakdown(viewer(), results.Filter{SurveyID: sum.SurveyID, Question: "rating"}, results.DimTouchpoint)
		if len(tp.Groups) != 2 {
			t.Errorf("touchpoints = %+v", tp.Groups)
		}
		if _, err := Import(ctx, d, customer.NewService(d), strings.NewReader("a,b\n1,2\n"), Options{}); kizuna.ErrorCode(err) != kizuna.EINVALID {
			t.Errorf("wrong header: %v", err)
		}
	})
}
