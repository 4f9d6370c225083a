package support

import (
	"context"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// ContactForm is what a visitor sends through the public web contact form.
type ContactForm struct {
	Name        string
	Email       string
	CategoryID  int64 // 0: none chosen
	Subject     string
	Body        string
	Locale      string // of the confirmation mail
	Attachments []NewAttachment
}

// contactActor labels tickets from the contact form in the status history.
const contactActor = "contact-form"

// Categories returns the categories a visitor may choose on the contact
// form: every one not archived, in the desk's order. Public.
func (p *Portal) Categories(ctx context.Context) ([]Category, error) {
	all, err := p.desk.Categories(auth.System(ctx, contactActor))
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if !c.Archived {
			out = append(out, c)
		}
	}
	return out, nil
}

// SubmitContact opens a ticket (channel web) from the contact form: the
// email is resolved to a customer (an unknown one becomes a new customer)
// and a confirmation with the portal link is mailed. Public, rate-limited
// per email and IP. Errors: EINVALID (field named), ENOTFOUND (category),
// ETOOLARGE (attachment), ETOOMANY.
func (p *Portal) SubmitContact(ctx context.Context, f ContactForm, ip string) (*Ticket, error) {
	email, err := customer.NormalizeEmail(f.Email)
	if err != nil {
		return nil, kizuna.FieldError("email", "enter your email address")
	}
	if err := checkText("name", f.Name, 200, false); err != nil {
		return nil, err
	}
	if err := checkText("subject", f.Subject, maxSubject, true); err != nil {
		return nil, err
	}
	if err := checkText("body", f.Body, maxBody, true); err != nil {
		return nil, err
	}
	if _, err := checkAttachments(f.Attachments); err != nil {
		return nil, err
	}
	err = p.db.WriteTx(ctx, func(tx *db.Tx) error {
		if err := p.count(ctx, tx, []limit{{"contact-email:" + email, p.opts.MaxContactsPerEmail},
			{"contact-ip:" + ipUnit(ip), p.opts.MaxContactsPerIP}}); err != nil {
			return err
		}
		if f.CategoryID != 0 {
			return categoryUsable(ctx, tx, f.CategoryID)
		}
		return nil
	})
	if err != nil {
		return nil, wrapInternal("contact form", err)
	}
	// Anyone may write in, as by mail: the desk's intake acts for the
	// visitor, and the ticket is tied to the customer by the identity rules.
	t, err := p.desk.CreateTicket(auth.System(ctx, contactActor), NewTicket{Subject: f.Subject, Body: f.Body,
		Channel: "web", Requester: Requester{Email: email, Name: f.Name}, CategoryID: f.CategoryID,
		Attachments: f.Attachments})
	if err != nil {
		return nil, err
	}
	p.send(ctx, composeContactConfirmation(f.Locale, email, f.Name, t, p.opts.BaseURL+"/portal/login"))
	return t, nil
}
