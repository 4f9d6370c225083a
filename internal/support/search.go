package support

import (
	"context"
	"fmt"
	"strconv"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/textsearch"
)

// afterTicketWrite runs at the end of every transaction that writes a
// ticket or its messages (CreateTicket, UpdateTicket, Reply,
// AddCustomerMessage, Merge): it rewrites the tickets' search documents
// and cancels the CSAT survey of a ticket that left solved before its
// survey went out. Being in the same transaction, the index and the
// surveys never disagree with the tickets.
func afterTicketWrite(ctx context.Context, tx *db.Tx, ids ...int64) error {
	for _, id := range ids {
		if err := indexTicket(ctx, tx, id); err != nil {
			return err
		}
		if err := cancelCSATIfReopened(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// indexTicket rewrites the search document of ticket id: its subject,
// every message body (internal notes included: only staff search), the
// message authors' names and the requester's names and email. A ticket
// is a handful of messages, so the whole document is rebuilt rather than
// patched; that also keeps a merge (messages moving between tickets)
// right.
func indexTicket(ctx context.Context, tx *db.Tx, id int64) error {
	var subject, family, given, familyKana, givenKana, email string
	err := tx.QueryRowContext(ctx, `SELECT t.subject, c.family_name, c.given_name, c.family_name_kana, c.given_name_kana, c.email
		FROM support_tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = $1`, id).
		Scan(&subject, &family, &given, &familyKana, &givenKana, &email)
	if isNoRows(err) {
		return notFound("ticket", id)
	}
	if err != nil {
		return fmt.Errorf("index ticket %d: %w", id, err)
	}
	texts := []string{subject, family, given, familyKana, givenKana, email}
	rows, err := tx.QueryContext(ctx, `SELECT author_name, body FROM support_messages WHERE ticket_id = $1 ORDER BY id`, id)
	if err != nil {
		return fmt.Errorf("index ticket %d: %w", id, err)
	}
	for rows.Next() {
		var name, body string
		if err := rows.Scan(&name, &body); err != nil {
			rows.Close()
			return fmt.Errorf("index ticket %d: %w", id, err)
		}
		texts = append(texts, name, body)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("index ticket %d: %w", id, err)
	}
	return writeSearchDoc(ctx, tx, tx.Dialect, id, texts...)
}

// writeSearchDoc replaces the search document of ticket id.
func writeSearchDoc(ctx context.Context, tx *db.Tx, d db.Dialect, id int64, texts ...string) error {
	var err error
	if d == db.Postgres {
		_, err = tx.ExecContext(ctx, `INSERT INTO support_ticket_search (ticket_id, terms) VALUES ($1, array_to_tsvector($2::text[]))
			ON CONFLICT (ticket_id) DO UPDATE SET terms = excluded.terms`, id, textsearch.Terms(texts...))
	} else {
		// FTS5 has no upsert: a delete of a missing rowid is a no-op.
		if _, err = tx.ExecContext(ctx, `DELETE FROM support_ticket_search WHERE rowid = $1`, id); err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO support_ticket_search (rowid, terms) VALUES ($1, $2)`, id, textsearch.Document(texts...))
		}
	}
	if err != nil {
		return fmt.Errorf("index ticket %d: %w", id, err)
	}
	return nil
}

// searchCondition returns the WHERE condition of a ticket list matching
// every term of query (arg adds a parameter and returns its placeholder),
// and false when the query holds nothing to search for (punctuation only).
func searchCondition(d db.Dialect, query string, arg func(any) string) (string, bool) {
	q := textsearch.Parse(query, false)
	if q.Empty() {
		return "", false
	}
	if d == db.Postgres {
		return `t.id IN (SELECT ticket_id FROM support_ticket_search WHERE terms @@ ` + arg(q.TSQuery()) + `::tsquery)`, true
	}
	return `t.id IN (SELECT rowid FROM support_ticket_search WHERE support_ticket_search MATCH ` + arg(q.FTS5Match()) + `)`, true
}

// denseProbe is how many matches make a search "dense" (denseSearch); a
// variable for tests.
var denseProbe = 5000

// denseSearch reports whether query matches so many tickets that the first
// page is found fastest by walking tickets newest first and testing each
// against the index row, rather than by collecting every match from the
// GIN index and sorting them. Postgres's planner multiplies the
// selectivities of a query's terms as if independent, but the bigrams of
// one Japanese word always come together: 「配送状況」 (three bigrams,
// 70,000 matches in a million tickets) was estimated at a few hundred rows
// and took 550 ms through the GIN index, against ~1 ms for one-term
// queries whose estimate was right. For queries of two terms or more, a
// count capped at denseProbe (~20 ms at a million tickets) settles it.
// SQLite's FTS5 needs no such help.
func (s *Service) denseSearch(ctx context.Context, query string) (bool, error) {
	if s.db.Dialect != db.Postgres || query == "" {
		return false, nil
	}
	q := textsearch.Parse(query, false)
	if len(q.Terms) < 2 {
		// One term: the planner's estimate comes straight from the
		// column's statistics and is right.
		return false, nil
	}
	var n int
	err := s.db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM support_ticket_search WHERE terms @@ $1::tsquery LIMIT `+strconv.Itoa(denseProbe)+`) m`, q.TSQuery()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("tickets: search: %w", err)
	}
	return n >= denseProbe, nil
}
