package support

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/textsearch"
)

// benchEnvTickets sets the size of the benchmark's desk; 1,000,000 for the
// figures in BENCHMARKS.md. The default keeps `go test -bench .` quick.
const benchEnvTickets = "KIZUNA_BENCH_TICKETS"

func benchSize(b *testing.B) int {
	n := 20_000
	if v := os.Getenv(benchEnvTickets); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			b.Fatalf("%s=%q: want a number ≥ 100", benchEnvTickets, v)
		}
	}
	return n
}

// Subjects and first messages of the generated tickets: a shop's inbound
// support, half Japanese, half English, with an order number each.
var benchTopics = []struct{ subject, body string }{
	{"返品について", "先日届いた商品を返品したいです。注文番号 %d、未使用です。手続きを教えてください。"},
	{"交換のお願い", "サイズが合わなかったので交換をお願いできますか。注文番号 %d です。"},
	{"商品がまだ届きません", "注文番号 %d の商品が予定日を過ぎても届いていません。配送状況を確認してください。"},
	{"初期不良", "届いた電気ケトルの電源が入りません。注文番号 %d。交換か返金を希望します。"},
	{"支払い方法の変更", "注文番号 %d のお支払いをクレジットカードから銀行振込に変更したいです。"},
	{"ログインできない", "パスワードを再設定してもログインできません。登録メールアドレスは変えていません。(%d)"},
	{"サイズについての質問", "このスニーカーは普段 26cm ですが、どのサイズを選べばよいですか。商品番号 %d。"},
	{"Return request", "I would like to return the jacket from order %d. It has not been worn."},
	{"Where is my order?", "Order %d was supposed to arrive on Monday but the tracking page has not moved since."},
	{"Item arrived damaged", "The mug in order %d arrived broken. Can you send a replacement or refund me?"},
	{"Payment declined", "My card was charged but the order %d shows payment failed. Please check."},
	{"Cannot reset password", "The password reset email never arrives. My account was created with order %d."},
	{"Question about sizes", "Does the coat from product %d run small? I am usually a medium."},
	{"Exchange for another colour", "Could I exchange the bag from order %d for the black one?"},
}

var benchStatuses = []string{"new", "open", "open", "pending", "on-hold", "solved", "solved", "closed", "closed", "closed"}

// loadBenchDesk fills d with n tickets (one customer per five tickets,
// ten agents, the seeded categories) by multi-row INSERTs straight into
// the tables — the service's per-ticket transactions would take hours for
// a million — writing the same search documents indexTicket writes.
func loadBenchDesk(b *testing.B, d *db.DB, n int) (agents []int64) {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	var cats []int64
	err := d.WriteTx(ctx, func(tx *db.Tx) error {
		for i := range 10 {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO users (email, name, password_hash, role, password_changed_at, created_at, updated_at)
				VALUES ($1, $2, 'x', 'agent', $3, $3, $3) RETURNING id`, fmt.Sprintf("agent%d@example.com", i), fmt.Sprintf("Agent %d", i), base).Scan(&id); err != nil {
				return err
			}
			agents = append(agents, id)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM support_categories WHERE parent_id IS NOT NULL ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			cats = append(cats, id)
		}
		return rows.Err()
	})
	if err != nil {
		b.Fatal(err)
	}
	nc := max(n/5, 1)
	families := []string{"佐藤", "鈴木", "高橋", "田中", "伊藤", "Smith", "Brown", "Garcia"}
	givens := []string{"花子", "太郎", "陽子", "健", "John", "Mary", "Ken", "Aiko"}
	const chunk = 1000
	var firstCustomer int64
	for lo := 0; lo < nc; lo += chunk {
		m := min(chunk, nc-lo)
		args := make([]any, 0, m*6)
		for i := lo; i < lo+m; i++ {
			args = append(args, families[i%len(families)], givens[(i/8)%len(givens)], fmt.Sprintf("customer%d@example.jp", i),
				fmt.Sprintf("customer%d@example.jp", i), base, base)
		}
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			rows, err := tx.QueryContext(ctx, `INSERT INTO customers (family_name, given_name, email, search_text, created_at, updated_at) VALUES `+
				db.Rows(m, 6)+` RETURNING id`, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() && firstCustomer == 0 {
				if err := rows.Scan(&firstCustomer); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for lo := 0; lo < n; lo += 5 * chunk {
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			for c := lo; c < min(lo+5*chunk, n); c += chunk {
				m := min(chunk, n-c)
				tickets := make([]any, 0, m*11)
				messages := make([]any, 0, m*4)
				search := make([]any, 0, m*2)
				for i := c; i < c+m; i++ {
					id := int64(i + 1)
					topic := benchTopics[rng.IntN(len(benchTopics))]
					body := fmt.Sprintf(topic.body, 100000+rng.IntN(900000))
					ci := i % nc
					cust := firstCustomer + int64(ci)
					status := benchStatuses[rng.IntN(len(benchStatuses))]
					at := base + int64(i)*60_000 // a ticket a minute
					var solved any
					if status == "solved" || status == "closed" {
						solved = at + int64(rng.IntN(72))*3_600_000
					}
					tickets = append(tickets, id, topic.subject, cust, Channels[rng.IntN(len(Channels))], status,
						cats[rng.IntN(len(cats))], boolInt(rng.IntN(20) == 0), agents[rng.IntN(len(agents))], at, at, solved)
					messages = append(messages, id, families[ci%len(families)]+" "+givens[(ci/8)%len(givens)], body, at)
					doc := []string{topic.subject, families[ci%len(families)], givens[(ci/8)%len(givens)], fmt.Sprintf("customer%d@example.jp", ci),
						families[ci%len(families)] + " " + givens[(ci/8)%len(givens)], body}
					if d.Dialect == db.Postgres {
						search = append(search, id, textsearch.Terms(doc...))
					} else {
						search = append(search, id, textsearch.Document(doc...))
					}
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO support_tickets (id, subject, customer_id, channel, status, category_id,
					complaint, assignee_id, created_at, updated_at, solved_at) VALUES `+db.Rows(m, 11), tickets...); err != nil {
					return fmt.Errorf("tickets: %w", err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO support_messages (ticket_id, author_kind, author_name, public, direction, body, created_at)
					VALUES `+rowsWithConst(m), messages...); err != nil {
					return fmt.Errorf("messages: %w", err)
				}
				q := `INSERT INTO support_ticket_search (rowid, terms) VALUES ` + db.Rows(m, 2)
				if d.Dialect == db.Postgres {
					q = `INSERT INTO support_ticket_search (ticket_id, terms) SELECT v.id, array_to_tsvector(v.t) FROM (VALUES ` +
						typedRows(m) + `) AS v(id, t)`
				}
				if _, err := tx.ExecContext(ctx, q, search...); err != nil {
					return fmt.Errorf("search: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if d.Dialect == db.Postgres {
		// The identity must continue after the explicit ids.
		if _, err := d.Writer().ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('support_tickets', 'id'), $1)`, n); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := d.Writer().ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: loaded %d tickets, %d customers in %s", d.Dialect, n, nc, time.Since(start).Round(time.Second))
	return agents
}

// rowsWithConst is db.Rows(m, 4) for support_messages with the constant
// columns (author_kind, public, direction) written in.
func rowsWithConst(m int) string {
	s := make([]byte, 0, m*48)
	for i := range m {
		if i > 0 {
			s = append(s, ", "...)
		}
		p := 4*i + 1
		s = fmt.Appendf(s, "($%d, 'customer', $%d, 1, 'in', $%d, $%d)", p, p+1, p+2, p+3)
	}
	return string(s)
}

// typedRows is m rows of ($n::bigint, $n+1::text[]).
func typedRows(m int) string {
	s := make([]byte, 0, m*28)
	for i := range m {
		if i > 0 {
			s = append(s, ", "...)
		}
		s = fmt.Appendf(s, "($%d::bigint, $%d::text[])", 2*i+1, 2*i+2)
	}
	return string(s)
}

// BenchmarkTicketList measures the staff ticket list on a desk of
// KIZUNA_BENCH_TICKETS tickets (default 20,000) on each engine: the first
// page (50) of the queue with common filters, and keyword searches in
// Japanese and English. Each reports its p50 and p95 latency.
//
//	KIZUNA_BENCH_TICKETS=1000000 KIZUNA_TEST_POSTGRES_DSN=… \
//	  go test ./internal/support/ -run '^$' -bench TicketList -benchtime 200x -timeout 2h
func BenchmarkTicketList(b *testing.B) {
	n := benchSize(b)
	for _, eng := range dbtest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			d := eng.Open(b)
			agents := loadBenchDesk(b, d, n)
			svc := NewService(d, customer.NewService(d))
			ctx := auth.System(context.Background(), "bench")
			cases := []struct {
				name string
				f    Filter
			}{
				{"queue-unsolved", Filter{Status: "unsolved"}},
				{"queue-mine", Filter{Status: "unsolved", AssigneeID: agents[3]}},
				{"queue-complaints", Filter{Status: "unsolved", Complaint: true}},
				{"search-ja-返品", Filter{Query: "返品"}},
				{"search-ja-配送状況", Filter{Query: "配送状況"}},
				{"search-en-refund", Filter{Query: "refund"}},
				{"search-en-tracking-page", Filter{Query: "tracking page"}},
				{"search-ja-unsolved-交換", Filter{Query: "交換", Status: "unsolved"}},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					var lat []time.Duration
					items := 0
					for b.Loop() {
						t0 := time.Now()
						p, err := svc.Tickets(ctx, c.f)
						lat = append(lat, time.Since(t0))
						if err != nil {
							b.Fatal(err)
						}
						items = len(p.Items)
					}
					if items == 0 {
						b.Fatalf("%s found nothing", c.name)
					}
					slices.Sort(lat)
					q := func(p float64) float64 {
						return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
					}
					b.ReportMetric(q(0.50), "p50-ms")
					b.ReportMetric(q(0.95), "p95-ms")
				})
			}
		})
	}
}
