package web

import (
	"context"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/kb"
)

// kbSeed is what seedKB leaves in the seed database: the demo help center,
// with a pending Japanese draft on the returns article (so publishing has
// something to publish), a draft-only article and a hostile one.
type kbSeed struct {
	article   int64  // returns-and-exchanges: live in ja and en, a ja draft v2 pending
	slug      string // its slug
	draftOnly int64  // never published
	hostile   int64  // live, with script in its title and body
}

var theKBSeed kbSeed

// Texts the tests look for.
const (
	kbDraftWord   = "しゅうりょうけいかく"
	kbDraftOnlyEN = "Zebracorn loyalty scheme"
	kbHostileSlug = "hostile-article"
)

func seedKB(ctx context.Context, d *db.DB) error {
	svc := kb.NewService(d)
	sys := auth.System(ctx, "test")
	if err := svc.LoadDemo(sys); err != nil {
		return err
	}
	a, err := svc.ArticleBySlug(sys, "returns-and-exchanges")
	if err != nil {
		return err
	}
	theKBSeed.article, theKBSeed.slug = a.ID, a.Slug
	if _, err := svc.SaveDraft(sys, a.ID, kb.Japanese, kb.Draft{Title: "返品・交換について（改訂中）", Body: "下書き：" + kbDraftWord}); err != nil {
		return err
	}
	only, err := svc.CreateArticle(sys, kb.NewArticle{Slug: "draft-only", Locale: kb.English, Title: kbDraftOnlyEN, Body: "Not yet."})
	if err != nil {
		return err
	}
	theKBSeed.draftOnly = only.ID
	hostile, err := svc.CreateArticle(sys, kb.NewArticle{Slug: kbHostileSlug, Locale: kb.English,
		Title: `Hostile <script>alert("title")</script> article`,
		Body:  "Hostile body <script>alert('body')</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1))"})
	if err != nil {
		return err
	}
	theKBSeed.hostile = hostile.ID
	_, err = svc.Publish(sys, hostile.ID, kb.English)
	return err
}
