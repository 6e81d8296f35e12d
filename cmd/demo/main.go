// Command demo runs the real pipeline end to end on a local stack
// (internal/stack, the same machinery the end-to-end tests use), on free
// loopback ports, with the bundled sample documents (package samples).
//
// By default it runs on file storage, as a user with a folder of scans
// would: redis-server, the vendor emulator and the dashboard, the samples
// copied into a folder, and `producer run` (enqueue, process in the
// producer, wait) on it; no MinIO, no worker binary to build. With --s3 it
// starts MinIO and a worker, uploads the samples, enqueues with `producer
// enqueue` and follows the batch, as a deployment on S3 works. Either way
// every result is copied into .demo/results/ and checked, and the summary
// and the dashboard's address are printed.
//
//	go run ./cmd/demo [--s3] [--keep] [--dir .demo] [--timeout 3m]
//
// With a terminal on stdin it keeps the stack running until Ctrl-C, so the
// dashboard and MinIO can be explored; otherwise (CI, scripts) it stops
// everything and exits: 0 when every sample has its expected result, 1 when
// a result is missing or not what the sample was made for.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testenv"
	"github.com/ocrbatch/ocrworker/samples"
)

// Buckets the demo creates.
const (
	inbox   = "demo-inbox"
	outbox  = "demo-results"
	outURI  = "s3://" + outbox + "/"
	faceKey = "face-compare/selfie.jpg" // the second image of the pair: no result of its own
)

// failing lists the samples made to fail, with the result-v1 code they must get.
var failing = map[string]string{"bad/corrupt.jpg": "invalid_image"}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	dir     string
	keep    bool
	s3      bool
	timeout time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	root := testenv.ModuleRoot()
	if root == "" {
		fmt.Fprintln(stderr, "demo: run it from inside the repository (no go.mod found)")
		return 1
	}
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", filepath.Join(root, ".demo"), "where the demo keeps binaries, data, logs and results")
	fs.BoolVar(&o.keep, "keep", isatty.IsTerminal(os.Stdin.Fd()), "keep the stack running until Ctrl-C (default: when stdin is a terminal)")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "how long to wait for the batch")
	fs.BoolVar(&o.s3, "s3", false, "run on MinIO (S3) with a worker process instead of on file storage with producer run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d := &demo{o: o, out: stdout, errOut: stderr}
	run := d.runFiles
	if o.s3 {
		run = d.run
	}
	err := run(ctx)
	if d.s != nil {
		fmt.Fprintln(d.out, "stopping the stack")
		d.s.Close()
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		if d.s != nil {
			fmt.Fprintf(stderr, "process logs are in %s\n", d.s.Dir)
		}
		return 1
	}
	return 0
}

type demo struct {
	o      options
	out    io.Writer
	errOut io.Writer
	s      *stack.Stack
	batch  string
	// batches: the file variant's runs (one batch each); the S3 variant has one batch.
	batches []string
	files   map[string][]byte // sample path (= source key) -> bytes
}

// result is the part of a result envelope the demo reports on.
type result struct {
	Status       string `json:"status"`
	DocumentType string `json:"documentType"`
	Vendor       struct {
		Name     string `json:"name"`
		Endpoint string `json:"endpoint"`
	} `json:"vendor"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "==> "+format+"\n", args...)
}

// run is the S3 variant (--s3).
func (d *demo) run(ctx context.Context) error {
	o := d.o
	if err := d.prepare(); err != nil {
		return err
	}

	d.step("building producer, worker, emulator and dashboard into %s", rel(filepath.Join(o.dir, "bin")))
	if _, err := stack.Build(filepath.Join(o.dir, "bin")); err != nil {
		return err
	}
	d.step("starting redis-server, MinIO and the vendor emulator on free loopback ports")
	stackDir := filepath.Join(o.dir, "stack")
	if err := os.MkdirAll(stackDir, 0o755); err != nil {
		return err
	}
	s, err := stack.New(ctx, stackDir, stack.Options{})
	d.s = s
	if err != nil {
		return err
	}

	d.step("uploading %d sample documents to s3://%s/", len(d.files), inbox)
	if err := d.upload(ctx); err != nil {
		return err
	}

	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	dashAddr, err := freeAddr()
	if err != nil {
		return err
	}
	d.step("starting a worker (metrics on %s) and the dashboard", metricsAddr)
	if _, err := s.StartWorker("--concurrency", "8", "--metrics-addr", metricsAddr); err != nil {
		return err
	}
	if _, err := s.Start("dashboard", "--addr", dashAddr); err != nil {
		return err
	}
	for _, u := range []string{"http://" + metricsAddr + "/readyz", "http://" + dashAddr + "/readyz"} {
		if err := waitHTTP(ctx, u, 30*time.Second); err != nil {
			return err
		}
	}

	manifest := filepath.Join(o.dir, "manifest.jsonl")
	if err := d.writeManifest(manifest); err != nil {
		return err
	}
	d.batch = "demo-" + time.Now().UTC().Format("20060102-150405")
	b := []string{"--out", outURI, "--batch", d.batch}
	in := "s3://" + inbox + "/"
	d.step("enqueueing batch %s (config: %s)", d.batch, rel(s.ConfigPath))
	start := time.Now()
	for _, cmd := range [][]string{
		append([]string{"enqueue", "--type", "receipt"}, append(b, in+"receipts/")...),
		append([]string{"enqueue", "--type", "biz-license"}, append(b, in+"biz-licenses/")...),
		append([]string{"enqueue", "--type", "id-card", "--vendor", "nhn", "--verify"}, append(b, in+"id-cards/")...),
		append([]string{"enqueue", "--type", "credit-card", "--vendor", "nhn"}, append(b, in+"credit-cards/")...),
		append([]string{"enqueue", "--type", "face-compare", "--face", in + faceKey}, append(b, in+"face-compare/id-card.jpg")...),
		append([]string{"enqueue"}, append(b, "@"+rel(manifest))...),
	} {
		if err := d.producer(ctx, cmd...); err != nil {
			return err
		}
	}

	d.step("waiting for the batch: producer status --follow %s", d.batch)
	if err := d.follow(ctx); err != nil {
		return err
	}
	elapsed := time.Since(start)

	results, err := d.download(ctx, d.s.Store.Bucket(outbox), "")
	if err != nil {
		return err
	}
	problems := d.report(results, "s3://"+inbox+"/", outURI, outURI)
	dashURL := "http://" + dashAddr + "/"
	if stop, err := d.summarize(results, problems, elapsed, dashURL); stop || err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nTry the CLI against this stack:  source %s && %s batches\n",
		rel(filepath.Join(o.dir, "env.sh")), rel(filepath.Join(s.Bin, "producer")))
	fmt.Fprintf(d.out, "worker metrics at http://%s/metrics\n", metricsAddr)
	fmt.Fprintf(d.out, "dashboard at %s, press Ctrl-C to stop\n", dashURL)
	<-ctx.Done()
	fmt.Fprintln(d.out)
	return nil
}

// prepare starts a fresh run (binaries stay: go build caches anyway) and
// loads the samples.
func (d *demo) prepare() error {
	for _, p := range []string{"stack", "results", "manifest.jsonl", "env.sh"} {
		if err := os.RemoveAll(filepath.Join(d.o.dir, p)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(d.o.dir, "bin"), 0o755); err != nil {
		return err
	}
	return d.loadSamples()
}

func (d *demo) loadSamples() error {
	d.files = map[string][]byte{}
	return fs.WalkDir(samples.FS, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := samples.FS.ReadFile(p)
		d.files[p] = b
		return err
	})
}

func (d *demo) upload(ctx context.Context) error {
	for _, name := range []string{inbox, outbox} {
		if err := d.s.Store.CreateBucket(ctx, name); err != nil {
			return err
		}
	}
	bk := d.s.Store.Bucket(inbox)
	for _, key := range sortedKeys(d.files) {
		data := d.files[key]
		if _, err := bk.Put(ctx, key, bytes.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
			return fmt.Errorf("upload %s: %w", key, err)
		}
	}
	return nil
}

// writeManifest lists the documents enqueued from a JSONL manifest: a
// mix of types in one file, and the corrupt sample.
func (d *demo) writeManifest(path string) error { return d.writeManifestUnder(path, "s3://"+inbox+"/") }

func (d *demo) writeManifestUnder(path, in string) error {
	var buf bytes.Buffer
	for _, key := range sortedKeys(d.files) {
		typ := ""
		switch {
		case strings.HasPrefix(key, "name-cards/"):
			typ = "name-card"
		case strings.HasPrefix(key, "passports/"):
			typ = "passport"
		case strings.HasPrefix(key, "medical-receipts/"):
			typ = "medical-receipt"
		case strings.HasPrefix(key, "bad/"):
			typ = "receipt"
		default:
			continue
		}
		line, _ := json.Marshal(map[string]string{"uri": in + key, "type": typ})
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// producer runs the producer binary, echoing the command line and its
// summary line as a user would see them.
func (d *demo) producer(ctx context.Context, args ...string) error {
	fmt.Fprintf(d.out, "$ producer %s\n", strings.Join(args, " "))
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	stdout, stderr, code, err := d.s.Run(cctx, "producer", args...)
	if err == nil && code != 0 {
		err = fmt.Errorf("producer exited with %d:\n%s", code, strings.TrimSpace(stderr))
	}
	if err != nil {
		return err
	}
	fmt.Fprint(d.out, stdout)
	return nil
}

// follow runs `producer status --follow` until the batch is done; its
// progress bar is shown only on a terminal.
func (d *demo) follow(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, d.o.timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, filepath.Join(d.s.Bin, "producer"), "status", "--follow", d.batch)
	cmd.Env = d.s.Env()
	var errBuf bytes.Buffer
	cmd.Stdout = d.out
	cmd.Stderr = &errBuf
	if f, ok := d.errOut.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		cmd.Stderr = f
	}
	if err := cmd.Run(); err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("batch %s not done after %s", d.batch, d.o.timeout)
		}
		return fmt.Errorf("producer status --follow: %v %s", err, strings.TrimSpace(errBuf.String()))
	}
	return nil
}

// download copies every object under prefix of the output bucket into
// dir/results and decodes the results (not the batch summaries), by key
// below prefix.
func (d *demo) download(ctx context.Context, bk storage.Bucket, prefix string) (map[string]result, error) {
	local := filepath.Join(d.o.dir, "results")
	results := map[string]result{}
	err := bk.List(ctx, prefix, "", func(info storage.ObjectInfo) error {
		key := strings.TrimPrefix(info.Key, prefix)
		rc, _, err := bk.Get(ctx, info.Key)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		dst := filepath.Join(local, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
		if layout.Reserved(key) {
			return nil // raw copies and the batch summary, not results
		}
		var r result
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s is not a result: %w", key, err)
		}
		results[strings.TrimSuffix(key, ".json")] = r
		return nil
	})
	return results, err
}

// report prints one line per sample and where the results are, and returns
// what is missing or unexpected.
// Results lie under outURI by their key; summaries under summaryURI (the
// output prefix itself).
func (d *demo) report(results map[string]result, inURI, outURI, summaryURI string) []string {
	var problems []string
	fmt.Fprintf(d.out, "\nResults in %s (copied to %s/):\n", outURI, rel(filepath.Join(d.o.dir, "results")))
	for _, key := range sortedKeys(d.files) {
		if key == faceKey {
			continue
		}
		r, ok := results[key]
		if !ok {
			problems = append(problems, "no result for "+inURI+key)
			fmt.Fprintf(d.out, "  %-46s MISSING\n", key+".json")
			continue
		}
		detail := r.Vendor.Name + " " + r.Vendor.Endpoint
		if r.Error != nil {
			detail = r.Error.Code + ": " + r.Error.Message
		}
		fmt.Fprintf(d.out, "  %-46s %-16s %-9s %s\n", key+".json", r.DocumentType, r.Status, detail)
		want, wantCode := "succeeded", ""
		if c, bad := failing[key]; bad {
			want, wantCode = "failed", c
		}
		got := ""
		if r.Error != nil {
			got = r.Error.Code
		}
		if r.Status != want || got != wantCode {
			problems = append(problems, fmt.Sprintf("%s: status %s %s, want %s %s", key, r.Status, got, want, wantCode))
		}
	}
	for _, b := range append(d.batches, d.batch) {
		if b != "" {
			fmt.Fprintf(d.out, "  batch summary: %s%s\n", summaryURI, layout.SummaryKey("", b))
		}
	}
	if m := d.s.MinIO; m != nil {
		fmt.Fprintf(d.out, "\nBrowse them in MinIO (S3 API, local demo credentials):\n")
		fmt.Fprintf(d.out, "  endpoint %s  access key %s  secret key %s\n", m.Endpoint, m.AccessKey, m.SecretKey)
		fmt.Fprintf(d.out, "  AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s aws --endpoint-url %s s3 ls --recursive %s\n",
			m.AccessKey, m.SecretKey, m.Endpoint, outURI)
	}

	const example = "id-cards/id-card-1.jpg"
	if b, err := os.ReadFile(filepath.Join(d.o.dir, "results", example+".json")); err == nil {
		fmt.Fprintf(d.out, "\nExample: %s%s.json (NHN, authenticity checked, personal number masked):\n%s\n",
			outURI, example, pretty(b))
	}
	return problems
}

// writeEnv writes a shell snippet that points the CLI at the running stack.
// It holds local, per-run demo credentials only, and is readable by the
// user alone.
// summarize prints the results summary and, unless the demo keeps running
// (--keep), where the dashboard was; stop says the demo is over.
func (d *demo) summarize(results map[string]result, problems []string, elapsed time.Duration, dashURL string) (stop bool, err error) {
	fmt.Fprintf(d.out, "\nsummary: %d documents, %d succeeded, %d failed, %.1f seconds\n",
		len(d.files)-1, count(results, "succeeded"), count(results, "failed"), elapsed.Seconds())
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(d.errOut, "demo: "+p)
		}
		return true, fmt.Errorf("%d of %d results missing or not as expected", len(problems), len(d.files)-1)
	}
	if !d.o.keep {
		fmt.Fprintf(d.out, "dashboard was at %s (stdin is not a terminal, so the demo does not wait; --keep keeps it running)\n", dashURL)
		return true, nil
	}
	return false, d.writeEnv()
}

func (d *demo) writeEnv() error {
	var b strings.Builder
	b.WriteString("# The running demo stack (local, per-run credentials). Usage: source .demo/env.sh\n")
	for _, kv := range d.s.Env()[len(os.Environ()):] {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s=%s\n", k, strconv.Quote(v))
	}
	return os.WriteFile(filepath.Join(d.o.dir, "env.sh"), []byte(b.String()), 0o600)
}

// Arrays of numbers, and arrays of such arrays (box polygons), once
// indented one element a line.
var (
	numArray   = regexp.MustCompile(`\[\s*(-?[0-9][0-9.eE+-]*(?:,\s*-?[0-9][0-9.eE+-]*)*)\s*\]`)
	arrayArray = regexp.MustCompile(`\[\s*(\[[^\[\]\n]*\](?:,\s*\[[^\[\]\n]*\])*)\s*\]`)
	space      = regexp.MustCompile(`\s+`)
)

// pretty indents a JSON document but keeps box polygons on one line, so an
// example result fits on a screen.
func pretty(b []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return string(b)
	}
	s := buf.String()
	compact := func(m string) string { return space.ReplaceAllString(m, "") }
	s = numArray.ReplaceAllStringFunc(s, compact)
	for {
		next := arrayArray.ReplaceAllStringFunc(s, compact)
		if next == s {
			return s
		}
		s = next
	}
}

// waitHTTP polls url until it answers 200.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s", url, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	p, err := testenv.FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

func count(results map[string]result, status string) int {
	n := 0
	for _, r := range results {
		if r.Status == status {
			n++
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// rel shortens a path under the working directory for display.
func rel(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
