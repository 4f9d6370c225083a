// Package auth holds users, sessions, API and write keys, the audit log and
// the authorization policy. Every service method of every capability calls
// Require with the permission it needs: authorization lives in the service
// layer, so no route — HTML, JSON or CLI — can reach data its caller may not
// see.
package auth

import (
	"context"

	"github.com/kizuna-oss/kizuna"
)

// Role is a user's (or API key's) role.
type Role string

const (
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleAgent   Role = "agent"
	RoleViewer  Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleManager, RoleAgent, RoleViewer}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", kizuna.FieldError("role", "unknown role %q (want admin, manager, agent or viewer)", s)
}

// Permission is one thing a principal may do.
type Permission string

const (
	PermDashboardRead  Permission = "dashboard.read"
	PermCustomersRead  Permission = "customers.read"
	PermCustomersWrite Permission = "customers.write"
	PermCustomersMerge Permission = "customers.merge"
	// Undoing a merge is an admin's decision: it splits a customer's history.
	PermCustomersUnmerge Permission = "customers.unmerge"
	PermEventsRead       Permission = "events.read"
	PermOrdersRead       Permission = "orders.read"
	PermDataExport       Permission = "data.export"
	PermDataImport       Permission = "data.import"
	PermAuditRead        Permission = "audit.read"
	PermUsersManage      Permission = "users.manage"
	PermKeysManage       Permission = "keys.manage"
	// PermIngest is what a write key grants: sending Segment-style events.
	PermIngest Permission = "ingest.write"
	// Surveys: everyone reads results; managers design and distribute.
	PermSurveysRead     Permission = "surveys.read"
	PermSurveysWrite    Permission = "surveys.write"
	PermResponsesExport Permission = "responses.export"
	// PermSurveysRespond is what a survey respondent (the public form, a
	// personal link) may do: answer, and unsubscribe through its link.
	PermSurveysRespond Permission = "surveys.respond"
	// Support desk: everyone reads tickets; agents work and assign them;
	// managers run the desk (macros, categories, SLA policy).
	PermTicketsRead      Permission = "tickets.read"
	PermTicketsWrite     Permission = "tickets.write"
	PermTicketsAssign    Permission = "tickets.assign"
	PermMacrosManage     Permission = "macros.manage"
	PermCategoriesManage Permission = "categories.manage"
	PermSLAManage        Permission = "sla.manage"
	// PermTicketsOwn is what a customer principal (the portal) holds: its
	// own tickets, selected by the principal's customer id, never by input.
	PermTicketsOwn Permission = "tickets.own"
	// Knowledge base: every staff member reads drafts and history; agents
	// write drafts; managers publish (and arrange categories). The public
	// help center needs none of these: it only ever sees published content.
	PermKBRead    Permission = "kb.read"
	PermKBWrite   Permission = "kb.write"
	PermKBPublish Permission = "kb.publish"
)

// policy maps each role to what it may do. Write keys hold PermIngest only.
var policy = map[Role][]Permission{
	RoleViewer: {PermDashboardRead, PermCustomersRead, PermEventsRead, PermOrdersRead, PermSurveysRead,
		PermTicketsRead, PermKBRead},
	RoleAgent: {PermDashboardRead, PermCustomersRead, PermCustomersWrite, PermEventsRead, PermOrdersRead,
		PermSurveysRead,
		PermTicketsRead, PermTicketsWrite, PermTicketsAssign,
		PermKBRead, PermKBWrite},
	RoleManager: {PermDashboardRead, PermCustomersRead, PermCustomersWrite, PermCustomersMerge,
		PermEventsRead, PermOrdersRead, PermDataExport, PermDataImport, PermAuditRead,
		PermSurveysRead, PermSurveysWrite, PermResponsesExport,
		PermTicketsRead, PermTicketsWrite, PermTicketsAssign, PermMacrosManage, PermCategoriesManage, PermSLAManage,
		PermKBRead, PermKBWrite, PermKBPublish},
	RoleAdmin: {PermDashboardRead, PermCustomersRead, PermCustomersWrite, PermCustomersMerge,
		PermCustomersUnmerge, PermEventsRead, PermOrdersRead, PermDataExport, PermDataImport,
		PermAuditRead, PermUsersManage, PermKeysManage,
		PermSurveysRead, PermSurveysWrite, PermResponsesExport,
		PermTicketsRead, PermTicketsWrite, PermTicketsAssign, PermMacrosManage, PermCategoriesManage, PermSLAManage,
		PermKBRead, PermKBWrite, PermKBPublish},
}

// RoleCan reports whether role r holds permission p.
func RoleCan(r Role, p Permission) bool {
	for _, q := range policy[r] {
		if q == p {
			return true
		}
	}
	return false
}

// PrincipalKind says who is acting.
type PrincipalKind string

const (
	PrincipalUser     PrincipalKind = "user"
	PrincipalAPIKey   PrincipalKind = "api_key"
	PrincipalWriteKey PrincipalKind = "write_key"
	// PrincipalRespondent is an unauthenticated survey respondent; its
	// capability is the survey link (client key or personal token) itself.
	PrincipalRespondent PrincipalKind = "respondent"
	// PrincipalCustomer is a customer signed in to the support portal; ID
	// is the customer id. It holds PermTicketsOwn only.
	PrincipalCustomer PrincipalKind = "customer"
	// PrincipalSystem is the process itself (CLI commands run by the
	// operator, background jobs, the ingestion writer). It may do anything.
	PrincipalSystem PrincipalKind = "system"
)

// Principal is the authenticated actor of a request.
type Principal struct {
	Kind   PrincipalKind
	ID     int64 // user id or key id
	Role   Role
	Label  string // email or key name, for the audit log
	Locale string
	IP     string
}

// Can reports whether the principal holds permission p.
func (p Principal) Can(perm Permission) bool {
	switch p.Kind {
	case PrincipalSystem:
		return true
	case PrincipalWriteKey:
		return perm == PermIngest
	case PrincipalRespondent:
		return perm == PermSurveysRespond
	case PrincipalCustomer:
		return perm == PermTicketsOwn
	case PrincipalUser, PrincipalAPIKey:
		return RoleCan(p.Role, perm)
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// System returns ctx acting as the process itself, labelled for the audit
// log (e.g. "cli", "import", "ingest").
func System(ctx context.Context, label string) context.Context {
	return WithPrincipal(ctx, Principal{Kind: PrincipalSystem, Label: label})
}

// Respondent returns ctx acting as an anonymous survey respondent from ip
// (the public form and personal links).
func Respondent(ctx context.Context, ip string) context.Context {
	return WithPrincipal(ctx, Principal{Kind: PrincipalRespondent, Label: "respondent", IP: ip})
}

// Customer returns ctx acting as customer customerID in the support portal
// (after its own sign-in, which the portal does).
func Customer(ctx context.Context, customerID int64, ip string) context.Context {
	return WithPrincipal(ctx, Principal{Kind: PrincipalCustomer, ID: customerID, Label: "customer", IP: ip})
}

// PrincipalFrom returns the principal in ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Require returns nil if ctx's principal holds perm, EUNAUTHORIZED if there
// is no principal and EFORBIDDEN otherwise. Every service method calls it
// first.
func Require(ctx context.Context, perm Permission) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return &kizuna.Error{Code: kizuna.EUNAUTHORIZED, Message: "authentication required"}
	}
	if !p.Can(perm) {
		return &kizuna.Error{Code: kizuna.EFORBIDDEN, Message: "your role may not do this (" + string(perm) + ")"}
	}
	return nil
}
