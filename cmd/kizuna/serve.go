package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/internal/ingest"
	"github.com/kizuna-oss/kizuna/internal/jobs"
	"github.com/kizuna-oss/kizuna/internal/kb"
	"github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/support"
	"github.com/kizuna-oss/kizuna/internal/support/mailbox"
	"github.com/kizuna-oss/kizuna/internal/web"
)

// shutdownGrace bounds how long a stopping server waits for in-flight
// requests (and the ingestion they wait on) before it closes them.
const shutdownGrace = 30 * time.Second

// serveOptions are the knobs of a running server shared by serve and demo.
type serveOptions struct {
	logLevel   string
	logFormat  string
	timeZone   string
	trustProxy bool
	baseURL    string
	smtp       mail.Config
	// The support desk's mail channel.
	smtpListen     string
	supportAddress string
	imap           mailbox.IMAPConfig
	csatDelay      time.Duration
}

// addServeFlags defines the flags serve and demo share; the options hold
// their values once the flag set is parsed.
func addServeFlags(fs *flag.FlagSet) *serveOptions {
	o := &serveOptions{}
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.timeZone, "timezone", "", "IANA time zone the UI shows dates in (default: the system's)")
	fs.BoolVar(&o.trustProxy, "trust-proxy", false, "take the client IP from X-Forwarded-For (only behind a reverse proxy)")
	fs.StringVar(&o.baseURL, "base-url", "", "public URL of this installation, for links in mail (default: the listen address)")
	fs.StringVar(&o.smtp.Host, "smtp-host", "", "SMTP server for survey invitations and replies (none: mail stays queued)")
	fs.IntVar(&o.smtp.Port, "smtp-port", 587, "SMTP port")
	fs.StringVar(&o.smtp.Username, "smtp-username", "", "SMTP user name")
	fs.StringVar(&o.smtp.Password, "smtp-password", "", "SMTP password (prefer KIZUNA_SMTP_PASSWORD)")
	fs.StringVar(&o.smtp.From, "smtp-from", "", `sender address, e.g. "Kizuna <cx@example.com>"`)
	fs.StringVar(&o.smtp.StartTLS, "smtp-starttls", "mandatory", "STARTTLS: mandatory, opportunistic or none")
	fs.StringVar(&o.smtpListen, "smtp-listen", "", "receive support mail over SMTP on this address, e.g. 127.0.0.1:2525")
	fs.StringVar(&o.supportAddress, "support-address", "", "support address(es), comma-separated: mail to them becomes tickets")
	fs.StringVar(&o.imap.URL, "imap-url", "", "poll this mailbox for support mail: imaps://host:993 (or imap:// with STARTTLS)")
	fs.StringVar(&o.imap.Username, "imap-username", "", "IMAP user name")
	fs.StringVar(&o.imap.Password, "imap-password", "", "IMAP password (prefer KIZUNA_IMAP_PASSWORD)")
	fs.StringVar(&o.imap.Mailbox, "imap-mailbox", "INBOX", "IMAP mailbox to poll")
	fs.DurationVar(&o.csatDelay, "csat-delay", 24*time.Hour, "time after a ticket is solved before its CSAT survey is sent")
	return o
}

// mailer returns the SMTP sender the options describe, or nil when no
// SMTP host is set.
func (o *serveOptions) mailer() (*mail.Sender, error) {
	if o.smtp.Host == "" {
		return nil, nil
	}
	cfg := o.smtp
	switch strings.ToLower(cfg.StartTLS) {
	case "mandatory", "":
		cfg.StartTLS = mail.TLSMandatory
	case "opportunistic":
		cfg.StartTLS = mail.TLSOpportunistic
	case "none":
		cfg.StartTLS = mail.TLSNone
	default:
		return nil, usageError{fmt.Sprintf("--smtp-starttls %q: want mandatory, opportunistic or none", cfg.StartTLS)}
	}
	s, err := mail.NewSender(cfg)
	if err != nil {
		return nil, usageError{fmt.Sprintf("SMTP settings: %v", err)}
	}
	return s, nil
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := e.flags("serve")
	dsn := fs.String("db", defaultDB, "SQLite file or postgres:// URL")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (host:port)")
	unsafeFast := fs.Bool("unsafe-fast", false, "SQLite synchronous=NORMAL: faster commits that survive a crash of the process but not a power loss")
	opts := addServeFlags(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(e.stderr, opts.logLevel, opts.logFormat)
	if err != nil {
		return err
	}
	d, err := openDB(ctx, *dsn, db.Options{UnsafeFast: *unsafeFast})
	if err != nil {
		return err
	}
	defer d.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return serve(ctx, e, d, ln, log, opts)
}

// newLogger returns the process logger: text for people, JSON for log
// collectors.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", level)}
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, usageError{fmt.Sprintf("--log-format %q: want text or json", format)}
}

// serve runs the whole product on ln until ctx ends, then shuts down
// gracefully: the listener closes, in-flight requests (ingestion included,
// which answers only after its commit) finish, the ingestion writer drains,
// and only then does the caller close the database.
func serve(ctx context.Context, e *env, d *db.DB, ln net.Listener, log *slog.Logger, opts *serveOptions) error {
	loc := time.Local
	if opts.timeZone != "" {
		var err error
		if loc, err = time.LoadLocation(opts.timeZone); err != nil {
			return usageError{fmt.Sprintf("--timezone %q: %v", opts.timeZone, err)}
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	url := "http://" + displayAddr(ln.Addr())
	baseURL := strings.TrimRight(opts.baseURL, "/")
	if baseURL == "" {
		baseURL = url
	}
	sender, err := opts.mailer()
	if err != nil {
		return err
	}
	var mailer feedback.InvitationMailer
	if sender != nil {
		mailer = sender
	} else {
		log.Warn("no --smtp-host: survey invitations by email stay queued until one is set")
	}

	accounts := auth.NewService(d, auth.Options{Logger: log})
	customers := customer.NewService(d)
	metrics := ingest.NewMetrics(reg)
	writer := ingest.NewWriter(d, customers, ingest.WriterConfig{Metrics: metrics, Logger: log})
	defer writer.Close()
	desk := support.NewService(d, customers)
	portalOpts := support.PortalOptions{BaseURL: baseURL, Logger: log}
	if sender != nil {
		portalOpts.Mailer = sender
	}
	portal := support.NewPortal(desk, portalOpts)
	defer portal.Wait() // sign-in and confirmation mails under way
	surveys := feedback.NewService(d, feedback.Options{
		// CSAT answers are tied to their ticket, agent and team.
		OnComplete: []feedback.CompleteHook{results.OnComplete, desk.OnSurveyComplete},
		Complaints: desk, // no survey while a complaint (クレーム) is open
		Mailer:     mailer,
		BaseURL:    baseURL,
		Log:        log,
	})
	surveyResults := results.New(d)

	// Background work, each run claimed by one node through job_leases.
	runner := jobs.NewRunner(d, log)
	runner.Start(ctx, jobs.Job{Name: "auth.prune", Every: 10 * time.Minute, Run: accounts.Prune})
	// Committed events reach the survey triggers through a durable feed
	// (a mark in the database), not an in-process hook a crash could lose.
	runner.Start(ctx, append(surveys.Jobs(), surveys.FeedJob())...)
	runner.Start(ctx, desk.Jobs()...)
	// Customer attributes newly listed as a survey's breakdown attributes
	// get their existing responses counted into the rollups.
	runner.Start(ctx, surveyResults.Jobs()...)
	runner.Start(ctx, portal.Jobs()...)
	runner.Start(ctx, support.NewCSATSender(desk, surveys, support.CSATOptions{Delay: opts.csatDelay, Log: log}).Job())
	defer runner.Stop()
	mb, smtpDone, err := startSupportMail(ctx, d, desk, sender, runner, log, opts)
	if err != nil {
		return err
	}

	srv := web.New(web.Config{
		Customers:  customers,
		Accounts:   accounts,
		Surveys:    surveys,
		Results:    surveyResults,
		Support:    desk,
		Portal:     portal,
		Mailbox:    mb,
		KB:         kb.NewService(d),
		BaseURL:    baseURL,
		DB:         d,
		Ingest:     ingest.NewHandler(accounts, writer, metrics, log),
		Registry:   reg,
		Logger:     log,
		Location:   loc,
		TrustProxy: opts.trustProxy,
	})
	hs := srv.HTTPServer(ln.Addr().String())
	hs.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(e.stdout, "Kizuna is running at %s\n", url)
	log.Info("serving", "url", url, "db", string(d.Dialect))

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Error("graceful shutdown incomplete", "err", err)
		_ = hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if smtpDone != nil {
		<-smtpDone // the receiver answers what it is storing, then stops
	}
	writer.Close()
	log.Info("stopped")
	return nil
}

// startSupportMail starts the desk's mail channel the options ask for: the
// SMTP receiver (its returned channel closes once it has stopped with
// ctx), IMAP polling, and the outbox that sends agents' replies. The
// mailbox is nil when no support address is set.
func startSupportMail(ctx context.Context, d *db.DB, desk *support.Service, sender *mail.Sender, runner *jobs.Runner,
	log *slog.Logger, opts *serveOptions) (*mailbox.Mailbox, <-chan struct{}, error) {
	if opts.supportAddress == "" {
		if opts.smtpListen != "" || opts.imap.URL != "" {
			return nil, nil, usageError{"--smtp-listen and --imap-url need --support-address"}
		}
		return nil, nil, nil
	}
	var addrs []string
	for _, a := range strings.Split(opts.supportAddress, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	mb, err := mailbox.New(d, desk, mailbox.Config{Addresses: addrs, Sender: sender, Log: log})
	if err != nil {
		return nil, nil, usageError{fmt.Sprintf("--support-address: %v", err)}
	}
	if sender != nil {
		runner.Start(ctx, mb.OutboxJob())
	} else {
		log.Warn("no --smtp-host: agents' replies to mail tickets stay queued until one is set")
	}
	if opts.imap.URL != "" {
		job, err := mb.IMAPJob(opts.imap)
		if err != nil {
			return nil, nil, usageError{fmt.Sprintf("IMAP settings: %v", err)}
		}
		runner.Start(ctx, job)
		log.Info("polling IMAP for support mail", "mailbox", opts.imap.Mailbox)
	}
	if opts.smtpListen == "" {
		return mb, nil, nil
	}
	ln, err := net.Listen("tcp", opts.smtpListen)
	if err != nil {
		return nil, nil, fmt.Errorf("--smtp-listen: %w", err)
	}
	domain := addrs[0][strings.LastIndexByte(addrs[0], '@')+1:]
	domain = strings.TrimRight(domain, ">")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mb.ServeSMTP(ctx, ln, domain); err != nil {
			log.Error("SMTP receiver stopped", "err", err)
		}
	}()
	log.Info("receiving support mail over SMTP", "addr", ln.Addr().String(), "for", strings.Join(addrs, ", "))
	return mb, done, nil
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
