package support

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Macro is a canned reply with variables (see MacroVariables).
type Macro struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MacroInput creates or edits a macro.
type MacroInput struct {
	Name string `json:"name"`
	Body string `json:"body"`
}

// MacroVariables are the variables a macro body may use.
var MacroVariables = []string{"customer.name", "customer.email", "customer.last_order", "ticket.id", "ticket.subject", "agent.name"}

var varRE = regexp.MustCompile(`\{\{\s*([A-Za-z_.]+)\s*\}\}`)

func (in *MacroInput) validate() error {
	in.Name = strings.TrimSpace(in.Name)
	if err := checkText("name", in.Name, 200, true); err != nil {
		return err
	}
	if err := checkText("body", in.Body, maxBody, true); err != nil {
		return err
	}
	for _, m := range varRE.FindAllStringSubmatch(in.Body, -1) {
		known := false
		for _, v := range MacroVariables {
			known = known || v == m[1]
		}
		if !known {
			return kizuna.FieldError("body", "unknown variable {{%s}} (known: %s)", m[1], strings.Join(MacroVariables, ", "))
		}
	}
	return nil
}

// Render replaces each {{variable}} in body with vars[variable] in one
// pass. Values are copied as they are: a value that itself contains
// "{{…}}" is not expanded again, and nothing in body or values is
// executed. The result is plain text, escaped wherever it is shown.
func Render(body string, vars map[string]string) string {
	return varRE.ReplaceAllStringFunc(body, func(m string) string {
		name := varRE.FindStringSubmatch(m)[1]
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

// Macros lists every macro by name. [tickets.read]
func (s *Service) Macros(ctx context.Context) ([]Macro, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, name, body, created_at, updated_at FROM support_macros ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("macros: %w", err)
	}
	defer rows.Close()
	out := []Macro{}
	for rows.Next() {
		var m Macro
		var c, u int64
		if err := rows.Scan(&m.ID, &m.Name, &m.Body, &c, &u); err != nil {
			return nil, err
		}
		m.CreatedAt, m.UpdatedAt = msTime(c), msTime(u)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Service) macro(ctx context.Context, id int64) (*Macro, error) {
	var m Macro
	var c, u int64
	err := s.db.Reader().QueryRowContext(ctx, `SELECT id, name, body, created_at, updated_at FROM support_macros WHERE id = $1`, id).
		Scan(&m.ID, &m.Name, &m.Body, &c, &u)
	if isNoRows(err) {
		return nil, notFound("macro", id)
	}
	if err != nil {
		return nil, fmt.Errorf("macro %d: %w", id, err)
	}
	m.CreatedAt, m.UpdatedAt = msTime(c), msTime(u)
	return &m, nil
}

// CreateMacro adds a macro. Errors: EINVALID (unknown variable named),
// ECONFLICT (name taken). [macros.manage]
func (s *Service) CreateMacro(ctx context.Context, in MacroInput) (*Macro, error) {
	return s.saveMacro(ctx, 0, in)
}

// UpdateMacro edits macro id. Errors: EINVALID, ENOTFOUND, ECONFLICT. [macros.manage]
func (s *Service) UpdateMacro(ctx context.Context, id int64, in MacroInput) (*Macro, error) {
	return s.saveMacro(ctx, id, in)
}

func (s *Service) saveMacro(ctx context.Context, id int64, in MacroInput) (*Macro, error) {
	if err := require(ctx, auth.PermMacrosManage); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		var err error
		if id == 0 {
			err = tx.QueryRowContext(ctx, `INSERT INTO support_macros (name, body, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id`,
				in.Name, in.Body, tx.NowMS()).Scan(&id)
		} else {
			res, e := tx.ExecContext(ctx, `UPDATE support_macros SET name = $1, body = $2, updated_at = $3 WHERE id = $4`,
				in.Name, in.Body, tx.NowMS(), id)
			if err = e; err == nil {
				if n, _ := res.RowsAffected(); n == 0 {
					return notFound("macro", id)
				}
			}
		}
		if db.IsUniqueViolation(err) {
			return &kizuna.Error{Code: kizuna.ECONFLICT, Field: "name", Message: fmt.Sprintf("a macro named %q exists", in.Name)}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.macro(ctx, id)
}

// DeleteMacro removes macro id. Errors: ENOTFOUND. [macros.manage]
func (s *Service) DeleteMacro(ctx context.Context, id int64) error {
	if err := require(ctx, auth.PermMacrosManage); err != nil {
		return err
	}
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM support_macros WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("macro", id)
		}
		return nil
	})
}

// RenderMacro renders macro id for ticket ticketID as the calling agent.
// Errors: ENOTFOUND (macro, ticket). [tickets.read]
func (s *Service) RenderMacro(ctx context.Context, id, ticketID int64) (string, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return "", err
	}
	m, err := s.macro(ctx, id)
	if err != nil {
		return "", err
	}
	t, err := s.ticket(ctx, s.db.Reader(), ticketID)
	if err != nil {
		return "", err
	}
	vars, err := s.variables(ctx, t)
	if err != nil {
		return "", err
	}
	return Render(m.Body, vars), nil
}

// variables are the macro values for ticket t, read as the caller (the
// customer service checks customers.read and orders.read).
func (s *Service) variables(ctx context.Context, t *Ticket) (map[string]string, error) {
	vars := map[string]string{"ticket.id": fmt.Sprint(t.ID), "ticket.subject": t.Subject, "customer.last_order": ""}
	if p, ok := auth.PrincipalFrom(ctx); ok {
		vars["agent.name"] = p.Label
	}
	c, err := s.customers.Get(ctx, t.CustomerID)
	if err != nil {
		return nil, err
	}
	vars["customer.name"], vars["customer.email"] = c.DisplayName(), c.Email
	orders, err := s.customers.Orders(ctx, t.CustomerID, 1, "")
	if err != nil && kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
		return nil, err
	}
	if err == nil && len(orders.Items) > 0 {
		o := orders.Items[0]
		vars["customer.last_order"] = o.Ref + " (" + o.PlacedAt.Format("2006-01-02") + ")"
	}
	return vars, nil
}
