package web

import (
	"net/http"

	"github.com/kizuna-oss/kizuna/internal/auth"
)

// access says how a route authenticates its caller.
type access int

const (
	// public routes need no principal (a session is still read if present).
	public access = iota
	// page routes are HTML for signed-in users (session cookie); without a
	// session they redirect to the login page.
	page
	// api routes are JSON for API keys (Authorization: Bearer) or a session
	// cookie plus X-CSRF-Token; without either they answer 401.
	api
	// writeKey routes are the Segment tracking API: the handler checks the
	// write key (HTTP Basic, the key as user name) and applies its own body
	// limits, so the web middleware only measures them.
	writeKey
)

// route is one entry of the HTTP surface. An empty Method matches every
// method (the handler answers 405 itself). Perm documents what the service
// behind the handler requires (the service enforces it; the route × role
// test proves every route answers as the policy says). An empty Perm on a
// page or api route means any signed-in principal.
type route struct {
	Method  string
	Pattern string
	Access  access
	Perm    auth.Permission
	Handler http.HandlerFunc
}

// routeTable is the whole HTTP surface of Kizuna.
func (s *Server) routeTable() []route {
	routes := []route{
		// Operations.
		{"GET", "/healthz", public, "", s.handleHealthz},
		{"GET", "/readyz", public, "", s.handleReadyz},
		{"GET", "/metrics", public, "", s.metricsHandler().ServeHTTP},
		{"GET", "/static/{name}", public, "", s.handleStatic},

		// Sign-in and language.
		{"GET", "/login", public, "", s.handleLoginPage},
		{"POST", "/login", public, "", s.handleLoginSubmit},
		{"POST", "/logout", page, "", s.handleLogout},
		{"POST", "/locale", public, "", s.handleLocaleSwitch},

		// HTML UI.
		{"GET", "/{$}", page, auth.PermDashboardRead, s.handleDashboard},
		{"GET", "/customers", page, auth.PermCustomersRead, s.handleCustomerList},
		{"GET", "/customers/{id}", page, auth.PermCustomersRead, s.handleCustomerShow},
		{"POST", "/customers/{id}", page, auth.PermCustomersWrite, s.handleCustomerUpdate},
		{"POST", "/customers/{id}/merge", page, auth.PermCustomersMerge, s.handleCustomerMerge},
		{"POST", "/merges/{id}/unmerge", page, auth.PermCustomersUnmerge, s.handleCustomerUnmerge},
		{"GET", "/settings", page, "", s.handleSettings},
		{"GET", "/settings/users", page, auth.PermUsersManage, s.handleUserList},
		{"POST", "/settings/users", page, auth.PermUsersManage, s.handleUserCreate},
		{"POST", "/settings/users/{id}/role", page, auth.PermUsersManage, s.handleUserRole},
		{"POST", "/settings/users/{id}/disable", page, auth.PermUsersManage, s.handleUserDisable},
		{"POST", "/settings/users/{id}/enable", page, auth.PermUsersManage, s.handleUserEnable},
		{"GET", "/settings/keys", page, auth.PermKeysManage, s.handleKeyList},
		{"POST", "/settings/keys", page, auth.PermKeysManage, s.handleKeyCreate},
		{"POST", "/settings/keys/{id}/revoke", page, auth.PermKeysManage, s.handleKeyRevoke},
		{"GET", "/settings/audit", page, auth.PermAuditRead, s.handleAuditList},

		// JSON API.
		{"GET", "/api/v1/openapi.json", public, "", s.handleOpenAPI},
		{"GET", "/api/v1/me", api, "", s.apiMe},
		{"GET", "/api/v1/overview", api, auth.PermDashboardRead, s.apiOverview},
		{"GET", "/api/v1/customers", api, auth.PermCustomersRead, s.apiCustomerList},
		{"GET", "/api/v1/customers/{id}", api, auth.PermCustomersRead, s.apiCustomerGet},
		{"PATCH", "/api/v1/customers/{id}", api, auth.PermCustomersWrite, s.apiCustomerUpdate},
		{"GET", "/api/v1/customers/{id}/timeline", api, auth.PermCustomersRead, s.apiCustomerTimeline},
		{"GET", "/api/v1/customers/{id}/orders", api, auth.PermOrdersRead, s.apiCustomerOrders},
		{"GET", "/api/v1/customers/{id}/events", api, auth.PermEventsRead, s.apiCustomerEvents},
		{"GET", "/api/v1/customers/{id}/summary", api, auth.PermCustomersRead, s.apiCustomerSummary},
		{"GET", "/api/v1/customers/{id}/merges", api, auth.PermCustomersRead, s.apiCustomerMerges},
		{"POST", "/api/v1/customers/{id}/merge", api, auth.PermCustomersMerge, s.apiCustomerMerge},
		{"POST", "/api/v1/merges/{id}/unmerge", api, auth.PermCustomersUnmerge, s.apiUnmerge},
		{"GET", "/api/v1/users", api, auth.PermUsersManage, s.apiUserList},
		{"POST", "/api/v1/users", api, auth.PermUsersManage, s.apiUserCreate},
		{"POST", "/api/v1/users/{id}/role", api, auth.PermUsersManage, s.apiUserRole},
		{"POST", "/api/v1/users/{id}/disable", api, auth.PermUsersManage, s.apiUserDisable},
		{"POST", "/api/v1/users/{id}/enable", api, auth.PermUsersManage, s.apiUserEnable},
		{"GET", "/api/v1/keys", api, auth.PermKeysManage, s.apiKeyList},
		{"POST", "/api/v1/keys", api, auth.PermKeysManage, s.apiKeyCreate},
		{"POST", "/api/v1/keys/{id}/revoke", api, auth.PermKeysManage, s.apiKeyRevoke},
		{"GET", "/api/v1/audit", api, auth.PermAuditRead, s.apiAuditList},
	}
	if s.cfg.KB != nil {
		// Knowledge base: the public help center (published content only),
		// the staff editor, and the JSON API with search and suggestions.
		routes = append(routes,
			route{"GET", "/help", public, "", s.handleHelpIndex},
			route{"GET", "/help/search", public, "", s.handleHelpSearch},
			route{"GET", "/help/articles/{slug}", public, "", s.handleHelpArticle},
			route{"POST", "/help/articles/{slug}/feedback", public, "", s.handleHelpFeedback},
			route{"GET", "/api/v1/help/search", public, "", s.apiHelpSearch},
			route{"GET", "/api/v1/help/suggest", public, "", s.apiHelpSuggest},
			route{"GET", "/kb", page, auth.PermKBRead, s.handleKBList},
			route{"GET", "/kb/new", page, auth.PermKBWrite, s.handleKBNew},
			route{"POST", "/kb", page, auth.PermKBWrite, s.handleKBCreate},
			route{"GET", "/kb/{id}", page, auth.PermKBRead, s.handleKBShow},
			route{"GET", "/kb/{id}/edit/{locale}", page, auth.PermKBWrite, s.handleKBEdit},
			route{"POST", "/kb/{id}/edit/{locale}", page, auth.PermKBWrite, s.handleKBSaveDraft},
			route{"POST", "/kb/{id}/publish/{locale}", page, auth.PermKBPublish, s.handleKBPublish},
			route{"GET", "/api/v1/kb/articles", api, auth.PermKBRead, s.apiKBArticles},
			route{"POST", "/api/v1/kb/articles", api, auth.PermKBWrite, s.apiKBCreate},
			route{"GET", "/api/v1/kb/articles/{id}", api, auth.PermKBRead, s.apiKBArticle},
			route{"PUT", "/api/v1/kb/articles/{id}/draft/{locale}", api, auth.PermKBWrite, s.apiKBSaveDraft},
			route{"POST", "/api/v1/kb/articles/{id}/publish/{locale}", api, auth.PermKBPublish, s.apiKBPublish},
			route{"GET", "/api/v1/kb/categories", api, "", s.apiKBCategories},
			route{"POST", "/api/v1/kb/categories", api, auth.PermKBPublish, s.apiKBCategoryCreate},
			route{"GET", "/api/v1/kb/deflection", api, auth.PermKBRead, s.apiKBDeflection},
		)
	}
	if s.cfg.Ingest != nil {
		// Segment HTTP Tracking API: /v1/track, /v1/identify, /v1/page,
		// /v1/screen, /v1/group, /v1/alias, /v1/batch.
		routes = append(routes, route{"", "/v1/", writeKey, auth.PermIngest, s.cfg.Ingest.ServeHTTP})
	}
	return routes
}
