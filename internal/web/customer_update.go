package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// editFields are the profile fields of the edit form, in the Patch.
var editFields = []string{"family_name", "given_name", "family_name_kana", "given_name_kana",
	"email", "phone", "locale", "time_zone", "country", "lifecycle_stage"}

func customerURL(id int64) string { return "/customers/" + strconv.FormatInt(id, 10) }

func (s *Server) handleCustomerUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	var p customer.Patch
	vals := map[string]string{}
	for _, f := range editFields {
		if _, ok := r.PostForm[f]; !ok {
			continue
		}
		v := strings.TrimSpace(r.PostFormValue(f))
		vals[f] = v
		ptr := &v
		switch f {
		case "family_name":
			p.FamilyName = ptr
		case "given_name":
			p.GivenName = ptr
		case "family_name_kana":
			p.FamilyNameKana = ptr
		case "given_name_kana":
			p.GivenNameKana = ptr
		case "email":
			p.Email = ptr
		case "phone":
			p.Phone = ptr
		case "locale":
			p.Locale = ptr
		case "time_zone":
			p.TimeZone = ptr
		case "country":
			p.Country = ptr
		case "lifecycle_stage":
			p.LifecycleStage = ptr
		}
	}
	if _, err := s.cfg.Customers.Update(r.Context(), id, p); err != nil {
		s.customerFormError(w, r, id, err, func(v *customerView, key, msg string) {
			v.EditError, v.EditMsg, v.EditField = key, msg, kizuna.ErrorField(err)
			e := &v.Edit
			for f, val := range vals {
				switch f {
				case "family_name":
					e.FamilyName = val
				case "given_name":
					e.GivenName = val
				case "family_name_kana":
					e.FamilyNameKana = val
				case "given_name_kana":
					e.GivenNameKana = val
				case "email":
					e.Email = val
				case "phone":
					e.Phone = val
				case "locale":
					e.Locale = val
				case "time_zone":
					e.TimeZone = val
				case "country":
					e.Country = val
				case "lifecycle_stage":
					e.LifecycleStage = val
				}
			}
		})
		return
	}
	http.Redirect(w, r, customerURL(id)+"?done=saved", http.StatusSeeOther)
}

// customerFormError re-renders the 360 page with a form's error, or the
// error page when the error is not about the input.
func (s *Server) customerFormError(w http.ResponseWriter, r *http.Request, id int64, err error, set func(v *customerView, key, msg string)) {
	switch kizuna.ErrorCode(err) {
	case kizuna.EINVALID, kizuna.ECONFLICT, kizuna.ENOTFOUND:
		// ENOTFOUND here is the other customer of a merge; if this page's
		// customer is gone, loadCustomer reports that instead.
	default:
		s.pageError(w, r, err)
		return
	}
	v, lerr := s.loadCustomer(r, id)
	if lerr != nil {
		s.pageError(w, r, lerr)
		return
	}
	s.renderWithError(w, r, "customer_show", "customer.title", "customers", v, err, func(key, msg string) { set(v, key, msg) })
}

func (s *Server) handleCustomerMerge(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	loserText := strings.TrimSpace(strings.TrimPrefix(r.PostFormValue("loser_id"), "#"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	loser, perr := strconv.ParseInt(loserText, 10, 64)
	if perr != nil || loser <= 0 {
		err = kizuna.FieldError("loser_id", "enter the number of the customer to merge into this one")
	} else {
		_, err = s.cfg.Customers.Merge(r.Context(), id, loser, reason)
	}
	if err != nil {
		s.customerFormError(w, r, id, err, func(v *customerView, key, msg string) {
			v.MergeError, v.MergeMsg, v.MergeLoser, v.MergeWhy = key, msg, loserText, reason
		})
		return
	}
	http.Redirect(w, r, customerURL(id)+"?done=merged", http.StatusSeeOther)
}

func (s *Server) handleCustomerUnmerge(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if err := s.cfg.Customers.Unmerge(r.Context(), id); err != nil {
		s.pageError(w, r, err)
		return
	}
	back := "/customers"
	if c, err := strconv.ParseInt(r.PostFormValue("customer"), 10, 64); err == nil && c > 0 {
		back = customerURL(c)
	}
	http.Redirect(w, r, back+"?done=unmerged", http.StatusSeeOther)
}
