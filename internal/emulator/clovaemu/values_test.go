package clovaemu

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
)

// success posts the image and decodes the one image answer.
func success(t *testing.T, f *fixture, docType string, image []byte) imageResponse {
	t.Helper()
	a := f.postJSON(t, docType, "jpg", image)
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var r response
	a.json(t, &r)
	if len(r.Images) != 1 || r.Images[0].InferResult != "SUCCESS" || r.Images[0].Message != "SUCCESS" {
		t.Fatalf("not one SUCCESS image: %s", a.body)
	}
	if len(r.Images[0].UID) != 32 || r.Images[0].Name != "demo" || r.Version != "V2" {
		t.Errorf("envelope: uid %q name %q version %q", r.Images[0].UID, r.Images[0].Name, r.Version)
	}
	mustContainNone(t, a.body, testSecret)
	return r.Images[0]
}

func checkStr(t *testing.T, what string, o stringObject, text, value string) {
	t.Helper()
	if o.Text != text || o.Formatted == nil || o.Formatted.Value != value {
		t.Errorf("%s = %q / %+v, want %q / %q", what, o.Text, o.Formatted, text, value)
	}
	if len(o.BoundingPolys) == 0 || len(o.BoundingPolys[0].Vertices) != 4 {
		t.Errorf("%s has no 4-vertex box", what)
	}
}

func TestReceiptValuesComeFromDerive(t *testing.T) {
	f := setup(t, Options{})
	img := sample("jpg", []byte("receipt values"))
	d := emulator.Derive(img)
	r := success(t, f, typeReceipt, img).Receipt
	if r == nil {
		t.Fatal("no receipt object")
	}
	st, pay := r.Result.StoreInfo, r.Result.PaymentInfo
	if got := st.Name.Text + " " + st.SubName.Text; got != d.CompanyName {
		t.Errorf("store %q, want %q", got, d.CompanyName)
	}
	checkStr(t, "bizNum", st.BizNum, d.BizNumber, d.BizNumber)
	checkStr(t, "address", st.Addresses[0], d.Address, d.Address)
	checkStr(t, "tel", st.Tel[0], areaTel(d.StoreTel), strings.ReplaceAll(d.StoreTel, "-", ""))
	if pay.Date.Text != d.ReceiptDate.ISO() || pay.Date.Formatted.Year+"-"+pay.Date.Formatted.Month+"-"+pay.Date.Formatted.Day != d.ReceiptDate.ISO() {
		t.Errorf("date %+v, want %s", pay.Date, d.ReceiptDate.ISO())
	}
	tf := pay.Time.Formatted
	if tf.Hour+":"+tf.Minute+":"+tf.Second != d.ReceiptTime {
		t.Errorf("time %+v, want %s", tf, d.ReceiptTime)
	}
	wantCard := d.CardNumber[:4] + "**" + d.CardNumber[12:]
	checkStr(t, "card number", pay.CardInfo.Number, wantCard, wantCard)
	checkStr(t, "card company", pay.CardInfo.Company, d.CardCompany, d.CardCompany)
	if pay.ConfirmNum.Text != d.ConfirmNumber {
		t.Errorf("confirmNum %q, want %q", pay.ConfirmNum.Text, d.ConfirmNumber)
	}
	items := r.Result.SubResults[0].Items
	if len(items) != len(d.Items) {
		t.Fatalf("%d items, want %d", len(items), len(d.Items))
	}
	for i, it := range d.Items {
		got := items[i]
		checkStr(t, "item name", got.Name, it.Name, it.Name)
		checkStr(t, "item count", got.Count, fmt.Sprint(it.Count), fmt.Sprint(it.Count))
		checkStr(t, "item price", got.PriceInfo.Price, commas(it.Price), fmt.Sprint(it.Price))
		checkStr(t, "item unit price", got.PriceInfo.UnitPrice, commas(it.UnitPrice), fmt.Sprint(it.UnitPrice))
	}
	checkStr(t, "total", r.Result.TotalPrice.Price, commas(d.TotalPrice)+"원", fmt.Sprint(d.TotalPrice))
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 800: "800", 1600: "1,600", 12000: "12,000", 1541717: "1,541,717"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCreditCardValuesComeFromDerive(t *testing.T) {
	f := setup(t, Options{})
	img := sample("jpg", []byte("card"))
	d := emulator.Derive(img)
	c := success(t, f, typeCreditCard, img).CreditCard
	if c.Result.Number.Text != d.CardNumber || c.Result.ValidThru.Text != d.ValidThru || c.Result.Name.Text != d.NameEnglish {
		t.Errorf("card %+v, want %s %s %s", c.Result, d.CardNumber, d.ValidThru, d.NameEnglish)
	}
	if n := len(c.Result.Number.SubBoundingPolys); n != 4 {
		t.Errorf("%d sub boxes for the number, want one per group of 4 digits", n)
	}
	for _, fl := range []field{c.Result.Number, c.Result.ValidThru, c.Result.Name} {
		if fl.Confidence < 0.85 || fl.Confidence >= 1 {
			t.Errorf("confidence %v out of range", fl.Confidence)
		}
	}
}

func TestNameCardValuesComeFromDerive(t *testing.T) {
	f := setup(t, Options{})
	img := sample("jpg", []byte("name card"))
	d := emulator.Derive(img)
	n := success(t, f, typeNameCard, img).NameCard.Result
	got := []string{n.Name[0].Text, n.Company[0].Text, n.Position[0].Text, n.Mobile[0].Text, n.Mobile[0].Formatted.Value, n.Email[0].Text, n.Address[0].Text}
	want := []string{d.Name, d.Company, d.Position, d.Mobile, strings.ReplaceAll(d.Mobile, "-", ""), d.Email, d.Address}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("name card %v, want %v", got, want)
	}
}

func TestBizLicenseValuesComeFromDerive(t *testing.T) {
	f := setup(t, Options{})
	img := sample("jpg", []byte("biz"))
	d := emulator.Derive(img)
	b := success(t, f, typeBizLicense, img).BizLicense.Result
	pairs := map[string][2]string{
		"registerNumber": {b.RegisterNumber[0].Text, d.BizNumber},
		"companyName":    {b.CompanyName[0].Text, d.CompanyName},
		"repName":        {b.RepName[0].Text, d.Name},
		"openDate":       {b.OpenDate[0].Text, fmt.Sprintf("%04d 년 %02d 월 %02d 일", d.OpenDate.Year, d.OpenDate.Month, d.OpenDate.Day)},
		"birth":          {b.Birth[0].Text, fmt.Sprintf("%04d 년 %02d 월 %02d 일", d.BirthDate.Year, d.BirthDate.Month, d.BirthDate.Day)},
		"bisAddress":     {b.BisAddress[0].Text, d.Address},
		"bisType":        {b.BisType[0].Text, d.BusinessType},
		"bisItem":        {b.BisItem[0].Text, d.BusinessItem},
		"documentType":   {b.DocumentType[0].Formatted.Value, "사업자등록증"},
	}
	for k, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("%s = %q, want %q", k, p[0], p[1])
		}
	}
}

// The answer holds the number it read and marks it in maskingPolys; the
// client masks it (see the comment in render.go on the 2026 page's example).
func TestIDCardAnswersThePersonalNumberWithAMaskingBox(t *testing.T) {
	f := setup(t, Options{})
	img := sample("jpg", []byte("id"))
	d := emulator.Derive(img)
	a := f.postJSON(t, typeIDCard, "jpg", img)
	var r response
	a.json(t, &r)
	ic := r.Images[0].IDCard.Result
	if ic.IDType != "ID Card" || !ic.IsConfident || len(ic.ROIs) != 1 {
		t.Errorf("idtype %q confident %v rois %d", ic.IDType, ic.IsConfident, len(ic.ROIs))
	}
	pn := ic.IC.PersonalNum[0]
	want := d.PersonalNumber
	if pn.Text != want || pn.Formatted.(map[string]any)["value"] != want {
		t.Errorf("personalNum %q / %v, want %q", pn.Text, pn.Formatted, want)
	}
	if len(pn.MaskingPolys) != 1 {
		t.Errorf("personalNum has %d masking boxes, want 1", len(pn.MaskingPolys))
	}
	if got := ic.IC.Name[0].Text; got != d.Name {
		t.Errorf("name %q, want %q", got, d.Name)
	}
	if got := ic.IC.Address[0].Text; got != d.Address {
		t.Errorf("address %q, want %q", got, d.Address)
	}
	if got := ic.IC.Authority[0].Text; got != d.Issuer {
		t.Errorf("authority %q, want %q", got, d.Issuer)
	}
	issue := ic.IC.IssueDate[0]
	fm := issue.Formatted.(map[string]any)
	if got := fmt.Sprintf("%s-%s-%s", fm["year"], fm["month"], fm["day"]); got != d.IssueDate.ISO() || issue.Text != strings.ReplaceAll(d.IssueDate.ISO(), "-", ".") {
		t.Errorf("issueDate %q %s, want %s", issue.Text, got, d.IssueDate.ISO())
	}
	if c := pn.ConfidenceScore; c < 0.85 || c >= 1 {
		t.Errorf("confidenceScore %v", c)
	}
}

func TestMedicalReceiptCellsAndChecksums(t *testing.T) {
	f := setup(t, Options{})
	img := sample("jpg", []byte("medical"))
	d := emulator.Derive(img)
	m := success(t, f, typeMedicalReceipt, img).MedicalReceipt
	if len(m.Result) != len(d.Items)+1 {
		t.Fatalf("%d cells, want %d items + total", len(m.Result), len(d.Items))
	}
	var sum int64
	for i, it := range d.Items {
		c := m.Result[i]
		if c.ValueText != fmt.Sprint(it.Price) || c.ValueCell.Value != c.ValueText {
			t.Errorf("cell %d = %q, want %d", c.ID, c.ValueText, it.Price)
		}
		if parts := strings.Split(c.KeyTexts, "|"); len(parts) != len(c.KeyCells) {
			t.Errorf("keyTexts %q but %d key cells", c.KeyTexts, len(c.KeyCells))
		}
		v, _ := strconv.ParseInt(c.ValueText, 10, 64)
		sum += v
	}
	total := m.Result[len(m.Result)-1]
	if total.ValueText != fmt.Sprint(d.TotalPrice) || sum != d.TotalPrice {
		t.Errorf("total cell %q, cells sum %d, want %d", total.ValueText, sum, d.TotalPrice)
	}
	cs := m.Checksum["sumPaidByPatient"]
	if !cs.Found || cs.FoundValueSum != float64(d.TotalPrice) || cs.FoundTotalSum != float64(d.TotalPrice) || cs.Difference != 0 || len(cs.FoundValueIDs) != len(d.Items) {
		t.Errorf("sumPaidByPatient %+v", cs)
	}
	if len(m.Checksum) != 7 {
		t.Errorf("%d checksums, want the 7 the seed lists", len(m.Checksum))
	}
}

func TestPassportMRZIsValidAndFromDerive(t *testing.T) {
	f := setup(t, Options{})
	for i := 0; i < 20; i++ { // several images: names, sexes and dates vary
		img := sample("jpg", []byte(fmt.Sprint("passport ", i)))
		d := emulator.Derive(img)
		p := success(t, f, typePassport, img).Passport.PassportResult
		lines := strings.Split(p.MRZLines.RawText, "\n")
		if len(lines) != 2 || len(lines[0]) != 44 || len(lines[1]) != 44 {
			t.Fatalf("mrzLines %q", p.MRZLines.RawText)
		}
		l1, l2 := lines[0], lines[1]
		if want := "PMKOR" + d.Surname + "<<" + d.GivenName + "<"; !strings.HasPrefix(l1, want) {
			t.Errorf("line 1 %q, want prefix %q", l1, want)
		}
		yymmdd := func(x emulator.Date) string { return fmt.Sprintf("%02d%02d%02d", x.Year%100, x.Month, x.Day) }
		if l2[0:9] != d.PassportNumber || l2[13:19] != yymmdd(d.BirthDate) || l2[20:21] != d.Sex || l2[21:27] != yymmdd(d.ExpiryDate) {
			t.Errorf("line 2 %q does not hold %s %v %s %v", l2, d.PassportNumber, d.BirthDate, d.Sex, d.ExpiryDate)
		}
		for _, c := range []struct{ field, digit string }{
			{l2[0:9], l2[9:10]}, {l2[13:19], l2[19:20]}, {l2[21:27], l2[27:28]}, {l2[28:42], l2[42:43]},
			{l2[0:10] + l2[13:20] + l2[21:43], l2[43:44]},
		} {
			if string(mrzCheckDigit(c.field)) != c.digit {
				t.Errorf("check digit of %q is %s", c.field, c.digit)
			}
		}
		if p.DocumentNumber.RefinedText != d.PassportNumber || p.CheckDigitForDocumentNumber.RawText != l2[9:10] || p.FinalCheckDigit.RawText != l2[43:44] {
			t.Errorf("fields disagree with the MRZ: %+v", p)
		}
		if p.FirstName.RawText != d.Surname || p.LastName1.RawText != d.GivenName {
			t.Errorf("names %s / %s, want %s / %s", p.FirstName.RawText, p.LastName1.RawText, d.Surname, d.GivenName)
		}
		if p.DateOfBirth.RefinedText != fmt.Sprintf("%04d/%02d/%02d", d.BirthDate.Year, d.BirthDate.Month, d.BirthDate.Day) {
			t.Errorf("dateOfBirth %q", p.DateOfBirth.RefinedText)
		}
		if p.IsExpired.RefinedText != time.Now().After(time.Date(d.ExpiryDate.Year, time.Month(d.ExpiryDate.Month), d.ExpiryDate.Day, 23, 59, 59, 0, time.UTC)) {
			t.Errorf("isExpired %v for %v", p.IsExpired.RefinedText, d.ExpiryDate)
		}
		if p.Age.RefinedText < 18 || p.Age.RefinedText > 100 {
			t.Errorf("age %d", p.Age.RefinedText)
		}
	}
}
