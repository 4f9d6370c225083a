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

// An "any term" query from a realistic ticket finds the article it is
// about first on both engines, ranked by bm25 and ts_rank, and matches
// nothing when no term is shared.
func TestBothEnginesRankAnyTermQueries(t *testing.T) {
	docs := []string{
		"返品・交換について 商品到着後30日以内であれば返品・交換を承ります。未使用の商品に限ります。",
		"配送について ご注文から3営業日以内に発送します。送料は全国一律です。",
		"How to return an item. Returns are free within 30 days of delivery if the item is unused.",
		"Shipping times. Orders ship within three business days; delivery costs are shown at checkout.",
		"Paying by card. We accept Visa, Mastercard and JCB.",
	}
	queries := []struct {
		q     string
		first int // -1: nothing matches
	}{
		{"先週届いたスニーカーのサイズが合わないので、返品か交換をお願いしたいです。", 0},
		{"注文した商品がまだ発送されていません。いつ届きますか？", 1},
		{"Hi, the shoes I bought don't fit. Can I return them and get my money back?", 2},
		{"My order hasn't shipped yet, when will the delivery arrive?", 3},
		{"zzz qqq", -1},
	}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			ddl := `CREATE VIRTUAL TABLE ts_any USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')`
			if d.Dialect == db.Postgres {
				ddl = `CREATE TABLE ts_any (rowid BIGINT PRIMARY KEY, terms TSVECTOR NOT NULL)`
			}
			if _, err := tx.ExecContext(ctx, ddl); err != nil {
				return err
			}
			for i, doc := range docs {
				var err error
				if d.Dialect == db.Postgres {
					_, err = tx.ExecContext(ctx, `INSERT INTO ts_any (rowid, terms) VALUES ($1, array_to_tsvector($2::text[]))`, i, textsearch.Terms(doc))
				} else {
					_, err = tx.ExecContext(ctx, `INSERT INTO ts_any (rowid, terms) VALUES ($1, $2)`, i, textsearch.Document(doc))
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
			q := textsearch.ParseAny(c.q)
			if !q.Any || len(q.Terms) < 2 {
				t.Fatalf("ParseAny(%q) = %+v", c.q, q)
			}
			sql, arg := `SELECT rowid FROM ts_any WHERE ts_any MATCH $1 ORDER BY bm25(ts_any), rowid`, q.FTS5Match()
			if d.Dialect == db.Postgres {
				sql, arg = `SELECT rowid FROM ts_any WHERE terms @@ $1::tsquery ORDER BY ts_rank(terms, $1::tsquery) DESC, rowid`, q.TSQuery()
			}
			rows, err := d.Reader().QueryContext(ctx, db.Rebind(d.Dialect, sql), arg)
			if err != nil {
				t.Fatalf("%q: %v", c.q, err)
			}
			var got []int
			for rows.Next() {
				var id int
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				got = append(got, id)
			}
			rows.Close()
			switch {
			case c.first < 0 && len(got) > 0:
				t.Errorf("%q found %v, want nothing", c.q, got)
			case c.first >= 0 && (len(got) == 0 || got[0] != c.first):
				t.Errorf("%q ranked %v, want %d first", c.q, got, c.first)
			case c.first >= 0 && len(got) == len(docs):
				t.Errorf("%q matched every document %v: OR found nothing to tell apart", c.q, got)
			}
		}
	})
}
