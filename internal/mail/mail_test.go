package mail_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/mail/smtptest"
)

func TestNewSenderConfig(t *testing.T) {
	cases := map[string]mail.Config{
		"smtp_host":     {From: "a@example.com"},
		"smtp_port":     {Host: "h", Port: 70000, From: "a@example.com"},
		"smtp_starttls": {Host: "h", From: "a@example.com", StartTLS: "sometimes"},
		"smtp_from":     {Host: "h", From: "not an address"},
	}
	for field, cfg := range cases {
		if _, err := mail.NewSender(cfg); kizuna.ErrorField(err) != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestComposeEscapesAndLocalizes(t *testing.T) {
	inv := mail.Invitation{To: "t@example.com", Locale: "ja", Name: "山田 <script>", SurveyName: "購入後 & \"配送\"",
		Link: "https://cx.example.com/r/abc?x=1&y=2", Unsubscribe: "https://cx.example.com/u/abc"}
	m, err := mail.ComposeInvitation(inv)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "購入後 & \"配送\"：アンケートご協力のお願い" {
		t.Fatalf("subject %q", m.Subject)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "山田 &lt;script&gt; 様") {
		t.Fatalf("HTML not escaped:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, `href="https://cx.example.com/r/abc?x=1&amp;y=2"`) {
		t.Fatalf("link in HTML:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, "山田 <script> 様") || !strings.Contains(m.Text, "https://cx.example.com/r/abc?x=1&y=2") {
		t.Fatalf("text body:\n%s", m.Text)
	}
	inv.Locale, inv.Name, inv.Reminder = "en-US", "", true
	m, _ = mail.ComposeInvitation(inv)
	if !strings.HasPrefix(m.Subject, "Reminder — ") || !strings.HasPrefix(m.Text, "Hello,") || !strings.Contains(m.Text, "only reminder") {
		t.Fatalf("english reminder: %q\n%s", m.Subject, m.Text)
	}
	// A header injection through the survey name is flattened.
	inv.SurveyName = "x\r\nBcc: victim@example.com"
	m, _ = mail.ComposeInvitation(inv)
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Fatalf("subject keeps a line break: %q", m.Subject)
	}
}

func TestSendOverSMTP(t *testing.T) {
	srv := smtptest.Start(t)
	s, err := mail.NewSender(mail.Config{Host: srv.Host, Port: srv.Port, From: "Kizuna CX <cx@kizuna.example>", StartTLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.SendInvitation(context.Background(), mail.Invitation{To: "Hanako <hanako@example.jp>", Locale: "ja", Name: "佐藤 花子",
		SurveyName: "配送アンケート", Intro: "数分で終わります。", Link: "https://cx.example.com/r/TOKEN123",
		Unsubscribe: "https://cx.example.com/u/TOKEN123"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(id, "@kizuna.example") || strings.ContainsAny(id, "<>") {
		t.Fatalf("message id %q", id)
	}
	got := srv.Wait(t, 1)[0]
	if got.Header.Get("Message-Id") != "<"+id+">" {
		t.Fatalf("Message-ID header %q, want <%s>", got.Header.Get("Message-Id"), id)
	}
	if got.Header.Get("List-Unsubscribe") != "<https://cx.example.com/u/TOKEN123>" ||
		got.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("unsubscribe headers: %v", got.Header)
	}
	if !strings.HasPrefix(got.Header.Get("Content-Type"), "multipart/alternative") {
		t.Fatalf("content type %q", got.Header.Get("Content-Type"))
	}
	if got.Subject != "配送アンケート：アンケートご協力のお願い" || got.From != "cx@kizuna.example" || got.To[0] != "hanako@example.jp" {
		t.Fatalf("envelope/subject: %q %q %v", got.Subject, got.From, got.To)
	}
	if !strings.Contains(got.Text, "佐藤 花子 様") || !strings.Contains(got.Text, "https://cx.example.com/r/TOKEN123") ||
		!strings.Contains(got.HTML, `href="https://cx.example.com/r/TOKEN123"`) || !strings.Contains(got.HTML, "数分で終わります。") {
		t.Fatalf("bodies:\n%s\n%s", got.Text, got.HTML)
	}
	// A refusing server is EUNAVAILABLE (retry later).
	srv.SetRefuse(true)
	if _, err := s.SendInvitation(context.Background(), mail.Invitation{To: "a@example.jp", SurveyName: "x", Link: "l", Unsubscribe: "u"}); kizuna.ErrorCode(err) != kizuna.EUNAVAILABLE {
		t.Fatalf("refused: %v", err)
	}
	// Mandatory STARTTLS against a server without TLS refuses to send.
	strict, _ := mail.NewSender(mail.Config{Host: srv.Host, Port: srv.Port, From: "cx@kizuna.example"})
	srv.SetRefuse(false)
	if _, err := strict.SendInvitation(context.Background(), mail.Invitation{To: "a@example.jp", SurveyName: "x", Link: "l", Unsubscribe: "u"}); err == nil {
		t.Fatal("sent in clear text under the mandatory STARTTLS policy")
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d messages arrived, want 1", n)
	}
}

func TestSendAttachments(t *testing.T) {
	srv := smtptest.Start(t)
	s, err := mail.NewSender(mail.Config{Host: srv.Host, Port: srv.Port, From: "Support <support@kizuna.example>", StartTLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.4\n\x00\x01\x02binary\xff\n%%EOF\n")
	id, err := s.Send(context.Background(), mail.Message{To: "hanako@example.jp", Subject: "Re: 請求書", Text: "請求書を添付します。",
		MessageID: "fixed-id@kizuna.example", Attachments: []mail.Attachment{
			{Filename: "請求書 2026.pdf", ContentType: "application/pdf", Data: pdf},
			{Filename: "notes.txt", ContentType: "text/plain", Data: []byte("not the body")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1)[0]
	if id != "fixed-id@kizuna.example" || got.Header.Get("Message-Id") != "<fixed-id@kizuna.example>" {
		t.Fatalf("Message-ID %q / header %q", id, got.Header.Get("Message-Id"))
	}
	if !strings.HasPrefix(got.Header.Get("Content-Type"), "multipart/mixed") {
		t.Fatalf("content type %q", got.Header.Get("Content-Type"))
	}
	if strings.TrimSpace(got.Text) != "請求書を添付します。" {
		t.Fatalf("text %q", got.Text)
	}
	if len(got.Attachments) != 2 {
		t.Fatalf("attachments: %+v", got.Attachments)
	}
	a := got.Attachments[0]
	if a.Filename != "請求書 2026.pdf" || a.ContentType != "application/pdf" || string(a.Data) != string(pdf) {
		t.Fatalf("pdf attachment: %q %q %q", a.Filename, a.ContentType, a.Data)
	}
	if b := got.Attachments[1]; b.Filename != "notes.txt" || string(b.Data) != "not the body" {
		t.Fatalf("text attachment: %+v", b)
	}
	// A file without a name is refused before anything is sent.
	if _, err := s.Send(context.Background(), mail.Message{To: "a@example.jp", Subject: "x", Text: "x",
		Attachments: []mail.Attachment{{Data: []byte("x")}}}); kizuna.ErrorCode(err) != kizuna.EINVALID {
		t.Fatalf("nameless attachment: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d messages arrived, want 1", n)
	}
}
