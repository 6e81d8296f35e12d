// Package producer turns sources (an object, a prefix, a manifest) into
// recognize tasks: it expands them, skips those with a current result, and
// enqueues the rest with deterministic IDs.
package producer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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
	return listPrefix(ctx, store, u, "", d, func(it Item, _ string) error { return fn(it) })
}

// listPrefix lists the objects under prefix u after the key after ("": from
// the start), calling fn with each item and its key.
func listPrefix(ctx context.Context, store storage.Store, u storage.URI, after string, d Defaults, fn func(Item, string) error) error {
	// Output that lies in the listing (the reserved area, an output prefix
	// inside this one) is skipped by key: it is no source.
	skip := layout.Reserved
	if out, err := layout.OutPrefix(d.Out); err == nil && d.Out != "" {
		skip, _ = layout.OutputSkip(u.Key, out.Key, out.Bucket == u.Bucket)
	}
	return store.Bucket(u.Bucket).List(ctx, u.Key, after, func(o storage.ObjectInfo) error {
		if strings.HasSuffix(o.Key, "/") || skip(o.Key) {
			return nil // a "folder" marker object or output, not a document
		}
		return fn(Item{Task: d.task(storage.URI{Bucket: u.Bucket, Key: o.Key}.String()), ETag: o.ETag, Known: true}, o.Key)
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
		it, ok, err := parseManifestLine(sc.Text(), d)
		if err != nil {
			return fmt.Errorf("manifest %s line %d: %v", path, n, err)
		}
		if !ok {
			continue
		}
		if err := fn(it); err != nil {
			return fmt.Errorf("manifest %s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("manifest %s: %w", path, err)
	}
	return nil
}

// parseManifestLine reads one manifest line over the defaults d; ok is
// false for a blank line or a comment.
func parseManifestLine(line string, d Defaults) (it Item, ok bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return Item{}, false, nil
	}
	var m ManifestLine
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Item{}, false, err
	}
	if m.URI == "" {
		return Item{}, false, errors.New(`missing "uri"`)
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
		return Item{}, false, fmt.Errorf(`"pii": %q, want full or masked`, m.PII)
	}
	if t.Type == "" {
		return Item{}, false, errors.New(`no "type" and no --type`)
	}
	if t.Out == "" {
		return Item{}, false, errors.New(`no "out" and no --out`)
	}
	return Item{Task: t}, true, nil
}
