package feedback

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// The web widget shows a survey inside a customer's own site. A visitor
// the site has signed in is identified the way Intercom's identity
// verification does it: the site's server computes
// hex(HMAC-SHA256(widget secret, user id)) and puts it beside the user id
// in the <script> tag, so a visitor cannot answer as somebody else by
// editing the id. Without a hash the visitor answers anonymously (only
// where the survey allows anonymous answers).

// WidgetSecret returns the installation's widget identity secret (hex),
// which the site's server uses to compute user hashes (WidgetUserHash).
// [surveys.write]
func (s *Service) WidgetSecret(ctx context.Context) (string, error) {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return "", err
	}
	k, err := s.secret(ctx, secretWidget)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(k), nil
}

// WidgetUserHash is what a site computes for userID with the secret
// WidgetSecret returned: hex(HMAC-SHA256(secret, userID)), where the
// secret is the hex string itself as the key (as a site copies it).
func WidgetUserHash(secretHex, userID string) string {
	m := hmac.New(sha256.New, []byte(secretHex))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

// WidgetVisitor is who the widget shows a survey to.
type WidgetVisitor struct {
	// UserID and UserHash come from the <script> tag's data-user-id and
	// data-user-hash. Both empty: an anonymous visitor.
	UserID   string
	UserHash string
}

var errBadIdentity = &kizuna.Error{Code: kizuna.EFORBIDDEN, Field: "user_hash",
	Message: "the visitor's identity could not be verified (data-user-hash must be the HMAC of data-user-id)"}

// identify verifies the visitor and returns the customer (root profile)
// known by that user id: 0 for an anonymous visitor or a user id no
// profile holds yet (an identify event creates it; a browser's claim alone
// does not).
func (s *Service) identify(ctx context.Context, q querier, v WidgetVisitor) (int64, bool, error) {
	if v.UserID == "" && v.UserHash == "" {
		return 0, false, nil
	}
	if v.UserID == "" || len(v.UserID) > 200 {
		return 0, false, errBadIdentity
	}
	k, err := s.secret(ctx, secretWidget)
	if err != nil {
		return 0, false, err
	}
	want := WidgetUserHash(hex.EncodeToString(k), v.UserID)
	if !hmac.Equal([]byte(want), []byte(v.UserHash)) {
		return 0, false, errBadIdentity
	}
	var id int64
	err = q.QueryRowContext(ctx, `SELECT COALESCE(c.merged_into, c.id) FROM identities i JOIN customers c ON c.id = i.customer_id
		WHERE i.kind = 'user_id' AND i.value = $1`, v.UserID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// WidgetForm renders a survey for the widget, read-only, after verifying
// the visitor: an identified customer who already completed the survey is
// not asked again (ECONFLICT), an anonymous visitor only where the survey
// allows anonymous answers (EFORBIDDEN). Errors: ENOTFOUND, EFORBIDDEN
// (identity, invitation only), ECONFLICT (answered, closed).
// [surveys.respond]
func (s *Service) WidgetForm(ctx context.Context, slug string, v WidgetVisitor, locale string) (*Form, error) {
	if err := auth.Require(ctx, auth.PermSurveysRespond); err != nil {
		return nil, err
	}
	q := s.db.Reader()
	var id int64
	var name, settingsJSON string
	err := q.QueryRowContext(ctx, `SELECT id, name, settings FROM surveys WHERE slug = $1`, slug).Scan(&id, &name, &settingsJSON)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.Errorf(kizuna.ENOTFOUND, "survey %q not found", slug)
	}
	if err != nil {
		return nil, internalError("feedback.WidgetForm", err)
	}
	cust, identified, err := s.identify(ctx, q, v)
	if err != nil {
		return nil, internalError("feedback.WidgetForm", err)
	}
	if err := s.widgetAllowed(ctx, q, id, settingsJSON, cust, identified); err != nil {
		return nil, err
	}
	return s.liveForm(ctx, q, id, slug, name, locale)
}

func (s *Service) widgetAllowed(ctx context.Context, q querier, surveyID int64, settingsJSON string, cust int64, identified bool) error {
	var st Settings
	_ = json.Unmarshal([]byte(settingsJSON), &st)
	if !identified && !st.AllowAnonymous {
		return &kizuna.Error{Code: kizuna.EFORBIDDEN, Message: "this survey is answered by identified visitors only"}
	}
	if cust == 0 {
		return nil
	}
	var done bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM survey_responses WHERE survey_id = $1 AND customer_id = $2
		AND status = $3)`, surveyID, cust, ResponseCompleted).Scan(&done); err != nil {
		return internalError("feedback.widget", err)
	}
	if done {
		return &kizuna.Error{Code: kizuna.ECONFLICT, Message: "this visitor has already answered the survey"}
	}
	return nil
}

// StartWidget starts a response through the widget (channel widget), tied
// to the verified visitor's customer, or resumes the one the client key
// started. The form's client key is required. Errors as WidgetForm, plus
// EINVALID (client_key) and ETOOMANY (rate limit). [surveys.respond]
func (s *Service) StartWidget(ctx context.Context, in StartInput, v WidgetVisitor) (*Session, error) {
	if err := auth.Require(ctx, auth.PermSurveysRespond); err != nil {
		return nil, err
	}
	if in.Slug == "" {
		return nil, kizuna.FieldError("slug", "the widget needs the survey's slug")
	}
	if !validClientKey(in.ClientKey) {
		return nil, kizuna.FieldError("client_key", "the client key must be 16–128 characters of A–Z, a–z, 0–9, - and _")
	}
	locale := NormalizeLocale(in.Locale)
	var responseID int64
	var resumed bool
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		var surveyID int64
		var settingsJSON string
		err := tx.QueryRowContext(ctx, `SELECT id, settings FROM surveys WHERE slug = $1`, in.Slug).Scan(&surveyID, &settingsJSON)
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.Errorf(kizuna.ENOTFOUND, "survey %q not found", in.Slug)
		}
		if err != nil {
			return err
		}
		if responseID, resumed, err = existingByKey(ctx, tx, surveyID, in.ClientKey); err != nil || resumed {
			return err
		}
		cust, identified, err := s.identify(ctx, tx, v)
		if err != nil {
			return err
		}
		if err := s.widgetAllowed(ctx, tx, surveyID, settingsJSON, cust, identified); err != nil {
			return err
		}
		ver, status, err := currentVersion(ctx, tx, surveyID)
		if err != nil {
			return err
		}
		if status != StatusLive {
			return errSurveyClosed
		}
		ipHash := hashIP(in.IP)
		if err := s.rateLimit(ctx, tx, surveyID, ipHash); err != nil {
			return err
		}
		var custArg any
		if cust != 0 {
			custArg = cust
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO survey_responses (survey_id, version_id, customer_id, client_key, channel, status,
			locale, touchpoint, journey_stage, started_at, updated_at, ip_hash)
			SELECT $1, $2, $3, $4, $5, $6, $7, touchpoint, journey_stage, $8, $9, $10 FROM surveys WHERE id = $1
			ON CONFLICT DO NOTHING RETURNING id`,
			surveyID, ver.id, custArg, in.ClientKey, ChannelWidget, ResponsePartial, locale, in.startedAt(tx.NowMS()), tx.NowMS(),
			ipHash).Scan(&responseID)
		if errors.Is(err, sql.ErrNoRows) {
			var ok bool
			responseID, ok, err = existingByKey(ctx, tx, surveyID, in.ClientKey)
			if err == nil && !ok {
				err = fmt.Errorf("response of client key vanished")
			}
			resumed = true
		}
		return err
	})
	if err != nil {
		return nil, internalError("feedback.StartWidget", err)
	}
	sess, err := s.session(ctx, s.db.Reader(), responseID, locale)
	if err != nil {
		return nil, err
	}
	sess.Resumed = resumed
	return sess, nil
}
