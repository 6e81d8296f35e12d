package normalize_test

import (
	"testing"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// FuzzScrubText: random text around a resident or card number in any of
// its spellings never keeps the number whole, and scrubbing twice changes
// nothing more.
func FuzzScrubText(f *testing.F) {
	for kind := range 18 {
		f.Add("주민 ", " 외래", uint8(kind), uint64(kind*7919))
	}
	f.Add("카드번호", "", uint8(1), uint64(5307))
	f.Add("12-", "-34", uint8(6), uint64(991231))
	f.Fuzz(func(t *testing.T, prefix, suffix string, kind uint8, seed uint64) {
		text, digits := vendortest.PIIText(prefix, suffix, kind, seed)
		out := normalize.ScrubText(text)
		if vendortest.HoldsWhole(out, digits) {
			t.Fatalf("ScrubText(%q) = %q holds %s", text, out, digits)
		}
		if again := normalize.ScrubText(out); again != out {
			t.Fatalf("not idempotent: %q -> %q", out, again)
		}
	})
}
