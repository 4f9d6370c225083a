package mailbox_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/support/mailbox"
)

func encode(t *testing.T, enc interface{ String(string) (string, error) }, s string) string {
	t.Helper()
	out, err := enc.String(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJapaneseMail: an ISO-2022-JP mail (the classic Japanese encoding,
// RFC 2047 subject) over SMTP becomes a ticket with the right text, and
// the 「…のメール:」 quoted history is trimmed.
func TestJapaneseMail(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		iso := japanese.ISO2022JP.NewEncoder()
		subject := "=?ISO-2022-JP?B?" + base64.StdEncoding.EncodeToString([]byte(encode(t, iso, "返品について"))) + "?="
		body := encode(t, iso, "商品が壊れていました。\n交換をお願いします。\n\n2026/11/16 9:00、Kizuna <support@example.com>のメール:\n> お問い合わせありがとうございます。")
		raw := "From: =?ISO-2022-JP?B?" + base64.StdEncoding.EncodeToString([]byte(encode(t, iso, "山田花子"))) + "?= <hanako@example.jp>\n" +
			"To: support@example.com\nSubject: " + subject + "\nMessage-ID: <jp1@example.jp>\nMIME-Version: 1.0\n" +
			"Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n" + body + "\n"
		f.mustSend(t, "hanako@example.jp", raw)
		ts := f.tickets(t)
		if len(ts) != 1 || ts[0].Subject != "返品について" {
			t.Fatalf("tickets = %+v", ts)
		}
		ms := f.messages(t, ts[0].ID)
		if ms[0].Body != "商品が壊れていました。\n交換をお願いします。" || ms[0].AuthorName != "山田花子" {
			t.Fatalf("message = %q by %q", ms[0].Body, ms[0].AuthorName)
		}
	})
}

// TestParseMIME covers the parser on its own: Shift_JIS parts, HTML-only
// mail, attachments kept and dropped, Gmail's Japanese quote header.
func TestParseMIME(t *testing.T) {
	sjis := encode(t, japanese.ShiftJIS.NewEncoder(), "お世話になっております。\n注文番号は 5678 です。\n\n2026年11月16日(月) 9:00 Kizuna Support <support@example.com>:\n> 前のメール")
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 receipt"))
	exe := base64.StdEncoding.EncodeToString([]byte("MZ\x90\x00"))
	raw := strings.ReplaceAll(`From: Ichiro <ichiro@example.jp>
To: support@example.com
Subject: =?UTF-8?B?`+base64.StdEncoding.EncodeToString([]byte("領収書の件"))+`?=
Message-ID: <sj1@example.jp>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=Shift_JIS
Content-Transfer-Encoding: base64

`+base64.StdEncoding.EncodeToString([]byte(sjis))+`
--b1
Content-Type: application/octet-stream; name="receipt.pdf"
Content-Disposition: attachment; filename="receipt.pdf"
Content-Transfer-Encoding: base64

`+pdf+`
--b1
Content-Type: application/x-msdownload; name="tool.exe"
Content-Disposition: attachment; filename="tool.exe"
Content-Transfer-Encoding: base64

`+exe+`
--b1
Content-Type: text/html; name="page.html"
Content-Disposition: attachment; filename="page.html"

<script>alert(1)</script>
--b1--
`, "\n", "\r\n")
	in, err := mailbox.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if in.Subject != "領収書の件" || in.From != "ichiro@example.jp" || in.MessageID != "sj1@example.jp" {
		t.Fatalf("header = %q %q %q", in.Subject, in.From, in.MessageID)
	}
	if in.Text != "お世話になっております。\n注文番号は 5678 です。" {
		t.Fatalf("text = %q", in.Text)
	}
	if len(in.Attachments) != 1 || in.Attachments[0].Filename != "receipt.pdf" || in.Attachments[0].ContentType != "application/pdf" ||
		string(in.Attachments[0].Data) != "%PDF-1.4 receipt" {
		t.Fatalf("attachments = %+v", in.Attachments)
	}
	if len(in.Dropped) != 2 || !strings.Contains(in.Dropped[0], "tool.exe") || !strings.Contains(in.Dropped[1], "page.html") {
		t.Fatalf("dropped = %q", in.Dropped)
	}

	html := strings.ReplaceAll(`From: a@example.jp
Subject: Hi
Content-Type: text/html; charset=utf-8

<html><head><style>p{color:red}</style><title>T</title></head><body><p>Hello &amp; welcome</p><script>alert("x")</script><div>Line&nbsp;two <b>bold</b></div><img src=x onerror=alert(1)></body></html>
`, "\n", "\r\n")
	in, err = mailbox.Parse([]byte(html))
	if err != nil {
		t.Fatal(err)
	}
	if in.Text != "Hello & welcome\nLine two bold" {
		t.Fatalf("HTML text = %q", in.Text)
	}
	if !strings.HasPrefix(in.MessageID, "sha256-") {
		t.Fatalf("a mail without Message-ID got %q", in.MessageID)
	}
	if _, err := mailbox.Parse([]byte("not a mail at all")); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestTrimQuoted(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Thanks!\n\nOn Mon, Nov 16, 2026 at 9:00 AM Kizuna <s@example.com> wrote:\n> old", "Thanks!"},
		{"Thanks!\n\nOn Mon, Nov 16, 2026 at 9:00 AM Kizuna <s@example.com>\nwrote:\n> old", "Thanks!"},
		{"了解です。\n\n2026年11月16日(月) 9:00 Kizuna Support <support@example.com>:\n> 前", "了解です。"},
		{"了解です。\n\n2026/11/16 9:00、Kizuna <support@example.com>のメール:\n\n> 前", "了解です。"},
		{"OK\n\n-----Original Message-----\nFrom: Kizuna\nold", "OK"},
		{"OK\n\n-----元のメッセージ-----\n差出人: Kizuna", "OK"},
		{"Best\n-- \nTaro\nACME", "Best"},
		{"よろしくお願いします。\n━━━━━━━━━━━━━━\n山田太郎\n株式会社ACME", "よろしくお願いします。"},
		{"Sure.\n\n> quoted at the end\n> more", "Sure."},
		{"> only a quote", "> only a quote"},
		{"Plain message\nwith two lines", "Plain message\nwith two lines"},
	} {
		if got := mailbox.TrimQuoted(tc.in); got != tc.want {
			t.Errorf("TrimQuoted(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
