package adapt

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the learned limits and the budget, labelled by vendor only
// (never a secret or a document). A nil *Metrics records nothing.
type Metrics struct {
	LearnedRPS      *prometheus.GaugeVec   // learned rate, calls/s
	LearnedInFlight *prometheus.GaugeVec   // learned calls in flight
	Throttles       *prometheus.CounterVec // vendor throttle answers seen by this process
	BudgetLeft      *prometheus.GaugeVec   // calls left of the budget this period
	BudgetCalls     *prometheus.GaugeVec   // the budget, so an alert can take left/calls < 0.2
}

// NewMetrics creates the series and registers them with reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	v := []string{"vendor"}
	m := &Metrics{
		LearnedRPS: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocr_vendor_learned_rps", Help: "The fleet's learned rate limit of the vendor, calls per second.",
		}, v),
		LearnedInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocr_vendor_learned_inflight", Help: "The fleet's learned limit on calls in flight to the vendor.",
		}, v),
		Throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ocr_vendor_throttles_total", Help: "Vendor answers that said too many calls, seen by this process.",
		}, v),
		BudgetLeft: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocr_vendor_budget_left", Help: "Vendor calls left of the budget in the current period.",
		}, v),
		BudgetCalls: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ocr_vendor_budget_calls", Help: "Vendor calls the budget allows per period.",
		}, v),
	}
	if reg != nil {
		reg.MustRegister(m.LearnedRPS, m.LearnedInFlight, m.Throttles, m.BudgetLeft, m.BudgetCalls)
	}
	return m
}

// Learned records a fleet state (use as Fleet.OnSync).
func (m *Metrics) Learned(vendor string, s State) {
	if m != nil {
		m.LearnedRPS.WithLabelValues(vendor).Set(s.RPS)
		m.LearnedInFlight.WithLabelValues(vendor).Set(float64(s.InFlight))
	}
}

// Throttled counts one throttle answer.
func (m *Metrics) Throttled(vendor string) {
	if m != nil {
		m.Throttles.WithLabelValues(vendor).Inc()
	}
}

// Budget records the budget's state (after Budget.Record or Status).
func (m *Metrics) Budget(vendor string, calls, left int64) {
	if m != nil {
		m.BudgetCalls.WithLabelValues(vendor).Set(float64(calls))
		m.BudgetLeft.WithLabelValues(vendor).Set(float64(left))
	}
}
