// Package config loads the one YAML file both binaries read
// (shared/spec/interface.md): typed structs, ${ENV} expansion, defaults
// filled in, and validation once at start with every error naming its key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/ocrbatch/ocrworker/internal/config/confval"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/notify"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/redisconn"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendorset"
)

// Values of vendors.*.pii.
const (
	PIIMasked  = "masked"
	PIIFull    = "full"
	PIIPerTask = "per-task"
)

// Defaults of the settings a file leaves out (setDefaults). A vendor
// kind's own options have theirs in its package (vendors.Driver.Options).
const (
	WorkerConcurrencyDefault   = 16
	WorkerShutdownDefault      = 30 * time.Second
	WorkerMaxRetryDefault      = 8
	WorkerMaxImageBytesDefault = 20 << 20
	WorkerRateWaitDefault      = time.Minute
	WorkerTaskTimeoutDefault   = 5 * time.Minute
	WorkerMaxRetryAfterDefault = 5 * time.Minute
	WorkerUnknownGraceDefault  = 10 * time.Minute
	WorkerScanWindowDefault    = 10000
	VendorConcurrencyDefault   = 8
	VendorTimeoutDefault       = vendors.TimeoutDefault
	HaltForDefault             = 15 * time.Minute
	ScheduleQueueDefault       = "backfill"
	DashboardAddrDefault       = "127.0.0.1:8080"
	// BatchRetentionDefault is the default of batches.retention.
	BatchRetentionDefault = 720 * time.Hour
)

// WorkerQueuesDefault returns the default of worker.queues (asynq weights).
func WorkerQueuesDefault() map[string]int {
	return map[string]int{"critical": 6, "default": 3, "backfill": 1}
}

// Config is the whole file.
type Config struct {
	Redis     Redis              `yaml:"redis"`
	Storage   Storage            `yaml:"storage"`
	Vendors   map[string]*Vendor `yaml:"vendors"`
	Routes    map[string]string  `yaml:"routes"`
	Worker    Worker             `yaml:"worker"`
	Schedules []Schedule         `yaml:"schedules"`
	Batches   Batches            `yaml:"batches"`
	Dashboard Dashboard          `yaml:"dashboard"`
	Notify    []notify.Receiver  `yaml:"notify"` // webhooks (notify.go, docs/webhooks.md)
	Types     map[string]*Type   `yaml:"types"`  // per document type: pages (types.go)
}

// Batches tunes the batch counters kept in Redis.
type Batches struct {
	// Retention: how long a finished batch's counters stay in Redis (for
	// `producer status` and `batches`); its summary object stays in storage.
	// Default 720h.
	Retention Duration `yaml:"retention"`
}

// Redis says where asynq, the rate limiter and batch counters live.
type Redis struct {
	URL string `yaml:"url"` // default: $REDIS_URL
	// Mode is single (default: one server, or Sentinel with a
	// redis-sentinel:// URL) or cluster (URL in go-redis's cluster form,
	// redis://h1:7000?addr=h2:7001&addr=h3:7002); see internal/redisconn.
	Mode string `yaml:"mode"`
}

// Storage is the S3 or S3-compatible object store.
type Storage struct {
	Endpoint  string `yaml:"endpoint"`  // optional; the AWS SDK's env/config chain also applies
	Region    string `yaml:"region"`    // default: the AWS chain (AWS_REGION, profile), else us-east-1
	PathStyle bool   `yaml:"pathStyle"` // MinIO and most S3-compatible stores want true
	// Buckets optionally limits which buckets tasks read (sources, face
	// photos) and write (results); a task outside fails as forbidden_location.
	Buckets storage.AllowList `yaml:"buckets"`
	// FileRoot: file:// keys are paths below it; nothing outside is
	// reachable. Default "/". See storage.go.
	FileRoot string `yaml:"fileRoot"`
}

// RateLimit is a vendor account's limits, shared by every worker process.
type RateLimit struct {
	RPS   float64 `yaml:"rps"`
	Burst int     `yaml:"burst"` // default: ceil(rps)
	// Concurrent: calls in flight across all workers; 0 = no such limit.
	Concurrent int `yaml:"concurrent"`
	// Adaptive: learn the vendor's limits from its throttle answers and
	// latency (internal/adapt). Unset: true when neither rps nor concurrent
	// is set, else false (the limits are exact). true with limits: they are
	// the ceilings of the search. false with no limits: unlimited.
	Adaptive *bool `yaml:"adaptive"`
}

// IsAdaptive resolves Adaptive's default (see RateLimit).
func (r RateLimit) IsAdaptive() bool {
	if r.Adaptive != nil {
		return *r.Adaptive
	}
	return r.RPS == 0 && r.Concurrent == 0
}

// Budget is a vendor account's call budget (vendors.<name>.budget): the
// vendors bill per call. Checked at load (ratelimit.ParseBudget).
type Budget struct {
	Calls    int64  `yaml:"calls"`
	Per      string `yaml:"per"`      // day | month
	Timezone string `yaml:"timezone"` // IANA name; default UTC

	spec ratelimit.BudgetSpec
	set  bool
}

// Spec is the parsed budget; ok is false when none is configured.
func (b Budget) Spec() (spec ratelimit.BudgetSpec, ok bool) { return b.spec, b.set }

// Vendor is one vendor account: the keys every kind has, and the kind's
// own (Options).
type Vendor struct {
	Kind   string `yaml:"kind"` // a vendorset.Drivers kind
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
	// Insecure allows a plain http:// url beyond loopback (a private
	// network the operator trusts); https:// or loopback otherwise.
	Insecure    bool      `yaml:"insecure"`
	RateLimit   RateLimit `yaml:"rateLimit"`
	Budget      Budget    `yaml:"budget"`
	Concurrency int       `yaml:"concurrency"` // in-flight calls per worker process; default VendorConcurrencyDefault
	Timeout     Duration  `yaml:"timeout"`     // per vendor call; default VendorTimeoutDefault
	// PII: "masked" (default) masks personal numbers in results; "full"
	// keeps them whole; "per-task" masks unless the task asks for full
	// (`producer enqueue --pii full`, manifest "pii": "full").
	PII     string `yaml:"pii"`
	KeepRaw bool   `yaml:"keepRaw"` // store the (masked) raw answer as K.raw.json
	// HaltFor: how long calls stop after quota exhaustion or rejected
	// credentials before workers try again by themselves. Default HaltForDefault.
	HaltFor Duration `yaml:"haltFor"`
	// MaxImageBytes: images larger than this fail as too_large without a
	// download. Default: worker.maxImageBytes.
	MaxImageBytes int64 `yaml:"maxImageBytes"`

	// Options are the keys of the vendor's kind, beside the ones above
	// (vendors.Driver.Options: a body mode, an app key, ...), decoded,
	// defaulted and validated by its driver. Nil for a kind this build
	// does not know (which validation reports).
	Options vendors.Options `yaml:"-"`
}

// UnmarshalYAML decodes the common keys, then the same block into the
// kind's own options. Unknown keys were rejected before (checkKeys).
func (v *Vendor) UnmarshalYAML(n *yaml.Node) error {
	type common Vendor // without this method
	if err := n.Decode((*common)(v)); err != nil {
		return err
	}
	if d := vendorset.Lookup(v.Kind); d != nil {
		opts := d.Options()
		if err := n.Decode(opts); err != nil {
			return err
		}
		v.Options = opts
	}
	return nil
}

// Account is the vendor as its driver's constructor takes it (vendorset.New).
func (v *Vendor) Account() vendors.Account {
	return vendors.Account{Kind: v.Kind, URL: v.URL, Secret: v.Secret, Insecure: v.Insecure, Timeout: v.Timeout.D(),
		Concurrency: v.Concurrency, Options: v.Options}
}

// Worker tunes the worker processes.
type Worker struct {
	Concurrency     int            `yaml:"concurrency"`     // tasks in flight per process; default 16
	Queues          map[string]int `yaml:"queues"`          // default critical=6, default=3, backfill=1
	ShutdownTimeout Duration       `yaml:"shutdownTimeout"` // default 30s
	MaxRetry        int            `yaml:"maxRetry"`        // transient failures before retries_exhausted; default 8
	MaxImageBytes   int64          `yaml:"maxImageBytes"`   // default 20 MiB
	// RateWait bounds how long a task waits in the worker for a vendor slot
	// before it is handed back to the queue (not counted as a failure). Default 1m.
	RateWait Duration `yaml:"rateWait"`
	// TaskTimeout bounds one task run. Default 5m.
	TaskTimeout Duration `yaml:"taskTimeout"`
	// MetricsAddr serves /metrics, /healthz and /readyz; "" turns it off.
	MetricsAddr string `yaml:"metricsAddr"`
	// MaxRetryAfter caps a vendor's Retry-After (a throttle's shared wait and
	// a retry's delay), so one answer cannot stall every worker. Default 5m.
	MaxRetryAfter Duration `yaml:"maxRetryAfter"`
	// UnknownGrace: a task naming a vendor, document type or payload version
	// this worker does not know is handed back for this long (another worker
	// of a rolling deploy may know it) before it fails. Default 10m.
	UnknownGrace Duration `yaml:"unknownGrace"`
	// ScanWindow: the most tasks of one windowed scan (backfills, enqueue
	// --scan) pending or active at once; the scan lists more as they drain.
	// Default 10000.
	ScanWindow int `yaml:"scanWindow"`
	// MaxSourceBytes, DecodeBudget, MaxPixels bound multi-page sources and
	// image conversion (types.go, docs/formats.md).
	MaxSourceBytes int64 `yaml:"maxSourceBytes"`
	DecodeBudget   int64 `yaml:"decodeBudget"`
	MaxPixels      int64 `yaml:"maxPixels"`
}

// MaxRetryLimit is the largest worker.maxRetry: tasks are enqueued with an
// asynq MaxRetry above it (layout.RetryCeiling), which must stay out of reach.
const MaxRetryLimit = 50

// Schedule is a scheduled backfill: scan Source and enqueue what has no result.
type Schedule struct {
	Name   string `yaml:"name"`
	Cron   string `yaml:"cron"`
	Source string `yaml:"source"` // s3://bucket/prefix/
	Type   string `yaml:"type"`
	Vendor string `yaml:"vendor"`
	Out    string `yaml:"out"`
	Queue  string `yaml:"queue"` // default backfill
}

// Dashboard configures the dashboard command.
type Dashboard struct {
	Addr     string `yaml:"addr"`     // default 127.0.0.1:8080
	Username string `yaml:"username"` // basic auth when set
	Password string `yaml:"password"`
	ReadOnly bool   `yaml:"readOnly"`
}

// Duration is a time.Duration written as "30s".
type Duration = confval.Duration

// Error is a configuration error naming its key.
type Error struct {
	Key string
	Msg string
}

func (e *Error) Error() string { return "config: " + e.Key + ": " + e.Msg }

// Path returns the config file to use: flag value, else $OCR_CONFIG.
func Path(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv("OCR_CONFIG")
}

// Load reads, expands, parses, defaults and validates a config file.
func Load(path string) (*Config, error) {
	if path == "" {
		return nil, &Error{Key: "--config", Msg: "no configuration file: pass --config FILE or set OCR_CONFIG"}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(b)
}

// Parse is Load from bytes.
func Parse(b []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, &Error{Key: "(file)", Msg: "empty configuration"}
	}
	if err := checkKeys(root.Content[0], "", typeOfConfig); err != nil {
		return nil, err
	}
	expandEnv(&root)
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(mustMarshal(&root)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.setDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func mustMarshal(n *yaml.Node) []byte {
	b, err := yaml.Marshal(n)
	if err != nil {
		panic(err) // a node tree that yaml just parsed always marshals
	}
	return b
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${NAME} in every string scalar, so secrets can live in
// the environment or a mounted secret file.
func expandEnv(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			return os.Getenv(m[2 : len(m)-1])
		})
		if n.Tag == "!!str" || n.Tag == "" {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	for _, c := range n.Content {
		expandEnv(c)
	}
}

func (c *Config) setDefaults() {
	if c.Redis.URL == "" {
		c.Redis.URL = os.Getenv("REDIS_URL")
	}
	if c.Redis.Mode == "" {
		c.Redis.Mode = redisconn.ModeSingle
	}
	w := &c.Worker
	if w.Concurrency == 0 {
		w.Concurrency = WorkerConcurrencyDefault
	}
	if len(w.Queues) == 0 {
		w.Queues = WorkerQueuesDefault()
	}
	if w.ShutdownTimeout == 0 {
		w.ShutdownTimeout = Duration(WorkerShutdownDefault)
	}
	if w.MaxRetry == 0 {
		w.MaxRetry = WorkerMaxRetryDefault
	}
	if w.MaxImageBytes == 0 {
		w.MaxImageBytes = WorkerMaxImageBytesDefault
	}
	if w.RateWait == 0 {
		w.RateWait = Duration(WorkerRateWaitDefault)
	}
	if w.TaskTimeout == 0 {
		w.TaskTimeout = Duration(WorkerTaskTimeoutDefault)
	}
	if w.MaxRetryAfter == 0 {
		w.MaxRetryAfter = Duration(WorkerMaxRetryAfterDefault)
	}
	if w.UnknownGrace == 0 {
		w.UnknownGrace = Duration(WorkerUnknownGraceDefault)
	}
	if w.ScanWindow == 0 {
		w.ScanWindow = WorkerScanWindowDefault
	}
	for _, v := range c.Vendors {
		if v == nil {
			continue
		}
		if v.Concurrency == 0 {
			v.Concurrency = VendorConcurrencyDefault
		}
		if v.Timeout == 0 {
			v.Timeout = Duration(VendorTimeoutDefault)
		}
		if v.RateLimit.Burst == 0 && v.RateLimit.RPS > 0 {
			v.RateLimit.Burst = int(v.RateLimit.RPS + 0.999)
		}
		if v.PII == "" {
			v.PII = PIIMasked
		}
		if v.HaltFor == 0 {
			v.HaltFor = Duration(HaltForDefault)
		}
		if v.MaxImageBytes == 0 {
			v.MaxImageBytes = w.MaxImageBytes
		}
		if v.Options != nil {
			v.Options.SetDefaults()
		}
	}
	for i := range c.Schedules {
		if c.Schedules[i].Queue == "" {
			c.Schedules[i].Queue = ScheduleQueueDefault
		}
	}
	if c.Dashboard.Addr == "" {
		c.Dashboard.Addr = DashboardAddrDefault
	}
	if c.Batches.Retention == 0 {
		c.Batches.Retention = Duration(BatchRetentionDefault)
	}
	c.setPageDefaults()
}

// kindReads reports whether a vendor kind reads a document type.
func kindReads(kind, docType string) bool {
	d := vendorset.Lookup(kind)
	return d != nil && d.Reads(docType)
}

func (c *Config) validate() error {
	if c.Redis.URL == "" {
		return &Error{Key: "redis.url", Msg: "missing (set it, or REDIS_URL)"}
	}
	if err := redisconn.CheckMode(c.Redis.Mode); err != nil {
		return &Error{Key: "redis.mode", Msg: err.Error()}
	}
	// Before the vendors, which inherit it.
	if c.Worker.MaxImageBytes < 0 {
		return &Error{Key: "worker.maxImageBytes", Msg: "must be > 0"}
	}
	for _, name := range sortedKeys(c.Vendors) {
		v := c.Vendors[name]
		k := "vendors." + name
		if v == nil {
			return &Error{Key: k, Msg: "missing"}
		}
		if v.Kind == "" {
			return &Error{Key: k + ".kind", Msg: "missing"}
		}
		if vendorset.Lookup(v.Kind) == nil {
			return &Error{Key: k + ".kind", Msg: fmt.Sprintf("unknown kind %q (want %s)", v.Kind, vendorset.KindList())}
		}
		if v.URL == "" {
			return &Error{Key: k + ".url", Msg: "missing"}
		}
		if !strings.HasPrefix(v.URL, "http://") && !strings.HasPrefix(v.URL, "https://") {
			return &Error{Key: k + ".url", Msg: "must start with http:// or https://"}
		}
		if _, err := vendors.CheckURL(v.URL, v.Insecure); err != nil {
			return &Error{Key: k + ".url", Msg: strings.TrimPrefix(err.Error(), "url: ")}
		}
		if err := v.Options.Validate(); err != nil {
			var oe *vendors.OptionError
			if errors.As(err, &oe) {
				return &Error{Key: k + "." + oe.Key, Msg: oe.Msg}
			}
			return &Error{Key: k, Msg: err.Error()}
		}
		if v.RateLimit.RPS < 0 {
			return &Error{Key: k + ".rateLimit.rps", Msg: "must be >= 0 (0 = unlimited)"}
		}
		if v.RateLimit.Burst < 0 {
			return &Error{Key: k + ".rateLimit.burst", Msg: "must be >= 0"}
		}
		if v.RateLimit.Concurrent < 0 {
			return &Error{Key: k + ".rateLimit.concurrent", Msg: "must be >= 0 (0 = no limit on calls in flight)"}
		}
		spec, ok, err := ratelimit.ParseBudget(v.Budget.Calls, v.Budget.Per, v.Budget.Timezone)
		if err != nil {
			key, msg, _ := strings.Cut(err.Error(), " ")
			return &Error{Key: k + "." + key, Msg: msg}
		}
		v.Budget.spec, v.Budget.set = spec, ok
		if v.Concurrency < 0 {
			return &Error{Key: k + ".concurrency", Msg: "must be > 0"}
		}
		if v.PII != PIIMasked && v.PII != PIIFull && v.PII != PIIPerTask {
			return &Error{Key: k + ".pii", Msg: fmt.Sprintf("%q: want masked, full or per-task", v.PII)}
		}
		if v.MaxImageBytes < 0 {
			return &Error{Key: k + ".maxImageBytes", Msg: "must be >= 0 (0: worker.maxImageBytes)"}
		}
	}
	for _, t := range sortedKeys(c.Routes) {
		name := c.Routes[t]
		k := "routes." + t
		if !result.KnownType(t) {
			return &Error{Key: k, Msg: fmt.Sprintf("unknown document type %q", t)}
		}
		v, ok := c.Vendors[name]
		if !ok {
			return &Error{Key: k, Msg: fmt.Sprintf("vendor %q is not configured under vendors", name)}
		}
		if !kindReads(v.Kind, t) {
			return &Error{Key: k, Msg: fmt.Sprintf("vendor %q (%s) does not read %s", name, v.Kind, t)}
		}
	}
	if err := c.validateStorage(); err != nil {
		return err
	}
	if err := c.validateNotify(); err != nil {
		return err
	}
	if err := c.validatePages(); err != nil {
		return err
	}
	w := c.Worker
	if w.Concurrency < 1 {
		return &Error{Key: "worker.concurrency", Msg: "must be > 0"}
	}

	for q, p := range w.Queues {
		if p < 1 {
			return &Error{Key: "worker.queues." + q, Msg: "priority must be > 0"}
		}
	}
	if w.MaxRetry < 0 || w.MaxRetry > MaxRetryLimit {
		return &Error{Key: "worker.maxRetry", Msg: fmt.Sprintf("%d: want 0 to %d", w.MaxRetry, MaxRetryLimit)}
	}
	if w.MaxRetryAfter < 0 {
		return &Error{Key: "worker.maxRetryAfter", Msg: "must be > 0"}
	}
	if w.UnknownGrace < 0 {
		return &Error{Key: "worker.unknownGrace", Msg: "must be >= 0"}
	}
	if w.ScanWindow < 0 {
		return &Error{Key: "worker.scanWindow", Msg: "must be > 0"}
	}
	for i, s := range c.Schedules {
		k := fmt.Sprintf("schedules[%d]", i)
		switch {
		case s.Cron == "":
			return &Error{Key: k + ".cron", Msg: "missing"}
		case s.Source == "":
			return &Error{Key: k + ".source", Msg: "missing"}
		case s.Type == "":
			return &Error{Key: k + ".type", Msg: "missing"}
		case !result.KnownType(s.Type):
			return &Error{Key: k + ".type", Msg: fmt.Sprintf("unknown document type %q", s.Type)}
		case s.Out == "":
			return &Error{Key: k + ".out", Msg: "missing"}
		}
		// Each slot's batch id is <name>-<YYYYMMDDTHHMM>; a name that makes a
		// bad id would fail every slot at run time instead.
		if err := layout.CheckBatchID(ScheduleBatch(s.Name, time.Time{})); s.Name != "" && err != nil {
			return &Error{Key: k + ".name", Msg: fmt.Sprintf("%q: want 1-115 of [A-Za-z0-9._-], starting with a letter or digit (it names the batch)", s.Name)}
		}
		// Checked here, not when the scheduler starts, so a typo fails every
		// command that reads the file instead of silently never firing.
		if _, err := cron.ParseStandard(s.Cron); err != nil {
			return &Error{Key: k + ".cron", Msg: fmt.Sprintf("%q: %v (want 5 fields like \"0 2 * * *\", or @daily)", s.Cron, err)}
		}
		if err := c.checkPrefixURI(s.Source, true); err != nil {
			return &Error{Key: k + ".source", Msg: err.Error()}
		}
		if err := c.checkPrefixURI(s.Out, false); err != nil {
			return &Error{Key: k + ".out", Msg: err.Error()}
		}
		if _, _, err := c.VendorFor(s.Type, s.Vendor); err != nil {
			key := k + ".type"
			if s.Vendor != "" {
				key = k + ".vendor"
			}
			return &Error{Key: key, Msg: err.Error()}
		}
	}
	return nil
}

// ScheduleBatch is the batch id of a schedule's slot: <name>-<YYYYMMDDTHHMM>
// (name "backfill" when empty).
func ScheduleBatch(name string, slot time.Time) string {
	if name == "" {
		name = "backfill"
	}
	return name + "-" + slot.UTC().Format("20060102T1504")
}

// validateStorage checks the allow-lists and the batch retention.
func (c *Config) validateStorage() (err error) {
	if err := c.validateFileRoot(); err != nil {
		return err
	}
	for key, list := range map[string][]string{"storage.buckets.read": c.Storage.Buckets.Read, "storage.buckets.write": c.Storage.Buckets.Write} {
		for i, b := range list {
			if list[i], err = c.allowEntry(key, b); err != nil {
				return err
			}
		}
	}
	if c.Batches.Retention < 0 {
		return &Error{Key: "batches.retention", Msg: "must be > 0"}
	}
	return nil
}

// ValidateSecrets checks what only a worker needs: each vendor's credentials.
// The producer does not call vendors, so it does not require them.
func (c *Config) ValidateSecrets() error {
	for _, name := range sortedKeys(c.Vendors) {
		v := c.Vendors[name]
		if v.Secret == "" {
			return &Error{Key: "vendors." + name + ".secret", Msg: "missing (is its environment variable set?)"}
		}
		if cr, ok := v.Options.(vendors.Credentials); ok {
			if key := cr.MissingCredential(); key != "" {
				return &Error{Key: "vendors." + name + "." + key, Msg: "missing (is its environment variable set?)"}
			}
		}
	}
	return nil
}

// VendorFor picks the vendor for a document type: the named one, else the
// route. Its error is a *RouteError.
func (c *Config) VendorFor(docType, named string) (string, *Vendor, error) {
	name := named
	if name == "" {
		name = c.Routes[docType]
		if name == "" {
			return "", nil, &RouteError{Unknown: true, Msg: fmt.Sprintf("no route for document type %q and no vendor named", docType)}
		}
	}
	v, ok := c.Vendors[name]
	if !ok {
		return "", nil, &RouteError{Unknown: true, Msg: fmt.Sprintf("vendor %q is not configured", name)}
	}
	if !kindReads(v.Kind, docType) {
		return "", nil, &RouteError{Msg: fmt.Sprintf("vendor %q (%s) does not read %s", name, v.Kind, docType)}
	}
	return name, v, nil
}

// RouteError says why no vendor reads a document type. Unknown: no vendor
// is routed or the one named is not configured (a worker on a newer config
// may know it); else the vendor does not read the type.
type RouteError struct {
	Msg     string
	Unknown bool
}

func (e *RouteError) Error() string { return e.Msg }

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
