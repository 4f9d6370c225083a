package support

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

var tokyo = func() *time.Location {
	l, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		panic(err)
	}
	return l
}()

// jst parses "2006-01-02 15:04" in Tokyo.
func jst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, tokyo)
	if err != nil {
		panic(err)
	}
	return t
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// env is one engine's desk with a user per role and a settable clock.
type env struct {
	t         *testing.T
	d         *db.DB
	clk       *clock
	svc       *Service
	customers *customer.Service
	sys       context.Context
	as        map[auth.Role]context.Context
	users     map[auth.Role]int64
}

// run runs f on every engine with a fresh store whose clock starts at
// Monday 2026-11-16 09:00 JST.
func run(t *testing.T, f func(t *testing.T, e *env)) {
	t.Helper()
	for _, eng := range dbtest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			clk := &clock{t: jst("2026-11-16 09:00")}
			d, err := db.Open(context.Background(), eng.DSN(t), db.Options{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			cs := customer.NewService(d)
			e := &env{t: t, d: d, clk: clk, svc: NewService(d, cs), customers: cs, sys: auth.System(context.Background(), "test"),
				as: map[auth.Role]context.Context{}, users: map[auth.Role]int64{}}
			accounts := auth.NewService(d, auth.Options{Hash: auth.TestHashParams})
			for _, r := range auth.Roles {
				u, err := accounts.CreateUser(e.sys, string(r)+"@example.com", string(r), "a long enough password", r)
				if err != nil {
					t.Fatal(err)
				}
				e.users[r] = u.ID
				e.as[r] = auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, ID: u.ID, Role: r, Label: u.Email})
			}
			f(t, e)
		})
	}
}

func (e *env) agent() context.Context { return e.as[auth.RoleAgent] }

// open creates a ticket from email sender with body "help".
func (e *env) open(email, subject string, mod ...func(*NewTicket)) *Ticket {
	e.t.Helper()
	nt := NewTicket{Subject: subject, Body: "help", Channel: "email", Requester: Requester{Email: email}}
	for _, m := range mod {
		m(&nt)
	}
	tk, err := e.svc.CreateTicket(e.agent(), nt)
	if err != nil {
		e.t.Fatalf("create %q: %v", subject, err)
	}
	return tk
}

func (e *env) status(id int64, s string) {
	e.t.Helper()
	if _, err := e.svc.UpdateTicket(e.agent(), id, Patch{Status: &s}); err != nil {
		e.t.Fatalf("ticket %d → %s: %v", id, s, err)
	}
}

func (e *env) reply(id int64, body string) {
	e.t.Helper()
	if _, err := e.svc.Reply(e.agent(), id, NewReply{Body: body}); err != nil {
		e.t.Fatalf("reply on %d: %v", id, err)
	}
}

func code(err error) string { return kizuna.ErrorCode(err) }
