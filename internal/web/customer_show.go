package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/i18n"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// timelineEntry is a timeline item as the 360 page lists it.
type timelineEntry struct {
	Item    customer.TimelineItem
	Summary string
}

// maxSummaryProps bounds how many event properties the one-line summary
// shows; the API has them all.
const maxSummaryProps = 4

// timelineSummary is the line under a timeline entry: an order's status and
// total in the viewer's locale, or an event's type and first properties.
func timelineSummary(pr *i18n.Printer, it customer.TimelineItem) string {
	d := it.Detail
	if d == nil {
		return ""
	}
	switch it.Kind {
	case "order":
		status, _ := d["status"].(string)
		cur, _ := d["currency"].(string)
		total, ok := asInt64(d["total_minor"])
		var parts []string
		if status != "" {
			parts = append(parts, pr.T("order.status."+status))
		}
		if ok && cur != "" {
			parts = append(parts, pr.Money(total, cur))
		}
		return strings.Join(parts, " · ")
	case "event":
		var parts []string
		if typ, _ := d["type"].(string); typ != "" && typ != it.Title {
			parts = append(parts, typ)
		}
		var props map[string]any
		switch p := d["properties"].(type) {
		case json.RawMessage:
			_ = json.Unmarshal(p, &props)
		case map[string]any:
			props = p
		}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i == maxSummaryProps {
				parts = append(parts, "…")
				break
			}
			v := props[k]
			switch v.(type) {
			case map[string]any, []any:
				continue // nested values belong to the API view
			}
			parts = append(parts, fmt.Sprintf("%s: %v", k, v))
		}
		return strings.Join(parts, " · ")
	}
	return ""
}

func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

type customerView struct {
	Customer *customer.Customer
	Summary  *customer.Summary
	Timeline *customer.Page[customer.TimelineItem]
	Entries  []timelineEntry // Timeline's items with a one-line summary
	Orders   *customer.Page[customer.Order]
	Merges   []customer.Merge
	Tickets  []support.Ticket // the support desk's tickets, newest first (nil without the desk)
	Stages   []string
	Cursor   string // timeline cursor of this page ("" = newest)
	OCursor  string // orders cursor

	// Form state after a failed submission.
	Edit       customer.Customer // the values to show in the edit form
	EditError  string            // catalog key
	EditMsg    string
	EditField  string
	MergeLoser string
	MergeWhy   string
	MergeError string
	MergeMsg   string
}

const (
	timelinePageSize = 20
	ordersPageSize   = 10
	customerTickets  = 10
)

// loadCustomer gathers everything the 360 page shows.
func (s *Server) loadCustomer(r *http.Request, id int64) (*customerView, error) {
	ctx := r.Context()
	q := r.URL.Query()
	v := &customerView{Stages: customer.LifecycleStages, Cursor: q.Get("tl"), OCursor: q.Get("oc")}
	var err error
	if v.Customer, err = s.cfg.Customers.Get(ctx, id); err != nil {
		return nil, err
	}
	id = v.Customer.ID // a merged profile's id shows its canonical customer
	v.Edit = *v.Customer
	if v.Summary, err = s.cfg.Customers.Summary(ctx, id); err != nil {
		return nil, err
	}
	if v.Timeline, err = s.cfg.Customers.Timeline(ctx, id, timelinePageSize, v.Cursor); err != nil {
		return nil, err
	}
	pr := state(r).Printer
	for _, it := range v.Timeline.Items {
		v.Entries = append(v.Entries, timelineEntry{Item: it, Summary: timelineSummary(pr, it)})
	}
	if v.Orders, err = s.cfg.Customers.Orders(ctx, id, ordersPageSize, v.OCursor); err != nil {
		return nil, err
	}
	if v.Merges, err = s.cfg.Customers.Merges(ctx, id); err != nil {
		return nil, err
	}
	if s.cfg.Support != nil {
		tickets, err := s.cfg.Support.Tickets(ctx, support.Filter{CustomerID: id, Limit: customerTickets})
		switch {
		case err == nil:
			v.Tickets = tickets.Items
		case kizuna.ErrorCode(err) != kizuna.EFORBIDDEN:
			return nil, err
		}
	}
	return v, nil
}

func (s *Server) handleCustomerShow(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v, err := s.loadCustomer(r, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if v.Customer.ID != id {
		http.Redirect(w, r, "/customers/"+strconv.FormatInt(v.Customer.ID, 10), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "customer_show", s.newPage(w, r, "customer.title", "customers", v))
}
