package main

import (
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/dashboard"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// batchOptions gives the batch pages the worker's store (result JSON of
// failures) and the configured vendor accounts (their state, resume).
func batchOptions(cfg *config.Config, store storage.Store) dashboard.BatchOptions {
	o := dashboard.BatchOptions{Store: store, MaxRetryAfter: cfg.Worker.MaxRetryAfter.D()}
	for name, v := range cfg.Vendors {
		o.Vendors = append(o.Vendors, dashboard.VendorLimit{Name: name, RPS: v.RateLimit.RPS, Burst: v.RateLimit.Burst})
	}
	return o
}
