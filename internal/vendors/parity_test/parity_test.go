// Package parity_test holds the cross-vendor parity tests: the same image
// bytes read by two vendors through their real clients, against their
// in-process emulators, normalize to the same field values (result-v1: "an
// id-card read by CLOVA OCR, CLOVA eKYC or NHN fills the same fields").
//
// Only values are compared: "text" is each vendor's own spelling of what it
// read (dates as "2014 년 06 월 09 일" at one vendor, "2014.06.09" at
// another), and confidences and boxes are each vendor's own. A field that
// only one vendor returns cannot be compared; every test names those
// fields, and fails if that list changes, so a vendor that starts or stops
// returning a field is noticed.
package parity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/emulator/clovaemu"
	"github.com/ocrbatch/ocrworker/internal/emulator/ekycemu"
	"github.com/ocrbatch/ocrworker/internal/emulator/nhnemu"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/testimages"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/clovaocr"
	"github.com/ocrbatch/ocrworker/internal/vendors/ekyc"
	"github.com/ocrbatch/ocrworker/internal/vendors/nhn"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

const secret = "parity-secret"

// seeds is how many different documents each test reads.
const seeds = 12

func clovaClient(t *testing.T) vendors.Client {
	t.Helper()
	srv := httptest.NewServer(clovaemu.New(clovaemu.Options{Secret: secret}))
	t.Cleanup(srv.Close)
	c, err := clovaocr.New(clovaocr.Options{URL: srv.URL, Secret: secret, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ekycClient(t *testing.T) vendors.Client {
	t.Helper()
	srv := httptest.NewServer(ekycemu.New(ekycemu.Options{Secret: secret}))
	t.Cleanup(srv.Close)
	c, err := ekyc.New(ekyc.Options{URL: srv.URL + "/ekyc/v1/1234/abcd", Secret: secret, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func nhnClient(t *testing.T) vendors.Client {
	t.Helper()
	emu, err := nhnemu.New(nhnemu.Options{AppKey: "parity-appkey", Secret: secret, KeyBits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := nhn.New(nhn.Options{URL: srv.URL, AppKey: "parity-appkey", Secret: secret, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reader is one vendor client under test.
type reader struct {
	name   string
	client vendors.Client
}

// values reads img with c and flattens the normalized fields to
// path -> value: a Field contributes its "value" (text, confidence and
// boxes are the vendor's own), any other scalar itself.
func values(t *testing.T, r reader, docType string, img []byte, pii bool) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	resp, err := r.client.Recognize(ctx, &vendors.Request{DocumentType: docType, PII: pii,
		Image: vendortest.BytesImage("parity.png", "png", img)})
	if err != nil {
		t.Fatalf("%s %s: %v", r.name, docType, err)
	}
	b, err := json.Marshal(resp.Fields)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	flatten("", tree, out)
	return out
}

func flatten(path string, v any, out map[string]any) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		if val, ok := x["value"]; ok {
			if _, isField := x["text"]; isField || len(x) <= 4 {
				out[path] = val
				return
			}
		}
		for k, c := range x {
			flatten(join(k), c, out)
		}
	case []any:
		for i, c := range x {
			flatten(join(fmt.Sprint(i)), c, out)
		}
	default:
		out[path] = x
	}
}

// compare reads the same image with every reader and checks that every
// path two readers both return has the same value. It returns, per reader,
// the paths no other reader returned, and the paths compared.
func compare(t *testing.T, docType string, img []byte, pii bool, readers ...reader) (only map[string][]string, compared []string) {
	t.Helper()
	got := make([]map[string]any, len(readers))
	for i, r := range readers {
		got[i] = values(t, r, docType, img, pii)
	}
	only = map[string][]string{}
	seen := map[string]bool{}
	for i, r := range readers {
		for path, v := range got[i] {
			shared := false
			for j := range readers {
				if j == i {
					continue
				}
				w, ok := got[j][path]
				if !ok {
					continue
				}
				shared = true
				if !reflect.DeepEqual(v, w) {
					t.Errorf("%s (sha256 %s…): %s: %s says %#v, %s says %#v", docType, emulator.Derive(img).SHA256[:12], path,
						r.name, v, readers[j].name, w)
				}
			}
			if shared {
				if !seen[path] {
					seen[path] = true
					compared = append(compared, path)
				}
			} else {
				only[r.name] = append(only[r.name], path)
			}
		}
	}
	for k := range only {
		sort.Strings(only[k])
	}
	sort.Strings(compared)
	return only, compared
}

// check runs compare over several images and asserts what was compared
// and what was left out.
func check(t *testing.T, docType string, pii bool, mustCompare []string, excluded map[string][]string, readers ...reader) {
	t.Helper()
	for seed := 0; seed < seeds; seed++ {
		img := testimages.PNG(int64(4000+seed), 40, 28, nil)
		only, compared := compare(t, docType, img, pii, readers...)
		for _, p := range mustCompare {
			if !slices.Contains(compared, p) {
				t.Errorf("%s seed %d: %s not returned by every vendor (compared %v)", docType, seed, p, compared)
			}
		}
		for _, r := range readers {
			if !slices.Equal(only[r.name], excluded[r.name]) {
				t.Errorf("%s seed %d: fields only %s returns: %v, want %v", docType, seed, r.name, only[r.name], excluded[r.name])
			}
		}
		if seed == 0 {
			t.Logf("%s: compared %s", docType, strings.Join(compared, ", "))
			for _, r := range readers {
				t.Logf("%s: only %s returns (excluded) %v", docType, r.name, only[r.name])
			}
		}
	}
}

// TestCreditCardClovaNHN: a credit card read by CLOVA OCR and by NHN.
func TestCreditCardClovaNHN(t *testing.T) {
	clova, nh := reader{"clova-ocr", clovaClient(t)}, reader{"nhn", nhnClient(t)}
	must := []string{"number", "validThru"}
	// NHN's credit-card answer has no cardholder name (seed 001).
	excluded := map[string][]string{"clova-ocr": {"name"}, "nhn": nil}
	t.Run("masked", func(t *testing.T) { check(t, result.TypeCreditCard, false, must, excluded, clova, nh) })
	t.Run("pii-full", func(t *testing.T) { check(t, result.TypeCreditCard, true, must, excluded, clova, nh) })
}

// TestIDCardClovaNHNEKYC: a resident registration card read by CLOVA OCR,
// by NHN (stand-alone) and by CLOVA eKYC.
func TestIDCardClovaNHNEKYC(t *testing.T) {
	clova, nh, ek := reader{"clova-ocr", clovaClient(t)}, reader{"nhn", nhnClient(t)}, reader{"clova-ekyc", ekycClient(t)}
	must := []string{"idType", "name", "personalNumber", "issueDate", "issuer"}
	// NHN's resident card answer is name, residentNumber, issueDate and
	// issuer only (seed 001): no address.
	t.Run("clova-nhn", func(t *testing.T) {
		check(t, result.TypeIDCard, false, must, map[string][]string{"clova-ocr": {"address"}}, clova, nh)
	})
	t.Run("clova-ekyc", func(t *testing.T) {
		check(t, result.TypeIDCard, false, append(must, "address"), nil, clova, ek)
	})
	t.Run("nhn-ekyc", func(t *testing.T) {
		check(t, result.TypeIDCard, false, must, map[string][]string{"clova-ekyc": {"address"}}, nh, ek)
	})
}

// TestBizLicenseEKYCClova: a business registration certificate read by
// CLOVA eKYC and by CLOVA OCR.
func TestBizLicenseEKYCClova(t *testing.T) {
	clova, ek := reader{"clova-ocr", clovaClient(t)}, reader{"clova-ekyc", ekycClient(t)}
	must := []string{"documentType", "registerNumber", "companyName", "representative", "openDate", "businessAddress",
		"businessType.0", "businessItem.0", "taxType"}
	// The eKYC emulator renders no issuanceDate (the eKYC page lists one)
	// and eKYC has no birth date field (only socialNumber, not rendered).
	excluded := map[string][]string{"clova-ocr": {"birthDate", "issuanceDate"}}
	check(t, result.TypeBizLicense, false, must, excluded, clova, ek)
}
