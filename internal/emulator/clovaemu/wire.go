package clovaemu

// The CLOVA OCR Document API (V2) wire types, named as the seed document
// names them. Field order and omitempty follow the seed's response examples:
// a key the examples always show is always written, even when empty.

// requestMessage is the JSON body (application/json) or the "message" form
// field (multipart/form-data).
type requestMessage struct {
	Version   *string        `json:"version"`
	RequestID *string        `json:"requestId"`
	Timestamp *int64         `json:"timestamp"`
	Images    []requestImage `json:"images"`
}

type requestImage struct {
	Format *string `json:"format"`
	Name   *string `json:"name"`
	Data   *string `json:"data"`
}

// errorBody is the documented error response.
type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Path      string `json:"path"`
	TraceID   string `json:"traceId"`
	Timestamp int64  `json:"timestamp"`
}

type response struct {
	Version   string          `json:"version"`
	RequestID string          `json:"requestId"`
	Timestamp int64           `json:"timestamp"`
	Images    []imageResponse `json:"images"`
}

type imageResponse struct {
	UID              string           `json:"uid"`
	Name             string           `json:"name"`
	InferResult      string           `json:"inferResult"`
	Message          string           `json:"message"`
	ValidationResult validationResult `json:"validationResult"`
	ConvertedImage   *convertedImage  `json:"convertedImageInfo,omitempty"`
	Receipt          *receipt         `json:"receipt,omitempty"`
	CreditCard       *creditCard      `json:"creditCard,omitempty"`
	NameCard         *nameCard        `json:"nameCard,omitempty"`
	BizLicense       *bizLicense      `json:"bizLicense,omitempty"`
	IDCard           *idCard          `json:"idCard,omitempty"`
	MedicalReceipt   *medicalReceipt  `json:"medicalReceipt,omitempty"`
	Passport         *passport        `json:"passport,omitempty"`
}

type validationResult struct {
	Result  string `json:"result"`
	Message string `json:"message,omitempty"`
}

type convertedImage struct {
	Width     int `json:"width"`
	Height    int `json:"height"`
	PageIndex int `json:"pageIndex"`
}

type meta struct {
	EstimatedLanguage string `json:"estimatedLanguage"`
}

type vertex struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

type boundingPoly struct {
	Vertices []vertex `json:"vertices"`
}

// valueFormatted is the "formatted" of StringObject, TelObject and FloatObject.
type valueFormatted struct {
	Value string `json:"value"`
}

type dateFormatted struct {
	Year  string `json:"year"`
	Month string `json:"month"`
	Day   string `json:"day"`
}

type timeFormatted struct {
	Hour   string `json:"hour"`
	Minute string `json:"minute"`
	Second string `json:"second"`
}

// baseObject is BaseObject: text and boxes only.
type baseObject struct {
	Text          string         `json:"text"`
	BoundingPolys []boundingPoly `json:"boundingPolys"`
}

// stringObject is StringObject, TelObject and FloatObject (their formatted
// is {"value"}); Formatted is nil where the seed example omits it.
type stringObject struct {
	Text          string          `json:"text"`
	Formatted     *valueFormatted `json:"formatted,omitempty"`
	BoundingPolys []boundingPoly  `json:"boundingPolys"`
	MaskingPolys  []boundingPoly  `json:"maskingPolys,omitempty"`
}

type dateObject struct {
	Text          string         `json:"text"`
	Formatted     dateFormatted  `json:"formatted"`
	BoundingPolys []boundingPoly `json:"boundingPolys"`
}

type timeObject struct {
	Text          string         `json:"text"`
	Formatted     timeFormatted  `json:"formatted"`
	BoundingPolys []boundingPoly `json:"boundingPolys"`
}

// --- receipt ---

type receipt struct {
	Meta   meta          `json:"meta"`
	Result receiptResult `json:"result"`
}

type receiptResult struct {
	StoreInfo   storeInfo   `json:"storeInfo"`
	PaymentInfo paymentInfo `json:"paymentInfo"`
	SubResults  []subResult `json:"subResults"`
	TotalPrice  totalPrice  `json:"totalPrice"`
}

type storeInfo struct {
	Name    stringObject `json:"name"`
	SubName stringObject `json:"subName"`
	BizNum  stringObject `json:"bizNum"`
	// The seed's table says "address"; its example, which is what the API
	// sends, says "addresses".
	Addresses []stringObject `json:"addresses"`
	Tel       []stringObject `json:"tel"`
}

type paymentInfo struct {
	Date       dateObject `json:"date"`
	Time       timeObject `json:"time"`
	CardInfo   cardInfo   `json:"cardInfo"`
	ConfirmNum baseObject `json:"confirmNum"`
}

type cardInfo struct {
	Company stringObject `json:"company"`
	Number  stringObject `json:"number"`
}

type subResult struct {
	Items []receiptItem `json:"items"`
}

type receiptItem struct {
	Name      stringObject `json:"name"`
	Count     stringObject `json:"count"`
	PriceInfo priceInfo    `json:"price"` // the table says "priceInfo"; the example (the wire) says "price"
}

type priceInfo struct {
	Price     stringObject `json:"price"`
	UnitPrice stringObject `json:"unitPrice"`
}

type totalPrice struct {
	Price stringObject `json:"price"`
}

// --- credit card ---

type creditCard struct {
	Meta   meta             `json:"meta"`
	Result creditCardResult `json:"result"`
}

type creditCardResult struct {
	Number    field `json:"number"`
	ValidThru field `json:"validThru"`
	Name      field `json:"name"`
}

// field is the credit card's "field object".
type field struct {
	Text             string         `json:"text"`
	Confidence       float64        `json:"confidence"`
	BoundingPoly     boundingPoly   `json:"boundingPoly"`
	SubBoundingPolys []boundingPoly `json:"subBoundingPolys"`
}

// --- name card ---

type nameCard struct {
	Meta   meta           `json:"meta"`
	Result nameCardResult `json:"result"`
}

type nameCardResult struct {
	Name         []stringObject `json:"name"`
	NameFurigana []stringObject `json:"nameFurigana"`
	Company      []stringObject `json:"company"`
	Department   []stringObject `json:"department"`
	Address      []stringObject `json:"address"`
	Position     []stringObject `json:"position"`
	Mobile       []stringObject `json:"mobile"`
	Tel          []stringObject `json:"tel"`
	Fax          []stringObject `json:"fax"`
	Email        []stringObject `json:"email"`
	Homepage     []stringObject `json:"homepage"`
}

// --- business license ---

type bizLicense struct {
	Meta   meta             `json:"meta"`
	Result bizLicenseResult `json:"result"`
}

type bizLicenseResult struct {
	Birth           []baseObject   `json:"birth"`
	BisAddress      []baseObject   `json:"bisAddress"`
	BisArea         []baseObject   `json:"bisArea"`
	BisItem         []baseObject   `json:"bisItem"`
	RegisterNumber  []baseObject   `json:"registerNumber"`
	BisType         []baseObject   `json:"bisType"`
	CompanyName     []baseObject   `json:"companyName"`
	CoRepName       []baseObject   `json:"coRepName"`
	CorpName        []baseObject   `json:"corpName"`
	CorpRegisterNum []baseObject   `json:"corpRegisterNum"`
	CoRepSocialNum  []baseObject   `json:"coRepSocialNum"`
	DocumentType    []stringObject `json:"documentType"`
	HeadAddress     []baseObject   `json:"headAddress"`
	IssuanceDate    []baseObject   `json:"issuanceDate"`
	IssuanceReason  []baseObject   `json:"issuanceReason"`
	OpenDate        []baseObject   `json:"openDate"`
	RepName         []baseObject   `json:"repName"`
	SocialNumber    []baseObject   `json:"socialNumber"`
	TaxType         []baseObject   `json:"taxType"`
}

// --- id card (2026 page) ---

type idCard struct {
	Meta   meta         `json:"meta"`
	Result idCardResult `json:"result"`
}

type idCardResult struct {
	IsConfident bool           `json:"isConfident"`
	IC          *idCardIC      `json:"ic,omitempty"`
	ROIs        []boundingPoly `json:"rois"`
	// Both published examples spell it "idtype", whatever the tables say.
	IDType string `json:"idtype"`
}

type idCardIC struct {
	Name        []idValue `json:"name"`
	PersonalNum []idValue `json:"personalNum"`
	Address     []idValue `json:"address"`
	IssueDate   []idValue `json:"issueDate"`
	Authority   []idValue `json:"authority"`
}

// idValue is the 2026 id-card value object: a StringObject or DateObject
// (Formatted is valueFormatted or dateFormatted) plus keyText and
// confidenceScore.
type idValue struct {
	Text            string         `json:"text"`
	Formatted       any            `json:"formatted"`
	KeyText         string         `json:"keyText"`
	ConfidenceScore float64        `json:"confidenceScore"`
	BoundingPolys   []boundingPoly `json:"boundingPolys"`
	MaskingPolys    []boundingPoly `json:"maskingPolys"`
}

// --- medical receipt ---

type medicalReceipt struct {
	Result   []medicalCell       `json:"result"`
	Checksum map[string]checksum `json:"checksum"`
}

type medicalCell struct {
	ID         int       `json:"id"`
	KeyTexts   string    `json:"keyTexts"`
	ValueText  string    `json:"valueText"`
	Confidence float64   `json:"confidence"`
	KeyCells   []keyCell `json:"keyCells"`
	ValueCell  valueCell `json:"valueCell"`
}

type keyCell struct {
	BoundingPoly boundingPoly `json:"boundingPoly"`
	Depth        int          `json:"depth"`
	Formatted    string       `json:"formatted"`
	Group        string       `json:"group"`
	Value        string       `json:"value"`
}

type valueCell struct {
	BoundingPoly boundingPoly `json:"boundingPoly"`
	Confidence   float64      `json:"confidence"`
	Value        string       `json:"value"`
}

type checksum struct {
	Found         bool    `json:"found"`
	FoundValueIDs []int   `json:"foundValueIds"`
	FoundValueSum float64 `json:"foundValueSum"`
	FoundTotalIDs []int   `json:"foundTotalIds"`
	FoundTotalSum float64 `json:"foundTotalSum"`
	Difference    float64 `json:"difference"`
}

// --- passport (MRZ) ---

type passport struct {
	PassportResult passportResult `json:"passportResult"`
}

type passportResult struct {
	DocumentClassCode           mrzString `json:"documentClassCode"`
	IssuingStateCode            mrzString `json:"issuingStateCode"`
	FirstName                   mrzString `json:"firstName"`
	LastName1                   mrzString `json:"lastName1"`
	LastName2                   mrzString `json:"lastName2"`
	DocumentNumber              mrzString `json:"documentNumber"`
	CheckDigitForDocumentNumber mrzString `json:"checkDigitForDocumentNumber"`
	Nationality                 mrzString `json:"nationality"`
	DateOfBirth                 mrzString `json:"dateOfBirth"`
	Age                         mrzInt    `json:"age"`
	CheckDigitForDateOfBirth    mrzString `json:"checkDigitForDateOfBirth"`
	Gender                      mrzString `json:"gender"`
	DateOfExpiry                mrzString `json:"dateOfExpiry"`
	CheckDigitForDateOfExpiry   mrzString `json:"checkDigitForDateOfExpiry"`
	PersonalNumber              mrzString `json:"personalNumber"`
	CheckDigitForPersonalNumber mrzString `json:"checkDigitForPersonalNumber"`
	FinalCheckDigit             mrzString `json:"finalCheckDigit"`
	MRZType                     mrzString `json:"mrzType"`
	MRZLines                    mrzString `json:"mrzLines"`
	IsExpired                   mrzBool   `json:"isExpired"`
}

type mrzString struct {
	RawText       string `json:"rawText"`
	RefinedText   string `json:"refinedText"`
	Postprocessed []int  `json:"postprocessed"`
}

type mrzInt struct {
	RawText       string `json:"rawText"`
	RefinedText   int    `json:"refinedText"`
	Postprocessed []int  `json:"postprocessed"`
}

type mrzBool struct {
	RawText       string `json:"rawText"`
	RefinedText   bool   `json:"refinedText"`
	Postprocessed []int  `json:"postprocessed"`
}
