package ratelimit

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ocrbatch/ocrworker/internal/adapt"
)

// Metrics are the limiter's Prometheus series, labelled by vendor account.
// A nil *Metrics records nothing.
type Metrics struct {
	Wait       *prometheus.HistogramVec // seconds a granted Acquire waited
	Throttles  *prometheus.CounterVec   // vendor throttle answers reported
	RateFactor *prometheus.GaugeVec     // current shared rate factor (1 = configured rps)
	Halted     *prometheus.GaugeVec     // 1 while this process sees the vendor halted
	Halts      *prometheus.CounterVec   // halts started by this process, by reason
	// Adapt: the learned limits, throttles seen and the budget left
	// ([VendorGate]).
	Adapt *adapt.Metrics
}

// NewMetrics creates the series and registers them with reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ocr_ratelimit_wait_seconds",
			Help:    "Time a vendor call waited for its rate-limit slot.",
			Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"vendor"}),
		Throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ocr_ratelimit_throttles_total",
			Help: "Vendor answers that said too many calls.",
		}, []string{"vendor"}),
		RateFactor: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocr_ratelimit_rate_factor",
			Help: "Share of the configured rps currently allowed after throttling (1 = full).",
		}, []string{"vendor"}),
		Halted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocr_vendor_halted",
			Help: "1 while calls to the vendor are halted (quota used up, credentials rejected).",
		}, []string{"vendor"}),
		Halts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ocr_vendor_halts_total",
			Help: "Vendor halts started by this process.",
		}, []string{"vendor", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.Wait, m.Throttles, m.RateFactor, m.Halted, m.Halts)
	}
	m.Adapt = adapt.NewMetrics(reg)
	return m
}

func (m *Metrics) observeWait(vendor string, seconds float64) {
	if m != nil {
		m.Wait.WithLabelValues(vendor).Observe(seconds)
	}
}

func (m *Metrics) throttled(vendor string, factor float64) {
	if m != nil {
		m.Throttles.WithLabelValues(vendor).Inc()
		m.RateFactor.WithLabelValues(vendor).Set(factor)
	}
}

func (m *Metrics) factor(vendor string, factor float64) {
	if m != nil {
		m.RateFactor.WithLabelValues(vendor).Set(factor)
	}
}

func (m *Metrics) halted(vendor string, on bool) {
	if m != nil {
		v := 0.0
		if on {
			v = 1
		}
		m.Halted.WithLabelValues(vendor).Set(v)
	}
}

func (m *Metrics) haltStarted(vendor, reason string) {
	if m != nil {
		m.Halts.WithLabelValues(vendor, reason).Inc()
	}
}
