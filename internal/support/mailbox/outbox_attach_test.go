package mailbox_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message/mail"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/support"
)

// receivedFile is an attachment as a mail client sees it.
type receivedFile struct {
	name, ctype string
	data        []byte
}

// parseMail reads a received mail with go-message: its text and its
// attached files.
func parseMail(t *testing.T, raw []byte) (string, []receivedFile) {
	t.Helper()
	mr, err := gomessage.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var text string
	var files []receivedFile
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch h := p.Header.(type) {
		case *gomessage.InlineHeader:
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				text = string(b)
			}
		case *gomessage.AttachmentHeader:
			name, err := h.Filename()
			if err != nil {
				t.Fatal(err)
			}
			ct, _, _ := h.ContentType()
			files = append(files, receivedFile{name: name, ctype: ct, data: b})
		}
	}
	return text, files
}

func TestOutboxAttachments(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.mustSend(t, "hanako@example.jp", mailText("hanako@example.jp", "Invoice please", "inv1@example.jp", "Could I get the invoice?"))
		tk := f.tickets(t)[0]

		// A refused type is refused at the desk: nothing is stored or queued.
		exe := support.NewAttachment{Filename: "setup.exe", ContentType: "application/x-msdownload", Data: []byte("MZ\x90\x00")}
		if _, err := f.desk.Reply(f.agent, tk.ID, support.NewReply{Body: "Run this.", Attachments: []support.NewAttachment{exe}}); kizuna.ErrorCode(err) != kizuna.EINVALID {
			t.Fatalf("reply with an .exe: %v", err)
		}
		pdf := []byte("%PDF-1.4\n\x00\xffinvoice 2026-11\n%%EOF\n")
		reply, err := f.desk.Reply(f.agent, tk.ID, support.NewReply{Body: "Here is the invoice.", Attachments: []support.NewAttachment{
			{Filename: "請求書.pdf", ContentType: "application/pdf", Data: pdf}}})
		if err != nil {
			t.Fatal(err)
		}
		// A file the desk would refuse now (stored by other means, or
		// under older rules) stays on the ticket but is not mailed.
		if _, err := d.Writer().Exec(db.Rebind(d.Dialect, `INSERT INTO support_attachments (message_id, ticket_id, filename, content_type,
			size, sha256, data, created_at) VALUES ($1, $2, 'page.html', 'text/html', 5, 'x', $3, 0)`), reply.ID, tk.ID, []byte("<b>x</b>")); err != nil {
			t.Fatal(err)
		}
		// An internal note's file never leaves.
		if _, err := f.desk.Reply(f.agent, tk.ID, support.NewReply{Body: "Checked billing.", Internal: true, Attachments: []support.NewAttachment{
			{Filename: "internal.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 internal")}}}); err != nil {
			t.Fatal(err)
		}

		f.runOutbox(t)
		got := f.out.Wait(t, 1)
		if len(got) != 1 {
			t.Fatalf("%d mails sent, want 1", len(got))
		}
		text, files := parseMail(t, got[0].Raw)
		if !strings.Contains(text, "Here is the invoice.") {
			t.Fatalf("mail text %q", text)
		}
		if len(files) != 1 || files[0].name != "請求書.pdf" || files[0].ctype != "application/pdf" || !bytes.Equal(files[0].data, pdf) {
			t.Fatalf("mailed files: %+v", files)
		}
		if bytes.Contains(got[0].Raw, []byte("page.html")) || bytes.Contains(got[0].Raw, []byte("internal.pdf")) {
			t.Fatal("a refused or internal file reached the mail")
		}
		// Message-ID semantics are unchanged: the stored id is the sent one.
		outID := strings.Trim(got[0].Header.Get("Message-Id"), "<>")
		ms := f.messages(t, tk.ID)
		var stored string
		for _, m := range ms {
			if m.ID == reply.ID {
				stored = m.EmailMessageID
			}
		}
		if outID == "" || stored != outID {
			t.Fatalf("stored Message-ID %q, sent %q", stored, outID)
		}
	})
}
