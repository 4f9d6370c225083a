// Package ingest implements the Segment HTTP Tracking API: /v1/track,
// /v1/identify, /v1/page, /v1/screen, /v1/group, /v1/alias and /v1/batch,
// authenticated with a write key the way Segment does (HTTP Basic, key as
// the user name), so the official Segment clients work with only their
// endpoint changed.
//
// Acknowledged means durable: a 2xx is sent only after the event and its
// dedup key are committed. Throughput comes from a group-commit Writer that
// stores the events of many requests in one transaction.
package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// Limits, as Segment documents them for its HTTP API.
const (
	MaxEventBytes = 32 * 1024  // one message
	MaxBatchBytes = 500 * 1024 // one /v1/batch request
	MaxBatchItems = 2500       // messages in one /v1/batch request
	maxIDLength   = 512        // userId, anonymousId, messageId, event names
)

// Types of message.
const (
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeGroup    = "group"
	TypeAlias    = "alias"
)

var knownTypes = []string{TypeTrack, TypeIdentify, TypePage, TypeScreen, TypeGroup, TypeAlias}

// Message is one validated Segment-style message, ready to store.
type Message struct {
	Type        string
	MessageID   string
	BodyHash    string // sha256 of the message without transport fields
	UserID      string
	AnonymousID string
	PreviousID  string // alias
	GroupID     string // group
	Name        string // track event / page or screen name
	Properties  json.RawMessage
	Traits      json.RawMessage
	Context     json.RawMessage
	Timestamp   time.Time // when it happened, clock-skew corrected
	ReceivedAt  time.Time
}

// volatile fields are transport details a client may change when it
// retries the same message; they are not part of the body hash.
var volatile = map[string]bool{"sentAt": true, "receivedAt": true, "writeKey": true, "_metadata": true}

// ParseMessage validates one message. typ is the type implied by the
// endpoint ("" for /v1/batch, where the message names its own type).
// batchSentAt and batchContext come from the batch envelope. Errors are
// *kizuna.Error with Field set to the offending field's name.
func ParseMessage(raw []byte, typ string, batchSentAt time.Time, batchContext json.RawMessage, receivedAt time.Time) (*Message, error) {
	if len(raw) > MaxEventBytes {
		return nil, tooLarge(len(raw))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, &kizuna.Error{Code: kizuna.EINVALID, Message: "message is not a JSON object: " + jsonErr(err)}
	}
	return parseFields(fields, typ, batchSentAt, batchContext, receivedAt)
}

func tooLarge(n int) error {
	return &kizuna.Error{Code: kizuna.ETOOLARGE, Message: fmt.Sprintf("message is %d bytes; the limit is %d bytes (32 KB)", n, MaxEventBytes)}
}

// fieldsSize is the size of a decoded message as JSON (without
// insignificant white space): what the 32 KB limit measures.
func fieldsSize(fields map[string]json.RawMessage) int {
	n := 2 // {}
	for k, v := range fields {
		n += len(k) + len(v) + 4 // "k":v,
	}
	return n
}

// parseFields validates a message already decoded into its fields (the
// batch endpoint decodes all of a batch's messages in one pass).
func parseFields(fields map[string]json.RawMessage, typ string, batchSentAt time.Time, batchContext json.RawMessage, receivedAt time.Time) (*Message, error) {
	if fields == nil {
		return nil, &kizuna.Error{Code: kizuna.EINVALID, Message: "message is not a JSON object"}
	}
	m := &Message{ReceivedAt: receivedAt}

	var err error
	str := func(name string) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = stringField(fields, name)
		return s
	}
	msgType := str("type")
	m.MessageID = str("messageId")
	m.UserID = str("userId")
	m.AnonymousID = str("anonymousId")
	m.PreviousID = str("previousId")
	m.GroupID = str("groupId")
	event := str("event")
	name := str("name")
	if err != nil {
		return nil, err
	}
	if typ != "" {
		if msgType != "" && msgType != typ {
			return nil, kizuna.FieldError("type", "type %q does not match the endpoint /v1/%s", msgType, typ)
		}
		msgType = typ
	}
	if msgType == "" {
		return nil, kizuna.FieldError("type", "type is required (one of %s)", strings.Join(knownTypes, ", "))
	}
	if !slices.Contains(knownTypes, msgType) {
		return nil, kizuna.FieldError("type", "unknown type %q (want one of %s)", msgType, strings.Join(knownTypes, ", "))
	}
	m.Type = msgType
	if m.UserID == "" && m.AnonymousID == "" {
		return nil, kizuna.FieldError("userId", "userId or anonymousId is required")
	}
	switch msgType {
	case TypeTrack:
		if event == "" {
			return nil, kizuna.FieldError("event", "event is required for track")
		}
		m.Name = event
	case TypePage, TypeScreen:
		m.Name = name
	case TypeAlias:
		if m.PreviousID == "" {
			return nil, kizuna.FieldError("previousId", "previousId is required for alias")
		}
		if m.UserID == "" {
			return nil, kizuna.FieldError("userId", "userId is required for alias")
		}
	case TypeGroup:
		if m.GroupID == "" {
			return nil, kizuna.FieldError("groupId", "groupId is required for group")
		}
	}
	for _, f := range []struct{ name, v string }{
		{"messageId", m.MessageID}, {"userId", m.UserID}, {"anonymousId", m.AnonymousID},
		{"previousId", m.PreviousID}, {"groupId", m.GroupID}, {"event", event}, {"name", name},
	} {
		if len(f.v) > maxIDLength {
			return nil, kizuna.FieldError(f.name, "%s is longer than %d bytes", f.name, maxIDLength)
		}
		if !utf8.ValidString(f.v) {
			return nil, kizuna.FieldError(f.name, "%s is not valid UTF-8", f.name)
		}
	}

	if m.Properties, err = objectField(fields, "properties"); err != nil {
		return nil, err
	}
	if m.Traits, err = objectField(fields, "traits"); err != nil {
		return nil, err
	}
	if m.Context, err = objectField(fields, "context"); err != nil {
		return nil, err
	}
	if len(m.Context) == 0 && len(batchContext) > 0 {
		m.Context = batchContext
	}

	if m.Timestamp, err = messageTime(fields, batchSentAt, receivedAt); err != nil {
		return nil, err
	}

	m.BodyHash = bodyHash(msgType, fields)
	if m.MessageID == "" {
		// Without a messageId a retry cannot be told from a new event, so
		// derive one from the body: an identical resend is then a replay.
		m.MessageID = "kz-" + m.BodyHash[:32]
	}
	return m, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	return err.Error()
}

func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return "", nil
	}
	s, err := jsonString(raw)
	if err != nil {
		// Segment accepts numeric ids; keep them as their decimal text.
		var n json.Number
		if name != "type" && json.Unmarshal(raw, &n) == nil {
			return n.String(), nil
		}
		return "", kizuna.FieldError(name, "%s must be a string", name)
	}
	return s, nil
}

// jsonString decodes a JSON string. Ids and timestamps almost never hold
// escapes, so those are taken as they stand (after a UTF-8 check) instead
// of through the reflection-based decoder, which was 15 % of the CPU of a
// batch; anything else goes through encoding/json.
func jsonString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		inner := raw[1 : len(raw)-1]
		plain := utf8.Valid(inner)
		for _, c := range inner {
			if c == '\\' || c == '"' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

func objectField(fields map[string]json.RawMessage, name string) (json.RawMessage, error) {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return nil, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, kizuna.FieldError(name, "%s must be a JSON object", name)
	}
	return raw, nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// earliest and the future slack bound what a timestamp may say.
var earliest = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

const futureSlack = 24 * time.Hour

// messageTime picks when the message happened. An explicit timestamp wins;
// otherwise originalTimestamp is corrected for the client's clock skew the
// way Segment does: receivedAt - (sentAt - originalTimestamp).
func messageTime(fields map[string]json.RawMessage, batchSentAt, receivedAt time.Time) (time.Time, error) {
	parse := func(name string) (time.Time, bool, error) {
		raw, ok := fields[name]
		if !ok || isNull(raw) {
			return time.Time{}, false, nil
		}
		s, err := jsonString(raw)
		if err != nil {
			return time.Time{}, false, kizuna.FieldError(name, "%s must be an ISO 8601 date-time string", name)
		}
		t, err := parseTime(s)
		if err != nil {
			return time.Time{}, false, kizuna.FieldError(name, "%s %q is not an ISO 8601 date-time (e.g. 2026-11-23T09:30:00.000Z)", name, s)
		}
		if t.Before(earliest) || t.After(receivedAt.Add(futureSlack)) {
			return time.Time{}, false, kizuna.FieldError(name, "%s %q is out of range (1970 to one day ahead of the server clock)", name, s)
		}
		return t, true, nil
	}
	ts, hasTS, err := parse("timestamp")
	if err != nil {
		return time.Time{}, err
	}
	orig, hasOrig, err := parse("originalTimestamp")
	if err != nil {
		return time.Time{}, err
	}
	sent, hasSent, err := parse("sentAt")
	if err != nil {
		return time.Time{}, err
	}
	if !hasSent && !batchSentAt.IsZero() {
		sent, hasSent = batchSentAt, true
	}
	switch {
	case hasTS:
		return ts, nil
	case hasOrig && hasSent:
		t := receivedAt.Add(-sent.Sub(orig))
		if t.After(receivedAt) {
			t = receivedAt
		}
		return t, nil
	case hasOrig:
		return orig, nil
	}
	return receivedAt, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// bodyHash hashes the message's type and fields in key order, leaving out volatile
// transport fields, so that a client resending the same message gets the
// same hash even if it re-stamped sentAt.
func bodyHash(msgType string, fields map[string]json.RawMessage) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		// The type is hashed as resolved: /v1/track without "type" and a
		// batch item with "type":"track" are the same message.
		if !volatile[k] && k != "type" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	h := sha256.New()
	h.Write([]byte(msgType))
	h.Write([]byte{0})
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(bytes.TrimSpace(fields[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// resolveRequest maps the message's ids and traits to what the customer
// service needs to find (or create) the profile.
func (m *Message) resolveRequest(source string) customer.Resolve {
	r := customer.Resolve{
		Keys:   customer.Keys{UserID: m.UserID, AnonymousID: m.AnonymousID},
		Source: source,
		SeenAt: m.Timestamp,
	}
	// Traits come with identify (traits) and, on any call, as
	// context.traits (Segment's analytics.js and mobile libraries).
	var traits map[string]any
	if len(m.Traits) > 0 {
		_ = json.Unmarshal(m.Traits, &traits)
	}
	var ctx struct {
		Traits      map[string]any `json:"traits"`
		ExternalIDs []struct {
			ID   any    `json:"id"`
			Type string `json:"type"`
		} `json:"externalIds"`
	}
	// Most contexts carry neither (library, ip, userAgent): skip decoding.
	if len(m.Context) > 0 && (bytes.Contains(m.Context, []byte(`"traits"`)) || bytes.Contains(m.Context, []byte(`"externalIds"`))) {
		_ = json.Unmarshal(m.Context, &ctx)
	}
	if traits == nil && m.Type == TypeIdentify {
		traits = map[string]any{}
	}
	for k, v := range ctx.Traits {
		if traits == nil {
			traits = map[string]any{}
		}
		if _, ok := traits[k]; !ok {
			traits[k] = v
		}
	}
	for _, x := range ctx.ExternalIDs {
		if x.Type == "line_user_id" || x.Type == "lineUserId" {
			if s, ok := x.ID.(string); ok {
				r.Keys.LINEUserID = s
			}
		}
	}
	if traits != nil {
		t := traitsFrom(traits)
		r.Keys.Email, r.Keys.Phone = t.Email, t.Phone
		if r.Keys.LINEUserID == "" {
			r.Keys.LINEUserID = firstString(traits, "line_user_id", "lineUserId")
		}
		if m.Type == TypeIdentify {
			r.Traits = t
		}
	}
	switch m.Type {
	case TypeIdentify:
		r.Merge = true
	case TypeAlias:
		// alias(previousId → userId): previousId is almost always the
		// anonymous id the visitor had before signing up.
		r.Keys.AnonymousID = m.PreviousID
		r.Merge = true
	}
	return r
}

// traitsFrom reads Segment's reserved traits, plus the Japanese name
// fields, into profile fields; every other trait becomes a custom
// attribute.
func traitsFrom(tr map[string]any) *customer.Traits {
	t := &customer.Traits{Attributes: map[string]any{}}
	take := func(keys ...string) string {
		s := firstString(tr, keys...)
		return s
	}
	t.Email = take("email")
	t.Phone = take("phone")
	t.FamilyName = take("lastName", "last_name", "familyName", "family_name")
	t.GivenName = take("firstName", "first_name", "givenName", "given_name")
	t.FamilyNameKana = take("lastNameKana", "last_name_kana", "familyNameKana", "family_name_kana")
	t.GivenNameKana = take("firstNameKana", "first_name_kana", "givenNameKana", "given_name_kana")
	t.Locale = take("locale", "language")
	t.TimeZone = take("timezone", "timeZone", "time_zone")
	t.LifecycleStage = take("lifecycleStage", "lifecycle_stage")
	if addr, ok := tr["address"].(map[string]any); ok {
		t.Country = firstString(addr, "country")
	}
	if t.Country == "" {
		t.Country = take("country")
	}
	if t.FamilyName == "" && t.GivenName == "" {
		// A single "name" is kept whole as the family name slot: splitting
		// "山田太郎" or "Mary Ann Smith" by guesswork would be wrong.
		t.FamilyName = take("name")
	}
	reserved := map[string]bool{"email": true, "phone": true, "lastName": true, "last_name": true, "familyName": true,
		"family_name": true, "firstName": true, "first_name": true, "givenName": true, "given_name": true,
		"lastNameKana": true, "last_name_kana": true, "familyNameKana": true, "family_name_kana": true,
		"firstNameKana": true, "first_name_kana": true, "givenNameKana": true, "given_name_kana": true,
		"locale": true, "language": true, "timezone": true, "timeZone": true, "time_zone": true,
		"lifecycleStage": true, "lifecycle_stage": true, "country": true, "name": true,
		"line_user_id": true, "lineUserId": true}
	for k, v := range tr {
		if !reserved[k] {
			t.Attributes[k] = v
		}
	}
	return t
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if s := strings.TrimSpace(v); s != "" {
				return s
			}
		case float64:
			return fmt.Sprint(v)
		}
	}
	return ""
}
