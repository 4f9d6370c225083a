package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

const cliFeedback = `Id,Date,Email,Score,Comment
r1,2026-10-01,hanako@example.jp,10,とても良い
r2,2026-10-02,ken@example.com,6,Slow delivery
r3,2026-10-03,,9,
r4,not a date,,8,
r5,2026-10-04,,11,off the scale
`

const cliFeedbackMap = `{"survey": {"name": "過去のNPS", "touchpoint": "purchase"},
 "scores": [{"column": "Score", "question": "nps", "type": "nps", "text": {"ja": "おすすめ度", "en": "Recommend"}}],
 "date_column": "Date", "customer_column": "Email", "customer_kind": "email",
 "text_columns": ["Comment"], "ref_column": "Id"}`

// TestImportFeedbackCommand imports past NPS answers with a mapping file:
// good rows become completed responses (linked to customers by email),
// bad ones are rejected with their line, and a second run adds nothing.
func TestImportFeedbackCommand(t *testing.T) {
	for _, eng := range dbtest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			dsn := eng.DSN(t)
			dir := t.TempDir()
			file, mapping := filepath.Join(dir, "nps.csv"), filepath.Join(dir, "map.json")
			if err := os.WriteFile(file, []byte(cliFeedback), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(mapping, []byte(cliFeedbackMap), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := runKizuna(t, "", nil, "migrate", "--db", dsn); err != nil {
				t.Fatal(err)
			}
			out, errOut, err := runKizuna(t, "", nil, "import", "feedback", "--db", dsn, "--survey", "past-nps", "--map", mapping, file)
			if err != nil {
				t.Fatalf("import: %v\n%s\n%s", err, out, errOut)
			}
			for _, want := range []string{"responses imported             3", "rows rejected                  2", "line 5", "line 6"} {
				if !strings.Contains(out, want) {
					t.Errorf("summary lacks %q:\n%s", want, out)
				}
			}
			if n := queryInt(t, dsn, `SELECT COUNT(*) FROM survey_responses r JOIN surveys s ON s.id = r.survey_id
				WHERE s.slug = 'past-nps' AND r.status = 'completed' AND r.channel = 'import'`); n != 3 {
				t.Fatalf("%d imported responses, want 3", n)
			}
			out, _, err = runKizuna(t, "", nil, "import", "feedback", "--db", dsn, "--survey", "past-nps", "--map", mapping, file)
			if err != nil || !strings.Contains(out, "already there                  3") {
				t.Fatalf("second import: %v\n%s", err, out)
			}
			if _, _, err := runKizuna(t, "", nil, "import", "feedback", "--db", dsn, file); err == nil {
				t.Fatal("import feedback without --survey and --map succeeded")
			}
		})
	}
}
