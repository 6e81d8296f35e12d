// Package dashboard serves the operators' web UI: asynqmon (queues, tasks,
// servers, scheduler entries; its UI assets are embedded in the asynqmon
// module, so the binary needs no files) plus /metrics (the project's and
// asynq's queue metrics), /healthz and /readyz.
//
// It listens on loopback by default. Set Username and Password to require
// HTTP basic auth for the UI, its API and /metrics (the health endpoints stay
// open for probes: they reveal nothing). ReadOnly lets asynqmon answer only
// GET requests on its API, for shared screens.
//
// Browsers are the attack path of a web UI, so whatever the login: every
// non-GET request must come from the dashboard's own origin (a page on
// another site cannot pause a queue through the operator's browser), and
// without a login the Host must name this machine (a rebound DNS name
// cannot reach a loopback dashboard). Serve refuses to listen beyond
// loopback without a login unless AllowNoLogin.
package dashboard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/loopback"
	"github.com/ocrbatch/ocrworker/internal/metrics"
)

// DefaultAddr is where the dashboard listens unless told otherwise: loopback,
// so an unconfigured dashboard is never reachable from the network.
const DefaultAddr = "127.0.0.1:8080"

// Options configure the dashboard.
type Options struct {
	// Addr to listen on (Serve only). Default DefaultAddr.
	Addr string
	// RedisOpt is the asynq Redis connection. Required.
	RedisOpt asynq.RedisConnOpt
	// Username and Password, when set, require HTTP basic auth.
	Username, Password string
	// ReadOnly refuses every mutating asynqmon API call (pause, delete, run...).
	ReadOnly bool
	// AllowNoLogin lets Serve listen beyond loopback without a login
	// (--insecure-no-login, for a private network). Refused otherwise.
	AllowNoLogin bool
	// Ready is an extra readiness check beside the Redis ping the dashboard
	// does itself (e.g. "storage reachable"). Optional.
	Ready func(ctx context.Context) error
	// Registry gets asynq's queue metrics and is served on /metrics. Default:
	// a new registry with the Go runtime and process collectors.
	Registry *prometheus.Registry
	// Batches configure the batch pages under /batches (batches.go).
	Batches BatchOptions
}

// Dashboard is the dashboard's http.Handler. Close it to release its Redis
// connections.
type Dashboard struct {
	handler http.Handler
	closers []func() error
}

// New builds the dashboard handler.
func New(o Options) (*Dashboard, error) {
	if o.RedisOpt == nil {
		return nil, errors.New("dashboard: no Redis connection configured")
	}
	if (o.Username == "") != (o.Password == "") {
		return nil, errors.New("dashboard: set both username and password, or neither")
	}
	rc, ok := o.RedisOpt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("dashboard: unsupported Redis connection %T", o.RedisOpt)
	}
	reg := o.Registry
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	inspector := asynq.NewInspector(o.RedisOpt)
	if err := metrics.RegisterQueueMetrics(reg, inspector); err != nil {
		_ = inspector.Close()
		_ = rc.Close()
		return nil, fmt.Errorf("dashboard: queue metrics: %w", err)
	}
	mon := asynqmon.New(asynqmon.Options{RootPath: "/", RedisConnOpt: o.RedisOpt, ReadOnly: o.ReadOnly})

	ready := func(ctx context.Context) error {
		if err := rc.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		if o.Ready != nil {
			return o.Ready(ctx)
		}
		return nil
	}
	ops := metrics.OpsHandler(reg, ready)

	mux := http.NewServeMux()
	mux.Handle("/healthz", ops)
	mux.Handle("/readyz", ops)
	mux.Handle("/metrics", requireLogin(o.Username, o.Password, ops))
	mux.Handle("/", requireLogin(o.Username, o.Password, mon))
	newBatchPages(o, rc, inspector).mount(mux, func(h http.Handler) http.Handler { return requireLogin(o.Username, o.Password, h) })

	var h http.Handler = sameOriginWrites(mux)
	if o.Username == "" {
		h = hostOfThisMachine(listenAddr(o), h)
	}
	return &Dashboard{
		handler: h,
		closers: []func() error{mon.Close, inspector.Close, rc.Close},
	}, nil
}

func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.handler.ServeHTTP(w, r)
}

// Close releases the Redis connections.
func (d *Dashboard) Close() error {
	var errs []error
	for _, c := range d.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Serve listens on o.Addr and serves the dashboard until ctx ends, then
// shuts down gracefully (in-flight requests get shutdownGrace).
func Serve(ctx context.Context, o Options) error {
	if err := CheckExposure(o); err != nil {
		return err
	}
	d, err := New(o)
	if err != nil {
		return err
	}
	defer d.Close()
	addr := listenAddr(o)
	srv := &http.Server{
		Addr:              addr,
		Handler:           d,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("dashboard: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("dashboard: shutdown: %w", err)
	}
	return nil
}

const shutdownGrace = 10 * time.Second

func listenAddr(o Options) string {
	if o.Addr == "" {
		return DefaultAddr
	}
	return o.Addr
}

// CheckExposure refuses a dashboard without a login beyond loopback: it can
// pause queues and delete tasks, so anyone on the network could. A private
// network the operator vouches for says so with AllowNoLogin.
func CheckExposure(o Options) error {
	addr := listenAddr(o)
	if o.Username != "" || o.AllowNoLogin || loopback.Addr(addr) {
		return nil
	}
	return fmt.Errorf("dashboard: refusing to listen on %s without a login: set DASHBOARD_USERNAME and DASHBOARD_PASSWORD, "+
		"or pass --insecure-no-login if only a private network reaches it", addr)
}

// sameOriginWrites refuses non-GET requests that a browser marks as coming
// from another origin (Sec-Fetch-Site, else Origin against Host): the
// standard library's CSRF check. Requests with neither header come from no
// browser (curl, scripts) and pass: they cannot be forged by a web page.
func sameOriginWrites(h http.Handler) http.Handler {
	return http.NewCrossOriginProtection().Handler(h)
}

// hostOfThisMachine refuses requests whose Host is not a loopback name, nor
// the listen address's host, nor (on a wildcard listener) an IP literal.
// DNS rebinding always arrives under the attacker's own name, so a page
// cannot reach a login-less dashboard through a browser on this machine.
func hostOfThisMachine(listen string, h http.Handler) http.Handler {
	listenHost, _, _ := net.SplitHostPort(listen)
	wildcard := listenHost == ""
	if ip := net.ParseIP(listenHost); ip != nil && ip.IsUnspecified() {
		wildcard = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.Trim(host, "[]")
		ok := loopback.Host(host) || (!wildcard && strings.EqualFold(host, strings.Trim(listenHost, "[]"))) ||
			(wildcard && net.ParseIP(host) != nil)
		if !ok {
			http.Error(w, "host not allowed: without a login the dashboard answers only to this machine's names", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// requireLogin wraps h with HTTP basic auth when a username is set.
func requireLogin(user, pass string, h http.Handler) http.Handler {
	if user == "" {
		return h
	}
	// Compare hashes in constant time: neither the length nor a prefix of
	// the credentials leaks through timing.
	wantUser, wantPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gotUser, gotPass := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:])
		passOK := subtle.ConstantTimeCompare(gotPass[:], wantPass[:])
		if !ok || userOK&passOK != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="ocr dashboard", charset="UTF-8"`)
			http.Error(w, "login required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
