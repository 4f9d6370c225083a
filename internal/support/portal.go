package support

import (
	"context"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
)

// portalCustomer returns the customer id of a customer principal. The id
// comes from the principal — the portal's sign-in — never from input.
func portalCustomer(ctx context.Context) (int64, error) {
	if err := require(ctx, auth.PermTicketsOwn); err != nil {
		return 0, err
	}
	p, _ := auth.PrincipalFrom(ctx)
	if p.Kind != auth.PrincipalCustomer || p.ID <= 0 {
		// The system principal holds every permission but is no customer.
		return 0, &kizuna.Error{Code: kizuna.EFORBIDDEN, Message: "only a signed-in customer has own tickets"}
	}
	return p.ID, nil
}

// MyTickets lists the signed-in customer's tickets (every profile merged
// into it), newest first. Errors: EFORBIDDEN (not a customer), EINVALID
// (limit, cursor). [tickets.own]
func (s *Service) MyTickets(ctx context.Context, limit int, cursor string) (*Page[Ticket], error) {
	cid, err := portalCustomer(ctx)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, Filter{CustomerID: cid, Limit: limit, Cursor: cursor})
}

// MyTicket returns one of the signed-in customer's tickets with its public
// messages; another customer's ticket is ENOTFOUND, exactly like a missing
// one, so ids cannot be probed. [tickets.own]
func (s *Service) MyTicket(ctx context.Context, id int64) (*Ticket, []Message, error) {
	cid, err := portalCustomer(ctx)
	if err != nil {
		return nil, nil, err
	}
	q := s.db.Reader()
	root, err := rootCustomer(ctx, q, cid)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.ticket(ctx, q, id)
	if err != nil || t.CustomerID != root {
		return nil, nil, notFound("ticket", id)
	}
	ms, err := s.messages(ctx, id, true)
	if err != nil {
		return nil, nil, err
	}
	return t, ms, nil
}
