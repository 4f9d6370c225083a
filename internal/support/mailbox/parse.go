package mailbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-2022-JP, Shift_JIS, EUC-JP and the rest of x/text
	gomail "github.com/emersion/go-message/mail"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// Inbound is a received mail reduced to what the desk stores.
type Inbound struct {
	// MessageID without angle brackets; a mail without one gets
	// "sha256-<digest>@kizuna.invalid" from its bytes, so the same bytes
	// delivered twice are still one message.
	MessageID  string
	InReplyTo  []string
	References []string
	From       string // address, lower-cased
	FromName   string
	To         []string // header To and Cc addresses, lower-cased
	Subject    string   // decoded
	// Text is the new part of the message: plain text (an HTML-only mail
	// converted to text), quoted history and signature trimmed.
	Text string
	// Attachments the desk accepts; Dropped says, per file left out, why.
	Attachments []support.NewAttachment
	Dropped     []string
	// Auto is non-empty when the mail is an automatic one (auto-reply,
	// bounce, bulk) and names why; such mail never becomes a ticket.
	Auto string
}

// maxParts bounds the MIME parts walked in one mail (a zip-bomb-like
// nesting of empty parts costs nothing else).
const maxParts = 200

// Parse reads one RFC 5322 message. Errors: EINVALID (not a mail: no
// header, no From).
func Parse(raw []byte) (*Inbound, error) {
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, &kizuna.Error{Code: kizuna.EINVALID, Message: "the message could not be parsed", Err: err}
	}
	if mr == nil {
		return nil, &kizuna.Error{Code: kizuna.EINVALID, Message: "the message could not be parsed", Err: err}
	}
	defer mr.Close()
	h := mr.Header
	in := &Inbound{}
	from, err := h.AddressList("From")
	if err != nil || len(from) == 0 {
		// A malformed From still often holds one address.
		a, perr := mail.ParseAddress(h.Get("From"))
		if perr != nil {
			return nil, kizuna.FieldError("from", "the message has no valid From address")
		}
		from = []*gomail.Address{{Name: a.Name, Address: a.Address}}
	}
	in.From = strings.ToLower(strings.TrimSpace(from[0].Address))
	in.FromName = strings.TrimSpace(from[0].Name)
	for _, k := range []string{"To", "Cc"} {
		if as, err := h.AddressList(k); err == nil {
			for _, a := range as {
				in.To = append(in.To, strings.ToLower(a.Address))
			}
		}
	}
	in.MessageID, _ = h.MessageID()
	in.MessageID = cleanID(in.MessageID)
	if in.MessageID == "" {
		sum := sha256.Sum256(raw)
		in.MessageID = "sha256-" + hex.EncodeToString(sum[:16]) + "@kizuna.invalid"
	}
	in.InReplyTo = idList(h, "In-Reply-To")
	in.References = idList(h, "References")
	if in.Subject, err = h.Subject(); err != nil {
		in.Subject = h.Get("Subject")
	}
	in.Subject = strings.Join(strings.Fields(strings.ToValidUTF8(in.Subject, "\uFFFD")), " ")
	in.Auto = autoReason(h, in.From)

	var plain, html []string
	parts := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if p == nil {
			// A broken part ends the walk; what was read stays.
			in.Dropped = append(in.Dropped, fmt.Sprintf("the rest of the message was unreadable (%v)", err))
			break
		}
		if parts++; parts > maxParts {
			in.Dropped = append(in.Dropped, fmt.Sprintf("parts after the first %d were skipped", maxParts))
			break
		}
		switch ph := p.Header.(type) {
		case *gomail.InlineHeader:
			ct, params, _ := ph.ContentType()
			name := params["name"]
			if _, dp, err := ph.ContentDisposition(); err == nil && dp["filename"] != "" {
				name = dp["filename"]
			}
			switch {
			case (ct == "text/plain" || ct == "") && name == "":
				b, _ := io.ReadAll(io.LimitReader(p.Body, int64(maxText)*4))
				plain = append(plain, validText(b))
			case ct == "text/html" && name == "":
				b, _ := io.ReadAll(io.LimitReader(p.Body, int64(maxText)*16))
				html = append(html, HTMLToText(string(b)))
			case strings.HasPrefix(ct, "text/") && name == "":
				// text/calendar, text/enriched...: not a body.
			default:
				in.addAttachment(name, ct, p.Body)
			}
		case *gomail.AttachmentHeader:
			name, _ := ph.Filename()
			ct, _, _ := ph.ContentType()
			in.addAttachment(name, ct, p.Body)
		}
	}
	body := strings.Join(plain, "\n\n")
	if strings.TrimSpace(body) == "" {
		body = strings.Join(html, "\n\n")
	}
	in.Text = TrimQuoted(normalizeNewlines(body))
	return in, nil
}

// maxText is the desk's body limit in characters.
const maxText = 100_000

func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func validText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// addAttachment keeps a file the desk accepts and notes why any other is
// dropped. The declared type is trusted only when it is specific; a
// generic application/octet-stream is replaced by the type of the file
// name's extension.
func (in *Inbound) addAttachment(name, ct string, body io.Reader) {
	if name == "" {
		name = "attachment"
		if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
			name += exts[0]
		}
	}
	if ct == "" || ct == "application/octet-stream" {
		if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); t != "" {
			ct = t
		}
	}
	if len(in.Attachments) >= support.MaxAttachmentCount {
		in.Dropped = append(in.Dropped, fmt.Sprintf("%q: more than %d attachments", name, support.MaxAttachmentCount))
		return
	}
	data, err := io.ReadAll(io.LimitReader(body, support.MaxAttachmentSize+1))
	if err != nil {
		in.Dropped = append(in.Dropped, fmt.Sprintf("%q: could not be decoded", name))
		return
	}
	a, err := support.CheckAttachment(support.NewAttachment{Filename: name, ContentType: ct, Data: data})
	if err != nil {
		var ke *kizuna.Error
		msg := err.Error()
		if errors.As(err, &ke) {
			msg = ke.Message
		}
		in.Dropped = append(in.Dropped, fmt.Sprintf("%q (%s): %s", name, ct, msg))
		return
	}
	in.Attachments = append(in.Attachments, a)
}

func cleanID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	if len(s) > 500 || strings.ContainsAny(s, " \t\r\n<>") {
		return ""
	}
	return s
}

// idList reads a list of message ids; a malformed header yields what can
// be salvaged.
func idList(h gomail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err != nil {
		ids = nil
		for _, f := range strings.Fields(h.Get(key)) {
			ids = append(ids, f)
		}
	}
	var out []string
	for _, id := range ids {
		if id = cleanID(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// autoReason says why a mail is automatic (RFC 3834 Auto-Submitted,
// Precedence bulk/junk/list, the X-Autoreply family, delivery reports and
// mailer daemons), or "".
func autoReason(h gomail.Header, from string) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "junk", "list", "auto_reply":
		return "Precedence: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Auto-Reply"} {
		if h.Get(k) != "" {
			return k
		}
	}
	if ct, _, _ := h.ContentType(); ct == "multipart/report" {
		return "delivery report"
	}
	local := from
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		local = from[:i]
	}
	switch local {
	case "mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply":
		return "sender " + from
	}
	return ""
}
