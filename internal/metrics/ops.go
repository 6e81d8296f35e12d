package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readyTimeout bounds one readiness check so a hung Redis or store makes the
// probe fail instead of piling up probe requests.
const readyTimeout = 3 * time.Second

// OpsHandler serves the operational endpoints every long-running process
// exposes (the worker on worker.metricsAddr, the dashboard beside its UI):
//
//	GET /metrics  Prometheus text format from g
//	GET /healthz  200 while the process serves HTTP (liveness)
//	GET /readyz   200 when ready() succeeds, else 503 (readiness: Redis and storage reachable)
//
// ready may be nil (always ready). It lives here rather than in the
// dashboard package so the worker gets it without linking the dashboard UI.
func OpsHandler(g prometheus.Gatherer, ready func(ctx context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
