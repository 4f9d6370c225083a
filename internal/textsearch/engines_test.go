package textsearch_test

import (
	"context"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/textsearch"
)

// The same documents and queries on both engines, stored and matched the
// way the package documents: FTS5 over Document on SQLite, a tsvector from
// array_to_tsvector(Terms) on Postgres.
func TestBothEnginesAnswerAlike(t *testing.T) {
	docs := []string{"返品・交換について", "日傘のお手入れ", "How to return an item", "ヘンピン受付", "Password reset", "O'Reilly \"quoted\" & co"}
	queries := []struct {
		q    string
		want []int // indexes into docs
	}{
		{"返品", []int{0}},
		{"傘", []int{1}},
		{"returns", []int{2}},
		{"へんぴん", []int{3}},
		{"reset password", []int{4}},
		{`o'reilly "quoted"`, []int{5}},
		{"& | ! :*", nil},
		{"nothing here", nil},
	}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			ddl := `CREATE VIRTUAL TABLE ts_docs USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')`
			if d.Dialect == db.Postgres {
				ddl = `CREATE TABLE ts_docs (rowid BIGINT PRIMARY KEY, terms TSVECTOR NOT NULL)`
			}
			if _, err := tx.ExecContext(ctx, ddl); err != nil {
				return err
			}
			for i, doc := range docs {
				var err error
				if d.Dialect == db.Postgres {
					_, err = tx.ExecContext(ctx, `INSERT INTO ts_docs (rowid, terms) VALUES ($1, array_to_tsvector($2::text[]))`, i, textsearch.Terms(doc))
				} else {
					_, err = tx.ExecContext(ctx, `INSERT INTO ts_docs (rowid, terms) VALUES ($1, $2)`, i, textsearch.Document(doc))
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range queries {
			q := textsearch.Parse(c.q, false)
			var got []int
			if !q.Empty() {
				sql, arg := `SELECT rowid FROM ts_docs WHERE ts_docs MATCH $1 ORDER BY rowid`, q.FTS5Match()
				if d.Dialect == db.Postgres {
					sql, arg = `SELECT rowid FROM ts_docs WHERE terms @@ $1::tsquery ORDER BY rowid`, q.TSQuery()
				}
				rows, err := d.Reader().QueryContext(ctx, db.Rebind(d.Dialect, sql), arg)
				if err != nil {
					t.Fatalf("%q: %v", c.q, err)
				}
				for rows.Next() {
					var id int
					if err := rows.Scan(&id); err != nil {
						t.Fatal(err)
					}
					got = append(got, id)
				}
				rows.Close()
			}
			if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
				t.Errorf("query %q found %v, want %v", c.q, got, c.want)
			}
		}
	})
}
