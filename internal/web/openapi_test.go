package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

func loadOpenAPI(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("parsing openapi.json: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("document is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return doc, router
}

// TestOpenAPIMatchesRoutes: every /api/v1 route in routes.go is documented
// with its method, and every documented operation is a real route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	h := newHarness(t)
	inTable := map[string]bool{}
	for _, rt := range h.srv.routes {
		if !strings.HasPrefix(rt.Pattern, "/api/v1/") {
			continue
		}
		key := rt.Method + " " + rt.Pattern
		inTable[key] = true
		item := doc.Paths.Value(rt.Pattern)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("route %s is not documented in openapi.json", key)
		}
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(documented)
	for _, key := range documented {
		if !inTable[key] {
			t.Errorf("openapi.json documents %s, which routes.go does not serve", key)
		}
	}
	if len(documented) != len(inTable) {
		t.Errorf("%d documented operations, %d API routes", len(documented), len(inTable))
	}
}

// TestOpenAPIServed: the document is served as JSON without credentials.
func TestOpenAPIServed(t *testing.T) {
	h := newHarness(t)
	w := h.get("/api/v1/openapi.json", "anon")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("got %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if !bytes.Equal(w.Body.Bytes(), openAPIDocument) {
		t.Fatal("served document differs from the embedded one")
	}
}

// TestAPIResponsesMatchSchema sends real requests through the server —
// successes, validation errors, 401, 403 and 404 — and validates each
// response (status, content type, body) against the document.
func TestAPIResponsesMatchSchema(t *testing.T) {
	_, router := loadOpenAPI(t)
	check := func(t *testing.T, h *harness, r *http.Request, wantStatus int) {
		t.Helper()
		body := ""
		if r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			body = string(b)
			r.Body = io.NopCloser(strings.NewReader(body))
		}
		w := h.serve(r)
		if wantStatus != 0 && w.Code != wantStatus {
			t.Fatalf("%s %s: status %d, want %d: %s", r.Method, r.URL, w.Code, wantStatus, w.Body.String())
		}
		// The router matches on the full URL; give it the server's origin.
		vr := httptest.NewRequest(r.Method, r.URL.String(), strings.NewReader(body))
		vr.Header = r.Header.Clone()
		route, params, err := router.FindRoute(vr)
		if err != nil {
			t.Fatalf("%s %s: not in the document: %v", r.Method, r.URL, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: w.Code, Header: w.Header(),
			Body:    io.NopCloser(bytes.NewReader(w.Body.Bytes())),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Fatalf("%s %s → %d does not match the document: %v\nbody: %s", r.Method, r.URL, w.Code, err, w.Body.String())
		}
		// Requests we send as valid must be valid by the document, too.
		if w.Code < 300 {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Fatalf("%s %s: request does not match the document: %v", r.Method, r.URL, err)
			}
		}
	}

	h := newHarness(t)
	for _, rt := range h.srv.routes {
		if rt.Access != api {
			continue
		}
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			h := newHarness(t)
			c := callFor(t, h, rt)
			check(t, h, h.request(rt.Method, c.path, "admin", c.body, true), 0)
			check(t, h, h.request(rt.Method, c.path, "key:admin", c.body, true), 0)
			check(t, h, h.request(rt.Method, c.path, "anon", c.body, true), http.StatusUnauthorized)
			if rt.Perm != "" && !strings.HasPrefix(string(rt.Perm), "customers.read") {
				check(t, h, h.request(rt.Method, c.path, "key:viewer", c.body, true), 0)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		h := newHarness(t)
		check(t, h, h.request("GET", "/api/v1/customers/999999", "admin", "", true), http.StatusNotFound)
		check(t, h, h.request("GET", "/api/v1/customers?limit=500", "admin", "", true), http.StatusBadRequest)
		check(t, h, h.request("GET", "/api/v1/customers?q=%E3%83%A4%E3%83%9E%E3%83%80&limit=1", "key:viewer", "", true), http.StatusOK)
		check(t, h, h.request("PATCH", fmt.Sprintf("/api/v1/customers/%d", h.ids.hanako), "admin", `{"email":"not-an-email"}`, true), http.StatusBadRequest)
		check(t, h, h.request("POST", fmt.Sprintf("/api/v1/merges/%d/unmerge", h.ids.merge), "manager", "", true), http.StatusForbidden)
		check(t, h, h.request("GET", fmt.Sprintf("/api/v1/customers/%d/timeline?limit=1", h.ids.hanako), "viewer", "", true), http.StatusOK)
		check(t, h, h.request("GET", "/api/v1/customers?cursor=garbage", "viewer", "", true), http.StatusBadRequest)
		check(t, h, h.request("GET", "/api/v1/users", "key:manager", "", true), http.StatusForbidden)
	})
}
