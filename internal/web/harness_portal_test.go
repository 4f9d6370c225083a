package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// portalSeed is what seedPortal leaves in the seed: Hanako (customer 1)
// signed in to the portal, and a public attachment on her ticket.
type portalSeed struct {
	token, csrf string
	attachment  int64
}

var thePortalSeed portalSeed

// portalMailer, when a test sets it before newHarness, receives the
// portal's mail (tests that read sign-in links).
var portalMailer support.PortalMailer

// portal is the harness's portal over desk (mail to portalMailer, if set).
func (h *harness) portal(desk *support.Service) *support.Portal {
	return support.NewPortal(desk, support.PortalOptions{BaseURL: testBaseURL, Mailer: portalMailer,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// insertPortalLink stores a fresh sign-in link for customer cid the way
// the portal does (hashed) and returns its token.
func insertPortalLink(ctx context.Context, d *db.DB, cid int64) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	err := d.WriteTx(ctx, func(tx *db.Tx) error {
		now := tx.NowMS()
		_, err := tx.ExecContext(ctx, `INSERT INTO support_portal_links (token_hash, customer_id, email, created_at, expires_at)
			VALUES ($1, $2, 'seed@example.jp', $3, $4)`, hex.EncodeToString(sum[:]), cid, now, now+15*60*1000)
		return err
	})
	return tok, err
}

// portalLink is a valid sign-in link token for customer cid in this
// harness's database.
func (h *harness) portalLink(t *testing.T, cid int64) string {
	t.Helper()
	tok, err := insertPortalLink(context.Background(), h.db, cid)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// seedPortal signs Hanako in to the portal (the "customer" caller) and
// gives her ticket a public message with a file.
func seedPortal(ctx context.Context, d *db.DB, s *seed) error {
	desk := support.NewService(d, customer.NewService(d))
	p := support.NewPortal(desk, support.PortalOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	tok, err := insertPortalLink(ctx, d, s.ids.hanako)
	if err != nil {
		return err
	}
	sessTok, sess, err := p.Redeem(ctx, tok, "192.0.2.1", "test")
	if err != nil {
		return err
	}
	s.creds["customer"] = cred{portal: sessTok, csrf: sess.CSRFToken}
	m, err := desk.AddCustomerMessage(auth.System(ctx, "test"), s.ids.support.ticket, support.NewCustomerMessage{Body: "写真を添付します。",
		Attachments: []support.NewAttachment{{Filename: "box.png", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nseed")}}})
	if err != nil {
		return err
	}
	thePortalSeed = portalSeed{token: sessTok, csrf: sess.CSRFToken, attachment: m.Attachments[0].ID}
	return nil
}
