package support

import (
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna/internal/mail"
)

// The portal's mails are plain text only: nothing a customer typed is
// ever rendered as markup, and a subject line is kept on one line.

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func japanese(locale string) bool { return strings.HasPrefix(locale, "ja") }

// composeLink is the sign-in mail.
func composeLink(locale, to, link string, ttl time.Duration) mail.Message {
	mins := int(ttl.Minutes())
	if japanese(locale) {
		return mail.Message{To: to, Subject: "サポートポータルへのログインリンク",
			Text: fmt.Sprintf("サポートポータルへのログインが依頼されました。\n\n次のリンクを開き、「ログイン」ボタンを押してください（%d 分間、1 回だけ有効です）。\n%s\n\nお心当たりがない場合は、このメールを破棄してください。リンクは転送しないでください。\n", mins, link)}
	}
	return mail.Message{To: to, Subject: "Your sign-in link for the support portal",
		Text: fmt.Sprintf("Someone asked to sign in to the support portal with this address.\n\nOpen this link and press \"Sign in\" (it works once, for %d minutes):\n%s\n\nIf this was not you, ignore this mail. Please do not forward the link.\n", mins, link)}
}

// composeContactConfirmation tells the customer their ticket was received.
func composeContactConfirmation(locale, to, name string, t *Ticket, portal string) mail.Message {
	subj := oneLine(t.Subject)
	if japanese(locale) {
		greet := "お客様"
		if n := oneLine(name); n != "" {
			greet = n + " 様"
		}
		return mail.Message{To: to, Subject: fmt.Sprintf("[#%d] お問い合わせを受け付けました：%s", t.ID, subj),
			Text: fmt.Sprintf("%s\n\nお問い合わせいただきありがとうございます。受付番号 #%d で承りました。担当者よりご連絡いたします。\n\n件名：%s\n\nサポートポータルで状況の確認や返信ができます（このメールアドレスでログインしてください）。\n%s\n", greet, t.ID, subj, portal)}
	}
	greet := "Hello,"
	if n := oneLine(name); n != "" {
		greet = "Dear " + n + ","
	}
	return mail.Message{To: to, Subject: fmt.Sprintf("[#%d] We received your request: %s", t.ID, subj),
		Text: fmt.Sprintf("%s\n\nThank you for contacting us. Your request is number #%d; we will get back to you.\n\nSubject: %s\n\nFollow it and reply in the support portal (sign in with this email address):\n%s\n", greet, t.ID, subj, portal)}
}
