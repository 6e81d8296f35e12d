package clovaocr

import (
	"strings"
	"time"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/result"
)

// ---- receipt ----

type receiptResult struct {
	StoreInfo *struct {
		Name      *vobj  `json:"name"`
		SubName   *vobj  `json:"subName"`
		BizNum    *vobj  `json:"bizNum"`
		Address   []vobj `json:"address"`
		Addresses []vobj `json:"addresses"` // the published example's spelling
		Tel       []vobj `json:"tel"`
	} `json:"storeInfo"`
	PaymentInfo *struct {
		Date     *vobj `json:"date"`
		Time     *vobj `json:"time"`
		CardInfo *struct {
			Company *vobj `json:"company"`
			Number  *vobj `json:"number"`
		} `json:"cardInfo"`
		ConfirmNum *vobj `json:"confirmNum"`
	} `json:"paymentInfo"`
	SubResults []struct {
		Items []struct {
			Name      *vobj      `json:"name"`
			Code      *vobj      `json:"code"`
			Count     *vobj      `json:"count"`
			PriceInfo *priceInfo `json:"priceInfo"`
			Price     *priceInfo `json:"price"` // the published example's spelling
		} `json:"items"`
	} `json:"subResults"`
	TotalPrice *struct {
		Price *vobj `json:"price"`
	} `json:"totalPrice"`
}

type priceInfo struct {
	Price     *vobj `json:"price"`
	UnitPrice *vobj `json:"unitPrice"`
}

func normReceipt(r *receiptResult, m masker) *result.Receipt {
	out := &result.Receipt{}
	if s := r.StoreInfo; s != nil {
		st := &result.ReceiptStore{Name: strField(s.Name), SubName: strField(s.SubName), BizNum: bizNumField(s.BizNum),
			Address: list(append(append([]vobj(nil), s.Address...), s.Addresses...), strField), Tel: list(s.Tel, phoneField)}
		if st.Name != nil || st.SubName != nil || st.BizNum != nil || len(st.Address) > 0 || len(st.Tel) > 0 {
			out.Store = st
		}
	}
	if p := r.PaymentInfo; p != nil {
		pay := &result.ReceiptPayment{Date: dateField(p.Date), Time: timeField(p.Time), ConfirmNum: strField(p.ConfirmNum)}
		if p.CardInfo != nil {
			pay.CardCompany = strField(p.CardInfo.Company)
			pay.CardNumber = m.personal(p.CardInfo.Number, normalize.MaskCardNumber)
		}
		if *pay != (result.ReceiptPayment{}) {
			out.Payment = pay
		}
	}
	for _, sr := range r.SubResults {
		for _, it := range sr.Items {
			pi := it.PriceInfo
			if pi == nil {
				pi = it.Price
			}
			item := result.ReceiptItem{Name: strField(it.Name), Code: strField(it.Code), Count: numField(it.Count)}
			if pi != nil {
				item.Price, item.UnitPrice = numField(pi.Price), numField(pi.UnitPrice)
			}
			if item != (result.ReceiptItem{}) {
				out.Items = append(out.Items, item)
			}
		}
	}
	if r.TotalPrice != nil {
		out.TotalPrice = numField(r.TotalPrice.Price)
	}
	return out
}

// ---- credit-card ----

type creditCardResult struct {
	Number    *vobj `json:"number"`
	ValidThru *vobj `json:"validThru"`
	Name      *vobj `json:"name"`
}

func normCreditCard(r *creditCardResult, m masker) *result.CreditCard {
	out := &result.CreditCard{Name: strField(r.Name)}
	if o := r.Number; !o.empty() {
		// value: the card digits; masked, value and text are both the
		// grouped masked form.
		out.Number = o.field(normalize.StringValue(normalize.Digits(o.refined())))
		if !m.pii {
			masked := normalize.MaskCardNumber(o.refined())
			out.Number.Value, out.Number.Text = masked, normalize.MaskCardNumber(string(o.Text))
		}
	}
	if o := r.ValidThru; !o.empty() {
		v, ok := normalize.ValidThru(o.refined())
		out.ValidThru = o.field(normalize.OrNil(v, ok))
	}
	return out
}

// ---- name-card ----

type nameCardResult struct {
	Name       []vobj `json:"name"`
	Company    []vobj `json:"company"`
	Department []vobj `json:"department"`
	Position   []vobj `json:"position"`
	Address    []vobj `json:"address"`
	Mobile     []vobj `json:"mobile"`
	Tel        []vobj `json:"tel"`
	Fax        []vobj `json:"fax"`
	Email      []vobj `json:"email"`
	Homepage   []vobj `json:"homepage"`
}

func normNameCard(r *nameCardResult) *result.NameCard {
	return &result.NameCard{
		Name: list(r.Name, strField), Company: list(r.Company, strField), Department: list(r.Department, strField),
		Position: list(r.Position, strField), Address: list(r.Address, strField),
		Mobile: list(r.Mobile, phoneField), Tel: list(r.Tel, phoneField), Fax: list(r.Fax, phoneField),
		Email: list(r.Email, strField), Homepage: list(r.Homepage, strField),
	}
}

// ---- biz-license ----

type bizLicenseResult struct {
	Birth           []vobj `json:"birth"`
	BisAddress      []vobj `json:"bisAddress"`
	BisArea         []vobj `json:"bisArea"`
	BisItem         []vobj `json:"bisItem"`
	RegisterNumber  []vobj `json:"registerNumber"`
	BisType         []vobj `json:"bisType"`
	CompanyName     []vobj `json:"companyName"`
	CoRepName       []vobj `json:"coRepName"`
	CorpName        []vobj `json:"corpName"`
	CorpRegisterNum []vobj `json:"corpRegisterNum"`
	DocumentType    []vobj `json:"documentType"`
	HeadAddress     []vobj `json:"headAddress"`
	IssuanceDate    []vobj `json:"issuanceDate"`
	IssuanceReason  []vobj `json:"issuanceReason"`
	OpenDate        []vobj `json:"openDate"`
	RepName         []vobj `json:"repName"`
	TaxType         []vobj `json:"taxType"`
	// socialNumber and coRepSocialNum (resident numbers) are not part of
	// result-v1 and are deliberately not read.
}

func normBizLicense(r *bizLicenseResult) *result.BizLicense {
	return &result.BizLicense{
		DocumentType:       strField(first(r.DocumentType)),
		RegisterNumber:     bizNumField(first(r.RegisterNumber)),
		CompanyName:        strField(first(r.CompanyName)),
		CorpName:           strField(first(r.CorpName)),
		CorpRegisterNumber: strField(first(r.CorpRegisterNum)),
		Representative:     strField(first(r.RepName)),
		CoRepresentatives:  list(r.CoRepName, strField),
		BirthDate:          dateField(first(r.Birth)),
		OpenDate:           dateField(first(r.OpenDate)),
		IssuanceDate:       dateField(first(r.IssuanceDate)),
		IssuanceReason:     strField(first(r.IssuanceReason)),
		BusinessAddress:    strField(first(r.BisAddress)),
		HeadAddress:        strField(first(r.HeadAddress)),
		BusinessType:       list(r.BisType, strField),
		BusinessItem:       list(r.BisItem, strField),
		TaxType:            strField(first(r.TaxType)),
		Area:               strField(first(r.BisArea)),
	}
}

// ---- id-card ----

type idCardResult struct {
	IDType string `json:"idType"` // "ID Card", "Driver's License", "Passport", ...; also spelled idtype/IDType
	IC     *struct {
		Name        []vobj `json:"name"`
		PersonalNum []vobj `json:"personalNum"`
		Address     []vobj `json:"address"`
		IssueDate   []vobj `json:"issueDate"`
		Authority   []vobj `json:"authority"`
	} `json:"ic"`
	DL *struct {
		Type           []vobj `json:"type"`
		Num            []vobj `json:"num"`
		Name           []vobj `json:"name"`
		PersonalNum    []vobj `json:"personalNum"`
		Address        []vobj `json:"address"`
		RenewStartDate []vobj `json:"renewStartDate"`
		RenewEndDate   []vobj `json:"renewEndDate"`
		Condition      []vobj `json:"condition"`
		Code           []vobj `json:"code"`
		IssueDate      []vobj `json:"issueDate"`
		Authority      []vobj `json:"authority"`
	} `json:"dl"`
	PP *struct {
		Type        []vobj `json:"type"`
		Num         []vobj `json:"num"`
		SurName     []vobj `json:"surName"`
		GivenName   []vobj `json:"givenName"`
		Nationality []vobj `json:"nationality"`
		BirthDate   []vobj `json:"birthDate"`
		PersonalNum []vobj `json:"personalNum"`
		Sex         []vobj `json:"sex"`
		IssueDate   []vobj `json:"issueDate"`
		ExpireDate  []vobj `json:"expireDate"`
		Authority   []vobj `json:"authority"`
		FullNameKor []vobj `json:"fullNameKor"`
	} `json:"pp"`
	AC *struct {
		AlienRegNum []vobj `json:"alienRegNum"`
		Name        []vobj `json:"name"`
		Nationality []vobj `json:"nationality"`
		VisaType    []vobj `json:"visaType"`
		IssueDate   []vobj `json:"issueDate"`
		Authority   []vobj `json:"authority"`
	} `json:"ac"`
}

// normIDCard fills the fields of whichever card the vendor read. The answer
// carries one of ic (resident card), dl (driver's license), pp (passport),
// ac (alien registration card); when several are present idType decides.
func normIDCard(r *idCardResult, m masker) *result.IDCard {
	out := &result.IDCard{}
	kind := strings.ToLower(r.IDType)
	switch {
	case r.DL != nil && (strings.Contains(kind, "driver") || r.IC == nil):
		d := r.DL
		out.IDType = result.IDDriver
		out.Name, out.Address, out.Issuer = strField(first(d.Name)), strField(first(d.Address)), strField(first(d.Authority))
		out.PersonalNumber = m.personal(first(d.PersonalNum), normalize.MaskResidentNumber)
		out.IssueDate = dateField(first(d.IssueDate))
		out.LicenseNumber = m.personal(first(d.Num), normalize.MaskLicenseNumber)
		out.LicenseType, out.Condition = strField(first(d.Type)), strField(first(d.Condition))
		out.SerialNumber = strField(first(d.Code))
		out.RenewStart, out.RenewEnd = dateField(first(d.RenewStartDate)), dateField(first(d.RenewEndDate))
	case r.PP != nil && (strings.Contains(kind, "passport") || r.IC == nil):
		p := r.PP
		out.IDType = result.IDPassport
		out.PassportNumber = m.personal(first(p.Num), normalize.MaskPassportNumber)
		out.PassportType = strField(first(p.Type))
		out.Surname, out.GivenName = strField(first(p.SurName)), strField(first(p.GivenName))
		out.Nationality = strField(first(p.Nationality))
		out.BirthDate, out.ExpiryDate = dateField(first(p.BirthDate)), dateField(first(p.ExpireDate))
		out.IssueDate, out.Issuer = dateField(first(p.IssueDate)), strField(first(p.Authority))
		out.Sex = strField(first(p.Sex))
		out.KoreanName = strField(first(p.FullNameKor))
		out.PersonalNumber = m.personal(first(p.PersonalNum), normalize.MaskAll) // no part of it is safe to show
	case r.AC != nil && (strings.Contains(kind, "alien") || r.IC == nil):
		a := r.AC
		out.IDType = result.IDAlien
		out.Name = strField(first(a.Name))
		out.AlienNumber = m.personal(first(a.AlienRegNum), normalize.MaskResidentNumber)
		out.Nationality, out.VisaType = strField(first(a.Nationality)), strField(first(a.VisaType))
		out.IssueDate, out.Issuer = dateField(first(a.IssueDate)), strField(first(a.Authority))
	case r.IC != nil:
		c := r.IC
		out.IDType = result.IDResident
		out.Name, out.Address, out.Issuer = strField(first(c.Name)), strField(first(c.Address)), strField(first(c.Authority))
		out.PersonalNumber = m.personal(first(c.PersonalNum), normalize.MaskResidentNumber)
		out.IssueDate = dateField(first(c.IssueDate))
	}
	return out
}

// ---- medical-receipt ----

type medicalReceipt struct {
	Result []struct {
		KeyTexts   flexString `json:"keyTexts"`
		ValueText  flexString `json:"valueText"`
		Confidence *float64   `json:"confidence"`
		KeyCells   []struct {
			Formatted flexString `json:"formatted"`
			Value     flexString `json:"value"`
		} `json:"keyCells"`
		ValueCell *struct {
			Value      flexString `json:"value"`
			Confidence *float64   `json:"confidence"`
		} `json:"valueCell"`
	} `json:"result"`
	Checksum map[string]struct {
		Found         flexString `json:"found"`
		FoundValueSum flexFloat  `json:"foundValueSum"`
		FoundTotalSum flexFloat  `json:"foundTotalSum"`
		Difference    flexFloat  `json:"difference"`
	} `json:"checksum"`
}

func normMedical(r *medicalReceipt) *result.MedicalReceipt {
	out := &result.MedicalReceipt{}
	for _, c := range r.Result {
		key := string(c.KeyTexts)
		if key == "" { // rebuild from the key cells, grounded text first
			var keys []string
			for _, k := range c.KeyCells {
				if k.Formatted != "" {
					keys = append(keys, string(k.Formatted))
				} else if k.Value != "" {
					keys = append(keys, string(k.Value))
				}
			}
			key = strings.Join(keys, "|")
		}
		text, conf := string(c.ValueText), c.Confidence
		if c.ValueCell != nil {
			if text == "" {
				text = string(c.ValueCell.Value)
			}
			if conf == nil {
				conf = c.ValueCell.Confidence
			}
		}
		var value any = text
		if n := normalize.NumberValue(text); n != nil {
			value = n
		}
		cell := result.MedicalCell{Key: key, Value: value, Text: text}
		if f := normalize.NewField("", nil, conf, nil); f.Confidence != nil {
			cell.Confidence = f.Confidence
		}
		out.Cells = append(out.Cells, cell)
	}
	for name, c := range r.Checksum {
		if out.Checksums == nil {
			out.Checksums = map[string]result.MedicalChecksum{}
		}
		out.Checksums[name] = result.MedicalChecksum{Found: c.Found == "true", ValueSum: float64(c.FoundValueSum),
			TotalSum: float64(c.FoundTotalSum), Difference: float64(c.Difference)}
	}
	return out
}

// ---- passport (MRZ) ----

type mrzObj struct {
	RawText     flexString `json:"rawText"`
	RefinedText flexString `json:"refinedText"`
}

func (o *mrzObj) raw() string {
	if o == nil {
		return ""
	}
	return string(o.RawText)
}

type passportResult struct {
	DocumentClassCode *mrzObj `json:"documentClassCode"`
	IssuingStateCode  *mrzObj `json:"issuingStateCode"`
	FirstName         *mrzObj `json:"firstName"`
	LastName1         *mrzObj `json:"lastName1"`
	DocumentNumber    *mrzObj `json:"documentNumber"`
	Nationality       *mrzObj `json:"nationality"`
	DateOfBirth       *mrzObj `json:"dateOfBirth"`
	Gender            *mrzObj `json:"gender"`
	DateOfExpiry      *mrzObj `json:"dateOfExpiry"`
	PersonalNumber    *mrzObj `json:"personalNumber"`
	MRZLines          *mrzObj `json:"mrzLines"`
}

// normPassport reads the MRZ lines and verifies every check digit itself.
// The vendor's per-field objects are used only when the lines are no valid
// TD3 MRZ; then mrzValid is false. Text is what the MRZ holds for the
// field ('<' as spaces for names); value the normalized form.
func normPassport(r *passportResult, m masker, now time.Time) *result.Passport {
	out := &result.Passport{}
	var td3 *normalize.TD3
	if r.MRZLines != nil {
		text := string(r.MRZLines.RefinedText)
		if text == "" {
			text = string(r.MRZLines.RawText)
		}
		if l1, l2, ok := normalize.SplitMRZ(text); ok {
			td3, _ = normalize.ParseTD3(l1, l2, now)
		}
	}
	plain := func(s string) *result.Field {
		if s == "" {
			return nil
		}
		return normalize.NewField(s, s, nil, nil)
	}
	date := func(raw, iso string) *result.Field {
		if raw == "" {
			return nil
		}
		return normalize.NewField(raw, normalize.StringValue(iso), nil, nil)
	}
	if td3 == nil {
		// No readable MRZ: take the vendor's raw MRZ fields. Which of its
		// name fields is the surname is unclear (the example puts the MRZ
		// surname in firstName), so follow the MRZ order: the first name
		// field holds what the MRZ lists first, the surname.
		td3 = &normalize.TD3{DocumentCode: strings.TrimRight(r.DocumentClassCode.raw(), "<"),
			IssuingState: r.IssuingStateCode.raw(), Surname: r.FirstName.raw(), GivenNames: r.LastName1.raw(),
			DocumentNumber: r.DocumentNumber.raw(), Nationality: r.Nationality.raw(), Sex: r.Gender.raw(),
			PersonalNumber: strings.Trim(r.PersonalNumber.raw(), "<")}
		td3.BirthDate, _ = normalize.MRZDate(r.DateOfBirth.raw(), now, false)
		td3.ExpiryDate, _ = normalize.MRZDate(r.DateOfExpiry.raw(), now, true)
		out.BirthDate = date(r.DateOfBirth.raw(), td3.BirthDate)
		out.ExpiryDate = date(r.DateOfExpiry.raw(), td3.ExpiryDate)
	} else {
		out.MRZValid = td3.Valid()
		out.BirthDate = date(td3.BirthDate, td3.BirthDate)
		out.ExpiryDate = date(td3.ExpiryDate, td3.ExpiryDate)
	}
	out.DocumentCode, out.IssuingState = plain(td3.DocumentCode), plain(td3.IssuingState)
	out.Surname, out.GivenNames = plain(td3.Surname), plain(td3.GivenNames)
	out.Nationality, out.Sex = plain(td3.Nationality), plain(td3.Sex)
	out.PassportNumber, out.PersonalNumber = plain(td3.DocumentNumber), plain(td3.PersonalNumber)
	if !m.pii {
		normalize.MaskField(out.PassportNumber, normalize.MaskPassportNumber)
		normalize.MaskField(out.PersonalNumber, normalize.MaskAll)
	}
	out.Expired = td3.Expired(now)
	return out
}
