package config

import (
	"strings"
	"testing"
)

func TestPageSettingsDefaults(t *testing.T) {
	c, err := Parse([]byte("redis: {url: redis://x}\ntypes:\n  biz-license: {pages: first}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TypeFor("receipt"); got.Pages != PagesEach || got.MaxPages != TypeMaxPagesDefault {
		t.Errorf("unnamed type: %+v", got)
	}
	if got := c.TypeFor("biz-license"); got.Pages != PagesFirst || got.MaxPages != 50 {
		t.Errorf("biz-license: %+v", got)
	}
	if c.Types["biz-license"].MaxPages != 50 {
		t.Errorf("defaults not filled in the parsed block: %+v", c.Types["biz-license"])
	}
	w := c.Worker
	if w.MaxSourceBytes != 256<<20 || w.DecodeBudget != 512<<20 || w.MaxPixels != 100_000_000 {
		t.Errorf("worker limits: %d %d %d", w.MaxSourceBytes, w.DecodeBudget, w.MaxPixels)
	}
	c, err = Parse([]byte("redis: {url: redis://x}\nworker: {maxSourceBytes: 33554432, decodeBudget: 1048576, maxPixels: 1000}\ntypes:\n  receipt: {pages: each, maxPages: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s, b, p := c.PageLimits(); s != 32<<20 || b != 1<<20 || p != 1000 || c.TypeFor("receipt").MaxPages != 3 {
		t.Errorf("set values: %d %d %d %+v", s, b, p, c.TypeFor("receipt"))
	}
	var none *Config
	if s, _, _ := none.PageLimits(); s != WorkerMaxSourceBytesDefault || none.TypeFor("receipt").MaxPages != 50 {
		t.Error("a nil config must give the defaults")
	}
}

func TestPageSettingsErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, key string }{
		{"types:\n  receipts: {pages: each}", "types.receipts"},
		{"types:\n  receipt: {pages: all}", "types.receipt.pages"},
		{"types:\n  receipt: {maxPages: -1}", "types.receipt.maxPages"},
		{"types:\n  receipt: {maxPages: 100000}", "types.receipt.maxPages"},
		{"types:\n  receipt: {page: each}", "types.receipt.page"},
		{"types:\n  receipt:", "types.receipt"},
		{"worker: {maxSourceBytes: -1}", "worker.maxSourceBytes"},
		{"worker: {maxSourceBytes: 1000}", "worker.maxSourceBytes"}, // below maxImageBytes
		{"worker: {decodeBudget: -5}", "worker.decodeBudget"},
		{"worker: {maxPixels: -5}", "worker.maxPixels"},
	} {
		_, err := Parse([]byte("redis: {url: redis://x}\n" + tc.yaml + "\n"))
		if err == nil || !strings.Contains(err.Error(), "config: "+tc.key+":") {
			t.Errorf("%q: error %v, want one naming %s", tc.yaml, err, tc.key)
		}
	}
}
