package auth

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// User is a person who logs in to the web UI. The password hash never
// leaves this package.
type User struct {
	ID                int64      `json:"id"`
	Email             string     `json:"email"`
	Name              string     `json:"name"`
	Role              Role       `json:"role"`
	Locale            string     `json:"locale,omitempty"`
	DisabledAt        *time.Time `json:"disabled_at,omitempty"`
	PasswordChangedAt time.Time  `json:"password_changed_at"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// Disabled reports whether the user may not log in.
func (u *User) Disabled() bool { return u.DisabledAt != nil }

// Principal is the principal of a request made by u.
func (u *User) Principal() Principal {
	return Principal{Kind: PrincipalUser, ID: u.ID, Role: u.Role, Label: u.Email, Locale: u.Locale}
}

const maxNameRunes = 200

// NormalizeEmail returns email trimmed and lower-cased, the form in which
// it is stored and looked up.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ValidateEmail normalises email and checks it is one plain address
// (no display name, a dotted domain, at most 254 bytes).
func ValidateEmail(email string) (string, error) {
	e := NormalizeEmail(email)
	if e == "" {
		return "", kizuna.FieldError("email", "an email address is required")
	}
	if len(e) > 254 {
		return "", kizuna.FieldError("email", "the email address is longer than 254 characters")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", kizuna.FieldError("email", "%q is not a valid email address", email)
	}
	_, domain, _ := strings.Cut(e, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", kizuna.FieldError("email", "%q is not a valid email address", email)
	}
	return e, nil
}

func cleanName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if utf8.RuneCountInString(n) > maxNameRunes {
		return "", kizuna.FieldError("name", "the name must be at most %d characters", maxNameRunes)
	}
	if !utf8.ValidString(n) {
		return "", kizuna.FieldError("name", "the name is not valid UTF-8 text")
	}
	return n, nil
}

const userColumns = `id, email, name, role, locale, disabled_at, password_changed_at, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanUser(r scanner, extra ...any) (*User, error) {
	var u User
	var disabled sql.NullInt64
	var pwAt, created, updated int64
	dest := append([]any{&u.ID, &u.Email, &u.Name, &u.Role, &u.Locale, &disabled, &pwAt, &created, &updated}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	if disabled.Valid {
		t := fromMS(disabled.Int64)
		u.DisabledAt = &t
	}
	u.PasswordChangedAt, u.CreatedAt, u.UpdatedAt = fromMS(pwAt), fromMS(created), fromMS(updated)
	return &u, nil
}

func userNotFound(id int64) error {
	return kizuna.Errorf(kizuna.ENOTFOUND, "user %d does not exist", id)
}

// CreateUser adds a user. email is normalised to lower case; the password
// must pass CheckPassword. Errors: EINVALID (field email, name, password or
// role), ECONFLICT if the email is taken. [users.manage]
func (s *Service) CreateUser(ctx context.Context, email, name, password string, role Role) (*User, error) {
	if err := Require(ctx, PermUsersManage); err != nil {
		return nil, err
	}
	email, err := ValidateEmail(email)
	if err != nil {
		return nil, err
	}
	if name, err = cleanName(name); err != nil {
		return nil, err
	}
	if role, err = ParseRole(string(role)); err != nil {
		return nil, err
	}
	if err := CheckPassword("password", password, email); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, internalError("auth.CreateUser", err)
	}
	var u *User
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		now := ms(s.now())
		row := tx.QueryRowContext(ctx, `INSERT INTO users
			(email, name, password_hash, role, password_changed_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5, $5) RETURNING `+userColumns,
			email, name, hash, string(role), now)
		var err error
		if u, err = scanUser(row); err != nil {
			if db.IsUniqueViolation(err) {
				return &kizuna.Error{Code: kizuna.ECONFLICT, Field: "email",
					Message: "a user with the email " + email + " already exists"}
			}
			return internalError("auth.CreateUser", err)
		}
		return s.AuditTx(ctx, tx, ActionUserCreated, TargetUser, strconv.FormatInt(u.ID, 10),
			map[string]any{"email": email, "role": string(role)})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// GetUser returns a user. Users may read themselves; anyone else needs
// [users.manage]. ENOTFOUND if there is no such user.
func (s *Service) GetUser(ctx context.Context, id int64) (*User, error) {
	if p, ok := PrincipalFrom(ctx); !ok || p.Kind != PrincipalUser || p.ID != id {
		if err := Require(ctx, PermUsersManage); err != nil {
			return nil, err
		}
	}
	u, err := scanUser(s.db.Reader().QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userNotFound(id)
	}
	if err != nil {
		return nil, internalError("auth.GetUser", err)
	}
	return u, nil
}

// UserByEmail returns the user with that email (in any case).
// ENOTFOUND if there is none. [users.manage]
func (s *Service) UserByEmail(ctx context.Context, email string) (*User, error) {
	if err := Require(ctx, PermUsersManage); err != nil {
		return nil, err
	}
	email = NormalizeEmail(email)
	u, err := scanUser(s.db.Reader().QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "email", Message: "no user has the email " + email}
	}
	if err != nil {
		return nil, internalError("auth.UserByEmail", err)
	}
	return u, nil
}

// ListUsers returns every user, ordered by email. Installations have tens
// of users, not thousands, so there is no paging. [users.manage]
func (s *Service) ListUsers(ctx context.Context) ([]User, error) {
	if err := Require(ctx, PermUsersManage); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
	if err != nil {
		return nil, internalError("auth.ListUsers", err)
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, internalError("auth.ListUsers", err)
		}
		users = append(users, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, internalError("auth.ListUsers", err)
	}
	return users, nil
}

// lockUser reads a user inside tx. On Postgres FOR UPDATE would be the
// idiom, but SQLite has no row locks (its write transactions are already
// exclusive), so the portable form is a no-op UPDATE that takes the row
// lock on Postgres and returns the row on both engines.
func lockUser(ctx context.Context, tx *db.Tx, id int64) (*User, string, error) {
	var hash string
	u, err := scanUser(tx.QueryRowContext(ctx,
		`UPDATE users SET id = id WHERE id = $1 RETURNING `+userColumns+`, password_hash`, id), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", userNotFound(id)
	}
	if err != nil {
		return nil, "", internalError("auth.lockUser", err)
	}
	return u, hash, nil
}

// checkNotLastAdmin refuses to take away the last enabled admin: without
// one nobody could manage users from the web UI. It first locks every
// enabled admin row (the same portable no-op UPDATE as lockUser), so that
// on Postgres two transactions demoting two different admins at once take
// turns and the second sees the first's change, instead of each counting
// the other as the remaining admin.
func checkNotLastAdmin(ctx context.Context, tx *db.Tx, u *User) error {
	if u.Role != RoleAdmin || u.Disabled() {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `UPDATE users SET id = id
		WHERE role = $1 AND disabled_at IS NULL RETURNING id`, string(RoleAdmin))
	if err != nil {
		return internalError("auth.checkNotLastAdmin", err)
	}
	defer rows.Close()
	others := 0
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return internalError("auth.checkNotLastAdmin", err)
		}
		if id != u.ID {
			others++
		}
	}
	if err := rows.Err(); err != nil {
		return internalError("auth.checkNotLastAdmin", err)
	}
	if others == 0 {
		return kizuna.Errorf(kizuna.ECONFLICT, "%s is the last enabled admin; make another user admin first", u.Email)
	}
	return nil
}

// killSessions ends every session of a user.
func killSessions(ctx context.Context, tx *db.Tx, userID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, internalError("auth.killSessions", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// SetRole changes a user's role and ends their sessions. ECONFLICT when it
// would leave no enabled admin. [users.manage]
func (s *Service) SetRole(ctx context.Context, userID int64, role Role) (*User, error) {
	if err := Require(ctx, PermUsersManage); err != nil {
		return nil, err
	}
	role, err := ParseRole(string(role))
	if err != nil {
		return nil, err
	}
	var out *User
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		u, _, err := lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if u.Role == role {
			out = u
			return nil
		}
		if role != RoleAdmin {
			if err := checkNotLastAdmin(ctx, tx, u); err != nil {
				return err
			}
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = $1, updated_at = $2 WHERE id = $3`,
			string(role), ms(now), userID); err != nil {
			return internalError("auth.SetRole", err)
		}
		killed, err := killSessions(ctx, tx, userID)
		if err != nil {
			return err
		}
		from := u.Role
		u.Role, u.UpdatedAt = role, fromMS(ms(now))
		out = u
		return s.AuditTx(ctx, tx, ActionUserRoleChanged, TargetUser, strconv.FormatInt(userID, 10),
			map[string]any{"email": u.Email, "from": string(from), "to": string(role), "sessions_ended": killed})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DisableUser stops a user from logging in and ends their sessions.
// ECONFLICT for the last enabled admin. Disabling a disabled user is a
// no-op. [users.manage]
func (s *Service) DisableUser(ctx context.Context, userID int64) error {
	return s.setDisabled(ctx, userID, true)
}

// EnableUser lets a disabled user log in again. [users.manage]
func (s *Service) EnableUser(ctx context.Context, userID int64) error {
	return s.setDisabled(ctx, userID, false)
}

func (s *Service) setDisabled(ctx context.Context, userID int64, disable bool) error {
	if err := Require(ctx, PermUsersManage); err != nil {
		return err
	}
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		u, _, err := lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if u.Disabled() == disable {
			return nil
		}
		now := ms(s.now())
		action := ActionUserEnabled
		detail := map[string]any{"email": u.Email}
		if disable {
			if err := checkNotLastAdmin(ctx, tx, u); err != nil {
				return err
			}
			action = ActionUserDisabled
			if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = $1, updated_at = $1 WHERE id = $2`,
				now, userID); err != nil {
				return internalError("auth.DisableUser", err)
			}
			killed, err := killSessions(ctx, tx, userID)
			if err != nil {
				return err
			}
			detail["sessions_ended"] = killed
		} else if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = NULL, updated_at = $1 WHERE id = $2`,
			now, userID); err != nil {
			return internalError("auth.EnableUser", err)
		}
		return s.AuditTx(ctx, tx, action, TargetUser, strconv.FormatInt(userID, 10), detail)
	})
}

// ChangePassword lets a user change their own password, proving it with
// the current one. It ends all the user's sessions (including the current
// one: the web layer sends them to log in again). Errors: EFORBIDDEN unless
// ctx's principal is that user (admins use SetPassword); EINVALID with field
// current_password if it is wrong, or new_password if the policy rejects it;
// ETOOMANY after too many wrong current passwords (they count as failed
// logins, so a stolen session cannot be used to guess the password).
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next string) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return &kizuna.Error{Code: kizuna.EUNAUTHORIZED, Message: "authentication required"}
	}
	if p.Kind != PrincipalUser || p.ID != userID {
		return &kizuna.Error{Code: kizuna.EFORBIDDEN, Message: "you can only change your own password"}
	}
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if err := CheckPassword("new_password", next, u.Email); err != nil {
		return err
	}
	if string(normalizePassword(current)) == string(normalizePassword(next)) {
		return kizuna.FieldError("new_password", "the new password must differ from the current one")
	}
	now := s.now()
	keys := throttleKeys(u.Email, p.IP)
	att, retryAt, err := s.recordAttempt(ctx, now, keys)
	if err != nil {
		return err
	}
	target := strconv.FormatInt(userID, 10)
	if !retryAt.IsZero() {
		if err := s.Audit(ctx, ActionLoginThrottled, TargetUser, target,
			map[string]any{"email": u.Email, "during": "password_change"}); err != nil {
			return err
		}
		return throttled(now, retryAt)
	}
	var hash string
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&hash); err != nil {
		return internalError("auth.ChangePassword", err)
	}
	match, err := s.verifyPassword(ctx, current, hash)
	if err != nil {
		return internalError("auth.ChangePassword", err)
	}
	if !match {
		if err := s.Audit(ctx, ActionLoginFailed, TargetUser, target,
			map[string]any{"email": u.Email, "reason": "wrong_current_password"}); err != nil {
			return err
		}
		return kizuna.FieldError("current_password", "the current password is wrong")
	}
	newHash, err := s.hashPassword(ctx, next)
	if err != nil {
		return internalError("auth.ChangePassword", err)
	}
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		if err := att.forget(ctx, tx, u.Email); err != nil {
			return err
		}
		return s.storePassword(ctx, tx, u, newHash, "self")
	})
}

// SetPassword sets another user's password (an admin resetting it) and
// ends that user's sessions. EINVALID (field password) if the policy
// rejects it. [users.manage]
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	if err := Require(ctx, PermUsersManage); err != nil {
		return err
	}
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if err := CheckPassword("password", password, u.Email); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return internalError("auth.SetPassword", err)
	}
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		return s.storePassword(ctx, tx, u, hash, "admin")
	})
}

func (s *Service) storePassword(ctx context.Context, tx *db.Tx, u *User, hash, by string) error {
	now := ms(s.now())
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2
		WHERE id = $3`, hash, now, u.ID)
	if err != nil {
		return internalError("auth.storePassword", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return userNotFound(u.ID)
	}
	killed, err := killSessions(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	return s.AuditTx(ctx, tx, ActionPasswordChanged, TargetUser, strconv.FormatInt(u.ID, 10),
		map[string]any{"email": u.Email, "by": by, "sessions_ended": killed})
}

// SetLocale sets the language a user sees the UI in: a BCP 47 tag such as
// "ja" or "en", stored in canonical form, or "" to follow the browser's
// Accept-Language. Users may set their own; anyone else's needs
// [users.manage]. EINVALID (field locale) for a malformed tag, ENOTFOUND
// for an unknown user. LookupSession then gives the locale in
// Principal.Locale.
func (s *Service) SetLocale(ctx context.Context, userID int64, locale string) error {
	if p, ok := PrincipalFrom(ctx); !ok || p.Kind != PrincipalUser || p.ID != userID {
		if err := Require(ctx, PermUsersManage); err != nil {
			return err
		}
	}
	locale = strings.TrimSpace(locale)
	if locale != "" {
		tag, err := language.Parse(locale)
		if err != nil || len(locale) > 35 {
			return kizuna.FieldError("locale", "%q is not a language tag (e.g. ja, en)", locale)
		}
		locale = tag.String()
	}
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET locale = $1, updated_at = $2 WHERE id = $3`,
			locale, ms(s.now()), userID)
		if err != nil {
			return internalError("auth.SetLocale", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return userNotFound(userID)
		}
		return nil
	})
}
