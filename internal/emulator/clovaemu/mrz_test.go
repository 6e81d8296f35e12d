package clovaemu

import "testing"

// The specimen of ICAO Doc 9303 part 4 (Appendix A, TD3).
func TestTD3MatchesTheICAOSpecimen(t *testing.T) {
	m := td3{
		DocumentCode: "P", IssuingState: "UTO", Surname: "ERIKSSON", GivenNames: "ANNA MARIA",
		DocumentNumber: "L898902C3", Nationality: "UTO", BirthDate: "740812", Sex: "F",
		ExpiryDate: "120415", PersonalNumber: "ZE184226B",
	}
	l1, l2 := m.Lines()
	if want := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"; l1 != want {
		t.Errorf("line 1\n got %s\nwant %s", l1, want)
	}
	if want := "L898902C36UTO7408122F1204159ZE184226B<<<<<10"; l2 != want {
		t.Errorf("line 2\n got %s\nwant %s", l2, want)
	}
}

func TestMRZCheckDigit(t *testing.T) {
	for in, want := range map[string]byte{"L898902C3": '6', "740812": '2', "120415": '9', "ZE184226B<<<<<": '1', "<<<<": '0'} {
		if got := mrzCheckDigit(in); got != want {
			t.Errorf("mrzCheckDigit(%q) = %c, want %c", in, got, want)
		}
	}
}
