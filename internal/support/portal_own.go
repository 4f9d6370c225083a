package support

import (
	"context"
	"fmt"

	"github.com/kizuna-oss/kizuna/internal/db"
)

// ownTicket returns ticket id if it belongs to customer cid (canonical,
// merges followed); anything else — missing, or another customer's — is
// the same ENOTFOUND, so ids cannot be probed.
func (s *Service) ownTicket(ctx context.Context, q queryer, cid, id int64) (*Ticket, error) {
	root, err := rootCustomer(ctx, q, cid)
	if err != nil {
		return nil, err
	}
	t, err := s.ticket(ctx, q, id)
	if err != nil || t.CustomerID != root {
		return nil, notFound("ticket", id)
	}
	return t, nil
}

// MyReply adds the signed-in customer's message (with attachments) to one
// of their own tickets; a pending or solved ticket reopens. Only the body
// and attachments of m are used. Errors: EFORBIDDEN (not a customer),
// ENOTFOUND (not theirs), EINVALID, ETOOLARGE, ECONFLICT (closed).
// [tickets.own]
func (s *Service) MyReply(ctx context.Context, ticketID int64, m NewCustomerMessage) (*Message, error) {
	cid, err := portalCustomer(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkText("body", m.Body, maxBody, true); err != nil {
		return nil, err
	}
	atts, err := checkAttachments(m.Attachments)
	if err != nil {
		return nil, err
	}
	var id int64
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		t, err := s.ownTicket(ctx, tx, cid, ticketID)
		if err != nil {
			return err
		}
		id, err = customerMessage(ctx, tx, t, NewCustomerMessage{Body: m.Body}, atts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.message(ctx, id)
}

// MyAttachment returns a file of one of the signed-in customer's tickets,
// with its bytes — only one attached to a public message (an internal
// note's files stay internal). Errors: EFORBIDDEN (not a customer),
// ENOTFOUND (not theirs, or not public). [tickets.own]
func (s *Service) MyAttachment(ctx context.Context, ticketID, attachmentID int64) (*Attachment, error) {
	cid, err := portalCustomer(ctx)
	if err != nil {
		return nil, err
	}
	q := s.db.Reader()
	if _, err := s.ownTicket(ctx, q, cid, ticketID); err != nil {
		return nil, err
	}
	var a Attachment
	err = q.QueryRowContext(ctx, `SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256, a.data
		FROM support_attachments a JOIN support_messages m ON m.id = a.message_id
		WHERE a.id = $1 AND a.ticket_id = $2 AND m.ticket_id = $2 AND m.public = 1`, attachmentID, ticketID).
		Scan(&a.ID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.Data)
	if isNoRows(err) {
		return nil, notFound("attachment", attachmentID)
	}
	if err != nil {
		return nil, fmt.Errorf("attachment %d: %w", attachmentID, err)
	}
	return &a, nil
}
