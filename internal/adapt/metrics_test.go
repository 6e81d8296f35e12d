package adapt

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsHaveOnlyTheVendorLabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.Learned("clova", State{RPS: 19.5, InFlight: 6})
	m.Throttled("clova")
	m.Budget("clova", 1000, 150)
	var nilM *Metrics
	nilM.Learned("x", State{}) // a nil Metrics records nothing, without panicking
	if v := testutil.ToFloat64(m.LearnedRPS.WithLabelValues("clova")); v != 19.5 {
		t.Fatalf("learned rps %v", v)
	}
	if v := testutil.ToFloat64(m.LearnedInFlight.WithLabelValues("clova")); v != 6 {
		t.Fatalf("learned in flight %v", v)
	}
	if v := testutil.ToFloat64(m.BudgetLeft.WithLabelValues("clova")); v != 150 {
		t.Fatalf("budget left %v", v)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			if len(mt.GetLabel()) != 1 || mt.GetLabel()[0].GetName() != "vendor" {
				t.Fatalf("%s has labels %v, want vendor only", mf.GetName(), mt.GetLabel())
			}
		}
	}
}
