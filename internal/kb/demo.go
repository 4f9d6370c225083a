package kb

import (
	"context"
	"embed"
	"fmt"
	"strings"
)

//go:embed demo/*.md
var demoFS embed.FS

// demoCategories and demoArticles are the demo help center: a shop's
// common questions, each article in Japanese (demo/<slug>.ja.md) and
// English (demo/<slug>.en.md), the first line being the title.
var demoCategories = []NewCategory{
	{Slug: "orders-shipping", NameJA: "ご注文・配送", NameEN: "Orders and shipping", Position: 1},
	{Slug: "returns", NameJA: "返品・返金", NameEN: "Returns and refunds", Position: 2},
	{Slug: "payment", NameJA: "お支払い", NameEN: "Payment", Position: 3},
	{Slug: "products", NameJA: "商品・保証", NameEN: "Products and warranty", Position: 4},
	{Slug: "account", NameJA: "アカウント", NameEN: "Your account", Position: 5},
}

var demoArticles = []struct{ slug, category string }{
	{"returns-and-exchanges", "returns"},
	{"refund-timing", "returns"},
	{"shipping-times", "orders-shipping"},
	{"track-order", "orders-shipping"},
	{"change-cancel-order", "orders-shipping"},
	{"gift-wrapping", "orders-shipping"},
	{"payment-methods", "payment"},
	{"receipts-and-invoices", "payment"},
	{"warranty", "products"},
	{"size-guide", "products"},
	{"reset-password", "account"},
	{"close-account", "account"},
}

// LoadDemo creates the demo categories and publishes the demo articles in
// both locales (kb.publish; the demo runs it as the system). ECONFLICT
// when they exist already.
func (s *Service) LoadDemo(ctx context.Context) error {
	cats := map[string]int64{}
	for _, c := range demoCategories {
		created, err := s.CreateCategory(ctx, c)
		if err != nil {
			return err
		}
		cats[c.Slug] = created.ID
	}
	for i, a := range demoArticles {
		var id int64
		for _, locale := range Locales {
			b, err := demoFS.ReadFile("demo/" + a.slug + "." + locale + ".md")
			if err != nil {
				return fmt.Errorf("kb: demo article %s: %w", a.slug, err)
			}
			first, body, _ := strings.Cut(string(b), "\n")
			d := Draft{Title: strings.TrimPrefix(first, "# "), Body: strings.TrimLeft(body, "\n")}
			if id == 0 {
				art, err := s.CreateArticle(ctx, NewArticle{Slug: a.slug, CategoryID: cats[a.category], Position: i + 1, Locale: locale, Title: d.Title, Body: d.Body})
				if err != nil {
					return err
				}
				id = art.ID
			} else if _, err := s.SaveDraft(ctx, id, locale, d); err != nil {
				return err
			}
			if _, err := s.Publish(ctx, id, locale); err != nil {
				return err
			}
		}
	}
	return nil
}
