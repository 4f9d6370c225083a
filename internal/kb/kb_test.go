package kb_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/kb"
)

func as(role auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalAPIKey, ID: 1, Role: role, Label: string(role) + "@example.com"})
}

var system = auth.System(context.Background(), "test")

func demo(t *testing.T, d *db.DB) *kb.Service {
	t.Helper()
	svc := kb.NewService(d)
	if err := svc.LoadDemo(system); err != nil {
		t.Fatal(err)
	}
	return svc
}

func firstSlug(t *testing.T, hits []kb.Hit, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 {
		return ""
	}
	return hits[0].Slug
}

func TestSearchFindsJapaneseAndEnglish(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		svc := demo(t, d)
		ctx := context.Background() // public: no principal
		hits, err := svc.Search(ctx, "返品", kb.Japanese, false, 10)
		if got := firstSlug(t, hits, err); got != "returns-and-exchanges" || hits[0].Title != "返品・交換について" {
			t.Fatalf("返品 found %+v", hits)
		}
		for _, c := range []struct {
			q, locale string
			asYouType bool
			want      string
		}{
			{"returned items", kb.English, false, "returns-and-exchanges"}, // stemmed
			{"パスワード 再設定", kb.Japanese, false, "reset-password"},
			{"ぱすわーど", kb.Japanese, false, "reset-password"}, // kana fold
			{"warr", kb.English, true, "warranty"},
			{"invoices", kb.English, false, "receipts-and-invoices"},
		} {
			hits, err := svc.Search(ctx, c.q, c.locale, c.asYouType, 5)
			if got := firstSlug(t, hits, err); got != c.want {
				t.Errorf("Search(%q, %s) first = %q, want %q (%+v)", c.q, c.locale, got, c.want, hits)
			}
		}
		// Locales do not mix: the Japanese word is not in English articles.
		if hits, err := svc.Search(ctx, "返品", kb.English, false, 5); err != nil || len(hits) != 0 {
			t.Errorf("返品 in English: %+v %v", hits, err)
		}
		if _, err := svc.Search(ctx, "x", "fr", false, 5); kizuna.ErrorCode(err) != kizuna.EINVALID {
			t.Errorf("unknown locale: %v", err)
		}
		if hits, err := svc.Search(ctx, "「」！", kb.Japanese, false, 5); err != nil || hits != nil {
			t.Errorf("empty query: %v %v", hits, err)
		}
	})
}

func TestSuggestRanksTheRightArticleFirst(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		svc := demo(t, d)
		ctx := context.Background()
		for _, c := range []struct{ text, locale, want string }{
			{"お世話になっております。先週届いたスニーカーを返品したいのですが、まだ未使用でタグも付いています。返送の方法を教えてください。", kb.Japanese, "returns-and-exchanges"},
			{"パスワードを忘れてしまい、ログインできません。メールも届かないのですが、どうすればよいでしょうか。", kb.Japanese, "reset-password"},
			{"注文してから5日たちますが、まだ商品が届かないです。配送状況はどこで確認できますか？", kb.Japanese, "track-order"},
			{"Hello, the jacket I ordered last week doesn't fit. How do I return it, or can I exchange it for a bigger size?", kb.English, "returns-and-exchanges"},
			{"Hi, my card keeps getting declined at checkout. Which payment methods do you accept?", kb.English, "payment-methods"},
			{"The strap on my bag broke after two months. Is that covered by the warranty, and how do I get it repaired?", kb.English, "warranty"},
		} {
			hits, err := svc.Suggest(ctx, c.text, c.locale, 3)
			if got := firstSlug(t, hits, err); got != c.want {
				t.Errorf("Suggest(%.30q…) first = %q, want %q (%+v)", c.text, got, c.want, hits)
			}
		}
	})
}

func TestDraftsStayPrivateAndHistoryIsKept(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		svc := demo(t, d)
		agent, manager, public := as(auth.RoleAgent), as(auth.RoleManager), context.Background()
		art, err := svc.CreateArticle(agent, kb.NewArticle{Slug: "loyalty-points", Locale: kb.Japanese, Title: "ポイントの有効期限", Body: "ポイントは獲得から1年間有効です。"})
		if err != nil {
			t.Fatal(err)
		}
		if art.State(kb.Japanese).Draft == nil || art.State(kb.Japanese).Live != nil {
			t.Fatalf("new article: %+v", art.Locales)
		}
		hidden := func(q string) {
			t.Helper()
			if hits, err := svc.Search(public, q, kb.Japanese, false, 10); err != nil || len(hits) != 0 {
				t.Errorf("draft text %q found: %+v %v", q, hits, err)
			}
			if hits, err := svc.Suggest(public, q+"について教えてください", kb.Japanese, 10); err != nil || (len(hits) > 0 && hits[0].Slug == "loyalty-points" && strings.Contains(q, "失効")) {
				t.Errorf("draft suggested for %q: %+v %v", q, hits, err)
			}
		}
		hidden("獲得")
		if _, err := svc.PublishedArticle(public, "loyalty-points", kb.Japanese); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("draft served publicly: %v", err)
		}
		list, _ := svc.PublishedArticles(public, kb.Japanese)
		for _, p := range list {
			if p.Slug == "loyalty-points" {
				t.Fatal("draft listed publicly")
			}
		}
		if _, err := svc.Publish(agent, art.ID, kb.Japanese); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("agent published: %v", err)
		}
		if _, err := svc.Publish(manager, art.ID, kb.Japanese); err != nil {
			t.Fatal(err)
		}
		if hits, _ := svc.Search(public, "有効期限", kb.Japanese, false, 10); len(hits) == 0 || hits[0].Slug != "loyalty-points" {
			t.Fatalf("published article not found: %+v", hits)
		}
		// A new draft: the live version stays what customers read.
		if _, err := svc.SaveDraft(agent, art.ID, kb.Japanese, kb.Draft{Title: "ポイントの有効期限と失効", Body: "2027年から、ポイントは最後のご購入から2年間有効です。"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SaveDraft(agent, art.ID, kb.Japanese, kb.Draft{Title: "ポイントの有効期限と失効", Body: "2027年から、ポイントは最後のご購入から2年間有効です。失効前にお知らせします。"}); err != nil {
			t.Fatal(err)
		}
		live, err := svc.PublishedArticle(public, "loyalty-points", kb.Japanese)
		if err != nil || live.Title != "ポイントの有効期限" || live.Number != 1 || !strings.Contains(live.HTML, "1年間") {
			t.Fatalf("live while drafting: %+v %v", live, err)
		}
		hidden("失効")
		detail, err := svc.Article(as(auth.RoleViewer), art.ID)
		if err != nil {
			t.Fatal(err)
		}
		st := detail.State(kb.Japanese)
		if st.Live == nil || st.Live.Number != 1 || st.Draft == nil || st.Draft.Number != 2 || !strings.Contains(st.Draft.Body, "失効前") || len(detail.History) != 2 {
			t.Fatalf("state %+v %+v history %d", st.Live, st.Draft, len(detail.History))
		}
		if _, err := svc.Publish(manager, art.ID, kb.Japanese); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Publish(manager, art.ID, kb.Japanese); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("publishing twice: %v", err)
		}
		if hits, _ := svc.Search(public, "失効", kb.Japanese, false, 10); len(hits) != 1 || hits[0].Slug != "loyalty-points" {
			t.Fatalf("new version not indexed: %+v", hits)
		}
		if hits, _ := svc.Search(public, "1年間有効", kb.Japanese, false, 10); len(hits) != 0 {
			t.Fatalf("replaced version still indexed: %+v", hits)
		}
		detail, _ = svc.Article(as(auth.RoleViewer), art.ID)
		if len(detail.History) != 2 || !detail.History[0].Live || detail.History[1].Live || detail.History[1].PublishedAt == nil || detail.History[1].Title != "ポイントの有効期限" {
			t.Fatalf("history %+v", detail.History)
		}
		// The English locale has no version: not live, no draft.
		if _, err := svc.PublishedArticle(public, "loyalty-points", kb.English); kizuna.ErrorCode(err) != kizuna.ENOTFOUND || len(kb.LiveLocales(err)) != 1 {
			t.Fatalf("English: %v %v", err, kb.LiveLocales(err))
		}
	})
}

func TestAuthorizationPerRole(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		svc := demo(t, d)
		anon := context.Background()
		if _, err := svc.Articles(anon); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
			t.Errorf("anonymous list: %v", err)
		}
		if _, err := svc.Articles(as(auth.RoleViewer)); err != nil {
			t.Errorf("viewer list: %v", err)
		}
		in := kb.NewArticle{Slug: "x", Locale: kb.English, Title: "X", Body: "x"}
		for _, c := range []struct {
			role                   auth.Role
			write, publish, create bool
		}{
			{auth.RoleViewer, false, false, false},
			{auth.RoleAgent, true, false, false},
			{auth.RoleManager, true, true, true},
			{auth.RoleAdmin, true, true, true},
		} {
			ctx := as(c.role)
			in.Slug = "article-by-" + string(c.role)
			_, err := svc.CreateArticle(ctx, in)
			if (err == nil) != c.write || (err != nil && kizuna.ErrorCode(err) != kizuna.EFORBIDDEN) {
				t.Errorf("%s create: %v", c.role, err)
			}
			_, err = svc.SaveDraft(ctx, 1, kb.English, kb.Draft{Title: "Returns", Body: "new text"})
			if (err == nil) != c.write {
				t.Errorf("%s save draft: %v", c.role, err)
			}
			_, err = svc.Publish(ctx, 1, kb.English)
			if c.publish && err != nil && kizuna.ErrorCode(err) != kizuna.ECONFLICT || !c.publish && kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
				t.Errorf("%s publish: %v", c.role, err)
			}
			_, err = svc.CreateCategory(ctx, kb.NewCategory{Slug: "cat-" + string(c.role), NameJA: "分類", NameEN: "Category"})
			if (err == nil) != c.create {
				t.Errorf("%s category: %v", c.role, err)
			}
			if _, err := svc.Deflection(ctx, time.Unix(0, 0), time.Now()); err != nil {
				t.Errorf("%s deflection: %v", c.role, err)
			}
		}
		if _, err := svc.CreateArticle(as(auth.RoleAgent), kb.NewArticle{Slug: "returns-and-exchanges", Locale: kb.English, Title: "Dup", Body: ""}); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Errorf("duplicate slug: %v", err)
		}
		if _, err := svc.CreateArticle(as(auth.RoleAgent), kb.NewArticle{Slug: "Bad Slug", Locale: kb.English, Title: "x"}); kizuna.ErrorField(err) != "slug" {
			t.Errorf("bad slug: %v", err)
		}
	})
}

func TestRenderIsSafe(t *testing.T) {
	html, err := kb.Render("# Hi <img src=x onerror=alert(1)>\n\n<script>alert('kb')</script>\n\n[click](javascript:alert(1)) **bold**\n\n<iframe src=//evil></iframe>")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "onerror", "javascript:", "<iframe", "<img"} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("rendered HTML holds %q:\n%s", bad, html)
		}
	}
	if !strings.Contains(html, "<strong>bold</strong>") || !strings.Contains(html, "<h1>") {
		t.Errorf("Markdown not rendered:\n%s", html)
	}
	if got := kb.Excerpt("## Title\n\nSome **bold** text and <b>tags</b>.", 100); got != "Title Some bold text and tags." {
		t.Errorf("Excerpt = %q", got)
	}
}

// The deflection report over a fixture of sessions whose answers are
// known: of five sessions shown suggestions, two read an article after
// them and left (deflected), one read and still submitted, one submitted
// without reading, one read only before the suggestions appeared.
func TestDeflectionReport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		svc := demo(t, d)
		base := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		type ev struct {
			session string
			kind    kb.EventKind
			min     int
		}
		fixture := []ev{
			{"a", kb.EventSuggested, 0}, {"a", kb.EventViewed, 1}, {"a", kb.EventHelpful, 2}, // deflected
			{"b", kb.EventSearched, 0}, {"b", kb.EventSuggested, 1}, {"b", kb.EventViewed, 2}, // deflected
			{"c", kb.EventSuggested, 0}, {"c", kb.EventViewed, 1}, {"c", kb.EventNotHelpful, 2}, {"c", kb.EventSubmitted, 3},
			{"d", kb.EventSuggested, 0}, {"d", kb.EventSubmitted, 1},
			{"e", kb.EventViewed, 0}, {"e", kb.EventSuggested, 1}, // left, but read nothing suggested
			{"f", kb.EventSearched, 0}, {"f", kb.EventViewed, 1}, {"f", kb.EventHelpful, 2}, // never reached the form
			{"g", kb.EventSuggested, -120}, {"g", kb.EventViewed, -119}, // before the period
		}
		err := d.WriteTx(context.Background(), func(tx *db.Tx) error {
			for _, e := range fixture {
				var article any
				if e.kind == kb.EventViewed || e.kind == kb.EventHelpful || e.kind == kb.EventNotHelpful {
					article = 1
				}
				if _, err := tx.ExecContext(context.Background(), `INSERT INTO kb_events (session_hash, kind, article_id, locale, query, created_at) VALUES ($1, $2, $3, 'ja', '', $4)`,
					kb.HashSession(e.session), string(e.kind), article, base.Add(time.Duration(e.min)*time.Minute).UnixMilli()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		r, err := svc.Deflection(as(auth.RoleViewer), base.Add(-time.Hour), base.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if r.Sessions != 6 || r.Searched != 2 || r.Viewed != 5 || r.Helpful != 2 || r.NotHelpful != 1 || r.Shown != 5 || r.Submitted != 2 || r.Deflected != 2 {
			t.Fatalf("report %+v", r)
		}
		// Wilson 95% for 2 of 5: 0.4 [0.1176, 0.7693].
		near := func(got, want float64) bool { return math.Abs(got-want) < 5e-4 }
		if !near(r.Rate.Value.Or(-1), 0.4) || !near(r.Rate.Low.Or(-1), 0.1176) || !near(r.Rate.High.Or(-1), 0.7693) {
			t.Fatalf("rate %+v", r.Rate)
		}
		if _, err := svc.Deflection(as(auth.RoleViewer), base, base); kizuna.ErrorField(err) != "to" {
			t.Errorf("empty period: %v", err)
		}
		if _, err := svc.Deflection(context.Background(), base, base.Add(time.Hour)); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
			t.Errorf("anonymous report: %v", err)
		}

		// Record: public, stores only the hash of the session.
		if err := svc.Record(context.Background(), kb.Event{Session: "raw-cookie-value", Kind: kb.EventViewed, ArticleID: 1, Locale: kb.Japanese}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.Reader().QueryRow(db.Rebind(d.Dialect, `SELECT COUNT(*) FROM kb_events WHERE session_hash = $1`), kb.HashSession("raw-cookie-value")).Scan(&n); err != nil || n != 1 {
			t.Fatalf("recorded %d %v", n, err)
		}
		if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM kb_events WHERE session_hash = 'raw-cookie-value'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("raw session stored: %d %v", n, err)
		}
		for _, bad := range []kb.Event{{Kind: kb.EventSearched}, {Session: "s", Kind: "bought"}, {Session: "s", Kind: kb.EventViewed}, {Session: "s", Kind: kb.EventViewed, ArticleID: 999}} {
			if err := svc.Record(context.Background(), bad); err == nil {
				t.Errorf("Record(%+v) accepted", bad)
			}
		}
	})
}
