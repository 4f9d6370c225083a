package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// apiErrorBody is the one error shape of the JSON API.
type apiErrorBody struct {
	Error apiErrorDetail `json:"error"`
}

type apiErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		s.log.Warn("writing JSON response", "err", err)
	}
}

// apiError writes err in the API's error shape with the status its code
// maps to. Internal errors are logged once here and reach the client only
// as "internal error".
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	err = s.classify(r, err)
	code := kizuna.ErrorCode(err)
	if code == kizuna.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kizuna"`)
	}
	setRetryAfter(w, err)
	s.writeJSON(w, statusOf(code), apiErrorBody{Error: apiErrorDetail{
		Code: code, Message: kizuna.ErrorMessage(err), Field: kizuna.ErrorField(err),
	}})
}

// setRetryAfter tells throttled and overloaded clients when to come back.
func setRetryAfter(w http.ResponseWriter, err error) {
	switch kizuna.ErrorCode(err) {
	case kizuna.ETOOMANY, kizuna.EUNAVAILABLE:
		secs := 5
		if at, ok := auth.RetryAt(err); ok {
			secs = max(1, int(time.Until(at).Seconds()+0.999))
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
}

// decodeJSON reads one JSON object into v, rejecting unknown fields so a
// typo is an error rather than silently ignored.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &kizuna.Error{Code: kizuna.EINVALID, Message: "Content-Type must be application/json"}
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return &kizuna.Error{Code: kizuna.EINVALID, Message: "request body is empty; send a JSON object"}
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return kizuna.FieldError(ute.Field, "%s must be %s", ute.Field, ute.Type.String())
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return kizuna.FieldError(f, "unknown field %q", f)
		}
		return &kizuna.Error{Code: kizuna.EINVALID, Message: "malformed JSON: " + err.Error()}
	}
	if dec.More() {
		return &kizuna.Error{Code: kizuna.EINVALID, Message: "request body holds more than one JSON value"}
	}
	return nil
}

// pathID parses the {id} path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, kizuna.FieldError("id", "id must be a positive integer")
	}
	return id, nil
}

// pageParams reads limit (1..200, default 50) and cursor.
func pageParams(r *http.Request) (int, string, error) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return 0, "", kizuna.FieldError("limit", "limit must be an integer from 1 to 200")
		}
		limit = n
	}
	return limit, q.Get("cursor"), nil
}

// customerFilter reads the list's query parameters.
func customerFilter(r *http.Request) (customer.Filter, error) {
	q := r.URL.Query()
	limit, cursor, err := pageParams(r)
	if err != nil {
		return customer.Filter{}, err
	}
	f := customer.Filter{
		Query:          strings.TrimSpace(q.Get("q")),
		LifecycleStage: q.Get("lifecycle_stage"),
		Country:        strings.ToUpper(strings.TrimSpace(q.Get("country"))),
		Sort:           q.Get("sort"),
		Limit:          limit,
		Cursor:         cursor,
	}
	if f.LifecycleStage != "" && !validStage(f.LifecycleStage) {
		return f, kizuna.FieldError("lifecycle_stage", "unknown lifecycle stage %q", f.LifecycleStage)
	}
	if f.Sort != "" && !validSort(f.Sort) {
		return f, kizuna.FieldError("sort", "sort must be one of created_at, updated_at, last_seen_at, name, optionally prefixed with -")
	}
	if v := q.Get("seen_after"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, kizuna.FieldError("seen_after", "seen_after must be an RFC 3339 time")
		}
		f.SeenAfter = &t
	}
	return f, nil
}

func validStage(s string) bool {
	for _, st := range customer.LifecycleStages {
		if s == st {
			return true
		}
	}
	return false
}

var sortKeys = []string{"created_at", "updated_at", "last_seen_at", "name"}

func validSort(s string) bool {
	s = strings.TrimPrefix(s, "-")
	for _, k := range sortKeys {
		if s == k {
			return true
		}
	}
	return false
}

// me is the caller as /api/v1/me shows it.
type me struct {
	Kind        string   `json:"kind"`
	ID          int64    `json:"id"`
	Label       string   `json:"label"`
	Role        string   `json:"role"`
	Permissions []string `json:"permissions"`
	CSRFToken   string   `json:"csrf_token,omitempty"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	p := *st.Principal
	out := me{Kind: string(p.Kind), ID: p.ID, Label: p.Label, Role: string(p.Role), Permissions: []string{}}
	for _, perm := range allPermissions {
		if p.Can(perm) {
			out.Permissions = append(out.Permissions, string(perm))
		}
	}
	if st.Session != nil {
		out.CSRFToken = st.Session.CSRFToken
	}
	s.writeJSON(w, http.StatusOK, out)
}

var allPermissions = []auth.Permission{
	auth.PermDashboardRead, auth.PermCustomersRead, auth.PermCustomersWrite, auth.PermCustomersMerge,
	auth.PermCustomersUnmerge, auth.PermEventsRead, auth.PermOrdersRead, auth.PermDataExport,
	auth.PermDataImport, auth.PermAuditRead, auth.PermUsersManage, auth.PermKeysManage,
	auth.PermSurveysRead, auth.PermSurveysWrite, auth.PermResponsesExport,
	auth.PermTicketsRead, auth.PermTicketsWrite, auth.PermTicketsAssign, auth.PermMacrosManage,
	auth.PermCategoriesManage, auth.PermSLAManage,
	auth.PermKBRead, auth.PermKBWrite, auth.PermKBPublish,
}
