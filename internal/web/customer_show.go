package web

import (
	"net/http"
	"strconv"

	"github.com/kizuna-oss/kizuna/internal/customer"
)

type customerView struct {
	Customer *customer.Customer
	Summary  *customer.Summary
	Timeline *customer.Page[customer.TimelineItem]
	Orders   *customer.Page[customer.Order]
	Merges   []customer.Merge
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
	if v.Orders, err = s.cfg.Customers.Orders(ctx, id, ordersPageSize, v.OCursor); err != nil {
		return nil, err
	}
	if v.Merges, err = s.cfg.Customers.Merges(ctx, id); err != nil {
		return nil, err
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
