package export

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// The column set of each document type, in the order of docs/export.md.
// Cells are the results' own values: card, resident and passport numbers are
// as masked as the result holds them.

var receiptLayout = newLayout(
	func(r *result.Receipt) {
		if r.Store == nil {
			r.Store = &result.ReceiptStore{}
		}
		if r.Payment == nil {
			r.Payment = &result.ReceiptPayment{}
		}
	},
	[]column[result.Receipt]{
		{"store_name", func(r *result.Receipt) cell { return field(r.Store.Name) }},
		{"business_number", func(r *result.Receipt) cell { return field(r.Store.BizNum) }},
		{"date", func(r *result.Receipt) cell { return field(r.Payment.Date) }},
		{"time", func(r *result.Receipt) cell { return field(r.Payment.Time) }},
		{"total", func(r *result.Receipt) cell { return field(r.TotalPrice) }},
		{"card_company", func(r *result.Receipt) cell { return field(r.Payment.CardCompany) }},
		{"card_number", func(r *result.Receipt) cell { return field(r.Payment.CardNumber) }},
		{"confirm_number", func(r *result.Receipt) cell { return field(r.Payment.ConfirmNum) }},
		{"item_count", func(r *result.Receipt) cell { return integer(len(r.Items)) }},
	},
	&itemLayout{
		columns: []string{"name", "code", "count", "unit_price", "price"},
		rows: func(raw json.RawMessage, emit func([]cell) error) error {
			var r result.Receipt
			if err := decodeFields(raw, &r); err != nil {
				return fmt.Errorf("fields: %w", err)
			}
			for _, it := range r.Items {
				if err := emit([]cell{field(it.Name), field(it.Code), field(it.Count), field(it.UnitPrice), field(it.Price)}); err != nil {
					return err
				}
			}
			return nil
		},
	},
)

var creditCardLayout = newLayout(nil, []column[result.CreditCard]{
	{"card_number", func(c *result.CreditCard) cell { return field(c.Number) }},
	{"valid_thru", func(c *result.CreditCard) cell { return field(c.ValidThru) }},
	{"name", func(c *result.CreditCard) cell { return field(c.Name) }},
}, nil)

var nameCardLayout = newLayout(nil, []column[result.NameCard]{
	{"name", func(c *result.NameCard) cell { return fields(c.Name) }},
	{"company", func(c *result.NameCard) cell { return fields(c.Company) }},
	{"department", func(c *result.NameCard) cell { return fields(c.Department) }},
	{"position", func(c *result.NameCard) cell { return fields(c.Position) }},
	{"address", func(c *result.NameCard) cell { return fields(c.Address) }},
	{"mobile", func(c *result.NameCard) cell { return fields(c.Mobile) }},
	{"tel", func(c *result.NameCard) cell { return fields(c.Tel) }},
	{"fax", func(c *result.NameCard) cell { return fields(c.Fax) }},
	{"email", func(c *result.NameCard) cell { return fields(c.Email) }},
	{"homepage", func(c *result.NameCard) cell { return fields(c.Homepage) }},
}, nil)

var bizLicenseLayout = newLayout(nil, []column[result.BizLicense]{
	{"certificate_type", func(b *result.BizLicense) cell { return field(b.DocumentType) }},
	{"register_number", func(b *result.BizLicense) cell { return field(b.RegisterNumber) }},
	{"company_name", func(b *result.BizLicense) cell { return field(b.CompanyName) }},
	{"corp_name", func(b *result.BizLicense) cell { return field(b.CorpName) }},
	{"corp_register_number", func(b *result.BizLicense) cell { return field(b.CorpRegisterNumber) }},
	{"representative", func(b *result.BizLicense) cell { return field(b.Representative) }},
	{"co_representatives", func(b *result.BizLicense) cell { return fields(b.CoRepresentatives) }},
	{"birth_date", func(b *result.BizLicense) cell { return field(b.BirthDate) }},
	{"open_date", func(b *result.BizLicense) cell { return field(b.OpenDate) }},
	{"issuance_date", func(b *result.BizLicense) cell { return field(b.IssuanceDate) }},
	{"issuance_reason", func(b *result.BizLicense) cell { return field(b.IssuanceReason) }},
	{"business_address", func(b *result.BizLicense) cell { return field(b.BusinessAddress) }},
	{"head_address", func(b *result.BizLicense) cell { return field(b.HeadAddress) }},
	{"business_type", func(b *result.BizLicense) cell { return fields(b.BusinessType) }},
	{"business_item", func(b *result.BizLicense) cell { return fields(b.BusinessItem) }},
	{"tax_type", func(b *result.BizLicense) cell { return field(b.TaxType) }},
	{"area", func(b *result.BizLicense) cell { return field(b.Area) }},
}, nil)

// idCardLayout has one column set for every idType; columns of other ID
// types stay empty.
var idCardLayout = newLayout(nil, []column[result.IDCard]{
	{"id_type", func(c *result.IDCard) cell { return text(c.IDType) }},
	{"name", func(c *result.IDCard) cell { return field(c.Name) }},
	{"personal_number", func(c *result.IDCard) cell { return field(c.PersonalNumber) }},
	{"address", func(c *result.IDCard) cell { return field(c.Address) }},
	{"issue_date", func(c *result.IDCard) cell { return field(c.IssueDate) }},
	{"issuer", func(c *result.IDCard) cell { return field(c.Issuer) }},
	{"license_number", func(c *result.IDCard) cell { return field(c.LicenseNumber) }},
	{"license_type", func(c *result.IDCard) cell { return field(c.LicenseType) }},
	{"condition", func(c *result.IDCard) cell { return field(c.Condition) }},
	{"serial_number", func(c *result.IDCard) cell { return field(c.SerialNumber) }},
	{"renew_start", func(c *result.IDCard) cell { return field(c.RenewStart) }},
	{"renew_end", func(c *result.IDCard) cell { return field(c.RenewEnd) }},
	{"passport_number", func(c *result.IDCard) cell { return field(c.PassportNumber) }},
	{"passport_type", func(c *result.IDCard) cell { return field(c.PassportType) }},
	{"surname", func(c *result.IDCard) cell { return field(c.Surname) }},
	{"given_name", func(c *result.IDCard) cell { return field(c.GivenName) }},
	{"nationality", func(c *result.IDCard) cell { return field(c.Nationality) }},
	{"birth_date", func(c *result.IDCard) cell { return field(c.BirthDate) }},
	{"sex", func(c *result.IDCard) cell { return field(c.Sex) }},
	{"expiry_date", func(c *result.IDCard) cell { return field(c.ExpiryDate) }},
	{"korean_name", func(c *result.IDCard) cell { return field(c.KoreanName) }},
	{"alien_number", func(c *result.IDCard) cell { return field(c.AlienNumber) }},
	{"visa_type", func(c *result.IDCard) cell { return field(c.VisaType) }},
	{"authenticity_checked", func(c *result.IDCard) cell {
		if c.Authenticity == nil {
			return cell{}
		}
		return boolean(c.Authenticity.Checked)
	}},
	{"authentic", func(c *result.IDCard) cell {
		if c.Authenticity == nil || !c.Authenticity.Checked {
			return cell{}
		}
		return boolean(c.Authenticity.Authentic)
	}},
}, nil)

var medicalReceiptLayout = newLayout(nil, []column[result.MedicalReceipt]{
	{"cell_count", func(m *result.MedicalReceipt) cell { return integer(len(m.Cells)) }},
	{"checksums_ok", func(m *result.MedicalReceipt) cell {
		found, ok := false, true
		for _, c := range m.Checksums {
			if c.Found {
				found = true
				ok = ok && c.Difference == 0
			}
		}
		if !found {
			return cell{}
		}
		return boolean(ok)
	}},
	{"checksum_mismatches", func(m *result.MedicalReceipt) cell {
		var names []string
		for name, c := range m.Checksums {
			if c.Found && c.Difference != 0 {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		return text(strings.Join(names, listSeparator))
	}},
}, &itemLayout{
	columns: []string{"key", "value", "confidence"},
	rows: func(raw json.RawMessage, emit func([]cell) error) error {
		var m result.MedicalReceipt
		if err := decodeFields(raw, &m); err != nil {
			return fmt.Errorf("fields: %w", err)
		}
		for _, c := range m.Cells {
			conf := cell{}
			if c.Confidence != nil {
				conf = number(*c.Confidence)
			}
			if err := emit([]cell{text(c.Key), value(c.Value, c.Text), conf}); err != nil {
				return err
			}
		}
		return nil
	},
})

var passportLayout = newLayout(nil, []column[result.Passport]{
	{"document_code", func(p *result.Passport) cell { return field(p.DocumentCode) }},
	{"issuing_state", func(p *result.Passport) cell { return field(p.IssuingState) }},
	{"surname", func(p *result.Passport) cell { return field(p.Surname) }},
	{"given_names", func(p *result.Passport) cell { return field(p.GivenNames) }},
	{"passport_number", func(p *result.Passport) cell { return field(p.PassportNumber) }},
	{"nationality", func(p *result.Passport) cell { return field(p.Nationality) }},
	{"birth_date", func(p *result.Passport) cell { return field(p.BirthDate) }},
	{"sex", func(p *result.Passport) cell { return field(p.Sex) }},
	{"expiry_date", func(p *result.Passport) cell { return field(p.ExpiryDate) }},
	{"personal_number", func(p *result.Passport) cell { return field(p.PersonalNumber) }},
	{"expired", func(p *result.Passport) cell { return boolean(p.Expired) }},
	{"mrz_valid", func(p *result.Passport) cell { return boolean(p.MRZValid) }},
}, nil)

var faceCompareLayout = newLayout(nil, []column[result.FaceCompare]{
	{"similarity", func(f *result.FaceCompare) cell { return number(f.Similarity) }},
	{"match", func(f *result.FaceCompare) cell { return boolean(f.Match) }},
	{"faces_card", func(f *result.FaceCompare) cell { return integer(f.Faces.Card) }},
	{"faces_face", func(f *result.FaceCompare) cell { return integer(f.Faces.Face) }},
}, nil)
