package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
)

// upload is one file of a multipart form.
type upload struct {
	name, ctype string
	data        []byte
}

// multipartRequest is h.request for a form with files: the fields, the
// caller's CSRF token (csrf overrides it when set) and the files under
// "attachments".
func (h *harness) multipartRequest(target, who, csrf string, fields map[string]string, files ...upload) *http.Request {
	c := h.creds[who]
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if csrf == "" {
		csrf = c.csrf
	}
	_ = mw.WriteField(csrfField, csrf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for _, f := range files {
		hd := textproto.MIMEHeader{}
		hd.Set("Content-Disposition", fmt.Sprintf(`form-data; name="attachments"; filename="%s"`, f.name))
		hd.Set("Content-Type", f.ctype)
		fw, err := mw.CreatePart(hd)
		if err != nil {
			h.t.Fatal(err)
		}
		_, _ = fw.Write(f.data)
	}
	if err := mw.Close(); err != nil {
		h.t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, target, &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	if c.token != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.token})
	}
	return r
}

func (h *harness) attachmentCount(ticket int64) int {
	var n int
	if err := h.db.Reader().QueryRow(`SELECT COUNT(*) FROM support_attachments WHERE ticket_id = $1`, ticket).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestTicketReplyAttachments(t *testing.T) {
	h := newHarness(t)
	tk := h.ids.support.ticket
	path := fmt.Sprintf("/tickets/%d/reply", tk)
	page := h.get(fmt.Sprintf("/tickets/%d", tk), "agent").Body.String()
	if !strings.Contains(page, `enctype="multipart/form-data"`) || !strings.Contains(page, `type="file" name="attachments" multiple`) {
		t.Fatal("the reply form takes no files")
	}
	before := h.attachmentCount(tk)
	pdf := []byte("%PDF-1.4\n\x00\xff 見積書\n%%EOF\n")

	// An agent replies with a PDF: stored, listed, downloadable.
	w := h.serve(h.multipartRequest(path, "agent", "", map[string]string{"body": "見積書を添付します。", "internal": "0", "action": "send"},
		upload{"見積書.pdf", "application/pdf", pdf}))
	if w.Code != http.StatusSeeOther || !strings.HasSuffix(w.Header().Get("Location"), "?done=replied") {
		t.Fatalf("reply with a PDF: %d %s", w.Code, w.Body.String())
	}
	var att int64
	var name, ctype string
	var public int
	if err := h.db.Reader().QueryRow(`SELECT a.id, a.filename, a.content_type, m.public FROM support_attachments a
		JOIN support_messages m ON m.id = a.message_id WHERE a.ticket_id = $1 ORDER BY a.id DESC LIMIT 1`, tk).
		Scan(&att, &name, &ctype, &public); err != nil {
		t.Fatal(err)
	}
	if name != "見積書.pdf" || ctype != "application/pdf" || public != 1 || h.attachmentCount(tk) != before+1 {
		t.Fatalf("stored %q %q public=%d (count %d)", name, ctype, public, h.attachmentCount(tk))
	}
	page = h.get(fmt.Sprintf("/tickets/%d", tk), "viewer").Body.String()
	if !strings.Contains(page, fmt.Sprintf(`href="/tickets/%d/attachments/%d"`, tk, att)) || !strings.Contains(page, "見積書.pdf") {
		t.Fatal("the ticket page does not list the file")
	}
	if d := h.get(fmt.Sprintf("/tickets/%d/attachments/%d", tk, att), "viewer"); d.Code != http.StatusOK || !bytes.Equal(d.Body.Bytes(), pdf) {
		t.Fatalf("download: %d %q", d.Code, d.Body.String())
	}
	// An internal note may carry a file too.
	w = h.serve(h.multipartRequest(path, "agent", "", map[string]string{"body": "社内メモ", "internal": "1", "action": "send"},
		upload{"memo.txt", "text/plain", []byte("note")}))
	if w.Code != http.StatusSeeOther || h.attachmentCount(tk) != before+2 {
		t.Fatalf("note with a file: %d (count %d)", w.Code, h.attachmentCount(tk))
	}

	// A refused type: 400 beside the form, the text kept, nothing stored.
	messages := func() int {
		var n int
		if err := h.db.Reader().QueryRow(`SELECT COUNT(*) FROM support_messages WHERE ticket_id = $1`, tk).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	nmsg := messages()
	w = h.serve(h.multipartRequest(path, "agent", "", map[string]string{"body": "このツールを実行してください", "internal": "0", "action": "send"},
		upload{"report.pdf", "application/pdf", pdf}, upload{"tool.exe", "application/x-msdownload", []byte("MZ\x90\x00")}))
	body := w.Body.String()
	if w.Code != http.StatusBadRequest || !strings.Contains(body, "このツールを実行してください</textarea>") ||
		!strings.Contains(body, "are not accepted") || !strings.Contains(body, `id="reply-files"`) {
		t.Fatalf("refused .exe: %d\n%s", w.Code, body)
	}
	if !strings.Contains(body, "ファイルはもう一度選択してください") && !strings.Contains(body, "files must be chosen again") {
		t.Error("no hint to choose the files again")
	}
	if h.attachmentCount(tk) != before+2 || messages() != nmsg {
		t.Fatalf("a refused reply stored something: %d files, %d messages", h.attachmentCount(tk), messages())
	}
	// Too many files.
	var six []upload
	for i := range 6 {
		six = append(six, upload{fmt.Sprintf("f%d.txt", i), "text/plain", []byte("x")})
	}
	w = h.serve(h.multipartRequest(path, "agent", "", map[string]string{"body": "six", "action": "send"}, six...))
	if w.Code != http.StatusBadRequest || h.attachmentCount(tk) != before+2 {
		t.Fatalf("six files: %d (count %d)", w.Code, h.attachmentCount(tk))
	}

	// A viewer may not reply, files or not.
	w = h.serve(h.multipartRequest(path, "viewer", "", map[string]string{"body": "hi", "action": "send"}, upload{"a.pdf", "application/pdf", pdf}))
	if w.Code != http.StatusForbidden || h.attachmentCount(tk) != before+2 {
		t.Fatalf("viewer: %d (count %d)", w.Code, h.attachmentCount(tk))
	}
	// The CSRF token is checked in the multipart body.
	w = h.serve(h.multipartRequest(path, "agent", "forged", map[string]string{"body": "hi", "action": "send"}, upload{"a.pdf", "application/pdf", pdf}))
	if w.Code != http.StatusForbidden || h.attachmentCount(tk) != before+2 {
		t.Fatalf("forged CSRF: %d (count %d)", w.Code, h.attachmentCount(tk))
	}
	// The body limit of file forms applies, not the 64 KiB of other forms.
	big := upload{"big.pdf", "application/pdf", bytes.Repeat([]byte("a"), 2<<20)}
	if w := h.serve(h.multipartRequest(path, "agent", "", map[string]string{"body": "big", "action": "send"}, big)); w.Code != http.StatusSeeOther {
		t.Fatalf("2 MiB file: %d", w.Code)
	}
	huge := upload{"huge.pdf", "application/pdf", bytes.Repeat([]byte("a"), maxUploadBody)}
	if w := h.serve(h.multipartRequest(path, "agent", "", map[string]string{"body": "huge", "action": "send"}, huge)); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("over the upload limit: %d", w.Code)
	}
}

func TestAPIReplyAttachments(t *testing.T) {
	h := newHarness(t)
	tk := h.ids.support.ticket
	path := fmt.Sprintf("/api/v1/tickets/%d/messages", tk)
	before := h.attachmentCount(tk)
	pdf := []byte("%PDF-1.4\n\x00\xff api\n%%EOF\n")
	b64 := base64.StdEncoding.EncodeToString(pdf)

	body := `{"body":"Invoice attached.","attachments":[{"filename":"invoice.pdf","content_type":"application/pdf","data_base64":"` + b64 + `"}]}`
	w := h.serve(h.request("POST", path, "key:agent", body, true))
	if w.Code != http.StatusCreated {
		t.Fatalf("reply with a file: %d %s", w.Code, w.Body.String())
	}
	var m struct {
		ID          int64 `json:"id"`
		Attachments []struct {
			ID          int64  `json:"id"`
			Filename    string `json:"filename"`
			ContentType string `json:"content_type"`
			Size        int64  `json:"size"`
		} `json:"attachments"`
	}
	if err := jsonUnmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "invoice.pdf" || m.Attachments[0].Size != int64(len(pdf)) {
		t.Fatalf("reply: %s", w.Body.String())
	}
	if d := h.get(fmt.Sprintf("/tickets/%d/attachments/%d", tk, m.Attachments[0].ID), "agent"); !bytes.Equal(d.Body.Bytes(), pdf) {
		t.Fatalf("download: %d %q", d.Code, d.Body.String())
	}
	// The older field name still works.
	body = `{"body":"Again.","attachments":[{"filename":"a.txt","content_type":"text/plain","data":"` + base64.StdEncoding.EncodeToString([]byte("hi")) + `"}]}`
	if w := h.serve(h.request("POST", path, "key:agent", body, true)); w.Code != http.StatusCreated {
		t.Fatalf("data alias: %d %s", w.Code, w.Body.String())
	}
	if h.attachmentCount(tk) != before+2 {
		t.Fatalf("count %d, want %d", h.attachmentCount(tk), before+2)
	}

	refused := map[string]struct {
		body  string
		code  int
		field string
	}{
		"exe": {`{"body":"x","attachments":[{"filename":"tool.exe","content_type":"application/x-msdownload","data_base64":"TVqQAA=="}]}`,
			http.StatusBadRequest, "attachments[0].content_type"},
		"bad base64": {`{"body":"x","attachments":[{"filename":"a.pdf","content_type":"application/pdf","data_base64":"%%%"}]}`,
			http.StatusBadRequest, ""},
		"unknown field": {`{"body":"x","attachments":[{"filename":"a.pdf","content_type":"application/pdf","data_base64":"` + b64 + `","path":"/etc"}]}`,
			http.StatusBadRequest, "path"},
		"both fields": {`{"body":"x","attachments":[{"filename":"a.pdf","content_type":"application/pdf","data_base64":"` + b64 + `","data":"` + b64 + `"}]}`,
			http.StatusBadRequest, ""},
		"over the API body limit": {`{"body":"x","attachments":[{"filename":"a.pdf","content_type":"application/pdf","data_base64":"` +
			base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), maxAPIBody)) + `"}]}`, http.StatusRequestEntityTooLarge, ""},
	}
	for name, c := range refused {
		w := h.serve(h.request("POST", path, "key:agent", c.body, true))
		if w.Code != c.code || (c.field != "" && !strings.Contains(w.Body.String(), `"field":"`+c.field+`"`)) {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	if w := h.serve(h.request("POST", path, "key:viewer", `{"body":"x","attachments":[{"filename":"a.pdf","content_type":"application/pdf","data_base64":"`+b64+`"}]}`, true)); w.Code != http.StatusForbidden {
		t.Errorf("viewer key: %d", w.Code)
	}
	if h.attachmentCount(tk) != before+2 {
		t.Fatalf("a refused call stored files: %d", h.attachmentCount(tk))
	}
}
