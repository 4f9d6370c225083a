// Package mailbox is the support desk's mail channel: inbound mail becomes
// tickets (a built-in SMTP receiver, github.com/emersion/go-smtp, and/or
// IMAP polling, github.com/emersion/go-imap/v2), and agents' public
// replies go out over SMTP (package mail), threaded so the customer's
// answer lands in the same ticket. Tickets, messages and attachments are
// package support's; this package only decides where a mail belongs and
// calls CreateTicket, AddCustomerMessage and Reply (internal notes).
//
// # Parsing
//
// MIME is read with github.com/emersion/go-message: RFC 2047 headers and
// every charset of golang.org/x/text (ISO-2022-JP, Shift_JIS, EUC-JP…).
// The text/plain part is the body; an HTML-only mail is converted to plain
// text (HTMLToText: no script, style or head; nothing is ever stored as
// HTML to render). Quoted history and signatures are trimmed (TrimQuoted:
// "On … wrote:", Japanese 「…のメール:」 and Gmail's "2026年11月16日 … <a@b>:",
// Outlook's original-message rule, "-- " and ━━━ signature rules, trailing
// "> " lines). Attachments pass support.CheckAttachment: a file the desk
// refuses (type, size, count) is dropped and an internal note on the ticket
// says which and why. A mail over the size cap (72 MiB by default) is
// refused. Automatic mail is ignored, never a ticket: Auto-Submitted other
// than "no", Precedence bulk/junk/list/auto_reply, X-Autoreply and kin,
// multipart/report, mailer-daemon/postmaster/no-reply senders, a null
// envelope sender, and mail from a support address (a loop).
//
// # Threading
//
// A mail belongs to a ticket when
//
//  1. a Message-ID in its In-Reply-To or References (newest first) is a
//     stored message's email_message_id — every inbound mail's and every
//     sent reply's is stored; or else
//  2. its subject carries the ticket's tag "[#123-k7m2p9q4xa]": the id
//     and a per-ticket token of 50 random bits (support_mail_tickets),
//     put in the subject of every reply. The number alone threads
//     nothing, so nobody can write into a ticket by guessing its id.
//
// Either way the mail is added only if its From address resolves (email
// identity, merges followed) to the ticket's customer; otherwise it opens a
// new ticket with an internal note saying which ticket it claimed to
// answer. A mail to a closed ticket opens a follow-up ticket. A merged
// ticket's mail goes to the survivor. Everything else opens a ticket on
// channel "email", the sender resolved by the identity rules (an unknown
// one becomes a new customer).
//
// Known limit: From is not authenticated here (no SPF/DKIM/DMARC check);
// the receiving MTA in front is expected to reject forged senders. Header
// threading plus the sender check means a forger must know both a
// Message-ID of the conversation (or the token) and the customer's address.
//
// # Idempotency and durability
//
// support_messages.email_message_id is unique (migration 00011): the same
// mail delivered twice — an SMTP retry, an IMAP message re-marked unread,
// both transports — is stored once (Deliver reports Duplicate). A mail
// without a Message-ID is keyed by the SHA-256 of its bytes. The SMTP
// receiver answers 250 only after the commit (451 on a database failure,
// so the sending server retries); the IMAP poller fetches with BODY.PEEK
// and sets \Seen only after the commit. The sender and transport of each
// mail are kept in support_mail_inbound (written right after the message;
// a crash between the two loses only the reply address, and the outbox
// then skips that ticket until the customer writes again).
//
// # Outbox
//
// An agent's public reply is committed by support.Reply as usual; the
// outbox job (every 15 s, lease-claimed through package jobs) queues each
// public agent reply of the last week that is not yet queued, on a ticket
// that has mail in support_mail_inbound, addressed to the latest sender
// (support_mail_outbox). Sending takes a row with a conditional update
// (held 10 min, so two nodes or runs never send it at once), writes the
// reply's Message-ID onto the message before the SMTP exchange, and sends
// "Re: <subject> [#id-token]" with In-Reply-To the customer's latest mail
// and References the thread. A failure is recorded on the row (attempts,
// last_error, next try after 1, 2, 4 … 64 minutes); after 8 attempts, or a
// refused address, the row is failed and an internal note tells the
// agents. Deliveries shows the state per reply; Retry re-queues a failed
// one. A crash after sending and before recording re-sends with the same
// Message-ID, which mail clients show as one message.
//
// The reply's files go with it as base64 attachments, each checked again
// with support.CheckAttachment when the mail is composed (a file the desk
// would refuse now stays on the ticket and is left out, with a warning in
// the log); internal notes and their files are never mailed. The mail's
// size is that of the reply's files (at most 5 × 10 MiB by the desk's
// limits, less in practice by the web form's body limit): a receiving
// server with a lower cap refuses it, which is recorded like any refusal.
//
// Replies on tickets that did not come by mail (web, portal, phone) are not
// mailed by this package.
//
// # Authorization
//
// Deliver and SendPending act for the desk (tickets.write); the transports
// run them as a system principal. Deliveries needs tickets.read and Retry
// tickets.write.
package mailbox
