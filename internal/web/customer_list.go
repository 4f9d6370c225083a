package web

import (
	"net/http"
	"net/url"

	"github.com/kizuna-oss/kizuna/internal/customer"
)

type customerListView struct {
	Filter   customer.Filter
	Page     *customer.Page[customer.Customer]
	Query    url.Values // the current query, for links that change one parameter
	Stages   []string
	Sorts    []string
	ErrorKey string
	ErrorMsg string
}

// listSorts are the orders the list's sort menu offers.
var listSorts = []string{"-created_at", "created_at", "-last_seen_at", "-updated_at", "name", "-name"}

func (s *Server) handleCustomerList(w http.ResponseWriter, r *http.Request) {
	view := customerListView{Query: r.URL.Query(), Stages: customer.LifecycleStages, Sorts: listSorts}
	f, err := customerFilter(r)
	view.Filter = f
	if err != nil {
		// A bad filter keeps the form (and what was typed) on screen.
		s.renderWithError(w, r, "customer_list", "customers.title", "customers", &view, err, func(key, msg string) {
			view.ErrorKey, view.ErrorMsg = key, msg
		})
		return
	}
	if f.Limit == 50 && r.URL.Query().Get("limit") == "" {
		f.Limit = 25
	}
	view.Page, err = s.cfg.Customers.List(r.Context(), f)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "customer_list", s.newPage(w, r, "customers.title", "customers", view))
}
