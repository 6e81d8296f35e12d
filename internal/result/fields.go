package result

// The per-type "fields" objects of result-v1.md. A field the vendor did not
// find is a nil pointer or an empty slice and is omitted from the JSON.

// Receipt is the fields of a receipt.
type Receipt struct {
	Store      *ReceiptStore   `json:"store,omitempty"`
	Payment    *ReceiptPayment `json:"payment,omitempty"`
	Items      []ReceiptItem   `json:"items,omitempty"`
	TotalPrice *Field          `json:"totalPrice,omitempty"`
}

type ReceiptStore struct {
	Name    *Field  `json:"name,omitempty"`
	SubName *Field  `json:"subName,omitempty"`
	BizNum  *Field  `json:"bizNum,omitempty"`
	Address []Field `json:"address,omitempty"`
	Tel     []Field `json:"tel,omitempty"`
}

type ReceiptPayment struct {
	Date        *Field `json:"date,omitempty"`
	Time        *Field `json:"time,omitempty"`
	CardCompany *Field `json:"cardCompany,omitempty"`
	CardNumber  *Field `json:"cardNumber,omitempty"`
	ConfirmNum  *Field `json:"confirmNum,omitempty"`
}

type ReceiptItem struct {
	Name      *Field `json:"name,omitempty"`
	Code      *Field `json:"code,omitempty"`
	Count     *Field `json:"count,omitempty"`
	UnitPrice *Field `json:"unitPrice,omitempty"`
	Price     *Field `json:"price,omitempty"`
}

// BizLicense is the fields of a business registration certificate.
type BizLicense struct {
	DocumentType       *Field  `json:"documentType,omitempty"`
	RegisterNumber     *Field  `json:"registerNumber,omitempty"`
	CompanyName        *Field  `json:"companyName,omitempty"`
	CorpName           *Field  `json:"corpName,omitempty"`
	CorpRegisterNumber *Field  `json:"corpRegisterNumber,omitempty"`
	Representative     *Field  `json:"representative,omitempty"`
	CoRepresentatives  []Field `json:"coRepresentatives,omitempty"`
	BirthDate          *Field  `json:"birthDate,omitempty"`
	OpenDate           *Field  `json:"openDate,omitempty"`
	IssuanceDate       *Field  `json:"issuanceDate,omitempty"`
	IssuanceReason     *Field  `json:"issuanceReason,omitempty"`
	BusinessAddress    *Field  `json:"businessAddress,omitempty"`
	HeadAddress        *Field  `json:"headAddress,omitempty"`
	BusinessType       []Field `json:"businessType,omitempty"`
	BusinessItem       []Field `json:"businessItem,omitempty"`
	TaxType            *Field  `json:"taxType,omitempty"`
	Area               *Field  `json:"area,omitempty"`
}

// ID types of IDCard.IDType.
const (
	IDResident = "resident"
	IDDriver   = "driver"
	IDPassport = "passport"
	IDAlien    = "alien"
)

// IDCard is the fields of an identity document.
type IDCard struct {
	IDType         string `json:"idType,omitempty"`
	Name           *Field `json:"name,omitempty"`
	PersonalNumber *Field `json:"personalNumber,omitempty"`
	Address        *Field `json:"address,omitempty"`
	IssueDate      *Field `json:"issueDate,omitempty"`
	Issuer         *Field `json:"issuer,omitempty"`
	// driver's license
	LicenseNumber *Field `json:"licenseNumber,omitempty"`
	LicenseType   *Field `json:"licenseType,omitempty"`
	Condition     *Field `json:"condition,omitempty"`
	SerialNumber  *Field `json:"serialNumber,omitempty"`
	RenewStart    *Field `json:"renewStart,omitempty"`
	RenewEnd      *Field `json:"renewEnd,omitempty"`
	// passport
	PassportNumber *Field `json:"passportNumber,omitempty"`
	PassportType   *Field `json:"passportType,omitempty"`
	Surname        *Field `json:"surname,omitempty"`
	GivenName      *Field `json:"givenName,omitempty"`
	Nationality    *Field `json:"nationality,omitempty"` // passport and alien
	BirthDate      *Field `json:"birthDate,omitempty"`
	Sex            *Field `json:"sex,omitempty"`
	ExpiryDate     *Field `json:"expiryDate,omitempty"`
	KoreanName     *Field `json:"koreanName,omitempty"`
	// alien registration card
	AlienNumber *Field `json:"alienNumber,omitempty"`
	VisaType    *Field `json:"visaType,omitempty"`

	Authenticity *Authenticity `json:"authenticity,omitempty"`
}

// Authenticity is present when an authenticity check ran.
type Authenticity struct {
	Checked   bool `json:"checked"`
	Authentic bool `json:"authentic"`
}

// CreditCard is the fields of a payment card.
type CreditCard struct {
	Number    *Field `json:"number,omitempty"`
	ValidThru *Field `json:"validThru,omitempty"` // value "MM/YY"
	Name      *Field `json:"name,omitempty"`
}

// NameCard is the fields of a business card.
type NameCard struct {
	Name       []Field `json:"name,omitempty"`
	Company    []Field `json:"company,omitempty"`
	Department []Field `json:"department,omitempty"`
	Position   []Field `json:"position,omitempty"`
	Address    []Field `json:"address,omitempty"`
	Mobile     []Field `json:"mobile,omitempty"`
	Tel        []Field `json:"tel,omitempty"`
	Fax        []Field `json:"fax,omitempty"`
	Email      []Field `json:"email,omitempty"`
	Homepage   []Field `json:"homepage,omitempty"`
}

// MedicalReceipt is the fields of a medical bill.
type MedicalReceipt struct {
	Cells     []MedicalCell              `json:"cells,omitempty"`
	Checksums map[string]MedicalChecksum `json:"checksums,omitempty"`
}

// MedicalCell is one key/value cell; Key is the key texts joined with "|".
type MedicalCell struct {
	Key        string   `json:"key"`
	Value      any      `json:"value"` // a number where the text is an amount, else the text
	Text       string   `json:"text,omitempty"`
	Confidence *float64 `json:"confidence,omitempty"`
}

type MedicalChecksum struct {
	Found      bool    `json:"found"`
	ValueSum   float64 `json:"valueSum"`
	TotalSum   float64 `json:"totalSum"`
	Difference float64 `json:"difference"`
}

// Passport is the fields of a passport read from its MRZ.
type Passport struct {
	DocumentCode   *Field `json:"documentCode,omitempty"`
	IssuingState   *Field `json:"issuingState,omitempty"`
	Surname        *Field `json:"surname,omitempty"`
	GivenNames     *Field `json:"givenNames,omitempty"`
	PassportNumber *Field `json:"passportNumber,omitempty"`
	Nationality    *Field `json:"nationality,omitempty"`
	BirthDate      *Field `json:"birthDate,omitempty"`
	Sex            *Field `json:"sex,omitempty"`
	ExpiryDate     *Field `json:"expiryDate,omitempty"`
	PersonalNumber *Field `json:"personalNumber,omitempty"`
	Expired        bool   `json:"expired"`
	MRZValid       bool   `json:"mrzValid"` // every check digit verified by the project
}

// FaceCompare is the fields of a face-compare pair.
type FaceCompare struct {
	Similarity float64   `json:"similarity"`
	Match      bool      `json:"match"`
	Faces      FaceCount `json:"faces"`
}

type FaceCount struct {
	Card int `json:"card"`
	Face int `json:"face"`
}
