// Package demo loads the support desk's demo: 64 tickets of a shop's
// inbound support in Japanese and English (delivery delays, 返品・交換,
// defects and complaints, payment, account and product questions) with
// their conversations and internal notes, spread over the last 30 days,
// worked by four agents in three teams; most are solved, and many of the
// solved ones carry a CSAT answer given through the survey engine.
//
// The conversations are scenarios/*.json (embedded), each used for two
// customers. Every write goes through the services, on a database handle
// whose clock the loader moves, so the report's times (first response,
// resolution, SLA) are the times the story tells.
package demo

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/internal/support"
)

//go:embed scenarios.json
var scenariosJSON []byte

// scenario is one conversation: each message is from the customer (c),
// an agent's public reply (a) or an internal note (n).
type scenario struct {
	Lang      string              `json:"lang"`
	Subject   string              `json:"subject"`
	Category  string              `json:"category"`
	Channel   string              `json:"channel"`
	Complaint bool                `json:"complaint"`
	Messages  []map[string]string `json:"messages"`
}

type agent struct {
	email, name, team, lang string
	id                      int64
	ctx                     context.Context
}

var (
	jaFamilies = []string{"佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山口", "松本", "井上", "木村", "林"}
	jaGivens   = []string{"花子", "太郎", "陽子", "健一", "美咲", "大輔", "恵", "翔太"}
	enFamilies = []string{"Smith", "Brown", "Garcia", "Miller", "Wilson", "Taylor", "Lee", "Clark"}
	enGivens   = []string{"John", "Mary", "Ana", "Tom", "Emma", "James", "Grace", "Ben"}
	// CSAT answers of the solved tickets in turn (mostly satisfied, as
	// real desks are), and their comments.
	scores     = []float64{5, 4, 5, 3, 5, 4, 2, 5, 4, 5, 1, 4, 5, 5, 3, 4}
	jaComments = map[float64]string{5: "迅速で丁寧な対応でした。", 4: "わかりやすい説明でした。", 3: "解決しましたが時間がかかりました。", 2: "何度も説明が必要でした。", 1: "対応に不満があります。"}
	enComments = map[float64]string{5: "Quick and friendly, thank you!", 4: "Clear answer.", 3: "Solved, but it took a while.", 2: "I had to explain twice.", 1: "Not happy with how this was handled."}
)

// Summary counts what Load created.
type Summary struct {
	Tickets, Solved, Rated int
}

// Load creates the demo desk on d, a handle whose clock is set by setNow
// (db.Options.Now reading what setNow stores), ending at now. It runs as
// the system principal; the agents' replies are written as the agents.
func Load(ctx context.Context, d *db.DB, setNow func(time.Time), now time.Time) (Summary, error) {
	var sum Summary
	var scs []scenario
	if err := json.Unmarshal(scenariosJSON, &scs); err != nil {
		return sum, fmt.Errorf("support demo: %w", err)
	}
	sys := auth.System(ctx, "demo")
	customers := customer.NewService(d)
	desk := support.NewService(d, customers)
	surveys := feedback.NewService(d, feedback.Options{Complaints: desk,
		OnComplete: []feedback.CompleteHook{results.OnComplete, desk.OnSurveyComplete}})
	csat := support.NewCSATSender(desk, surveys, support.CSATOptions{})
	accounts := auth.NewService(d, auth.Options{})

	start := now.AddDate(0, 0, -30)
	setNow(start)
	agents := []*agent{
		{email: "yamada@example.com", name: "山田 理恵", team: "東京チーム", lang: "ja"},
		{email: "suzuki@example.com", name: "鈴木 翔", team: "東京チーム", lang: "ja"},
		{email: "tanaka@example.com", name: "田中 誠", team: "大阪チーム", lang: "ja"},
		{email: "emily@example.com", name: "Emily Carter", team: "Global", lang: "en"},
	}
	for _, a := range agents {
		u, err := accounts.CreateUser(sys, a.email, a.name, randomPassword(), auth.RoleAgent)
		if err != nil {
			return sum, fmt.Errorf("support demo: agent %s: %w", a.email, err)
		}
		a.id = u.ID
		a.ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.PrincipalUser, ID: u.ID, Role: auth.RoleAgent, Label: a.name})
	}
	cats, err := desk.Categories(sys)
	if err != nil {
		return sum, err
	}
	catID := map[string]int64{}
	for _, c := range cats {
		catID[c.Slug] = c.ID
	}
	// The built-in CSAT survey, answered at once during the load: no quiet
	// hours or cooldown while loading, its own rules restored afterwards.
	surveyID, err := csat.Survey(sys)
	if err != nil {
		return sum, fmt.Errorf("support demo: csat survey: %w", err)
	}
	loadRules := support.CSATContactRules()
	loadRules.QuietStart, loadRules.QuietEnd, loadRules.NoCooldown, loadRules.MaxPerPeriod = "", "", true, 0
	if err := surveys.SetContactRules(sys, surveyID, loadRules); err != nil {
		return sum, err
	}

	total := 2 * len(scs)
	solvedRank := 0
	for i := range total {
		sc := scs[(i*7)%len(scs)] // interleave topics over time
		t := start.Add(time.Duration(i) * 29 * 24 * time.Hour / time.Duration(total)).Add(time.Duration(i%5) * 47 * time.Minute)
		var fam, given, email string
		var ag *agent
		if sc.Lang == "ja" {
			fam, given = jaFamilies[i%len(jaFamilies)], jaGivens[(i/3)%len(jaGivens)]
			email = fmt.Sprintf("demo.customer%02d@example.jp", i)
			ag = agents[i%3]
		} else {
			fam, given = enFamilies[i%len(enFamilies)], enGivens[(i/3)%len(enGivens)]
			email = fmt.Sprintf("demo.customer%02d@example.com", i)
			ag = agents[3]
			if i%4 == 0 {
				ag = agents[0] // a bilingual Tokyo agent helps out
			}
		}
		name := fam + " " + given
		if sc.Lang == "en" {
			name = given + " " + fam
		}
		// The newest tickets are still being worked.
		age := total - i
		stage := "solved"
		switch {
		case age <= 3:
			stage = "new"
		case age <= 7:
			stage = "open"
		case age <= 9:
			stage = "pending"
		case age == 10:
			stage = "on-hold"
		}
		setNow(t)
		tk, err := desk.CreateTicket(sys, support.NewTicket{Subject: sc.Subject, Body: sc.Messages[0]["c"], Channel: sc.Channel,
			Requester: support.Requester{Email: email, Name: name}, CategoryID: catID[sc.Category], Complaint: sc.Complaint,
			AssigneeID: ag.id, Team: ag.team})
		if err != nil {
			return sum, fmt.Errorf("support demo: ticket %q: %w", sc.Subject, err)
		}
		sum.Tickets++
		f, g := fam, given
		if _, err := customers.Update(sys, tk.CustomerID, customer.Patch{FamilyName: &f, GivenName: &g}); err != nil {
			return sum, err
		}
		if stage == "new" {
			continue
		}
		step := []time.Duration{35 * time.Minute, 2 * time.Hour, 4 * time.Hour, 50 * time.Minute, 6 * time.Hour}
		for k, m := range sc.Messages[1:] {
			t = t.Add(step[(i+k)%len(step)])
			setNow(t)
			var err error
			switch {
			case m["a"] != "":
				_, err = desk.Reply(ag.ctx, tk.ID, support.NewReply{Body: m["a"]})
			case m["n"] != "":
				_, err = desk.Reply(ag.ctx, tk.ID, support.NewReply{Body: m["n"], Internal: true})
			default:
				_, err = desk.AddCustomerMessage(sys, tk.ID, support.NewCustomerMessage{Body: m["c"], AuthorName: name})
			}
			if err != nil {
				return sum, fmt.Errorf("support demo: message on %q: %w", sc.Subject, err)
			}
			if stage != "solved" && k == 0 {
				break // open, pending and on-hold tickets stop after the first answer
			}
		}
		if stage == "open" {
			continue
		}
		t = t.Add(30 * time.Minute)
		setNow(t)
		st := stage
		if _, err := desk.UpdateTicket(ag.ctx, tk.ID, support.Patch{Status: &st}); err != nil {
			return sum, fmt.Errorf("support demo: %s %q: %w", stage, sc.Subject, err)
		}
		if stage != "solved" {
			continue
		}
		sum.Solved++
		solvedRank++
		if solvedRank%4 == 0 {
			continue // not every customer answers
		}
		t = t.Add(26 * time.Hour)
		if t.After(now) {
			continue
		}
		setNow(t)
		score := scores[solvedRank%len(scores)]
		if sc.Complaint && score > 3 {
			score -= 2
		}
		inv, err := csat.InviteTicket(sys, tk.ID, feedback.ChannelLink)
		if err != nil {
			return sum, fmt.Errorf("support demo: csat for %q: %w", sc.Subject, err)
		}
		if inv == nil || inv.Token == "" {
			continue
		}
		comment := jaComments[score]
		if sc.Lang == "en" {
			comment = enComments[score]
		}
		if err := answer(ctx, surveys, inv.Token, sc.Lang, score, comment, setNow, t); err != nil {
			return sum, fmt.Errorf("support demo: answer for %q: %w", sc.Subject, err)
		}
		sum.Rated++
	}
	setNow(now)
	if err := surveys.SetContactRules(sys, surveyID, support.CSATContactRules()); err != nil {
		return sum, err
	}
	return sum, nil
}

// answer completes the CSAT survey behind token as its customer would.
func answer(ctx context.Context, surveys *feedback.Service, token, lang string, score float64, comment string, setNow func(time.Time), t time.Time) error {
	rctx := auth.Respondent(ctx, "")
	sess, err := surveys.StartResponse(rctx, feedback.StartInput{Token: token, Locale: lang})
	if err != nil {
		return err
	}
	if _, err := surveys.SavePage(rctx, feedback.SaveInput{SurveyID: sess.SurveyID, ClientKey: sess.ClientKey, Page: "csat",
		Answers: []feedback.Answer{{Question: "csat", Num: &score}, {Question: "comment", Text: comment}}}); err != nil {
		return err
	}
	setNow(t.Add(90 * time.Second))
	_, err = surveys.Complete(rctx, feedback.CompleteInput{SurveyID: sess.SurveyID, ClientKey: sess.ClientKey})
	return err
}

// randomPassword is a demo agent's password: nobody signs in as them.
func randomPassword() string { return rand.Text() }
