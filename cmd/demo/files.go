package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
)

// runFiles is the default variant: a folder in, a folder out, `producer
// run` doing the work. It builds only what it runs (no worker binary) and
// starts no MinIO.
func (d *demo) runFiles(ctx context.Context) error {
	o := d.o
	if err := d.prepare(); err != nil {
		return err
	}
	d.step("building producer, emulator and dashboard into %s", rel(filepath.Join(o.dir, "bin")))
	if _, err := stack.BuildOnly(filepath.Join(o.dir, "bin"), "producer", "emulator", "dashboard"); err != nil {
		return err
	}
	d.step("starting redis-server and the vendor emulator on free loopback ports")
	stackDir := filepath.Join(o.dir, "stack")
	if err := os.MkdirAll(stackDir, 0o755); err != nil {
		return err
	}
	s, err := stack.New(ctx, stackDir, stack.Options{Files: true})
	d.s = s
	if err != nil {
		return err
	}
	root := s.FileRoot
	in, out := "file://"+root+"/inbox/", "file://"+root+"/results/"
	d.step("copying %d sample documents into %s/inbox/ (storage.fileRoot: %s)", len(d.files), rel(root), rel(root))
	for _, key := range sortedKeys(d.files) {
		dst := filepath.Join(root, "inbox", filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, d.files[key], 0o644); err != nil {
			return err
		}
	}

	dashAddr, err := freeAddr()
	if err != nil {
		return err
	}
	d.step("starting the dashboard")
	if _, err := s.Start("dashboard", "--addr", dashAddr); err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+dashAddr+"/readyz", 30*time.Second); err != nil {
		return err
	}

	manifest := filepath.Join(o.dir, "manifest.jsonl")
	if err := d.writeFileManifest(manifest, in); err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	d.batches = []string{"demo-receipts-" + stamp, "demo-mixed-" + stamp}
	d.step("processing a folder, then a manifest of every other type, with producer run (config: %s)", rel(s.ConfigPath))
	start := time.Now()
	for i, args := range [][]string{
		{"run", "--type", "receipt", "--out", out, "--batch", d.batches[0], in + "receipts/"},
		{"run", "--out", out, "--batch", d.batches[1], "@" + rel(manifest)},
	} {
		// The manifest holds a sample made to fail: its run exits 1.
		if err := d.producerRun(ctx, i == 1, args...); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)

	fst, err := file.New(file.Options{Root: root})
	if err != nil {
		return err
	}
	defer fst.Close()
	results, err := d.download(ctx, fst.Bucket(root), "results/inbox/") // a result lies at OUT/KEY.json, KEY the path below the root
	if err != nil {
		return err
	}
	problems := d.report(results, in, out+"inbox/", out)
	dashURL := "http://" + dashAddr + "/"
	if stop, err := d.summarize(results, problems, elapsed, dashURL); stop || err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nTry it on the same folder:  source %s && %s run --type receipt --out %s %sreceipts/\n",
		rel(filepath.Join(o.dir, "env.sh")), rel(filepath.Join(s.Bin, "producer")), out, in)
	fmt.Fprintf(d.out, "dashboard at %s, press Ctrl-C to stop\n", dashURL)
	<-ctx.Done()
	fmt.Fprintln(d.out)
	return nil
}

// writeFileManifest lists every sample but the receipts (the folder run
// has them), each with its type and, where the type needs one, its vendor
// and face photo.
func (d *demo) writeFileManifest(path, in string) error {
	var buf bytes.Buffer
	for _, key := range sortedKeys(d.files) {
		line := map[string]any{"uri": in + key}
		dir, _, _ := strings.Cut(key, "/")
		switch dir {
		case "receipts":
			continue
		case "face-compare":
			if key == faceKey {
				continue
			}
			line["type"], line["faceImage"] = "face-compare", in+faceKey
		case "id-cards":
			line["type"], line["vendor"], line["verify"] = "id-card", "nhn", true
		case "credit-cards":
			line["type"], line["vendor"] = "credit-card", "nhn"
		case "bad":
			line["type"] = "receipt"
		default:
			line["type"] = strings.TrimSuffix(dir, "s") // name-cards, passports, biz-licenses, medical-receipts
		}
		b, _ := json.Marshal(line)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// producerRun runs `producer run`, echoing the command and its summary as
// a user would see them. mayFail: exit 1 (some document failed) is what
// the samples are made for; the results are checked afterwards.
func (d *demo) producerRun(ctx context.Context, mayFail bool, args ...string) error {
	fmt.Fprintf(d.out, "$ producer %s\n", strings.Join(args, " "))
	cctx, cancel := context.WithTimeout(ctx, d.o.timeout)
	defer cancel()
	stdout, stderr, code, err := d.s.Run(cctx, "producer", args...)
	if err == nil && code != 0 && !(mayFail && code == 1) {
		err = fmt.Errorf("producer exited with %d:\n%s", code, strings.TrimSpace(stderr))
	}
	if err != nil {
		return err
	}
	fmt.Fprint(d.out, stdout)
	return nil
}
