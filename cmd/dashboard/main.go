// Command dashboard serves the asynqmon web UI for the OCR queues, with the
// batch page (/batches, internal/dashboard/batches.go), /metrics (Prometheus: the project's and asynq's queue metrics), /healthz
// and /readyz (Redis and object storage reachable).
//
//	dashboard [--config FILE] [--addr 127.0.0.1:8080] [--read-only] [--redis-url URL [--redis-mode cluster]] [--insecure-no-login]
//
// Login: set DASHBOARD_USERNAME and DASHBOARD_PASSWORD (or dashboard.username
// and dashboard.password in the config, from ${ENV}) to require basic auth.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ocrbatch/ocrworker/internal/cli"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/dashboard"
	"github.com/ocrbatch/ocrworker/internal/loopback"
	"github.com/ocrbatch/ocrworker/internal/redisconn"
	"github.com/ocrbatch/ocrworker/internal/setup"
)

const usage = `
dashboard serves the asynqmon web UI for the OCR queues, the batch page
(/batches: progress, failures with their result JSON, vendor state and
resume), /metrics, /healthz and /readyz, until SIGINT or SIGTERM.

Usage:
  dashboard [--config FILE] [--addr 127.0.0.1:8080] [--read-only] [--redis-url URL]
            [--redis-mode single|cluster] [--insecure-no-login]

It listens on loopback unless --addr (or dashboard.addr) says otherwise.
Without --config (or OCR_CONFIG) it needs only Redis (--redis-url or
REDIS_URL; --redis-mode cluster, or REDIS_MODE, for a Redis Cluster URL
such as redis://h1:7000?addr=h2:7001) and /readyz checks Redis alone. Set DASHBOARD_USERNAME and
DASHBOARD_PASSWORD to require a login; --read-only refuses every change
(pause, delete, run, archive, resume a vendor) for shared screens.

Beyond loopback it refuses to start without a login, unless
--insecure-no-login (only where a private network alone reaches it).
Changes (POST, DELETE...) must come from the dashboard's own page: a
browser request from another site is refused. Without a login it answers
only to this machine's names (localhost, loopback IPs, the listen address).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type flags struct {
	cli.Globals
	addr      string
	readOnly  bool
	redisURL  string
	redisMode string
	noLogin   bool
}

func run(args []string, stdout, stderr io.Writer) int {
	var f flags
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	f.Register(fs)
	fs.StringVar(&f.addr, "addr", "", "listen `address` (default: dashboard.addr, "+dashboard.DefaultAddr+")")
	fs.BoolVar(&f.readOnly, "read-only", false, "view only: refuse every mutating API call")
	fs.BoolVar(&f.noLogin, "insecure-no-login", false, "allow listening beyond loopback without a login (private networks only)")
	fs.StringVar(&f.redisURL, "redis-url", os.Getenv("REDIS_URL"), "Redis `URL` when no config file is given (or REDIS_URL)")
	fs.StringVar(&f.redisMode, "redis-mode", os.Getenv("REDIS_MODE"), "`mode` of --redis-url: single (default) or cluster (or REDIS_MODE)")
	help, err := cli.ParseFlagsOnly(fs, args, stdout, usage)
	if help {
		return cli.ExitOK
	}
	if err == nil && f.Config == "" && f.redisURL == "" {
		err = cli.Usagef("no Redis: pass --config FILE (or OCR_CONFIG), or --redis-url (or REDIS_URL)")
	}
	if err != nil {
		return cli.Fail(stderr, "dashboard", err)
	}
	log, err := cli.Logger(stderr, f.LogFormat, f.LogLevel)
	if err != nil {
		return cli.Exit(stderr, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	opts, closeFn, err := options(ctx, f)
	if err != nil {
		log.Error().Err(err).Msg("dashboard not started")
		return cli.ExitFailure
	}
	defer closeFn()
	if err := dashboard.CheckExposure(opts); err != nil {
		log.Error().Err(err).Msg("dashboard not started")
		return cli.ExitFailure
	}
	if opts.Username == "" && !loopback.Addr(opts.Addr) {
		log.Warn().Str("addr", opts.Addr).Msg("dashboard reachable beyond loopback without a login (--insecure-no-login)")
	}
	log.Info().Str("addr", opts.Addr).Bool("readOnly", opts.ReadOnly).Bool("login", opts.Username != "").Msg("dashboard listening")
	if err := dashboard.Serve(ctx, opts); err != nil {
		log.Error().Err(err).Msg("dashboard stopped with an error")
		return cli.ExitFailure
	}
	log.Info().Msg("dashboard stopped")
	return cli.ExitOK
}

// options merges the config file (when given), flags and environment:
// flags and DASHBOARD_* win over the file.
func options(ctx context.Context, f flags) (dashboard.Options, func(), error) {
	o := dashboard.Options{Addr: dashboard.DefaultAddr, ReadOnly: f.readOnly, AllowNoLogin: f.noLogin}
	closeFn := func() {}
	if f.Config != "" {
		cfg, err := config.Load(f.Config)
		if err != nil {
			return o, closeFn, err
		}
		redisOpt, rdb, err := setup.Redis(cfg)
		if err != nil {
			return o, closeFn, err
		}
		store, err := setup.Store(ctx, cfg)
		if err != nil {
			_ = rdb.Close()
			return o, closeFn, err
		}
		closeFn = func() { _ = rdb.Close() }
		o.RedisOpt = redisOpt
		o.Ready = func(ctx context.Context) error { return setup.Ready(ctx, rdb, store) }
		o.Batches = batchOptions(cfg, store)
		o.Addr = cfg.Dashboard.Addr
		o.Username, o.Password = cfg.Dashboard.Username, cfg.Dashboard.Password
		o.ReadOnly = o.ReadOnly || cfg.Dashboard.ReadOnly
	} else {
		redisOpt, err := redisconn.Parse(f.redisMode, f.redisURL)
		if err != nil {
			return o, closeFn, fmt.Errorf("--redis-url: %w", err)
		}
		o.RedisOpt = redisOpt
	}
	if f.addr != "" {
		o.Addr = f.addr
	}
	if u, p := os.Getenv("DASHBOARD_USERNAME"), os.Getenv("DASHBOARD_PASSWORD"); u != "" || p != "" {
		o.Username, o.Password = u, p
	}
	return o, closeFn, nil
}
