// Package web is Kizuna's HTTP surface: the server-rendered UI in Japanese
// and English, the JSON API under /api/v1 with its OpenAPI document, health
// and metrics endpoints, and the mount point of the Segment-compatible
// ingestion API. routes.go lists every route with the permission it needs;
// the services enforce those permissions, handlers only translate between
// HTTP and service calls.
package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/internal/kb"
	"github.com/kizuna-oss/kizuna/internal/support"
	"github.com/kizuna-oss/kizuna/internal/support/mailbox"
)

// Config is everything the server needs; cmd/kizuna wires it.
type Config struct {
	Customers Customers
	Accounts  Accounts
	// Surveys and Results are the voice-of-the-customer capability
	// (internal/feedback, internal/feedback/results); nil leaves their
	// routes out. Both check the caller's permission in every method.
	Surveys *feedback.Service
	Results *results.Service
	// Support is the support desk (internal/support); nil leaves its
	// routes out. It checks the caller's permission in every method.
	Support *support.Service
	// Portal is the desk's customer side (sign-in links, portal sessions,
	// the contact form); nil, or a nil Support, leaves the portal and
	// contact routes out.
	Portal *support.Portal
	// KB is the knowledge base and help center (internal/kb); nil leaves
	// its routes out.
	KB *kb.Service
	// Mailbox is the desk's mail channel (internal/support/mailbox): the
	// ticket page shows each reply's mail delivery from it. Nil when no
	// support address is configured.
	Mailbox *mailbox.Mailbox
	// BaseURL is the installation's public URL (links in mail, the widget
	// snippet), e.g. "https://cx.example.com".
	BaseURL string
	// DB is checked by /readyz (reachable and fully migrated). Nil makes
	// /readyz report only that the process serves.
	DB *db.DB
	// Ingest, when set, is mounted at /v1/ (the Segment tracking API).
	Ingest http.Handler
	// Registry collects Prometheus metrics served at /metrics; nil creates
	// one (with Go and process collectors). Other packages (ingestion)
	// register their collectors on Server.Registry.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Location is the time zone dates are shown in; nil means UTC.
	Location *time.Location
	// TrustProxy takes the client IP from X-Forwarded-For (behind a
	// reverse proxy). Off by default: the header is trivially forged.
	TrustProxy bool
	// Now replaces the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Server is the HTTP handler for the whole product.
type Server struct {
	cfg       Config
	log       *slog.Logger
	mux       *http.ServeMux
	pages     map[string]*template.Template
	assetHash map[string]string
	// Registry is where /metrics reads from; register more collectors here.
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	routes   []route
}

// New builds the server. It panics only on programming errors (a template
// that does not parse), which every test run catches.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), Registry: reg}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kizuna_http_requests_total",
		Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kizuna_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method"})
	reg.MustRegister(s.requests, s.latency)
	s.assetHash = hashAssets()
	s.pages = parseTemplates(s.funcs())
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(strings.TrimSpace(rt.Method+" "+rt.Pattern), s.wrap(rt))
	}
	s.mux.Handle("/", s.instrument("notfound", http.HandlerFunc(s.notFound)))
	return s
}

// ServeHTTP applies the headers every response carries, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if isSecure(r) {
		h.Set("Strict-Transport-Security", "max-age=63072000")
	}
	s.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy forbids inline scripts and styles and every
// foreign origin: the UI ships one stylesheet and no JavaScript.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// HTTPServer returns an http.Server for s with timeouts suited to a public
// listener; Shutdown on it finishes in-flight requests.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

// handleReadyz reports whether this node can serve: the database answers
// and its schema is at the version this binary expects.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.ready(r.Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:", err)
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *Server) ready(ctx context.Context) error {
	if s.cfg.DB == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.cfg.DB.Reader().PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	cur, latest, err := s.cfg.DB.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	if cur != latest {
		return fmt.Errorf("schema at version %d, want %d", cur, latest)
	}
	return nil
}

// hashAssets fingerprints each static file so URLs change when content
// does and browsers may cache them forever.
func hashAssets() map[string]string {
	out := map[string]string{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p[len("static/"):]] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
	return out
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	hash, ok := s.assetHash[name]
	if !ok {
		s.notFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeFileFS(w, r, staticFS, "static/"+name)
}

func (s *Server) assetURL(name string) string {
	return "/static/" + name + "?v=" + s.assetHash[name]
}
