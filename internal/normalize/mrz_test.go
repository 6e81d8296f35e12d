package normalize

import (
	"errors"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func TestCheckDigit(t *testing.T) {
	// ICAO Doc 9303 part 3 worked examples.
	cases := []struct {
		in   string
		want int
	}{
		{"L898902C3", 6}, {"740812", 2}, {"120415", 9}, {"ZE184226B<<<<<", 1},
		{"L898902C36" + "7408122" + "120415" + "9" + "ZE184226B<<<<<1", 0},
		{"<<<<", 0},
	}
	for _, c := range cases {
		got, ok := CheckDigit(c.in)
		if !ok || got != c.want {
			t.Errorf("CheckDigit(%q) = %d, %v; want %d", c.in, got, ok, c.want)
		}
	}
	if _, ok := CheckDigit("ab"); ok {
		t.Errorf("lower case accepted")
	}
}

func TestParseTD3Valid(t *testing.T) {
	// ICAO 9303 specimen.
	p, err := ParseTD3("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10", now)
	if err != nil {
		t.Fatal(err)
	}
	want := TD3{DocumentCode: "P", IssuingState: "UTO", Surname: "ERIKSSON", GivenNames: "ANNA MARIA",
		DocumentNumber: "L898902C3", Nationality: "UTO", BirthDate: "1974-08-12", Sex: "F",
		ExpiryDate: "2012-04-15", PersonalNumber: "ZE184226B",
		Checks: TD3Checks{true, true, true, true, true}}
	if *p != want {
		t.Errorf("got %+v\nwant %+v", *p, want)
	}
	if !p.Valid() || !p.Expired(now) {
		t.Errorf("valid=%v expired=%v", p.Valid(), p.Expired(now))
	}
}

func TestParseTD3Seed(t *testing.T) {
	// The CLOVA passport seed's MRZ lines are 46 characters long: line 1
	// has two extra fillers (trimmed), line 2 one character too many, so it
	// is no TD3 and must not be reported valid.
	l1, l2, ok := SplitMRZ("PMKORHONG<<GILSOON<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nM123A45670KOR8702010F3008150V20000000000000000")
	if !ok {
		t.Fatal("split failed")
	}
	if _, err := ParseTD3(l1, l2, now); !errors.Is(err, ErrNotTD3) {
		t.Fatalf("err = %v", err)
	}
	// The same passport with a well-formed line 2 parses; its placeholder
	// check digits ("0") fail.
	p, err := ParseTD3(l1, "M123A45670KOR8702010F3008150V200000000000000", now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Surname != "HONG" || p.GivenNames != "GILSOON" || p.DocumentCode != "PM" || p.DocumentNumber != "M123A4567" {
		t.Errorf("parsed %+v", p)
	}
	if p.BirthDate != "1987-02-01" || p.ExpiryDate != "2030-08-15" || p.Sex != "F" || p.Expired(now) {
		t.Errorf("dates/sex %+v", p)
	}
	if p.Valid() || p.Checks.DocumentNumber {
		t.Errorf("placeholder check digits accepted: %+v", p.Checks)
	}
}

func TestParseTD3Rejects(t *testing.T) {
	for _, c := range [][2]string{
		{"P<KOR", "short"},
		{"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"},
		{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<1é"},
	} {
		if _, err := ParseTD3(c[0], c[1], now); !errors.Is(err, ErrNotTD3) {
			t.Errorf("ParseTD3(%q, %q) err = %v", c[0], c[1], err)
		}
	}
}

func TestMRZDateCentury(t *testing.T) {
	if d, _ := MRZDate("991231", now, false); d != "1999-12-31" {
		t.Errorf("birth 99 = %s", d)
	}
	if d, _ := MRZDate("050101", now, false); d != "2005-01-01" {
		t.Errorf("birth 05 = %s", d)
	}
	if d, _ := MRZDate("350101", now, true); d != "2035-01-01" {
		t.Errorf("expiry 35 = %s", d)
	}
	if _, ok := MRZDate("351301", now, true); ok {
		t.Errorf("month 13 accepted")
	}
}

func FuzzParseTD3(f *testing.F) {
	f.Add("PMKORHONG<<GILSOON<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nM123A45670KOR8702010F3008150V20000000000000000")
	f.Add("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10")
	f.Fuzz(func(t *testing.T, s string) {
		_ = MaskMRZ(s)
		if l1, l2, ok := SplitMRZ(s); ok {
			if p, err := ParseTD3(l1, l2, now); err == nil {
				_ = p.Valid()
			}
		}
	})
}

func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"2014 년 06 월 09 일", "20: 11", "1,234원", "(031)786-1171", "800***-234****", "5307123456749012", "11-17-174133-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		Date(s)
		Time(s)
		NumberValue(s)
		Phone(s)
		BizNumber(s)
		ValidThru(s)
		for _, m := range []func(string) string{MaskResidentNumber, MaskCardNumber, MaskLicenseNumber, MaskPassportNumber} {
			m(s)
		}
	})
}
