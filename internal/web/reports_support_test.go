package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// supportReportData moves the seed's two tickets into the report's default
// range and gives them CSAT ratings: 3 of 4 satisfied for an agent whose
// name is hostile HTML, in team "東京".
func supportReportData(t *testing.T, h *harness) {
	t.Helper()
	ctx := context.Background()
	day := testNow.Add(-48 * time.Hour).UnixMilli()
	err := h.db.WriteTx(ctx, func(tx *db.Tx) error {
		agent := h.userIDs[auth.RoleAgent]
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = '<img src=x onerror=alert(1)>佐藤' WHERE id = $1`, agent); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE support_tickets SET created_at = $1, updated_at = $1`, day); err != nil {
			return err
		}
		for i, id := range []int64{h.ids.support.ticket, h.ids.support.other} {
			var cust int64
			if err := tx.QueryRowContext(ctx, `SELECT customer_id FROM support_tickets WHERE id = $1`, id).Scan(&cust); err != nil {
				return err
			}
			score := 5 - 3*i // 5, then 2
			if _, err := tx.ExecContext(ctx, `INSERT INTO support_csat (ticket_id, solved_at, customer_id, agent_id, team, status, score,
				responded_at, created_at, updated_at) VALUES ($1, $2, $3, $4, '東京', 'invited', $5, $6, $2, $2)`,
				id, day+3600e3, cust, agent, score, day+7200e3); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSupportReportPage(t *testing.T) {
	h := newHarness(t)
	supportReportData(t, h)

	r := h.request(http.MethodGet, "/reports/support", "viewer", "", false)
	r.Header.Set("Accept-Language", "ja")
	w := h.serve(r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	body := w.Body.String()
	mustContain(t, body, "サポートデスク レポート", "期間中に作成されたチケット：2件", "カテゴリ別チケット数", "メール", "Webフォーム",
		"初回応答", "現在の未解決チケット", "新規", "満足：50.0%", "n = 2", "サンプル少", "東京",
		`value="2026-10-25"`, `value="2026-11-23"`, "&lt;img src=x onerror=alert(1)&gt;佐藤")
	if strings.Contains(body, "<img src=x") {
		t.Fatal("an agent's name was not escaped")
	}
	if n := strings.Count(body, "<svg"); n != 3 {
		t.Errorf("%d charts, want category, channel and CSAT", n)
	}

	r = h.request(http.MethodGet, "/reports/support?from=2026-11-01&to=2026-11-30", "agent", "", false)
	r.Header.Set("Accept-Language", "en")
	w = h.serve(r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	mustContain(t, w.Body.String(), "Support desk report", "2 tickets created", "Satisfied: 50.0%", "small sample", "Web form")

	// An empty range shows no figures, not an error.
	w = h.get("/reports/support?from=2020-01-01&to=2020-01-31", "viewer")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "reports.empty") && !strings.Contains(w.Body.String(), "No tickets in the period") && !strings.Contains(w.Body.String(), "期間中のチケットはありません") {
		t.Fatalf("empty range: %d", w.Code)
	}
	for _, q := range []string{"?from=yesterday", "?from=2026-11-20&to=2026-11-01", "?from=2020-01-01&to=2026-11-01"} {
		if w := h.get("/reports/support"+q, "viewer"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `role="alert"`) {
			t.Errorf("%s: %d", q, w.Code)
		}
	}
	if w := h.get("/reports/support", "anon"); w.Code != http.StatusSeeOther && w.Code != http.StatusFound {
		t.Errorf("anon: %d", w.Code)
	}
}
