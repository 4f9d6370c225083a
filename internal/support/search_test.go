package support

import (
	"slices"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
)

// ids returns the ids of a staff search for query, newest first.
func (e *env) search(query string, f ...Filter) []int64 {
	e.t.Helper()
	var flt Filter
	if len(f) > 0 {
		flt = f[0]
	}
	flt.Query = query
	p, err := e.svc.Tickets(e.agent(), flt)
	if err != nil {
		e.t.Fatalf("search %q: %v", query, err)
	}
	out := []int64{}
	for _, t := range p.Items {
		out = append(out, t.ID)
	}
	return out
}

// TestSearchTickets: the index holds the subject, public and internal
// message bodies and the requester, is kept in the transaction of every
// write (reply, customer message, subject edit, merge), matches Japanese
// by bigram and English by stem on both engines, and combines with the
// other filters.
func TestSearchTickets(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		ret := e.open("sato@example.jp", "注文について", func(nt *NewTicket) {
			nt.Body = "先週届いた靴を返品したいです。"
			nt.Requester.Name = "佐藤 花子"
		})
		late := e.open("ken@example.com", "Where is my parcel?", func(nt *NewTicket) {
			nt.Body = "My order was delayed twice, the tracking page shows nothing."
		})
		other := e.open("mori@example.jp", "パスワード", func(nt *NewTicket) { nt.Body = "ログインできません" })
		cases := []struct {
			q    string
			want []int64
		}{
			{"返品", []int64{ret.ID}},
			{"ヘンピン", nil},           // katakana folds to hiragana; no such reading stored
			{"佐藤", []int64{ret.ID}}, // requester name
			{"sato@example.jp", []int64{ret.ID}},
			{"delays", []int64{late.ID}}, // stemmed: delay
			{"parcel tracking", []int64{late.ID}},
			{"PARCEL", []int64{late.ID}},
			{"ログイン", []int64{other.ID}},
			{"返品 parcel", nil}, // every term must match
			{"nothing-like-this", nil},
		}
		for _, c := range cases {
			if got := e.search(c.q); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("search %q = %v, want %v", c.q, got, c.want)
			}
		}
		// Punctuation only: no search, everything listed.
		if got := e.search(`"*:&`); len(got) != 3 {
			t.Errorf("punctuation query listed %v", got)
		}

		// An internal note and a customer message are indexed at once.
		if _, err := e.svc.Reply(e.agent(), late.ID, NewReply{Body: "運送会社に調査依頼済み", Internal: true}); err != nil {
			t.Fatal(err)
		}
		if got := e.search("調査依頼"); !slices.Equal(got, []int64{late.ID}) {
			t.Errorf("internal note not found: %v", got)
		}
		if _, err := e.svc.AddCustomerMessage(e.agent(), other.ID, NewCustomerMessage{Body: "The refund did not arrive"}); err != nil {
			t.Fatal(err)
		}
		if got := e.search("refunds"); !slices.Equal(got, []int64{other.ID}) {
			t.Errorf("customer message not found: %v", got)
		}
		subj := "交換の相談"
		if _, err := e.svc.UpdateTicket(e.agent(), ret.ID, Patch{Subject: &subj}); err != nil {
			t.Fatal(err)
		}
		if got := e.search("交換"); !slices.Equal(got, []int64{ret.ID}) {
			t.Errorf("new subject not found: %v", got)
		}
		if got := e.search("注文"); len(got) != 0 {
			t.Errorf("old subject still found: %v", got)
		}

		// Combined with filters.
		if got := e.search("返品", Filter{Status: "unsolved"}); !slices.Equal(got, []int64{ret.ID}) {
			t.Errorf("with status: %v", got)
		}
		if got := e.search("返品", Filter{Status: StatusSolved}); len(got) != 0 {
			t.Errorf("with solved: %v", got)
		}

		// A merge moves the source's words to the target.
		if _, err := e.svc.Merge(e.agent(), other.ID, late.ID); err != nil {
			t.Fatal(err)
		}
		if got := e.search("ログイン"); !slices.Equal(got, []int64{late.ID}) {
			t.Errorf("after merge: %v", got)
		}

		// A rolled-back write leaves the index as it was.
		if _, err := e.svc.Reply(e.agent(), other.ID, NewReply{Body: "閉じたチケットへの返信"}); code(err) != kizuna.ECONFLICT {
			t.Fatalf("reply to closed: %v", err)
		}
		if got := e.search("閉じた"); len(got) != 0 {
			t.Errorf("rolled-back reply indexed: %v", got)
		}

		// Staff only: a customer principal cannot list or search.
		cust := auth.WithPrincipal(e.sys, auth.Principal{Kind: auth.PrincipalCustomer, ID: ret.CustomerID, Label: "sato"})
		if _, err := e.svc.Tickets(cust, Filter{Query: "返品"}); code(err) != kizuna.EFORBIDDEN {
			t.Errorf("customer search: %v", err)
		}
	})
}

// TestDenseSearchWalksIDs: a search with many matches takes the id-order
// path on Postgres (denseSearch) and must answer exactly as the index path:
// the same tickets, newest first, the same pages, with other filters.
func TestDenseSearchWalksIDs(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		var want []int64
		for i := 0; i < 7; i++ {
			tk := e.open("sato@example.jp", "配送状況の確認", func(nt *NewTicket) { nt.Body = "配送状況を確認してください" })
			want = append([]int64{tk.ID}, want...)
			e.open("ken@example.com", "Password", func(nt *NewTicket) { nt.Body = "cannot log in" })
		}
		sparse := e.search("配送状況")
		defer func(n int) { denseProbe = n }(denseProbe)
		denseProbe = 3
		if dense, err := e.svc.denseSearch(e.agent(), "配送状況"); err != nil || dense != (e.svc.db.Dialect == "postgres") {
			t.Fatalf("denseSearch = %v, %v", dense, err)
		}
		if got := e.search("配送状況"); !slices.Equal(got, want) || !slices.Equal(got, sparse) {
			t.Fatalf("dense search %v, index search %v, want %v", got, sparse, want)
		}
		p, err := e.svc.Tickets(e.agent(), Filter{Query: "配送状況", Limit: 3})
		if err != nil || len(p.Items) != 3 || p.Next == "" {
			t.Fatalf("first page: %+v %v", p, err)
		}
		p2, err := e.svc.Tickets(e.agent(), Filter{Query: "配送状況", Limit: 3, Cursor: p.Next})
		if err != nil || len(p2.Items) != 3 || p2.Items[0].ID != want[3] {
			t.Fatalf("second page: %+v %v", p2, err)
		}
		if got := e.search("配送状況 password"); len(got) != 0 {
			t.Fatalf("dense AND search found %v", got)
		}
	})
}
