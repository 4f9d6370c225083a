package ingest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// Segment e-commerce spec v2 events that change orders.
const (
	eventOrderCompleted = "Order Completed"
	eventOrderRefunded  = "Order Refunded"
	eventOrderCancelled = "Order Cancelled"
)

// orderStatus returns the order status a track event records, or "" if the
// event is not an order event.
func orderStatus(m *Message) string {
	if m.Type != TypeTrack {
		return ""
	}
	switch m.Name {
	case eventOrderCompleted:
		return "completed"
	case eventOrderRefunded:
		return "refunded"
	case eventOrderCancelled:
		return "cancelled"
	}
	return ""
}

type orderProps struct {
	OrderID  any      `json:"order_id"`
	Total    *float64 `json:"total"`
	Revenue  *float64 `json:"revenue"`
	Currency string   `json:"currency"`
	Products []struct {
		ProductID any      `json:"product_id"`
		SKU       string   `json:"sku"`
		Name      string   `json:"name"`
		Price     *float64 `json:"price"`
		Quantity  *float64 `json:"quantity"`
	} `json:"products"`
}

// orderInput reads an order event's properties (Segment e-commerce spec:
// order_id, total or revenue, currency, products[]). It is validated when
// the message is accepted, so a malformed order event is rejected with a
// field error instead of being stored without its order.
func orderInput(m *Message, status string) (*customer.OrderInput, error) {
	var p orderProps
	if len(m.Properties) == 0 {
		return nil, kizuna.FieldError("properties.order_id", "%s needs properties.order_id", m.Name)
	}
	if err := json.Unmarshal(m.Properties, &p); err != nil {
		return nil, kizuna.FieldError("properties", "%s properties do not follow the e-commerce spec: %v", m.Name, err)
	}
	ref := idString(p.OrderID)
	if ref == "" {
		return nil, kizuna.FieldError("properties.order_id", "%s needs properties.order_id", m.Name)
	}
	cur := strings.ToUpper(strings.TrimSpace(p.Currency))
	if cur == "" {
		cur = "USD" // Segment's documented default
	}
	in := &customer.OrderInput{Ref: ref, Currency: cur, Status: status, PlacedAt: m.Timestamp, Source: "segment"}
	sign := int64(1)
	kind := "sale"
	switch status {
	case "refunded":
		sign, kind = -1, "refund"
	case "cancelled":
		sign, kind = -1, "cancel"
	}
	var linesTotal int64
	for i, pr := range p.Products {
		field := fmt.Sprintf("properties.products[%d]", i)
		q := int64(1)
		if pr.Quantity != nil {
			q = int64(*pr.Quantity)
			if float64(q) != *pr.Quantity || q <= 0 {
				return nil, kizuna.FieldError(field+".quantity", "quantity must be a positive whole number")
			}
		}
		var price int64
		if pr.Price != nil {
			v, err := customer.ToMinor(*pr.Price, cur)
			if err != nil {
				return nil, kizuna.FieldError(field+".price", "%v", err)
			}
			price = v
		}
		sku := pr.SKU
		if sku == "" {
			sku = idString(pr.ProductID)
		}
		in.Lines = append(in.Lines, customer.OrderLine{
			Kind: kind, SKU: sku, Name: pr.Name, Quantity: sign * q,
			UnitPriceMinor: price, AmountMinor: sign * q * price, OccurredAt: m.Timestamp,
		})
		linesTotal += q * price
	}
	total := p.Total
	if total == nil {
		total = p.Revenue
	}
	if total != nil {
		v, err := customer.ToMinor(*total, cur)
		if err != nil {
			return nil, kizuna.FieldError("properties.total", "%v", err)
		}
		// An order-level total without products (or differing from them:
		// shipping, tax, discounts) is kept as an adjustment line so that
		// SUM(lines) is the order's total.
		if diff := v - linesTotal; diff != 0 {
			in.Lines = append(in.Lines, customer.OrderLine{
				Kind: kind, SKU: "", Name: "adjustment", Quantity: sign,
				UnitPriceMinor: diff, AmountMinor: sign * diff, OccurredAt: m.Timestamp,
			})
		}
	}
	if len(in.Lines) == 0 && status == "completed" {
		return nil, kizuna.FieldError("properties.total", "%s needs properties.total, revenue or products", m.Name)
	}
	return in, nil
}

func idString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return fmt.Sprintf("%.0f", x)
	case json.Number:
		return x.String()
	}
	return ""
}
