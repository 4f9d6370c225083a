package web

import (
	"net/http"

	"github.com/kizuna-oss/kizuna/internal/customer"
)

func (s *Server) apiOverview(w http.ResponseWriter, r *http.Request) {
	p, err := parsePeriod(r.URL.Query().Get("period"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	to := s.cfg.Now()
	ov, err := s.cfg.Customers.Overview(r.Context(), to.Add(-p.span), to, p.bucket)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ov)
}

// filled makes a page's items an empty array rather than null in JSON.
func filled[T any](p *customer.Page[T], err error) (*customer.Page[T], error) {
	if p != nil && p.Items == nil {
		p.Items = []T{}
	}
	return p, err
}

func (s *Server) apiCustomerList(w http.ResponseWriter, r *http.Request) {
	f, err := customerFilter(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	page, err := filled(s.cfg.Customers.List(r.Context(), f))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, page)
}

// withID runs fn with the path id, reporting errors in the API shape.
func (s *Server) withID(w http.ResponseWriter, r *http.Request, fn func(id int64) (any, error)) {
	id, err := pathID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	v, err := fn(id)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiCustomerGet(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return s.cfg.Customers.Get(r.Context(), id) })
}

func (s *Server) apiCustomerUpdate(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		var p customer.Patch
		if err := decodeJSON(r, &p); err != nil {
			return nil, err
		}
		return s.cfg.Customers.Update(r.Context(), id, p)
	})
}

func (s *Server) apiCustomerTimeline(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		limit, cursor, err := pageParams(r)
		if err != nil {
			return nil, err
		}
		return filled(s.cfg.Customers.Timeline(r.Context(), id, limit, cursor))
	})
}

func (s *Server) apiCustomerOrders(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		limit, cursor, err := pageParams(r)
		if err != nil {
			return nil, err
		}
		return filled(s.cfg.Customers.Orders(r.Context(), id, limit, cursor))
	})
}

func (s *Server) apiCustomerEvents(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		limit, cursor, err := pageParams(r)
		if err != nil {
			return nil, err
		}
		return filled(s.cfg.Customers.Events(r.Context(), id, limit, cursor))
	})
}

func (s *Server) apiCustomerSummary(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return s.cfg.Customers.Summary(r.Context(), id) })
}

// itemsOf wraps a plain list in the API's list shape.
type itemsOf[T any] struct {
	Items []T   `json:"items"`
	Total int64 `json:"total"`
}

func list[T any](items []T) itemsOf[T] {
	if items == nil {
		items = []T{}
	}
	return itemsOf[T]{Items: items, Total: int64(len(items))}
}

func (s *Server) apiCustomerMerges(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		ms, err := s.cfg.Customers.Merges(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return list(ms), nil
	})
}

type mergeRequest struct {
	LoserID int64  `json:"loser_id"`
	Reason  string `json:"reason"`
}

func (s *Server) apiCustomerMerge(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var in mergeRequest
	if err := decodeJSON(r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	m, err := s.cfg.Customers.Merge(r.Context(), id, in.LoserID, in.Reason)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, m)
}

func (s *Server) apiUnmerge(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return nil, s.cfg.Customers.Unmerge(r.Context(), id) })
}
