package web

import (
	"encoding/json"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

func TestTimelineSummary(t *testing.T) {
	ja, en := i18n.NewPrinter(i18n.Japanese, nil), i18n.NewPrinter(i18n.English, nil)
	cases := []struct {
		p    *i18n.Printer
		item customer.TimelineItem
		want string
	}{
		{en, customer.TimelineItem{Kind: "order", Title: "ORD-1", Detail: map[string]any{"status": "completed", "currency": "GBP", "total_minor": int64(123450)}}, "Completed · £1,234.50"},
		{ja, customer.TimelineItem{Kind: "order", Title: "ORD-2", Detail: map[string]any{"status": "refunded", "currency": "JPY", "total_minor": float64(-3000)}}, "返金済み · -￥3,000"},
		{en, customer.TimelineItem{Kind: "event", Title: "Product Viewed", Detail: map[string]any{"type": "track", "properties": json.RawMessage(`{"sku":"85123A","price":2.55,"nested":{"a":1}}`)}}, "track · price: 2.55 · sku: 85123A"},
		{en, customer.TimelineItem{Kind: "event", Title: "identify", Detail: map[string]any{"type": "identify", "properties": json.RawMessage(`{}`)}}, ""},
		{en, customer.TimelineItem{Kind: "event", Title: "x", Detail: map[string]any{"type": "track", "properties": json.RawMessage(`{"a":1,"b":2,"c":3,"d":4,"e":5}`)}}, "track · a: 1 · b: 2 · c: 3 · d: 4 · …"},
		{en, customer.TimelineItem{Kind: "event", Title: "x"}, ""},
	}
	for _, c := range cases {
		if got := timelineSummary(c.p, c.item); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.item.Kind, c.item.Title, got, c.want)
		}
	}
}
