// Package producer turns sources (an object, a prefix, a manifest) into
// recognize tasks: it expands them, skips those with a current result, and
// enqueues the rest with deterministic IDs.
package producer

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// ManifestLine is one line of an @FILE manifest.
type ManifestLine struct {
	URI       string `json:"uri"`
	Type      string `json:"type"`
	Vendor    string `json:"vendor"`
	Out       string `json:"out"`
	Verify    *bool  `json:"verify"`
	FaceImage string `json:"faceImage"`
	PII       string `json:"pii"` // "full" or "masked"; honoured where the vendor allows (pii: per-task)
}

// Item is one source object to enqueue, before skip checks.
type Item struct {
	Task layout.Recognize
	// ETag/Known: what a listing said of the source, so the skip check
	// needs no HEAD of the source.
	ETag  string
	Known bool
	// Result: what the output listing said of the result (listed sources).
	Result resultState
}

// Defaults are the command-line values a manifest line may override.
type Defaults struct {
	Type, Vendor, Out, Batch, Face string
	Verify, Force, PII             bool
}

func (d Defaults) task(uri string) layout.Recognize {
	return layout.Recognize{V: layout.PayloadVersion, Source: uri, Face: d.Face, Type: d.Type, Vendor: d.Vendor,
		Out: d.Out, Batch: d.Batch, Verify: d.Verify, Force: d.Force, PII: d.PII}
}

// Expand calls fn for every object a source names. A prefix is listed page
// by page (no producer memory grows with its size).
func Expand(ctx context.Context, store storage.Store, src string, d Defaults, fn func(Item) error) error {
	if m, ok := strings.CutPrefix(src, "@"); ok {
		return expandManifest(m, d, fn)
	}
	u, err := storage.ParseURI(src)
	if err != nil {
		return err
	}
	if !u.IsPrefix() {
		return fn(Item{Task: d.task(u.String())})
	}
	// Output that lies in the listing (the reserved area, an output prefix
	// inside this one) is skipped by key: it is no source.
	skip := layout.Reserved
	if out, err := layout.OutPrefix(d.Out); err == nil && d.Out != "" {
		skip, _ = layout.OutputSkip(u.Key, out.Key, out.Bucket == u.Bucket)
	}
	return store.Bucket(u.Bucket).List(ctx, u.Key, "", func(o storage.ObjectInfo) error {
		if strings.HasSuffix(o.Key, "/") || skip(o.Key) {
			return nil // a "folder" marker object or output, not a document
		}
		return fn(Item{Task: d.task(storage.URI{Bucket: u.Bucket, Key: o.Key}.String()), ETag: o.ETag, Known: true})
	})
}

func expandManifest(path string, d Defaults, fn func(Item) error) error {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var m ManifestLine
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("manifest %s line %d: %v", path, n, err)
		}
		if m.URI == "" {
			return fmt.Errorf("manifest %s line %d: missing \"uri\"", path, n)
		}
		t := d.task(m.URI)
		if m.Type != "" {
			t.Type = m.Type
		}
		if m.Vendor != "" {
			t.Vendor = m.Vendor
		}
		if m.Out != "" {
			t.Out = m.Out
		}
		if m.Verify != nil {
			t.Verify = *m.Verify
		}
		if m.FaceImage != "" {
			t.Face = m.FaceImage
		}
		switch m.PII {
		case "":
		case "full":
			t.PII = true
		case "masked":
			t.PII = false
		default:
			return fmt.Errorf("manifest %s line %d: \"pii\": %q, want full or masked", path, n, m.PII)
		}
		if t.Type == "" {
			return fmt.Errorf("manifest %s line %d: no \"type\" and no --type", path, n)
		}
		if t.Out == "" {
			return fmt.Errorf("manifest %s line %d: no \"out\" and no --out", path, n)
		}
		if err := fn(Item{Task: t}); err != nil {
			return fmt.Errorf("manifest %s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("manifest %s: %w", path, err)
	}
	return nil
}
