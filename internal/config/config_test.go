package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/vendors/clovaocr"
	"github.com/ocrbatch/ocrworker/internal/vendors/ekyc"
	"github.com/ocrbatch/ocrworker/internal/vendors/nhn"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendorset"
)

const contractExample = `
redis:
  url: redis://127.0.0.1:6379/0
storage:
  endpoint: http://127.0.0.1:9000
  region: us-east-1
  pathStyle: true
vendors:
  clova:
    kind: clova-ocr
    url: https://xxxx.apigw.ntruss.com/custom/v1/1234/abcd
    secret: ${CLOVA_OCR_SECRET}
    mode: multipart
    rateLimit: {rps: 10, burst: 10}
    concurrency: 8
    timeout: 30s
  ekyc:
    kind: clova-ekyc
    url: https://xxxx.apigw-pub.fin-ntruss.com/ekyc/v1/1234/abcd
    secret: ${CLOVA_EKYC_SECRET}
    rateLimit: {rps: 5, burst: 5}
  nhn:
    kind: nhn-ocr
    url: https://ocr.api.nhncloudservice.com
    appKey: ${NHN_OCR_APPKEY}
    secret: ${NHN_OCR_SECRET}
    rateLimit: {rps: 5, burst: 5}
    verify: false
routes:
  receipt: clova
  biz-license: clova
  id-card: nhn
  credit-card: nhn
  face-compare: ekyc
`

func TestParseContractExample(t *testing.T) {
	t.Setenv("CLOVA_OCR_SECRET", "s3cr3t-clova")
	t.Setenv("CLOVA_EKYC_SECRET", "s3cr3t-ekyc")
	t.Setenv("NHN_OCR_APPKEY", "appkey")
	t.Setenv("NHN_OCR_SECRET", "s3cr3t-nhn")
	c, err := Parse([]byte(contractExample))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Vendors["clova"].Secret; got != "s3cr3t-clova" {
		t.Errorf("secret not expanded: %q", got)
	}
	if got := c.Vendors["clova"].Timeout.D(); got != 30*time.Second {
		t.Errorf("timeout = %v", got)
	}
	ek, ok := c.Vendors["ekyc"].Options.(*ekyc.Config)
	if !ok || ek.Mode != "multipart" || ek.MatchThreshold != 0.8 || c.Vendors["ekyc"].Concurrency != 8 || c.Vendors["ekyc"].HaltFor.D() != 15*time.Minute {
		t.Errorf("defaults not filled: %+v %+v", c.Vendors["ekyc"], c.Vendors["ekyc"].Options)
	}
	if nc, ok := c.Vendors["nhn"].Options.(*nhn.Config); !ok || nc.AppKey != "appkey" || nc.KeyRefresh.D() != time.Hour || nc.Verify {
		t.Errorf("nhn options: %+v", c.Vendors["nhn"].Options)
	}
	if c.Worker.Queues["backfill"] != 1 {
		t.Errorf("default queues: %v", c.Worker.Queues)
	}
	if err := c.ValidateSecrets(); err != nil {
		t.Fatal(err)
	}
	name, v, err := c.VendorFor("id-card", "")
	if err != nil || name != "nhn" || v.Kind != "nhn-ocr" {
		t.Errorf("VendorFor(id-card) = %q %v %v", name, v, err)
	}
	if _, _, err := c.VendorFor("passport", "nhn"); err == nil {
		t.Error("nhn must not read passports")
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ name, yaml, key string }{
		{"unknown top key", "redis: {url: redis://x}\nredsi: 1\n", "redsi"},
		{"unknown nested key", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, rateLimt: {rps: 1}}\n", "vendors.clova.rateLimt"},
		{"unknown key in rateLimit", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, rateLimit: {rsp: 1}}\n", "vendors.clova.rateLimit.rsp"},
		{"unknown key in schedule", "redis: {url: redis://x}\nschedules:\n  - {cron: '* * * * *', source: s3://a/, type: receipt, out: s3://b/, bogus: 1}\n", "schedules[0].bogus"},
		{"missing redis", "storage: {region: x}\n", "redis.url"},
		{"missing kind", "redis: {url: redis://x}\nvendors:\n  clova: {url: https://x}\n", "vendors.clova.kind"},
		{"missing url", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr}\n", "vendors.clova.url"},
		{"bad pii", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, pii: some}\n", "vendors.clova.pii"},
		{"bad mode", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, mode: xml}\n", "vendors.clova.mode"},
		{"negative rps", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, rateLimit: {rps: -1}}\n", "vendors.clova.rateLimit.rps"},
		{"negative concurrent", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, rateLimit: {concurrent: -1}}\n", "vendors.clova.rateLimit.concurrent"},
		{"budget without per", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, budget: {calls: 10}}\n", "vendors.clova.budget.per"},
		{"budget per week", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, budget: {calls: 10, per: week}}\n", "vendors.clova.budget.per"},
		{"budget zero calls", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, budget: {per: day}}\n", "vendors.clova.budget.calls"},
		{"budget bad timezone", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, budget: {calls: 1, per: day, timezone: Mars/Base}}\n", "vendors.clova.budget.timezone"},
		{"unknown key in budget", "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, budget: {call: 1}}\n", "vendors.clova.budget.call"},
		{"route to unknown vendor", "redis: {url: redis://x}\nroutes: {receipt: nope}\n", "routes.receipt"},
		{"route unknown type", "redis: {url: redis://x}\nvendors:\n  c: {kind: clova-ocr, url: https://x}\nroutes: {recipe: c}\n", "routes.recipe"},
		{"route vendor cannot read type", "redis: {url: redis://x}\nvendors:\n  n: {kind: nhn-ocr, url: https://x}\nroutes: {receipt: n}\n", "routes.receipt"},
		{"negative maxRetry", "redis: {url: redis://x}\nworker: {maxRetry: -1}\n", "worker.maxRetry"},
		{"huge maxRetry", "redis: {url: redis://x}\nworker: {maxRetry: 1000}\n", "worker.maxRetry"},
		{"negative maxRetryAfter", "redis: {url: redis://x}\nworker: {maxRetryAfter: -1s}\n", "worker.maxRetryAfter"},
		{"negative unknownGrace", "redis: {url: redis://x}\nworker: {unknownGrace: -1s}\n", "worker.unknownGrace"},
		{"schedule missing cron", "redis: {url: redis://x}\nschedules:\n  - {source: s3://a/, type: receipt, out: s3://b/}\n", "schedules[0].cron"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("REDIS_URL", "")
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.key+":") {
				t.Errorf("error %q does not name %q", err, tc.key)
			}
		})
	}
}

func TestMissingSecretNamed(t *testing.T) {
	t.Setenv("CLOVA_OCR_SECRET", "")
	t.Setenv("CLOVA_EKYC_SECRET", "x")
	t.Setenv("NHN_OCR_APPKEY", "x")
	t.Setenv("NHN_OCR_SECRET", "x")
	c, err := Parse([]byte(contractExample))
	if err != nil {
		t.Fatal(err)
	}
	err = c.ValidateSecrets()
	if err == nil || !strings.Contains(err.Error(), "vendors.clova.secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestRedisURLFromEnvAndLoadPath(t *testing.T) {
	t.Setenv("REDIS_URL", "redis://10.0.0.1:6379/2")
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("storage: {region: ap-northeast-2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OCR_CONFIG", p)
	c, err := Load(Path(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.URL != "redis://10.0.0.1:6379/2" || c.Storage.Region != "ap-northeast-2" {
		t.Errorf("got %+v", c)
	}
	if _, err := Load(""); err == nil {
		t.Error("Load without a path must fail")
	}
}

func TestEnvValueKeepsStringType(t *testing.T) {
	// A secret that looks like a number or a bool must stay a string.
	t.Setenv("SECRET_NUM", "12345")
	c, err := Parse([]byte("redis: {url: redis://x}\nvendors:\n  c:\n    kind: clova-ocr\n    url: https://x\n    secret: ${SECRET_NUM}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Vendors["c"].Secret != "12345" {
		t.Errorf("secret = %q", c.Vendors["c"].Secret)
	}
}

func TestWorkerRetryDefaults(t *testing.T) {
	c, err := Parse([]byte("redis: {url: redis://x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Worker
	if w.MaxRetry != 8 || w.MaxRetryAfter.D() != 5*time.Minute || w.UnknownGrace.D() != 10*time.Minute {
		t.Errorf("defaults: maxRetry %d maxRetryAfter %v unknownGrace %v", w.MaxRetry, w.MaxRetryAfter.D(), w.UnknownGrace.D())
	}
	c, err = Parse([]byte("redis: {url: redis://x}\nworker: {maxRetryAfter: 30s, unknownGrace: 1m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Worker.MaxRetryAfter.D() != 30*time.Second || c.Worker.UnknownGrace.D() != time.Minute {
		t.Errorf("set: %+v", c.Worker)
	}
}

// Plain http:// would send the vendor secret in clear to every hop: it is
// accepted for loopback hosts only, unless the vendor says insecure: true.
func TestPlainHTTPVendorURLOnlyOnLoopbackOrInsecure(t *testing.T) {
	vendor := func(url, extra string) string {
		return "redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: '" + url + "'" + extra + "}\n"
	}
	for _, tc := range []struct {
		url, extra string
		ok         bool
	}{
		{"https://clova.example/custom/v1/1/a", "", true},
		{"http://127.0.0.1:8089/clova-ocr", "", true},
		{"http://localhost:8089/clova-ocr", "", true},
		{"http://[::1]:8089/clova-ocr", "", true},
		{"http://emulator:8090/clova-ocr", "", false},
		{"http://10.0.0.7/clova-ocr", "", false},
		{"http://127.0.0.1.nip.io/clova-ocr", "", false},
		{"http://emulator:8090/clova-ocr", ", insecure: true", true},
		{"http://emulator:8090/clova-ocr", ", insecure: false", false},
	} {
		_, err := Parse([]byte(vendor(tc.url, tc.extra)))
		if tc.ok && err != nil {
			t.Errorf("%s%s: %v", tc.url, tc.extra, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "vendors.clova.url:") || !strings.Contains(err.Error(), "insecure")) {
			t.Errorf("%s%s: err = %v; want a vendors.clova.url error that names insecure", tc.url, tc.extra, err)
		}
	}
}

// A kind's own options are its driver's: their errors and defaults keep
// the keys and messages the file always had.
func TestVendorOptionsThroughTheirDriver(t *testing.T) {
	for _, tc := range []struct{ name, vendor, key, msg string }{
		{"ekyc bad mode", "{kind: clova-ekyc, url: https://x, mode: xml}", "vendors.v.mode", `"xml": want multipart or json`},
		{"threshold over 1", "{kind: clova-ekyc, url: https://x, matchThreshold: 1.5}", "vendors.v.matchThreshold", "must be between 0 and 1"},
		{"negative threshold", "{kind: clova-ekyc, url: https://x, matchThreshold: -0.1}", "vendors.v.matchThreshold", "must be between 0 and 1"},
		{"unknown kind", "{kind: tesseract, url: https://x}", "vendors.v.kind", `unknown kind "tesseract" (want clova-ocr, clova-ekyc or nhn-ocr)`},
		{"key of no kind", "{kind: nhn-ocr, url: https://x, appKee: k}", "vendors.v.appKee", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("redis: {url: redis://x}\nvendors:\n  v: " + tc.vendor + "\n"))
			if err == nil || err.Error() != "config: "+tc.key+": "+tc.msg {
				t.Errorf("err = %v; want config: %s: %s", err, tc.key, tc.msg)
			}
		})
	}
}

// A key of another kind has no effect, but a file holding one loaded
// before the options moved to the drivers, so it still loads.
func TestKeyOfAnotherKindStillLoads(t *testing.T) {
	c, err := Parse([]byte("redis: {url: redis://x}\nvendors:\n  c: {kind: clova-ocr, url: https://x, mode: json, appKey: k, verify: true, matchThreshold: 0.5, keyRefresh: 2h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := c.Vendors["c"].Options.(*clovaocr.Config); !ok || o.Mode != "json" {
		t.Errorf("options = %#v", c.Vendors["c"].Options)
	}
}

func TestMissingAppKeyNamed(t *testing.T) {
	c, err := Parse([]byte("redis: {url: redis://x}\nvendors:\n  n: {kind: nhn-ocr, url: https://x, secret: s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateSecrets(); err == nil || err.Error() != "config: vendors.n.appKey: missing (is its environment variable set?)" {
		t.Errorf("err = %v", err)
	}
}

// A driver's option may not take a key every vendor block has: the block
// is decoded into both.
func TestDriverOptionsDoNotShadowCommonKeys(t *testing.T) {
	common := yamlFields(typeOfVendor)
	for _, d := range vendorset.Drivers {
		opts := d.Options()
		rt := reflect.TypeOf(opts)
		if rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
			t.Errorf("%s: Options() is %T, want a pointer to a struct", d.Kind, opts)
			continue
		}
		for k := range yamlFields(rt.Elem()) {
			if _, ok := common[k]; ok {
				t.Errorf("%s: option %q is a common vendor key", d.Kind, k)
			}
		}
	}
}

func TestRateLimitModesAndBudget(t *testing.T) {
	c, err := Parse([]byte(`redis: {url: redis://x}
vendors:
  none: {kind: clova-ocr, url: https://x}
  off: {kind: clova-ocr, url: https://x, rateLimit: {adaptive: false}}
  exact: {kind: clova-ocr, url: https://x, rateLimit: {rps: 10, concurrent: 6}}
  inflight: {kind: clova-ocr, url: https://x, rateLimit: {concurrent: 6}}
  ceiling: {kind: clova-ocr, url: https://x, rateLimit: {rps: 10, adaptive: true}, budget: {calls: 1000, per: month, timezone: Asia/Seoul}}
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"none": true, "off": false, "exact": false, "inflight": false, "ceiling": true} {
		if got := c.Vendors[name].RateLimit.IsAdaptive(); got != want {
			t.Errorf("%s: adaptive = %v, want %v", name, got, want)
		}
	}
	if got := c.Vendors["exact"].RateLimit; got.Concurrent != 6 || got.Burst != 10 {
		t.Errorf("exact: %+v", got)
	}
	if _, ok := c.Vendors["none"].Budget.Spec(); ok {
		t.Error("a vendor without budget has one")
	}
	spec, ok := c.Vendors["ceiling"].Budget.Spec()
	if !ok || spec.Calls != 1000 || spec.Per != "month" || spec.Location.String() != "Asia/Seoul" {
		t.Errorf("budget = %+v, %v", spec, ok)
	}
}
