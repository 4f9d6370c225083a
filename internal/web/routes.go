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
	// respondent routes are public pages and JSON for survey respondents:
	// no sign-in, and no CSRF cookie either, because the capability in the
	// request itself (the link's token, the form's random client key) is
	// what an attacker's page cannot supply. They also answer cross-origin
	// (the widget on a customer's site, one-click unsubscribe from a mail
	// client), which the CSRF and same-origin checks would refuse.
	respondent
	// customerPortal routes are the support portal's pages for a signed-in
	// customer: authenticated by the portal's own session cookie only
	// (never a staff session or an API key), acting as an auth.Customer
	// principal, with the portal session's CSRF token on every form.
	// Without a portal session they redirect to /portal/login.
	customerPortal
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
	if s.cfg.Surveys != nil {
		// Voice of the customer: survey design (HTML).
		routes = append(routes,
			route{"GET", "/surveys", page, auth.PermSurveysRead, s.handleSurveyList},
			route{"GET", "/surveys/new", page, auth.PermSurveysWrite, s.handleSurveyNew},
			route{"POST", "/surveys", page, auth.PermSurveysWrite, s.handleSurveyCreate},
			route{"GET", "/surveys/{id}", page, auth.PermSurveysRead, s.handleSurveyShow},
			route{"GET", "/surveys/{id}/edit", page, auth.PermSurveysWrite, s.handleSurveyEdit},
			route{"POST", "/surveys/{id}/edit", page, auth.PermSurveysWrite, s.handleSurveyUpdate},
			route{"POST", "/surveys/{id}/publish", page, auth.PermSurveysWrite, s.handleSurveyPublish},
			route{"POST", "/surveys/{id}/close", page, auth.PermSurveysWrite, s.handleSurveyClose},
			route{"GET", "/surveys/{id}/preview", page, auth.PermSurveysRead, s.handleSurveyPreview},
			route{"GET", "/surveys/{id}/distribute", page, auth.PermSurveysRead, s.handleSurveyDistribute},
			route{"POST", "/surveys/{id}/invite", page, auth.PermSurveysWrite, s.handleSurveyInvite},
			route{"POST", "/surveys/{id}/triggers", page, auth.PermSurveysWrite, s.handleSurveyTriggerCreate},
			route{"POST", "/surveys/{id}/triggers/{trigger}/enabled", page, auth.PermSurveysWrite, s.handleSurveyTriggerEnabled},
			route{"POST", "/surveys/{id}/rules", page, auth.PermSurveysWrite, s.handleSurveyRules},
			route{"POST", "/surveys/{id}/rules/clear", page, auth.PermSurveysWrite, s.handleSurveyRulesClear},
		)
		// Voice of the customer: JSON API (surveyAPIRoutes, below).
		routes = append(routes, s.surveyAPIRoutes()...)
		routes = append(routes,
			// Voice of the customer: respondents (public). A GET only shows
			// (mail scanners fetch every link); POSTs save and complete.
			route{"GET", "/s/{slug}", respondent, "", s.handlePublicSurvey},
			route{"POST", "/s/{slug}", respondent, "", s.handlePublicSurveySubmit},
			route{"GET", "/r/{token}", respondent, "", s.handleLinkSurvey},
			route{"POST", "/r/{token}", respondent, "", s.handleLinkSurveySubmit},
			route{"GET", "/u/{token}", respondent, "", s.handleUnsubscribePage},
			route{"POST", "/u/{token}", respondent, "", s.handleUnsubscribe},
			route{"GET", "/w/{slug}", respondent, "", s.handleWidgetForm},
			route{"POST", "/w/{slug}", respondent, "", s.handleWidgetAnswer},
		)
	}
	if s.cfg.Results != nil {
		// Voice of the customer: results (HTML).
		routes = append(routes,
			route{"GET", "/surveys/{id}/results", page, auth.PermSurveysRead, s.handleResultsShow},
			route{"GET", "/surveys/{id}/results/export.csv", page, auth.PermResponsesExport, s.handleResultsExportCSV},
			route{"GET", "/surveys/{id}/results/export.json", page, auth.PermResponsesExport, s.handleResultsExportJSON},
		)
	}
	if s.cfg.Support != nil {
		routes = append(routes, []route{
			// Support desk: JSON API.
			{"GET", "/api/v1/tickets", api, auth.PermTicketsRead, s.apiTicketList},
			{"POST", "/api/v1/tickets", api, auth.PermTicketsWrite, s.apiTicketCreate},
			{"GET", "/api/v1/tickets/{id}", api, auth.PermTicketsRead, s.apiTicketGet},
			{"PATCH", "/api/v1/tickets/{id}", api, auth.PermTicketsWrite, s.apiTicketUpdate},
			{"POST", "/api/v1/tickets/{id}/assign", api, auth.PermTicketsAssign, s.apiTicketAssign},
			{"GET", "/api/v1/tickets/{id}/messages", api, auth.PermTicketsRead, s.apiTicketMessages},
			{"POST", "/api/v1/tickets/{id}/messages", api, auth.PermTicketsWrite, s.apiTicketReply},
			{"POST", "/api/v1/tickets/{id}/merge", api, auth.PermTicketsWrite, s.apiTicketMerge},
			{"POST", "/api/v1/tickets/{id}/incidents", api, auth.PermTicketsWrite, s.apiTicketLinkIncident},
			{"POST", "/api/v1/tickets/{id}/solve-problem", api, auth.PermTicketsWrite, s.apiTicketSolveProblem},
			{"GET", "/api/v1/tickets/{id}/sla", api, auth.PermTicketsRead, s.apiTicketSLA},
			{"GET", "/api/v1/tickets/{id}/deliveries", api, auth.PermTicketsRead, s.apiTicketDeliveries},
			{"GET", "/api/v1/macros", api, auth.PermTicketsRead, s.apiMacroList},
			{"POST", "/api/v1/macros", api, auth.PermMacrosManage, s.apiMacroCreate},
			{"PATCH", "/api/v1/macros/{id}", api, auth.PermMacrosManage, s.apiMacroUpdate},
			{"DELETE", "/api/v1/macros/{id}", api, auth.PermMacrosManage, s.apiMacroDelete},
			{"POST", "/api/v1/macros/{id}/render", api, auth.PermTicketsRead, s.apiMacroRender},
			{"GET", "/api/v1/ticket-categories", api, auth.PermTicketsRead, s.apiTicketCategoryList},
			{"POST", "/api/v1/ticket-categories", api, auth.PermCategoriesManage, s.apiTicketCategoryCreate},
			{"PATCH", "/api/v1/ticket-categories/{id}", api, auth.PermCategoriesManage, s.apiTicketCategoryUpdate},
			{"GET", "/api/v1/sla-policy", api, auth.PermTicketsRead, s.apiSLAPolicyGet},
			{"PUT", "/api/v1/sla-policy", api, auth.PermSLAManage, s.apiSLAPolicyPut},
			{"GET", "/api/v1/support-report", api, auth.PermTicketsRead, s.apiSupportReport},
			// Support insight: the report page (reports_support.go).
			{"GET", "/reports/support", page, auth.PermTicketsRead, s.handleSupportReport},
		}...)
		routes = append(routes, []route{
			// Support desk (HTML): the agents' queue and ticket page
			// (tickets_*.go).
			{"GET", "/tickets", page, auth.PermTicketsRead, s.handleTicketList},
			{"GET", "/tickets/new", page, auth.PermTicketsWrite, s.handleTicketNew},
			{"POST", "/tickets", page, auth.PermTicketsWrite, s.handleTicketCreate},
			{"GET", "/tickets/{id}", page, auth.PermTicketsRead, s.handleTicketShow},
			{"POST", "/tickets/{id}/reply", page, auth.PermTicketsWrite, s.handleTicketReply},
			{"POST", "/tickets/{id}/update", page, auth.PermTicketsWrite, s.handleTicketUpdate},
			{"POST", "/tickets/{id}/assign", page, auth.PermTicketsAssign, s.handleTicketAssign},
			{"POST", "/tickets/{id}/merge", page, auth.PermTicketsWrite, s.handleTicketMerge},
			{"POST", "/tickets/{id}/problem", page, auth.PermTicketsWrite, s.handleTicketProblem},
			{"POST", "/tickets/{id}/incidents", page, auth.PermTicketsWrite, s.handleTicketIncident},
			{"POST", "/tickets/{id}/solve-problem", page, auth.PermTicketsWrite, s.handleTicketSolveProblem},
			{"GET", "/tickets/{id}/attachments/{att}", page, auth.PermTicketsRead, s.handleTicketAttachment},
		}...)
		if s.cfg.Mailbox != nil {
			// Support desk (HTML): send a failed reply mail again.
			routes = append(routes, route{"POST", "/tickets/{id}/messages/{msg}/retry-mail", page, auth.PermTicketsWrite, s.handleTicketMailRetry})
		}
	}
	if s.cfg.Support != nil && s.cfg.Portal != nil {
		routes = append(routes,
			// Support desk: customer portal and contact form (public).
			// The sign-in link's GET only shows a button (mail scanners
			// fetch every link); its POST signs in, exactly once.
			route{"GET", "/portal/login", public, "", s.handlePortalLogin},
			route{"POST", "/portal/login", public, "", s.handlePortalLoginSubmit},
			route{"GET", "/portal/login/{token}", public, "", s.handlePortalConfirm},
			route{"POST", "/portal/login/{token}", public, "", s.handlePortalRedeem},
			route{"POST", "/portal/logout", customerPortal, auth.PermTicketsOwn, s.handlePortalLogout},
			route{"GET", "/portal", customerPortal, auth.PermTicketsOwn, s.handlePortalTickets},
			route{"GET", "/portal/tickets/{id}", customerPortal, auth.PermTicketsOwn, s.handlePortalTicket},
			route{"POST", "/portal/tickets/{id}", customerPortal, auth.PermTicketsOwn, s.handlePortalReply},
			route{"GET", "/portal/tickets/{id}/attachments/{att}", customerPortal, auth.PermTicketsOwn, s.handlePortalAttachment},
			route{"GET", "/contact", public, "", s.handleContactForm},
			route{"POST", "/contact", public, "", s.handleContactSubmit},
		)
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

// Voice of the customer: JSON API.
//
// surveyAPIRoutes are the survey design, distribution and results routes
// (api_surveys.go, api_survey_distribution.go, api_survey_results.go);
// the results routes need Config.Results too.
func (s *Server) surveyAPIRoutes() []route {
	routes := []route{
		{"GET", "/api/v1/surveys", api, auth.PermSurveysRead, s.apiSurveyList},
		{"POST", "/api/v1/surveys", api, auth.PermSurveysWrite, s.apiSurveyCreate},
		{"GET", "/api/v1/surveys/{id}", api, auth.PermSurveysRead, s.apiSurveyGet},
		{"PUT", "/api/v1/surveys/{id}", api, auth.PermSurveysWrite, s.apiSurveyUpdate},
		{"POST", "/api/v1/surveys/{id}/publish", api, auth.PermSurveysWrite, s.apiSurveyPublish},
		{"POST", "/api/v1/surveys/{id}/close", api, auth.PermSurveysWrite, s.apiSurveyClose},
		{"GET", "/api/v1/surveys/{id}/versions/{n}", api, auth.PermSurveysRead, s.apiSurveyVersion},
		{"GET", "/api/v1/surveys/{id}/preview", api, auth.PermSurveysRead, s.apiSurveyPreview},
		{"GET", "/api/v1/contact-rules", api, auth.PermSurveysRead, s.apiGlobalContactRules},
		{"PUT", "/api/v1/contact-rules", api, auth.PermSurveysWrite, s.apiGlobalContactRulesPut},
		{"GET", "/api/v1/surveys/{id}/contact-rules", api, auth.PermSurveysRead, s.apiSurveyContactRules},
		{"PUT", "/api/v1/surveys/{id}/contact-rules", api, auth.PermSurveysWrite, s.apiSurveyContactRulesPut},
		{"DELETE", "/api/v1/surveys/{id}/contact-rules", api, auth.PermSurveysWrite, s.apiSurveyContactRulesDelete},
		{"GET", "/api/v1/surveys/{id}/triggers", api, auth.PermSurveysRead, s.apiTriggerList},
		{"POST", "/api/v1/surveys/{id}/triggers", api, auth.PermSurveysWrite, s.apiTriggerCreate},
		{"POST", "/api/v1/surveys/{id}/triggers/{trigger}/enable", api, auth.PermSurveysWrite, s.apiTriggerEnable},
		{"POST", "/api/v1/surveys/{id}/triggers/{trigger}/disable", api, auth.PermSurveysWrite, s.apiTriggerDisable},
		{"GET", "/api/v1/surveys/{id}/invitations", api, auth.PermSurveysRead, s.apiInvitationList},
		{"POST", "/api/v1/surveys/{id}/invitations", api, auth.PermSurveysWrite, s.apiInvitationCreate},
		{"GET", "/api/v1/surveys/{id}/distribution", api, auth.PermSurveysRead, s.apiDistributionReport},
	}
	if s.cfg.Results == nil {
		return routes
	}
	return append(routes, []route{
		{"GET", "/api/v1/surveys/{id}/results/nps", api, auth.PermSurveysRead, s.apiResultsNPS},
		{"GET", "/api/v1/surveys/{id}/results/csat", api, auth.PermSurveysRead, s.apiResultsCSAT},
		{"GET", "/api/v1/surveys/{id}/results/ces", api, auth.PermSurveysRead, s.apiResultsCES},
		{"GET", "/api/v1/surveys/{id}/results/distribution", api, auth.PermSurveysRead, s.apiResultsDistribution},
		{"GET", "/api/v1/surveys/{id}/results/gaps", api, auth.PermSurveysRead, s.apiResultsGaps},
		{"GET", "/api/v1/surveys/{id}/results/trend", api, auth.PermSurveysRead, s.apiResultsTrend},
		{"GET", "/api/v1/surveys/{id}/results/compare", api, auth.PermSurveysRead, s.apiResultsCompare},
		{"GET", "/api/v1/surveys/{id}/results/breakdown", api, auth.PermSurveysRead, s.apiResultsBreakdown},
		{"GET", "/api/v1/surveys/{id}/results/drivers", api, auth.PermSurveysRead, s.apiResultsDrivers},
		{"GET", "/api/v1/surveys/{id}/results/verbatims", api, auth.PermSurveysRead, s.apiResultsVerbatims},
		{"GET", "/api/v1/surveys/{id}/export.csv", api, auth.PermResponsesExport, s.apiResultsExportCSV},
		{"GET", "/api/v1/surveys/{id}/export.json", api, auth.PermResponsesExport, s.apiResultsExportJSON},
		{"POST", "/api/v1/survey-imports", api, auth.PermDataImport, s.apiResultsImport},
	}...)
}
