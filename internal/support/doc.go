// Package support is the support desk (カスタマーサポート): tickets from every
// channel tied to the customer's whole history, agent replies and internal
// notes, macros, categories, complaints (クレーム), problem and incident
// tickets, and SLA clocks on business hours and Japanese holidays (the pure
// clock is package sla; this package stores what it measures and records
// warnings and breaches).
//
// # Data model
//
// All times are BIGINT unix milliseconds; tables are prefixed support_
// (migrations 00010, both dialects).
//
//	support_categories    id, parent_id, slug (unique), name_ja, name_en,
//	                      position, archived. A two-level tree; the migration
//	                      seeds the purchase cycle: before purchase (product &
//	                      usage questions, price & warranty), at purchase
//	                      (ordering, payment, delivery, first use & setup,
//	                      defects & claims, exchanges), after purchase
//	                      (trouble, repair, renewal, additional orders),
//	                      opinions & requests. Managers add, rename, move and
//	                      archive categories; archived ones keep their tickets.
//	support_tickets       id, subject, customer_id (the profile the requester
//	                      resolved to; reads go through customers.merged_into
//	                      to the canonical customer), channel (email, web,
//	                      portal, phone, api), status, priority (low, normal,
//	                      high, urgent), category_id, complaint (0/1), kind
//	                      (ticket | problem), problem_id (an incident's
//	                      problem), merged_into (a merged duplicate's
//	                      survivor), assignee_id (users), team, tags (JSON
//	                      array, mirrored in support_ticket_tags for lookup),
//	                      created_at, updated_at, first_response_at,
//	                      solved_at, closed_at, sla_open (1 while the SLA job
//	                      may still record something for the ticket).
//	support_status_changes ticket_id, status, at, actor: every status the
//	                      ticket entered — the SLA clock's pauses come from
//	                      here.
//	support_messages      ticket_id, author_kind (customer | agent | system),
//	                      author_user_id, author_name, public (0 = internal
//	                      note), direction (in = from the customer, out),
//	                      body (plain text, escaped wherever it is shown),
//	                      email_message_id, in_reply_to, email_references
//	                      (RFC 5322 threading for the mail channel),
//	                      merged_from (the ticket a message was moved from).
//	support_attachments   message_id, ticket_id, filename, content_type,
//	                      size, sha256, data. Bytes are stored in the
//	                      database (BLOB / BYTEA): one backup holds the whole
//	                      desk and access goes through the same permission
//	                      checks as the ticket. The service caps each file at
//	                      MaxAttachmentSize (10 MiB) and five per message, and
//	                      accepts an allow-list of types (images, PDF, plain
//	                      text, CSV, Office documents, ZIP).
//	support_macros        name (unique), body with variables.
//	support_sla_policy    one row 'default': JSON sla.Policy (rules by
//	                      priority and category, warning, pause_on_hold) and
//	                      JSON calendar.Config. Absent: DefaultPolicy.
//	support_sla_events    ticket_id, metric, cycle, kind (warning | breach),
//	                      due_at, at (when it happened by the clock),
//	                      recorded_at; unique per (ticket, metric, cycle,
//	                      kind), so each is recorded exactly once.
//
// # Rules
//
// Statuses move new → open, pending, on-hold, solved; open, pending and
// on-hold move among themselves and to solved; solved reopens to open or
// is closed; closed is final (a merged duplicate is closed with a pointer
// to its survivor). An agent's reply opens a new ticket; a customer's
// message reopens a pending or solved one.
//
// A complaint gets priority high unless a priority is given, and is
// measured under the SLA category "complaint" — a complaint rule in the
// policy beats the ticket's own category (shorter targets). While a
// customer has an open complaint (not solved or closed), surveys to that
// customer pause: Service implements feedback.ComplaintChecker.
//
// A problem ticket gathers incidents (the same fault reported by many
// customers). SolveProblem writes one public reply to each open incident,
// rendered for that incident's customer, and solves them with the problem.
//
// Macros are canned replies with {{customer.name}}, {{customer.email}},
// {{customer.last_order}}, {{ticket.id}}, {{ticket.subject}} and
// {{agent.name}}. Rendering is one pass of plain-text substitution — no
// template engine runs on stored text, and a value containing "{{…}}" is
// copied, never expanded again.
//
// # Authorization
//
// Every method checks the caller's permission (auth.Require): tickets.read
// for staff reads, tickets.write to work tickets, tickets.assign, and
// macros.manage, categories.manage and sla.manage for managers. A customer
// principal (the portal, auth.Customer) holds tickets.own only, and the
// portal methods (MyTickets, MyTicket) take the customer id from the
// principal, never from input; they show public messages only.
package support
