// Command emulator serves the vendor emulators on one listener, for tests,
// scripts and local runs: no machine here reaches the real vendors.
//
//	emulator [--addr 127.0.0.1:8089] [--addr-file FILE] [--clova-secret S] [behavior flags]
//
// Each vendor's API is mounted under its prefix (CLOVA OCR at /clova-ocr/,
// so its invoke URL is http://ADDR/clova-ocr) and its control endpoints
// (stats, reset, behavior) under /_emulator/<vendor>/.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/emulator/clovaemu"
	"github.com/ocrbatch/ocrworker/internal/emulator/ekycemu"
	"github.com/ocrbatch/ocrworker/internal/emulator/nhnemu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// common is what every vendor emulator is built with.
type common struct {
	Behavior emulator.Behavior
	Quota    int // admitted calls allowed before the vendor's quota error; 0 = none
}

// vendorEmulator is one vendor the binary serves.
type vendorEmulator struct {
	name   string // the admin API lives at /_emulator/<name>/
	prefix string // the vendor API is mounted here (the emulated invoke URL's path)
	// setup registers the vendor's own flags and returns the constructor
	// to call once flags are parsed.
	setup func(fs *flag.FlagSet) builder
}

// vendorTable lists the vendors served. Adding a vendor is adding one entry.
var vendorTable = []vendorEmulator{
	{
		name:   "clova-ocr",
		prefix: "/clova-ocr",
		setup: func(fs *flag.FlagSet) builder {
			secret := fs.String("clova-secret", "", "CLOVA OCR X-OCR-SECRET the emulator accepts (env EMULATOR_CLOVA_SECRET)")
			return func(c common) (http.Handler, http.Handler, error) {
				s := clovaemu.New(clovaemu.Options{Secret: envDefault(*secret, "EMULATOR_CLOVA_SECRET"), Behavior: c.Behavior, Quota: c.Quota})
				return s, withQuota(s.Engine().AdminHandler(), s.SetQuota), nil
			}
		},
	},
	{
		name:   "ekyc",
		prefix: "/ekyc",
		setup: func(fs *flag.FlagSet) builder {
			secret := fs.String("ekyc-secret", "", "CLOVA eKYC X-EKYC-SECRET the emulator accepts (env EMULATOR_EKYC_SECRET)")
			return func(c common) (http.Handler, http.Handler, error) {
				s := ekycemu.New(ekycemu.Options{Secret: envDefault(*secret, "EMULATOR_EKYC_SECRET"), Behavior: c.Behavior, Quota: c.Quota})
				return s, withQuota(s.Engine().AdminHandler(), s.SetQuota), nil
			}
		},
	},
	{
		name:   "nhn",
		prefix: "/nhn",
		setup: func(fs *flag.FlagSet) builder {
			appKey := fs.String("nhn-appkey", "", "NHN OCR appKey the emulator accepts (env EMULATOR_NHN_APPKEY)")
			secret := fs.String("nhn-secret", "", "NHN OCR secret key the emulator accepts (env EMULATOR_NHN_SECRET)")
			return func(c common) (http.Handler, http.Handler, error) {
				key, sec := envDefault(*appKey, "EMULATOR_NHN_APPKEY"), envDefault(*secret, "EMULATOR_NHN_SECRET")
				if key == "" && sec == "" {
					return nil, nil, nil // NHN not configured: not served
				}
				s, err := nhnemu.New(nhnemu.Options{AppKey: key, Secret: sec, Behavior: c.Behavior})
				if err != nil {
					return nil, nil, err
				}
				admin := http.NewServeMux()
				admin.Handle("/", s.Engine().AdminHandler())
				// POST /rotate-key: a new key pair and version, so tests can
				// make every worker's cached public key stale.
				admin.HandleFunc("POST /rotate-key", func(w http.ResponseWriter, _ *http.Request) {
					if err := s.RotateKey(); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					w.WriteHeader(http.StatusNoContent)
				})
				return s, admin, nil
			}
		},
	},
}

// withQuota adds PUT /quota ({"quota": N}, 0: none) to an admin handler, so
// tests can use up a quota and then raise it while workers wait.
func withQuota(admin http.Handler, set func(int)) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", admin)
	mux.HandleFunc("PUT /quota", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Quota *int `json:"quota"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Quota == nil || *body.Quota < 0 {
			http.Error(w, `body must be {"quota": N} with N >= 0`, http.StatusBadRequest)
			return
		}
		set(*body.Quota)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// builder makes one vendor's API handler and admin handler.
type builder func(common) (api, admin http.Handler, err error)

// envDefault is flagValue, or the environment variable when the flag is
// empty. Secrets are not flag defaults, so --help never prints them.
func envDefault(flagValue, env string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv(env)
}

type options struct {
	addr, addrFile      string
	logFormat, logLevel string
	shutdownTimeout     time.Duration
	common              common
}

// errUsage marks a command-line error (exit 2).
var errUsage = errors.New("usage")

func parseFlags(args []string, stderr io.Writer) (*options, []builder, error) {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: emulator [flags]\n\nServes the vendor emulators on one listener:\n")
		for _, v := range vendorTable {
			fmt.Fprintf(stderr, "  %-10s API at %s/, control at /_emulator/%s/{stats,reset,behavior}\n", v.name, v.prefix, v.name)
		}
		fmt.Fprintf(stderr, "\nFlags:\n")
		fs.PrintDefaults()
	}
	o := &options{}
	b := &o.common.Behavior
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8089", "listen address (port 0: any free port)")
	fs.StringVar(&o.addrFile, "addr-file", "", "write the actual host:port to this file once listening")
	fs.StringVar(&o.logFormat, "log-format", "json", "log format: json or console")
	fs.StringVar(&o.logLevel, "log-level", envDefault("", "LOG_LEVEL"), "log level: debug, info, warn, error (env LOG_LEVEL; default info)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to let in-flight calls finish on SIGINT/SIGTERM")
	fs.DurationVar(&b.Latency, "latency", 0, "latency added to every admitted call")
	fs.DurationVar(&b.LatencyJitter, "jitter", 0, "plus up to this much latency, uniformly")
	fs.Float64Var(&b.RPS, "rps", 0, "calls per second allowed per vendor; 0 = unlimited")
	fs.IntVar(&b.Burst, "burst", 0, "token-bucket burst (default 1 when --rps is set)")
	fs.IntVar(&b.MaxConcurrent, "max-concurrent", 0, "calls in flight allowed per vendor; 0 = unlimited")
	fs.Float64Var(&b.FailureRate, "failure-rate", 0, "probability 0..1 of a recognition failure")
	fs.Float64Var(&b.ErrorRate, "error-rate", 0, "probability 0..1 of a recognition exception")
	fs.Float64Var(&b.ServerErrorRate, "server-error-rate", 0, "probability 0..1 of a 5xx answer")
	fs.Float64Var(&b.ThrottleRate, "throttle-rate", 0, "probability 0..1 of a throttle answer under the limits")
	fs.Float64Var(&b.SlowRate, "slow-rate", 0, "probability 0..1 of a slow answer")
	fs.DurationVar(&b.SlowDelay, "slow-delay", 5*time.Second, "how slow a slow answer is")
	fs.Float64Var(&b.TruncateRate, "truncate-rate", 0, "probability 0..1 of a 200 with a truncated body")
	fs.IntVar(&o.common.Quota, "quota", 0, "admitted calls per vendor before its quota error; 0 = none")
	builders := make([]builder, len(vendorTable))
	for i, v := range vendorTable {
		builders[i] = v.setup(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := o.validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return o, builders, nil
}

func (o *options) validate() error {
	b := o.common.Behavior
	for name, p := range map[string]float64{
		"--failure-rate": b.FailureRate, "--error-rate": b.ErrorRate, "--server-error-rate": b.ServerErrorRate,
		"--throttle-rate": b.ThrottleRate, "--slow-rate": b.SlowRate, "--truncate-rate": b.TruncateRate,
	} {
		if p < 0 || p > 1 {
			return fmt.Errorf("%s: must be between 0 and 1, got %v", name, p)
		}
	}
	switch {
	case b.Latency < 0 || b.LatencyJitter < 0 || b.SlowDelay < 0 || o.shutdownTimeout < 0:
		return errors.New("durations must not be negative")
	case b.RPS < 0:
		return errors.New("--rps: must be >= 0")
	case b.Burst < 0 || b.MaxConcurrent < 0 || o.common.Quota < 0:
		return errors.New("--burst, --max-concurrent and --quota must be >= 0")
	case o.logFormat != "json" && o.logFormat != "console":
		return fmt.Errorf("--log-format: %q is not json or console", o.logFormat)
	}
	if o.logLevel != "" {
		if _, err := zerolog.ParseLevel(o.logLevel); err != nil {
			return fmt.Errorf("--log-level: %q is not a level", o.logLevel)
		}
	}
	return nil
}

func newLogger(o *options, w io.Writer) zerolog.Logger {
	if o.logFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	level := zerolog.InfoLevel
	if o.logLevel != "" {
		level, _ = zerolog.ParseLevel(o.logLevel)
	}
	return zerolog.New(w).Level(level).With().Timestamp().Str("component", "emulator").Logger()
}

// run is the whole program; it returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	o, builders, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "emulator: %v\n", err)
		}
		return 2
	}
	log := newLogger(o, stderr)

	mux := http.NewServeMux()
	for i, v := range vendorTable {
		handler, adminHandler, err := builders[i](o.common)
		if err != nil {
			log.Error().Err(err).Str("vendor", v.name).Msg("vendor not started")
			return 1
		}
		if handler == nil {
			log.Warn().Str("vendor", v.name).Msg("vendor not served: no credentials given")
			continue
		}
		mux.Handle(v.prefix+"/", http.StripPrefix(v.prefix, handler))
		admin := "/_emulator/" + v.name
		mux.Handle(admin+"/", http.StripPrefix(admin, adminHandler))
		log.Info().Str("vendor", v.name).Str("prefix", v.prefix+"/").Str("admin", admin+"/").Msg("vendor mounted")
	}
	mux.HandleFunc("GET /_emulator/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		log.Error().Err(err).Str("addr", o.addr).Msg("listen failed")
		return 1
	}
	addr := ln.Addr().String()
	if o.addrFile != "" {
		if err := writeFileAtomic(o.addrFile, []byte(addr+"\n")); err != nil {
			_ = ln.Close()
			log.Error().Err(err).Str("file", o.addrFile).Msg("cannot write the address file")
			return 1
		}
	}
	srv := &http.Server{Handler: accessLog(log, mux), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info().Str("addr", addr).Interface("behavior", o.common.Behavior).Int("quota", o.common.Quota).Msg("emulator listening")

	select {
	case err := <-served:
		log.Error().Err(err).Msg("server stopped")
		return 1
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error().Err(err).Msg("shutdown did not finish in time")
		return 1
	}
	return 0
}

// writeFileAtomic writes through a temporary file and a rename, so a script
// polling for the file never reads half an address.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".addr-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// statusRecorder remembers the status an handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// accessLog logs one line per call: method, path, status, size and time.
// Never headers (secrets) or bodies (images, personal data).
func accessLog(log zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Int("status", rec.status).
			Int("bytes", rec.bytes).Dur("duration", time.Since(start)).Msg("call")
	})
}
