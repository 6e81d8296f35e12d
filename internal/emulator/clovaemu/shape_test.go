package clovaemu

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/emulator"
)

// Every type's success answer has the shape of the seed's example for it.
func TestSuccessAnswersHaveTheSeedShape(t *testing.T) {
	f := setup(t, Options{})
	// Keys the seed's tables document that its examples leave out.
	documented := map[string]map[string]bool{
		typeCreditCard: {"meta": true, "validThru": true, "name": true},
		// The example shows mobile and tel without formatted; they are
		// TelObjects, which have it.
		typeNameCard: {"formatted": true},
	}
	for docType := range documentTypes {
		t.Run(docType, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/seed_" + docType + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			a := f.postJSON(t, docType, "jpg", sample("jpg", []byte("shape "+docType)))
			if a.status != 200 {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			a.json(t, &got)
			for _, d := range shapeDiff("$", want, got, documented[docType]) {
				t.Error(d)
			}
		})
	}
}

// The id-card answer of the 2021 page (unmasked, no keyText) is a subset of
// the 2026 one the emulator gives.
func TestIDCardAnswerCoversThe2021Example(t *testing.T) {
	f := setup(t, Options{})
	raw, err := os.ReadFile("testdata/seed_id-card-2021.json")
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	_ = json.Unmarshal(raw, &want)
	f.postJSON(t, typeIDCard, "png", sample("png", []byte("2021"))).json(t, &got)
	extra := map[string]bool{"keyText": true, "confidenceScore": true, "maskingPolys": true, "rois": true}
	for _, d := range shapeDiff("$", want, got, extra) {
		t.Error(d)
	}
}

func TestErrorAnswerHasTheSeedFailureShape(t *testing.T) {
	f := setup(t, Options{})
	raw, err := os.ReadFile("testdata/seed_id-card-error.json")
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	_ = json.Unmarshal(raw, &want)
	a := f.postJSON(t, typeIDCard, "jpg", sample("jpg", emulator.MarkerError))
	a.json(t, &got)
	for _, d := range shapeDiff("$", want, got, nil) {
		t.Error(d)
	}
}
