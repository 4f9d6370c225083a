package mail

import (
	"bytes"
	"context"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// Invitation is a survey invitation (or its one reminder) to compose.
type Invitation struct {
	To     string
	Locale string // "ja" or "en"
	// Name of the customer ("" when unknown: the greeting is generic).
	Name       string
	SurveyName string
	// Intro is the survey's introduction in Locale (optional).
	Intro string
	// Link is the personal survey link; Unsubscribe the one-click
	// unsubscribe URL.
	Link        string
	Unsubscribe string
	Reminder    bool
	// InReplyTo threads a reminder under the invitation's Message-ID.
	InReplyTo string
}

type copyText struct {
	Subject, ReminderSubject, Greeting, GreetingAnon, Body, ReminderBody, Button, Unsubscribe, Footer string
}

var copies = map[string]copyText{
	"ja": {
		Subject:         "{{.SurveyName}}：アンケートご協力のお願い",
		ReminderSubject: "【再送】{{.SurveyName}}：アンケートご協力のお願い",
		Greeting:        "{{.Name}} 様",
		GreetingAnon:    "お客様各位",
		Body:            "いつもご利用いただきありがとうございます。サービス向上のため、アンケートへのご協力をお願いいたします。所要時間は数分です。",
		ReminderBody:    "先日お送りしたアンケートへのご回答がまだのようでしたので、改めてご案内いたします。このご案内は今回限りです。",
		Button:          "アンケートに回答する",
		Unsubscribe:     "今後アンケートのご案内が不要な場合はこちら",
		Footer:          "このリンクはお客様専用です。転送しないでください。",
	},
	"en": {
		Subject:         "{{.SurveyName}}: we would value your feedback",
		ReminderSubject: "Reminder — {{.SurveyName}}: we would value your feedback",
		Greeting:        "Dear {{.Name}},",
		GreetingAnon:    "Hello,",
		Body:            "Thank you for being our customer. Would you take a few minutes to tell us how we did?",
		ReminderBody:    "We have not heard from you yet, so here is the survey once more. This is the only reminder we will send.",
		Button:          "Answer the survey",
		Unsubscribe:     "Unsubscribe from survey invitations",
		Footer:          "This link is personal to you; please do not forward it.",
	},
}

const textBody = `{{.Greeting}}

{{.Body}}
{{if .Intro}}
{{.Intro}}
{{end}}
{{.Button}}:
{{.Link}}

{{.Footer}}

{{.Unsubscribe}}:
{{.UnsubscribeURL}}
`

var htmlBody = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html lang="{{.Locale}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:sans-serif;line-height:1.6;color:#222">
<p>{{.Greeting}}</p>
<p>{{.Body}}</p>
{{if .Intro}}<p>{{.Intro}}</p>{{end}}
<p><a href="{{.Link}}" style="display:inline-block;padding:10px 18px;background:#2b5fab;color:#fff;text-decoration:none;border-radius:4px">{{.Button}}</a></p>
<p style="font-size:12px;color:#666">{{.Footer}}</p>
<p style="font-size:12px"><a href="{{.UnsubscribeURL}}">{{.Unsubscribe}}</a></p>
</body></html>
`))

var textTemplate = texttemplate.Must(texttemplate.New("text").Parse(textBody))

type view struct {
	Locale, Subject, Greeting, Body, Intro, Link, Button, Footer, Unsubscribe, UnsubscribeURL string
}

// expand fills a copy line (a tiny text template) with the invitation.
func expand(tmpl string, inv Invitation) (string, error) {
	t, err := texttemplate.New("").Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, inv); err != nil {
		return "", err
	}
	return b.String(), nil
}

// ComposeInvitation renders the invitation as a Message in its locale.
func ComposeInvitation(inv Invitation) (Message, error) {
	locale := "en"
	if strings.HasPrefix(inv.Locale, "ja") {
		locale = "ja"
	}
	c := copies[locale]
	subj, body := c.Subject, c.Body
	if inv.Reminder {
		subj, body = c.ReminderSubject, c.ReminderBody
	}
	greeting := c.Greeting
	if strings.TrimSpace(inv.Name) == "" {
		greeting = c.GreetingAnon
	}
	v := view{Locale: locale, Intro: inv.Intro, Link: inv.Link, Button: c.Button, Footer: c.Footer, Body: body,
		Unsubscribe: c.Unsubscribe, UnsubscribeURL: inv.Unsubscribe}
	var err error
	// Subject and greeting are plain text here; the HTML template escapes
	// them again where they appear in markup.
	if v.Subject, err = expand(subj, inv); err != nil {
		return Message{}, err
	}
	v.Subject = strings.NewReplacer("\r", " ", "\n", " ").Replace(v.Subject)
	if v.Greeting, err = expand(greeting, inv); err != nil {
		return Message{}, err
	}
	var text, html bytes.Buffer
	if err := textTemplate.Execute(&text, v); err != nil {
		return Message{}, err
	}
	if err := htmlBody.Execute(&html, v); err != nil {
		return Message{}, err
	}
	return Message{To: inv.To, Subject: v.Subject, Text: text.String(), HTML: html.String(),
		ListUnsubscribe: inv.Unsubscribe, InReplyTo: inv.InReplyTo}, nil
}

// SendInvitation composes and sends an invitation; it returns the
// Message-ID to record on the invitation.
func (s *Sender) SendInvitation(ctx context.Context, inv Invitation) (string, error) {
	m, err := ComposeInvitation(inv)
	if err != nil {
		return "", err
	}
	return s.Send(ctx, m)
}
