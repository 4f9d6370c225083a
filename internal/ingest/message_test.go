package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
)

var received = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestParseMessageErrors(t *testing.T) {
	tests := []struct {
		name, typ, body string
		code, field     string
	}{
		{"not json", "track", `{"event":`, kizuna.EINVALID, ""},
		{"array", "track", `[1,2]`, kizuna.EINVALID, ""},
		{"no ids", "track", `{"event":"x"}`, kizuna.EINVALID, "userId"},
		{"no event", "track", `{"userId":"u1"}`, kizuna.EINVALID, "event"},
		{"unknown type in batch", "", `{"type":"explode","userId":"u"}`, kizuna.EINVALID, "type"},
		{"missing type in batch", "", `{"userId":"u"}`, kizuna.EINVALID, "type"},
		{"type mismatch", "track", `{"type":"identify","userId":"u"}`, kizuna.EINVALID, "type"},
		{"bad timestamp", "track", `{"userId":"u","event":"e","timestamp":"yesterday"}`, kizuna.EINVALID, "timestamp"},
		{"timestamp not string", "track", `{"userId":"u","event":"e","timestamp":12}`, kizuna.EINVALID, "timestamp"},
		{"far future", "track", `{"userId":"u","event":"e","timestamp":"2031-01-01T00:00:00Z"}`, kizuna.EINVALID, "timestamp"},
		{"bad originalTimestamp", "track", `{"userId":"u","event":"e","originalTimestamp":"2026-13-01T00:00:00Z"}`, kizuna.EINVALID, "originalTimestamp"},
		{"bad sentAt", "track", `{"userId":"u","event":"e","sentAt":"soon"}`, kizuna.EINVALID, "sentAt"},
		{"properties not object", "track", `{"userId":"u","event":"e","properties":[1]}`, kizuna.EINVALID, "properties"},
		{"traits not object", "identify", `{"userId":"u","traits":"x"}`, kizuna.EINVALID, "traits"},
		{"alias without previousId", "alias", `{"userId":"u"}`, kizuna.EINVALID, "previousId"},
		{"group without groupId", "group", `{"userId":"u"}`, kizuna.EINVALID, "groupId"},
		{"userId object", "track", `{"userId":{"a":1},"event":"e"}`, kizuna.EINVALID, "userId"},
		{"too long id", "track", `{"userId":"` + strings.Repeat("x", 600) + `","event":"e"}`, kizuna.EINVALID, "userId"},
		{"too large", "track", `{"userId":"u","event":"e","properties":{"x":"` + strings.Repeat("y", MaxEventBytes) + `"}}`, kizuna.ETOOLARGE, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMessage([]byte(tt.body), tt.typ, time.Time{}, nil, received)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := kizuna.ErrorCode(err); got != tt.code {
				t.Errorf("code = %q, want %q (%v)", got, tt.code, err)
			}
			if got := kizuna.ErrorField(err); got != tt.field {
				t.Errorf("field = %q, want %q (%v)", got, tt.field, err)
			}
			if kizuna.ErrorMessage(err) == "" {
				t.Error("no message")
			}
		})
	}
}

func TestParseMessageTimestamps(t *testing.T) {
	tests := []struct {
		name, body string
		sentAt     time.Time
		want       time.Time
	}{
		{"none: received", `{"userId":"u","event":"e"}`, time.Time{}, received},
		{"explicit timestamp wins", `{"userId":"u","event":"e","timestamp":"2026-11-20T01:02:03.5Z","originalTimestamp":"2026-01-01T00:00:00Z","sentAt":"2026-01-01T00:00:10Z"}`, time.Time{},
			time.Date(2026, 11, 20, 1, 2, 3, 500e6, time.UTC)},
		// The client's clock is 1 hour behind: it says it sent at 11:00
		// what it recorded at 10:59:50; the server got it at 12:00.
		{"skew corrected", `{"userId":"u","event":"e","originalTimestamp":"2026-11-23T10:59:50Z","sentAt":"2026-11-23T11:00:00Z"}`, time.Time{},
			received.Add(-10 * time.Second)},
		{"batch sentAt", `{"userId":"u","event":"e","originalTimestamp":"2026-11-23T10:59:00Z"}`, time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC),
			received.Add(-time.Minute)},
		{"offset zone", `{"userId":"u","event":"e","timestamp":"2026-11-23T09:00:00+09:00"}`, time.Time{}, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tt.body), "track", tt.sentAt, nil, received)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Timestamp.Equal(tt.want) {
				t.Errorf("timestamp = %v, want %v", m.Timestamp, tt.want)
			}
		})
	}
}

func TestBodyHashIgnoresTransportFields(t *testing.T) {
	a, err := ParseMessage([]byte(`{"userId":"u","event":"e","messageId":"m1","sentAt":"2026-11-23T11:00:00Z","properties":{"a":1}}`), "track", time.Time{}, nil, received)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseMessage([]byte(`{"sentAt":"2026-11-23T11:00:07Z","properties":{"a":1},"messageId":"m1","event":"e","userId":"u"}`), "track", time.Time{}, nil, received)
	if err != nil {
		t.Fatal(err)
	}
	if a.BodyHash != b.BodyHash {
		t.Error("a resend with another sentAt and key order hashed differently")
	}
	c, _ := ParseMessage([]byte(`{"userId":"u","event":"e","messageId":"m1","properties":{"a":2}}`), "track", time.Time{}, nil, received)
	if c.BodyHash == a.BodyHash {
		t.Error("a different body hashed the same")
	}
}

func TestMissingMessageIDIsDerivedFromBody(t *testing.T) {
	body := []byte(`{"userId":"u","event":"e","timestamp":"2026-11-23T11:00:00Z"}`)
	a, _ := ParseMessage(body, "track", time.Time{}, nil, received)
	b, _ := ParseMessage(body, "track", time.Time{}, nil, received.Add(time.Minute))
	if a.MessageID == "" || a.MessageID != b.MessageID {
		t.Errorf("ids %q, %q: an identical resend must get the same id", a.MessageID, b.MessageID)
	}
}

func TestResolveRequestFromTraits(t *testing.T) {
	m, err := ParseMessage([]byte(`{"type":"identify","userId":"42","anonymousId":"a-1",
		"traits":{"email":"Hanako@Example.JP","phone":"090-1234-5678","lastName":"山田","firstName":"花子",
		"lastNameKana":"ヤマダ","plan":"gold","address":{"country":"JP"}},
		"context":{"externalIds":[{"id":"U0123456789abcdef0123456789abcdef","type":"line_user_id"}]}}`), "", time.Time{}, nil, received)
	if err != nil {
		t.Fatal(err)
	}
	r := m.resolveRequest("segment:1")
	if !r.Merge || r.Traits == nil {
		t.Fatalf("identify must carry traits and allow merging: %+v", r)
	}
	if r.Keys.UserID != "42" || r.Keys.AnonymousID != "a-1" || r.Keys.Email != "Hanako@Example.JP" || r.Keys.Phone != "090-1234-5678" || r.Keys.LINEUserID != "U0123456789abcdef0123456789abcdef" {
		t.Errorf("keys = %+v", r.Keys)
	}
	if r.Traits.FamilyName != "山田" || r.Traits.GivenName != "花子" || r.Traits.FamilyNameKana != "ヤマダ" || r.Traits.Country != "JP" {
		t.Errorf("traits = %+v", r.Traits)
	}
	if r.Traits.Attributes["plan"] != "gold" || r.Traits.Attributes["email"] != nil {
		t.Errorf("attributes = %v", r.Traits.Attributes)
	}

	track, _ := ParseMessage([]byte(`{"userId":"42","event":"Viewed","context":{"traits":{"email":"x@example.com"}}}`), "track", time.Time{}, nil, received)
	tr := track.resolveRequest("segment:1")
	if tr.Merge || tr.Traits != nil || tr.Keys.Email != "x@example.com" {
		t.Errorf("track: merge=%v traits=%v email=%q; a track links context.traits but never merges or edits", tr.Merge, tr.Traits, tr.Keys.Email)
	}

	alias, _ := ParseMessage([]byte(`{"userId":"42","previousId":"anon-9"}`), "alias", time.Time{}, nil, received)
	ar := alias.resolveRequest("segment:1")
	if !ar.Merge || ar.Keys.AnonymousID != "anon-9" || ar.Keys.UserID != "42" {
		t.Errorf("alias = %+v", ar)
	}
}

func TestJSONString(t *testing.T) {
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{`"plain-id_123"`, "plain-id_123", true},
		{` "spaced" `, "spaced", true},
		{`"山田太郎"`, "山田太郎", true},
		{`"a\"b"`, `a"b`, true},
		{`"tab\there"`, "tab\there", true},
		{`"\u5c71\u7530"`, "山田", true},
		{`"slash\/ok"`, "slash/ok", true},
		{"\"raw\x01control\"", "", false},
		{"\"bad\xffutf8\"", "\ufffd", true}, // encoding/json replaces invalid bytes
		{`12`, "", false},
		{`"unterminated`, "", false},
	}
	for _, tt := range tests {
		got, err := jsonString([]byte(tt.raw))
		if (err == nil) != tt.ok {
			t.Errorf("jsonString(%q) error = %v, want ok=%v", tt.raw, err, tt.ok)
			continue
		}
		if tt.ok && tt.want != "\ufffd" && got != tt.want {
			t.Errorf("jsonString(%q) = %q, want %q", tt.raw, got, tt.want)
		}
		if tt.ok && tt.want == "\ufffd" && !strings.Contains(got, "\ufffd") {
			t.Errorf("jsonString(%q) = %q: invalid UTF-8 must not pass through", tt.raw, got)
		}
	}
}
