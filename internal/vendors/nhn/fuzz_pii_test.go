package nhn

import (
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// idCardKeys are every keyValues key the id-card normalizer reads.
var idCardKeys = []string{"name", "residentNumber", "issueDate", "issuer", "driverLicenseNumber", "licenseType",
	"condition", "serialNum", "passportType", "passportNo", "surName", "givenName", "nationality", "dateOfBirth",
	"dateOfIssue", "dateOfExpiry", "koreanName", "personalNo", "MRZ1", "MRZ2", "address"}

// FuzzMaskedFreeText: every value of a decrypted answer carries a resident
// or card number in one of its spellings; in masked mode neither the fields
// nor the raw copy may hold it whole.
func FuzzMaskedFreeText(f *testing.F) {
	for kind := range 18 {
		for i := range 4 {
			f.Add("주민 ", " 외래", uint8(kind), uint64(4*kind*7919+i))
		}
	}
	f.Fuzz(func(t *testing.T, prefix, suffix string, kind uint8, seed uint64) {
		text, digits := vendortest.PIIText(prefix, suffix, kind, seed)
		switch seed % 4 {
		case 0:
			card := &creditCardAnswer{CardNums: []confValue{{Value: text}, {Value: text}}, TotalCardNum: stringOrList(text),
				ValidThru: &confValue{Value: text}}
			vendortest.AssertMasked(t, result.TypeCreditCard, &vendors.Response{Fields: card.fields(false), Raw: rawJSON(card.raw(false))}, digits)
		default:
			id := &idCardAnswer{IDType: []string{"", result.IDResident, result.IDDriver, result.IDPassport}[seed%4]}
			for _, k := range idCardKeys {
				id.KeyValues = append(id.KeyValues, keyValue{Key: k, Value: text})
			}
			vendortest.AssertMasked(t, result.TypeIDCard, &vendors.Response{Fields: id.fields(false), Raw: rawJSON(id.raw(false))}, digits)
		}
	})
}
