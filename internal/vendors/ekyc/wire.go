package ekyc

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// Wire shapes of eKYC answers, as the Document API and Face Compare pages
// show them. Only what the client uses is decoded: face feature vectors and
// aligned images are never even held in these structs.

type vertex struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

type boundingPoly struct {
	Vertices []vertex `json:"vertices"`
}

// formatted holds FormattedText.formatted.value and
// FormattedDate.formatted.year/month/day.
type formatted struct {
	Value string `json:"value"`
	Year  string `json:"year"`
	Month string `json:"month"`
	Day   string `json:"day"`
}

// textBlock covers TextBlock, FormattedText and FormattedDate.
type textBlock struct {
	Text          string         `json:"text"`
	Formatted     *formatted     `json:"formatted"`
	BoundingPolys []boundingPoly `json:"boundingPolys"`
	MaskingText   string         `json:"maskingText"`
}

// blocks is a field's text blocks. The pages type most fields TextBlock[]
// but some (dl.type, pp.issueCountry, pp.authority) a single TextBlock;
// both decode here.
type blocks []textBlock

func (b *blocks) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		*b = nil
		return nil
	case len(data) > 0 && data[0] == '{':
		var one textBlock
		if err := json.Unmarshal(data, &one); err != nil {
			return err
		}
		*b = blocks{one}
		return nil
	}
	var many []textBlock
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	*b = many
	return nil
}

// documentAnswer is a Document API answer.
type documentAnswer struct {
	RequestID string          `json:"requestId"`
	UID       string          `json:"uid"`
	Images    []documentImage `json:"images"`
}

type documentImage struct {
	UID                 string         `json:"uid"`
	InferResult         string         `json:"inferResult"`
	Message             string         `json:"message"`
	BizLicense          *bizLicenseObj `json:"bizLicense"`
	IDCard              *idCardObj     `json:"idCard"`
	InferDetailType     string         `json:"inferDetailType"`
	InferDetailResource string         `json:"inferDetailResource"`
	IsGrayScale         *bool          `json:"isGrayScale"`
}

// details are what the result's "vendor" section keeps of the image, for
// a later Verify call ({invokeURL}/verify/{inferDetailResource}).
func (img *documentImage) details() []result.Detail {
	var d []result.Detail
	if img.InferDetailType != "" {
		d = append(d, result.Detail{Key: "inferDetailType", Value: img.InferDetailType})
	}
	if img.InferDetailResource != "" {
		d = append(d, result.Detail{Key: "inferDetailResource", Value: img.InferDetailResource})
	}
	if img.IsGrayScale != nil {
		d = append(d, result.Detail{Key: "isGrayScale", Value: *img.IsGrayScale})
	}
	return d
}

type bizLicenseObj struct {
	Result *bizLicenseResult `json:"result"`
}

type bizLicenseResult struct {
	BisAddress      blocks `json:"bisAddress"`
	BisArea         blocks `json:"bisArea"`
	BisItem         blocks `json:"bisItem"`
	RegisterNumber  blocks `json:"registerNumber"`
	BisType         blocks `json:"bisType"`
	CompanyName     blocks `json:"companyName"`
	CoRepName       blocks `json:"coRepName"`
	CorpName        blocks `json:"corpName"`
	CorpRegisterNum blocks `json:"corpRegisterNum"`
	DocumentType    blocks `json:"documentType"`
	HeadAddress     blocks `json:"headAddress"`
	IssuanceDate    blocks `json:"issuanceDate"`
	IssuanceReason  blocks `json:"issuanceReason"`
	OpenDate        blocks `json:"openDate"`
	RepName         blocks `json:"repName"`
	SocialNumber    blocks `json:"socialNumber"`
	TaxType         blocks `json:"taxType"`
}

type idCardObj struct {
	Result *idCardResult `json:"result"`
}

type idCardResult struct {
	IC     *residentCard `json:"ic"`
	DL     *driverCard   `json:"dl"`
	PP     *passportCard `json:"pp"`
	AC     *alienCard    `json:"ac"`
	IDType string        `json:"idtype"`
}

type residentCard struct {
	Name        blocks `json:"name"`
	PersonalNum blocks `json:"personalNum"`
	Address     blocks `json:"address"`
	IssueDate   blocks `json:"issueDate"`
	Authority   blocks `json:"authority"`
}

type driverCard struct {
	Type           blocks `json:"type"`
	Num            blocks `json:"num"`
	Name           blocks `json:"name"`
	PersonalNum    blocks `json:"personalNum"`
	Address        blocks `json:"address"`
	RenewStartDate blocks `json:"renewStartDate"`
	RenewEndDate   blocks `json:"renewEndDate"`
	Condition      blocks `json:"condition"`
	Code           blocks `json:"code"`
	IssueDate      blocks `json:"issueDate"`
	Authority      blocks `json:"authority"`
}

type passportCard struct {
	Type         blocks `json:"type"`
	IssueCountry blocks `json:"issueCountry"`
	Num          blocks `json:"num"`
	SurName      blocks `json:"surName"`
	GivenName    blocks `json:"givenName"`
	Nationality  blocks `json:"nationality"`
	BirthDate    blocks `json:"birthDate"`
	PersonalNum  blocks `json:"personalNum"`
	Sex          blocks `json:"sex"`
	IssueDate    blocks `json:"issueDate"`
	ExpireDate   blocks `json:"expireDate"`
	Authority    blocks `json:"authority"`
	FullNameKor  blocks `json:"fullNameKor"`
}

type alienCard struct {
	AlienRegNum blocks `json:"alienRegNum"`
	Sex         blocks `json:"sex"`
	Name        blocks `json:"name"`
	Nationality blocks `json:"nationality"`
	VisaType    blocks `json:"visaType"`
	IssueDate   blocks `json:"issueDate"`
	Authority   blocks `json:"authority"`
}

// compareAnswer is a Face Compare answer. Only the number of faces is
// read from faces[].
type compareAnswer struct {
	RequestID            string            `json:"requestId"`
	UID                  string            `json:"uid"`
	Result               string            `json:"result"`
	Message              string            `json:"message"`
	Similarity           *float64          `json:"similarity"`
	SimilarityPercentage *float64          `json:"similarityPercentage"`
	Faces                []json.RawMessage `json:"faces"`
}

var errNoImage = errors.New("answer holds no image result")

// parseDocument decodes a Document API answer with exactly one image.
func parseDocument(body []byte) (*documentAnswer, error) {
	var a documentAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, err
	}
	if len(a.Images) != 1 {
		return nil, errNoImage
	}
	return &a, nil
}

// parseCompare decodes a Face Compare answer.
func parseCompare(body []byte) (*compareAnswer, error) {
	var a compareAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, err
	}
	if a.Result == "" {
		return nil, errors.New("answer has no result")
	}
	return &a, nil
}
