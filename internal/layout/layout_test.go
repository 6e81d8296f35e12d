package layout

import "testing"

func TestKeysOfOneSourceNeverMeet(t *testing.T) {
	// The raw copy of docs/a and the result of docs/a.raw used to be one key.
	if RawKey("r/", "docs/a") == ResultKey("r/", "docs/a.raw") {
		t.Error("raw copy and another source's result share a key")
	}
	// A source named _batches/b1 and batch b1's summary.
	if SummaryKey("r/", "b1") == ResultKey("r/", "_batches/b1") {
		t.Error("summary and a source's result share a key")
	}
	for _, k := range []string{RawKey("r/", "docs/a"), SummaryKey("r/", "b1"), SummaryKey("", "b1")} {
		if !Reserved(k) {
			t.Errorf("%s is not in the reserved area", k)
		}
	}
	for _, k := range []string{"r/docs/a.json", "r/_batches/b.json", "r/x_ocr/a", "r/_ocrx/a"} {
		if Reserved(k) {
			t.Errorf("%s taken for reserved", k)
		}
	}
}

func TestOwnership(t *testing.T) {
	a, b := Owner("s3://a/k"), Owner("s3://b/k")
	meta := ResultMeta(a, `"e1"`, "succeeded", "", "")
	switch {
	case a == b:
		t.Fatal("two sources, one owner")
	case !OwnedBy(meta, a) || OwnedBy(meta, b):
		t.Error("owner not told apart")
	case !ResultCurrent(meta, a, `"e1"`, "") || ResultCurrent(meta, b, `"e1"`, "") || ResultCurrent(meta, a, `"e2"`, ""):
		t.Error("current result not told apart")
	case OwnedBy(nil, a) || OwnedBy(map[string]string{"other": "x"}, a):
		t.Error("an object that is no result counts as ours")
	case !OwnedBy(map[string]string{MetaSourceETag: `"e1"`, MetaStatus: "succeeded"}, a):
		t.Error("a result from before owners existed is not its source's")
	case !OwnedBy(map[string]string{MetaStatus: "failed", MetaCode: "source_not_found"}, a):
		t.Error("an old failed result of a source never read (no source ETag) is not its source's")
	}
}

func TestOutputSkip(t *testing.T) {
	for _, tc := range []struct {
		src, out string
		same     bool
		overlap  bool
		skipped  []string
		kept     []string
	}{
		{"docs/", "docs/results/", true, true, []string{"docs/results/docs/a.png.json", "docs/results/x"}, []string{"docs/a.png", "docs/resultsx.png"}},
		{"docs/", "docs/", true, true, []string{"docs/a.png.json"}, []string{"docs/a.png"}},
		{"docs/", "", true, true, []string{"docs/a.png.json"}, []string{"docs/a.png"}},
		{"docs/", "docs/results/", false, false, []string{"docs/_ocr/raw/a.json"}, []string{"docs/results/a.png.json"}},
		{"docs/", "out/", true, false, []string{"docs/x/_ocr/batches/b.json"}, []string{"docs/a.png.json"}},
	} {
		skip, overlap := OutputSkip(tc.src, tc.out, tc.same)
		if overlap != tc.overlap {
			t.Errorf("%s in %s: overlap %v", tc.out, tc.src, overlap)
		}
		for _, k := range tc.skipped {
			if !skip(k) {
				t.Errorf("%s in %s: %s not skipped", tc.out, tc.src, k)
			}
		}
		for _, k := range tc.kept {
			if skip(k) {
				t.Errorf("%s in %s: %s skipped", tc.out, tc.src, k)
			}
		}
	}
}

// Page keys: one per source and page, below the reserved area, never one
// source's key for another's page; ProgressPage reads back only this
// source's pages.
func TestPageKeys(t *testing.T) {
	if k := PageRawKey("r/", "a.pdf", 2); k != "r/_ocr/raw-pages/a.pdf/2.json" || !Reserved(k) {
		t.Errorf("PageRawKey: %s", k)
	}
	seen := map[string]string{}
	for _, src := range []string{"a", "a/1", "a/1.json", "a/2", "b"} {
		for page := 1; page <= 3; page++ {
			for _, k := range []string{PageRawKey("r/", src, page), ProgressKey("r/", src, page)} {
				if other, dup := seen[k]; dup {
					t.Errorf("%s page %d and %s share %s", src, page, other, k)
				}
				seen[k] = src
			}
		}
	}
	prefix := ProgressPrefix("r/", "a")
	for key, want := range map[string]int{
		ProgressKey("r/", "a", 7): 7, ProgressKey("r/", "a/1", 2): 0, prefix + "x.json": 0, prefix + "0.json": 0,
		prefix + "3": 0, "r/other/3.json": 0,
	} {
		if got := ProgressPage(prefix, key); got != want {
			t.Errorf("ProgressPage(%s) = %d, want %d", key, got, want)
		}
	}
	meta := ProgressMeta("o", `"e"`, "clova", false)
	if !ProgressCurrent(meta, "o", `"e"`, "clova", false) || ProgressCurrent(meta, "o", `"e2"`, "clova", false) ||
		ProgressCurrent(meta, "o", `"e"`, "nhn", false) || ProgressCurrent(meta, "o", `"e"`, "clova", true) {
		t.Error("ProgressCurrent must match source, version, vendor and masking")
	}
}
