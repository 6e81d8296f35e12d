package nhn

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
)

// authCheck is the body of an id-card/authenticity call, built from the
// recognized fields as the seed's field table lists them per idType.
type authCheck struct {
	idType    string
	encrypted map[string]string // field -> plain value, sent AES-encrypted
	plain     map[string]string // field -> value sent as is
}

// authenticityRequest picks and formats the fields of the check:
//
//	resident: name, residentNumber (13 digits), issueDate (YYYYMMDD)
//	driver:   name, residentNumber (first 6 + 1 digits), driverLicenseNumber
//	          (12 digits), serialNum (optional)
//	passport: name, passportNumber, birthDate, issueDate (YYYYMMDD),
//	          expirationDate (YYYYMMDD, not encrypted)
func (a *idCardAnswer) authenticityRequest() (*authCheck, error) {
	k := a.keys()
	c := &authCheck{idType: a.IDType, encrypted: map[string]string{}, plain: map[string]string{"idType": a.IDType}}
	var missing []string
	need := func(field, value string) {
		if value == "" {
			missing = append(missing, field)
			return
		}
		c.encrypted[field] = value
	}
	ymd := func(keys ...string) string {
		for _, key := range keys {
			if iso, ok := normalize.Date(k.text(key)); ok {
				return strings.ReplaceAll(iso, "-", "")
			}
		}
		return ""
	}
	switch a.IDType {
	case result.IDResident:
		need("name", k.text("name"))
		if d := normalize.Digits(k.text("residentNumber")); len(d) == 13 {
			need("residentNumber", d)
		} else {
			need("residentNumber", "")
		}
		need("issueDate", ymd("issueDate"))
	case result.IDDriver:
		need("name", k.text("name"))
		if d := normalize.Digits(k.text("residentNumber")); len(d) >= 7 {
			need("residentNumber", d[:7])
		} else {
			need("residentNumber", "")
		}
		if d := normalize.Digits(k.text("driverLicenseNumber")); len(d) == 12 {
			need("driverLicenseNumber", d)
		} else {
			need("driverLicenseNumber", "")
		}
		if s := k.text("serialNum"); s != "" {
			c.encrypted["serialNum"] = s
		}
	case result.IDPassport:
		name := k.text("koreanName")
		if name == "" {
			name = strings.TrimSpace(k.text("surName") + " " + k.text("givenName"))
		}
		need("name", name)
		pn, _ := passportNumber(k.text("passportNo"))
		need("passportNumber", pn)
		need("birthDate", ymd("dateOfBirthYMD", "dateOfBirth"))
		need("issueDate", ymd("dateOfIssueYMD", "dateOfIssue"))
		if exp := ymd("dateOfExpiryYMD", "dateOfExpiry"); exp != "" {
			c.plain["expirationDate"] = exp
		} else {
			missing = append(missing, "expirationDate")
		}
	default:
		return nil, ocrerr.Permanent(ocrerr.RecognitionFailed, "authenticity check not available for id type %q", safeMessage(a.IDType))
	}
	if len(missing) > 0 {
		return nil, ocrerr.Permanent(ocrerr.RecognitionFailed, "authenticity check impossible: %s not recognized", strings.Join(missing, ", "))
	}
	return c, nil
}

// body encrypts the fields with the request's own symmetric key.
func (c *authCheck) body(_ context.Context, env *envelope) (io.ReadCloser, string, int64, func() error, error) {
	m := make(map[string]string, len(c.encrypted)+len(c.plain))
	for k, v := range c.plain {
		m[k] = v
	}
	for k, v := range c.encrypted {
		m[k] = env.encryptValue(v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, "", 0, nil, ocrerr.Permanent(ocrerr.Internal, "encode authenticity request").Wrap(err)
	}
	return io.NopCloser(bytes.NewReader(b)), "application/json", int64(len(b)), nil, nil
}
