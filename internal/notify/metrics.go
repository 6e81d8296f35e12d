package notify

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the package's collectors. Labels are bounded enums: event (the
// three event names) and outcome (fixed codes below); never a URL, receiver,
// batch or source. A nil *Metrics records nothing.
type Metrics struct {
	attempts   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	dropped    prometheus.Counter
}

// Final outcomes of a delivery (ocr_notify_deliveries_total).
const (
	outcomeDelivered = "delivered"
	outcomeGaveUp    = "gave_up"   // failed for RetryWindow, or a URL the rules refuse
	outcomeDiscarded = "discarded" // its receiver or event is no longer configured
)

// NewMetrics creates the collectors and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ocr", Name: "notify_attempts_total",
			Help: "Webhook delivery attempts by event and outcome (ok, http_4xx, http_5xx, redirect, timeout, tls, network, refused_url).",
		}, []string{"event", "outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ocr", Name: "notify_deliveries_total",
			Help: "Webhook deliveries ended, by event and outcome (delivered, gave_up, discarded).",
		}, []string{"event", "outcome"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "ocr", Name: "notify_failures_dropped_total",
			Help: "document.failed entries left out of a delivery because one batch failed more than the per-minute cap.",
		}),
	}
	reg.MustRegister(m.attempts, m.deliveries, m.dropped)
	return m
}

func (m *Metrics) attempt(event, code string) {
	if m != nil {
		m.attempts.WithLabelValues(event, outcomeOf(code)).Inc()
	}
}

func (m *Metrics) ended(event, outcome string) {
	if m != nil {
		m.deliveries.WithLabelValues(event, outcome).Inc()
	}
}

func (m *Metrics) droppedFailure() {
	if m != nil {
		m.dropped.Inc()
	}
}
