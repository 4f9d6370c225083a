package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/internal/importer"
)

const importFeedbackUsage = `Usage: kizuna import feedback --survey SLUG --map MAPPING.json [flags] FILE

Imports past feedback (NPS, CSAT, CES or rating scores, choices, free text)
from a CSV file, optionally gzip-compressed, or - for standard input, into
the survey SLUG (created if new; a new version if its questions changed).
MAPPING.json says which column is what (results.Mapping), e.g.

  {"survey": {"name": "Reviews", "touchpoint": "review"},
   "scores": [{"column": "Rating", "question": "rating", "type": "csat",
               "text": {"ja": "評価", "en": "Rating"}}],
   "date_column": "Date", "customer_column": "Email", "customer_kind": "email",
   "text_columns": ["Title", "Review"], "ref_column": "Id"}

Bad rows are rejected with their line and reason and never stop the
import; importing the same file again adds nothing (rows are known by
ref_column, else by row number).

Flags:
`

func cmdImportFeedback(ctx context.Context, e *env, args []string) error {
	fs := e.flags("import feedback")
	fs.Usage = func() { fmt.Fprint(e.stderr, importFeedbackUsage); fs.PrintDefaults() }
	dsn := fs.String("db", defaultDB, "SQLite file or postgres:// URL")
	slug := fs.String("survey", "", "slug of the survey the rows belong to (required)")
	mapPath := fs.String("map", "", "JSON file mapping the columns (required)")
	tz := fs.String("timezone", "", "time zone of dates without an offset (default: the mapping's, else UTC)")
	errorsPath := fs.String("errors", "", "write every rejected row, with its line and reason, to this CSV file")
	pos, err := e.parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *slug == "" || *mapPath == "" {
		fs.Usage()
		return usageError{"give --survey, --map and exactly one FILE (or - for standard input)"}
	}
	raw, err := os.ReadFile(*mapPath)
	if err != nil {
		return err
	}
	var m results.Mapping
	if err := json.Unmarshal(raw, &m); err != nil {
		return usageError{fmt.Sprintf("--map %s: %v", *mapPath, err)}
	}
	m.Survey.Slug = *slug
	if m.Survey.Name == "" {
		m.Survey.Name = *slug
	}
	if *tz != "" {
		if m.Location, err = time.LoadLocation(*tz); err != nil {
			return usageError{fmt.Sprintf("--timezone %q: %v", *tz, err)}
		}
	}
	var errFile *os.File
	if *errorsPath != "" {
		if errFile, err = os.Create(*errorsPath); err != nil {
			return err
		}
		defer errFile.Close()
		m.Errors = errFile
	}
	path := pos[0]
	in, size, closeIn, err := openImportFile(e, path)
	if err != nil {
		return err
	}
	defer closeIn()
	d, err := openDB(ctx, *dsn, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()

	label := filepath.Base(path)
	prog := newProgress(e.stderr, label, size)
	r, err := importer.Decompress(&countingReader{r: in, prog: prog})
	if err != nil {
		prog.finish()
		return err
	}
	sum, err := results.ImportCSV(auth.System(ctx, "import"), d, customer.NewService(d), r, m)
	prog.finish()
	if sum != nil {
		printFeedbackSummary(e.stdout, sum, label, *errorsPath)
	}
	if err != nil {
		return err
	}
	if errFile != nil {
		return errFile.Close()
	}
	return nil
}

func printFeedbackSummary(w io.Writer, s *results.ImportSummary, label, errorsPath string) {
	n := func(v int64) string { return humanize.Comma(v) }
	fmt.Fprintf(w, "imported feedback from %s into survey %d (version %d) in %s\n", label, s.SurveyID, s.Version,
		s.Duration.Round(10*time.Millisecond))
	fmt.Fprintf(w, "  rows read           %12s\n", n(s.Rows))
	fmt.Fprintf(w, "  responses imported  %12s   (%s linked to a customer)\n", n(s.Imported), n(s.Linked))
	fmt.Fprintf(w, "  already there       %12s   (skipped: imported before)\n", n(s.Existing))
	fmt.Fprintf(w, "  rows rejected       %12s\n", n(s.Rejected))
	for _, r := range s.Rejections {
		fmt.Fprintf(w, "    line %d: %s %s\n", r.Line, r.Field, r.Reason)
	}
	if s.Rejected > 0 && errorsPath != "" {
		fmt.Fprintf(w, "  every rejected row is in %s\n", errorsPath)
	}
}
