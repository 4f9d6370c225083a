package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/auth"
)

// routeCall is a concrete, valid call of a route: the path with its
// parameters filled in and a body that the service accepts.
type routeCall struct {
	path string
	body string
	json bool
}

// callFor fills a route's pattern with ids that exist in a fresh harness
// and picks a valid body for state-changing routes. A state-changing
// route without a body here fails the test: new routes must be added.
func callFor(t *testing.T, h *harness, rt route) routeCall {
	t.Helper()
	p := rt.Pattern
	switch {
	case strings.HasPrefix(p, "/merges/"), strings.HasPrefix(p, "/api/v1/merges/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(h.ids.merge), 1)
	case strings.Contains(p, "/users/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(h.userIDs[auth.RoleViewer]), 1)
	case strings.HasPrefix(p, "/kb/"), strings.HasPrefix(p, "/api/v1/kb/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(theKBSeed.article), 1)
	case strings.Contains(p, "/keys/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(h.writeKey), 1)
	case strings.HasPrefix(p, "/surveys/{id}/results"):
		p = strings.Replace(p, "{id}", fmt.Sprint(resultsSurvey(t, h)), 1)
	case strings.HasPrefix(p, "/surveys/"):
		sv, trigger := h.seedSurveyUI()
		p = strings.Replace(p, "{id}", fmt.Sprint(sv), 1)
		p = strings.Replace(p, "{trigger}", fmt.Sprint(trigger), 1)
	case strings.HasPrefix(p, "/api/v1/surveys/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(h.ids.survey), 1)
		p = strings.Replace(p, "{trigger}", fmt.Sprint(h.ids.trigger), 1)
		p = strings.Replace(p, "{n}", "1", 1)
	case strings.HasPrefix(p, "/tickets/{id}/attachments/"):
		tk, att := ticketWithAttachment(t, h)
		p = strings.Replace(p, "{id}", fmt.Sprint(tk), 1)
		p = strings.Replace(p, "{att}", fmt.Sprint(att), 1)
	case strings.HasPrefix(p, "/tickets/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(h.ids.support.ticket), 1)
		p = strings.Replace(p, "{msg}", fmt.Sprint(h.ids.support.mailed), 1)
	case strings.HasPrefix(p, "/api/v1/tickets/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(h.ids.support.ticket), 1)
	case strings.HasPrefix(p, "/api/v1/macros/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(h.ids.support.macro), 1)
	case strings.HasPrefix(p, "/portal/tickets/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(h.ids.support.ticket), 1)
		p = strings.Replace(p, "{att}", fmt.Sprint(thePortalSeed.attachment), 1)
	case strings.HasPrefix(p, "/api/v1/ticket-categories/"):
		p = strings.Replace(p, "{id}", fmt.Sprint(h.ids.support.category), 1)
	default:
		p = strings.Replace(p, "{id}", fmt.Sprint(h.ids.hanako), 1)
	}
	if strings.HasPrefix(p, "/portal/login/") {
		p = strings.Replace(p, "{token}", h.portalLink(t, h.ids.hanako), 1)
	}
	if !strings.HasPrefix(p, "/help/") && (strings.Contains(p, "{slug}") || strings.Contains(p, "{token}")) {
		rs := respondentSeed(t, h)
		p = strings.Replace(p, "{slug}", rs.slug, 1)
		p = strings.Replace(p, "{token}", rs.token, 1)
	}
	p = strings.Replace(p, "{name}", "app.css", 1)
	p = strings.Replace(p, "{$}", "", 1)
	p = strings.Replace(p, "{locale}", "ja", 1)
	p = strings.Replace(p, "{slug}", theKBSeed.slug, 1)
	c := routeCall{path: p, json: rt.Access == api || rt.Access == writeKey || strings.HasPrefix(p, "/w/")}
	if rt.Access == writeKey {
		c.path = "/v1/track"
		c.body = `{"type":"track","userId":"u-1","event":"Route Test","messageId":"route-test-1"}`
		return c
	}
	if rt.Method == http.MethodGet {
		c.path += surveyQueries(rt.Pattern)
		return c
	}
	dup := fmt.Sprint(h.ids.dup)
	bodies := map[string]string{
		"POST /login":                       "email=viewer%40example.com&password=" + strings.ReplaceAll(testPassword, " ", "+"),
		"POST /logout":                      "",
		"POST /locale":                      "locale=ja&return=%2Fcustomers",
		"POST /customers/{id}":              "family_name=%E5%B1%B1%E7%94%B0&lifecycle_stage=loyal",
		"POST /customers/{id}/merge":        "loser_id=" + dup + "&reason=duplicate",
		"POST /merges/{id}/unmerge":         "customer=" + fmt.Sprint(h.ids.hanako),
		"POST /settings/users":              "email=new%40example.com&password=a+long+enough+password&role=agent",
		"POST /settings/users/{id}/role":    "role=manager",
		"POST /settings/users/{id}/disable": "",
		"POST /settings/users/{id}/enable":  "",
		"POST /settings/keys":               "kind=api&name=CI&role=viewer",
		"POST /settings/keys/{id}/revoke":   "",
		"PATCH /api/v1/customers/{id}":      `{"given_name":"花","lifecycle_stage":"loyal"}`,
		"POST /api/v1/customers/{id}/merge": `{"loser_id":` + dup + `,"reason":"duplicate"}`,
		"POST /api/v1/merges/{id}/unmerge":  ``,
		"POST /api/v1/users":                `{"email":"new@example.com","password":"a long enough password","role":"agent"}`,
		"POST /api/v1/users/{id}/role":      `{"role":"agent"}`,
		"POST /api/v1/users/{id}/disable":   ``,
		"POST /api/v1/users/{id}/enable":    ``,
		"POST /api/v1/keys":                 `{"kind":"api","name":"CI","role":"viewer"}`,
		"POST /api/v1/keys/{id}/revoke":     ``,
		// Voice of the customer: survey design (HTML).
		"POST /surveys":                                 surveyFormBody("route-new"),
		"POST /surveys/{id}/edit":                       surveyFormBody("route-edit"),
		"POST /surveys/{id}/publish":                    "",
		"POST /surveys/{id}/close":                      "",
		"POST /surveys/{id}/invite":                     "channel=link&pick=ids&customer_ids=" + fmt.Sprint(h.ids.john),
		"POST /surveys/{id}/triggers":                   "event_name=Order+Completed&delay=2&unit=days",
		"POST /surveys/{id}/triggers/{trigger}/enabled": "enabled=0",
		"POST /surveys/{id}/rules":                      "cooldown_days=14&max_per_period=2&period_days=60&sample_percent=50&quiet_start=21%3A00&quiet_end=08%3A00&time_zone=Asia%2FTokyo",
		"POST /surveys/{id}/rules/clear":                "",
		// Support desk.
		"POST /api/v1/tickets":                    `{"subject":"配送状況","body":"まだ届きません","channel":"web","requester":{"email":"new@example.jp"}}`,
		"PATCH /api/v1/tickets/{id}":              `{"status":"pending","priority":"urgent","tags":["vip"]}`,
		"POST /api/v1/tickets/{id}/assign":        fmt.Sprintf(`{"assignee_id":%d,"team":"一次対応"}`, h.userIDs[auth.RoleAgent]),
		"POST /api/v1/tickets/{id}/messages":      `{"body":"ご連絡ありがとうございます。","status":"pending"}`,
		"POST /api/v1/tickets/{id}/merge":         fmt.Sprintf(`{"into":%d}`, h.ids.support.other),
		"POST /api/v1/tickets/{id}/incidents":     fmt.Sprintf(`{"incident_id":%d}`, h.ids.support.other),
		"POST /api/v1/tickets/{id}/solve-problem": `{"body":"{{customer.name}} 様、復旧しました。"}`,
		"POST /api/v1/macros":                     `{"name":"受付","body":"{{customer.name}} 様、承りました。"}`,
		"PATCH /api/v1/macros/{id}":               `{"name":"お詫び","body":"申し訳ございません。"}`,
		"DELETE /api/v1/macros/{id}":              ``,
		"POST /api/v1/macros/{id}/render":         fmt.Sprintf(`{"ticket_id":%d}`, h.ids.support.ticket),
		"POST /api/v1/ticket-categories":          `{"slug":"stock","name_ja":"在庫","name_en":"Stock","position":3}`,
		"PATCH /api/v1/ticket-categories/{id}":    `{"slug":"before-purchase","name_ja":"ご購入前","name_en":"Before purchase","position":1}`,
		"PUT /api/v1/sla-policy":                  `{"policy":{"name":"Std","pause_on_hold":true,"warning":{"percent":75,"minutes_before":0},"rules":[{"priority":"","category":"","targets":[{"metric":"first_response","minutes":120,"measure":"business"}]}]},"calendar":{"time_zone":"Asia/Tokyo","japanese_holidays":true,"weekly":[[],[{"start":"09:00","end":"18:00"}],[],[],[],[],[]]}}`,
		// Voice of the customer: respondents (public).
		"POST /s/{slug}":  "client_key=" + testClientKey + "&page=score&q.nps=9",
		"POST /r/{token}": "client_key=" + testClientKey + "&page=score&q.nps=9",
		"POST /u/{token}": "List-Unsubscribe=One-Click",
		"POST /w/{slug}":  `{"client_key":"` + testClientKey + `","page":"score","answers":[{"question":"nps","num":9}]}`,
		// Knowledge base.
		"POST /help/articles/{slug}/feedback":            "helpful=yes",
		"POST /kb":                                       "slug=new-article&locale=ja&title=%E6%96%B0%E3%81%97%E3%81%84%E8%A8%98%E4%BA%8B&body=text",
		"POST /kb/{id}/edit/{locale}":                    "title=%E8%BF%94%E5%93%81&body=new+text",
		"POST /kb/{id}/publish/{locale}":                 "",
		"POST /api/v1/kb/articles":                       `{"slug":"new-article","locale":"en","title":"New","body":"text"}`,
		"PUT /api/v1/kb/articles/{id}/draft/{locale}":    `{"title":"返品・交換について","body":"new text"}`,
		"POST /api/v1/kb/articles/{id}/publish/{locale}": ``,
		"POST /api/v1/kb/categories":                     `{"slug":"new-category","name_ja":"新しい分類","name_en":"New category"}`,
		// Support desk: customer portal and contact form (public).
		"POST /portal/login":         "email=hanako%40example.jp",
		"POST /portal/login/{token}": "",
		"POST /portal/logout":        "",
		"POST /portal/tickets/{id}":  "body=%E3%81%BE%E3%81%A0%E5%B1%8A%E3%81%8D%E3%81%BE%E3%81%9B%E3%82%93",
		"POST /contact":              "step=submit&name=%E6%96%B0%E8%A6%8F&email=new%40example.jp&subject=%E8%BF%94%E5%93%81&body=%E8%BF%94%E5%93%81%E3%81%97%E3%81%9F%E3%81%84",
	}
	for k, v := range surveyBodies(h) {
		bodies[k] = v
	}
	for k, v := range ticketPageBodies(h) { // tickets_ui_test.go
		bodies[k] = v
	}
	b, ok := bodies[rt.Method+" "+rt.Pattern]
	if !ok {
		t.Fatalf("no test body for %s %s: add one to callFor", rt.Method, rt.Pattern)
	}
	c.body = b
	return c
}

// TestRouteRoleMatrix calls every route in routes.go as every kind of
// caller and checks the answer against the policy: anonymous callers are
// sent to sign in (HTML) or get 401 (API); API keys are not accepted by
// HTML pages; a caller without the route's permission gets 403; with it,
// the call succeeds.
func TestRouteRoleMatrix(t *testing.T) {
	routes := newHarness(t).srv.routes
	if len(routes) < 45 {
		t.Fatalf("route table has only %d routes", len(routes))
	}
	for _, rt := range routes {
		for _, who := range everyone {
			name := rt.Method
			if name == "" {
				name = "ANY"
			}
			t.Run(name+" "+rt.Pattern+" as "+who, func(t *testing.T) {
				h := newHarness(t) // fresh state: calls may disable, revoke, merge
				c := callFor(t, h, rt)
				method := rt.Method
				if method == "" {
					method = http.MethodPost
				}
				w := h.serve(h.request(method, c.path, who, c.body, c.json))
				status, loc := w.Code, w.Header().Get("Location")

				cr := h.creds[who]
				// Each credential works only where it belongs: sessions on
				// pages and the API, API keys on the API, write keys on
				// the tracking API.
				var signedIn bool
				switch {
				case cr.token != "":
					signedIn = rt.Access == page || rt.Access == api
				case cr.secret != "":
					signedIn = rt.Access == api
				case cr.basic != "":
					signedIn = rt.Access == writeKey
				case cr.portal != "":
					// A portal session works on portal pages only.
					signedIn = rt.Access == customerPortal
				}
				// Staff and API keys never pass a portal page's sign-in.
				if rt.Access == customerPortal && cr.portal == "" {
					signedIn = false
				}
				can := auth.RoleCan(cr.role, rt.Perm)
				if cr.portal != "" {
					can = auth.Principal{Kind: auth.PrincipalCustomer, ID: h.ids.hanako}.Can(rt.Perm)
				}
				allowed := signedIn && (rt.Perm == "" || rt.Access == writeKey || can)

				toLogin := (status == http.StatusSeeOther || status == http.StatusFound) && strings.HasPrefix(loc, "/login")
				if rt.Pattern == "/logout" && signedIn {
					toLogin = false // signing out ends on the login page
				}
				switch {
				case rt.Access == public || rt.Access == respondent:
					if status >= 400 {
						t.Fatalf("public route answered %d: %s", status, w.Body.String())
					}
				case !signedIn && rt.Access == customerPortal:
					if status != http.StatusSeeOther || loc != "/portal/login" {
						t.Fatalf("want redirect to /portal/login, got %d %q", status, loc)
					}
				case !signedIn && rt.Access == page:
					if !toLogin {
						t.Fatalf("want redirect to /login, got %d %q", status, loc)
					}
				case !signedIn && (rt.Access == api || rt.Access == writeKey):
					if status != http.StatusUnauthorized {
						t.Fatalf("want 401, got %d: %s", status, w.Body.String())
					}
				case !allowed:
					if status != http.StatusForbidden {
						t.Fatalf("%s lacks %s: want 403, got %d: %s", who, rt.Perm, status, w.Body.String())
					}
				default:
					if status >= 400 || toLogin {
						t.Fatalf("%s holds %q: want success, got %d %q: %s", who, rt.Perm, status, loc, w.Body.String())
					}
				}
			})
		}
	}
}

// TestRouteTableDocumentsPermissions keeps the table honest: every
// non-public route's permission is one the policy knows, and no pattern is
// registered twice.
func TestRouteTableDocumentsPermissions(t *testing.T) {
	h := newHarness(t)
	seen := map[string]bool{}
	known := map[auth.Permission]bool{}
	for _, p := range allPermissions {
		known[p] = true
	}
	for _, rt := range h.srv.routes {
		key := rt.Method + " " + rt.Pattern
		if seen[key] {
			t.Errorf("%s registered twice", key)
		}
		seen[key] = true
		if rt.Perm != "" && !known[rt.Perm] && rt.Perm != auth.PermIngest && rt.Perm != auth.PermTicketsOwn {
			t.Errorf("%s: unknown permission %q", key, rt.Perm)
		}
		if rt.Access == public && rt.Perm != "" {
			t.Errorf("%s: public route with a permission", key)
		}
		if (rt.Access == customerPortal) != (rt.Perm == auth.PermTicketsOwn) {
			t.Errorf("%s: tickets.own is the permission of portal routes, and only of them", key)
		}
		if strings.HasPrefix(rt.Pattern, "/api/") && rt.Access == page {
			t.Errorf("%s: API route with page access", key)
		}
	}
}
