package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func (h *harness) getLang(target, who, lang string) *http.Response {
	r := h.request(http.MethodGet, target, who, "", strings.HasPrefix(target, "/api/"))
	r.AddCookie(&http.Cookie{Name: localeCookie, Value: lang})
	return h.serve(r).Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHelpCenterSearchFindsJapaneseAndHidesDrafts(t *testing.T) {
	h := newHarness(t)
	res := h.getLang("/help/search?q="+url.QueryEscape("返品"), "anon", "ja")
	page := body(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "返品・交換について") {
		t.Fatalf("search 返品: %d\n%s", res.StatusCode, page)
	}
	if strings.Contains(page, "改訂中") || strings.Contains(page, kbDraftWord) {
		t.Fatal("a draft title or text shows in the public search")
	}
	// The article page shows the live version, not the pending draft.
	res = h.getLang("/help/articles/returns-and-exchanges", "anon", "ja")
	page = body(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "30日以内") || strings.Contains(page, kbDraftWord) {
		t.Fatalf("article: %d\n%s", res.StatusCode, page)
	}
	// The draft's words find nothing, in the page or the JSON API.
	if page := body(t, h.getLang("/help/search?q="+url.QueryEscape(kbDraftWord), "anon", "ja")); strings.Contains(page, "returns-and-exchanges") {
		t.Fatal("draft text searchable")
	}
	for _, target := range []string{"/api/v1/help/search?locale=en&q=zebracorn", "/api/v1/help/suggest?locale=en&text=" + url.QueryEscape("tell me about the zebracorn loyalty scheme")} {
		w := h.get(target, "anon")
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "draft-only") {
			t.Fatalf("%s: %d %s", target, w.Code, w.Body.String())
		}
	}
	if res := h.getLang("/help/articles/draft-only", "anon", "en"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("draft-only article: %d", res.StatusCode)
	}
	// Staff see the draft in the editor.
	if w := h.get("/kb/"+itoa(theKBSeed.draftOnly), "viewer"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), kbDraftOnlyEN) {
		t.Fatalf("staff view of draft: %d", w.Code)
	}
}

func TestHelpSuggestAPI(t *testing.T) {
	h := newHarness(t)
	text := "Hi, I forgot my password and can't sign in. The reset email never arrived."
	w := h.get("/api/v1/help/suggest?locale=en&limit=3&text="+url.QueryEscape(text), "anon")
	var out struct {
		Items []struct{ Slug, Title string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
	if len(out.Items) == 0 || out.Items[0].Slug != "reset-password" {
		t.Fatalf("suggestions %+v", out.Items)
	}
	w = h.get("/api/v1/help/search?locale=ja&prefix=1&q="+url.QueryEscape("パスワ"), "anon")
	if !strings.Contains(w.Body.String(), "reset-password") {
		t.Fatalf("as-you-type: %s", w.Body.String())
	}
	if w := h.get("/api/v1/help/search?locale=fr&q=x", "anon"); w.Code != http.StatusBadRequest {
		t.Fatalf("bad locale: %d", w.Code)
	}
}

func TestHelpArticleEscapesHostileContent(t *testing.T) {
	h := newHarness(t)
	for _, target := range []string{"/help/articles/" + kbHostileSlug, "/help/search?q=hostile", "/help"} {
		res := h.getLang(target, "anon", "en")
		page := body(t, res)
		if res.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(page), "hostile") {
			t.Fatalf("%s: %d", target, res.StatusCode)
		}
		for _, bad := range []string{"<script>alert", "onerror=", "javascript:alert", "<img src=x"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s serves %q unescaped", target, bad)
			}
		}
	}
	for _, target := range []string{"/kb", "/kb/" + itoa(theKBSeed.hostile)} {
		w := h.get(target, "admin")
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "<script>alert") {
			t.Fatalf("%s: %d or unescaped", target, w.Code)
		}
	}
}

func TestHelpFeedbackAndDeflectionReport(t *testing.T) {
	h := newHarness(t)
	// A visitor reads an article and says it helped; the contact form
	// (support) would record "suggested" for the same session.
	r := h.request(http.MethodGet, "/help/articles/returns-and-exchanges", "anon", "", false)
	w := h.serve(r)
	var session *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == helpSessionCookie {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no help session cookie")
	}
	r = h.request(http.MethodPost, "/help/articles/returns-and-exchanges/feedback", "anon", "helpful=yes", false)
	r.AddCookie(session)
	if w := h.serve(r); w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "voted=helpful") {
		t.Fatalf("feedback: %d %s", w.Code, w.Header().Get("Location"))
	}
	w = h.get("/api/v1/kb/deflection?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", "key:viewer")
	var rep struct {
		Sessions, Viewed, Helpful int
	}
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || rep.Sessions != 1 || rep.Viewed != 1 || rep.Helpful != 1 {
		t.Fatalf("deflection %d %s", w.Code, w.Body.String())
	}
}

func TestKBEditorPublishFlow(t *testing.T) {
	h := newHarness(t)
	id := itoa(theKBSeed.article)
	// An agent saves a draft; the public page still shows the live text.
	r := h.request(http.MethodPost, "/kb/"+id+"/edit/en", "agent", "title=Returns+and+exchanges&body=Returns+within+60+days", false)
	if w := h.serve(r); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body.String())
	}
	if page := body(t, h.getLang("/help/articles/returns-and-exchanges", "anon", "en")); !strings.Contains(page, "30 days") || strings.Contains(page, "60 days") {
		t.Fatal("draft leaked before publishing")
	}
	if w := h.serve(h.request(http.MethodPost, "/kb/"+id+"/publish/en", "agent", "", false)); w.Code != http.StatusForbidden {
		t.Fatalf("agent publish: %d", w.Code)
	}
	if w := h.serve(h.request(http.MethodPost, "/kb/"+id+"/publish/en", "manager", "", false)); w.Code != http.StatusSeeOther {
		t.Fatalf("manager publish: %d %s", w.Code, w.Body.String())
	}
	if page := body(t, h.getLang("/help/articles/returns-and-exchanges", "anon", "en")); !strings.Contains(page, "60 days") {
		t.Fatal("published draft not live")
	}
	w := h.get("/kb/"+id, "viewer")
	if !strings.Contains(w.Body.String(), "v2") || !strings.Contains(w.Body.String(), "v1") {
		t.Fatalf("history missing: %s", w.Body.String())
	}
	// A bad slug is shown beside the form, in the user's language.
	r = h.request(http.MethodPost, "/kb", "agent", "slug=Bad+Slug&locale=en&title=x&body=y", false)
	if w := h.serve(r); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `aria-invalid="true"`) {
		t.Fatalf("bad slug: %d", w.Code)
	}
}
