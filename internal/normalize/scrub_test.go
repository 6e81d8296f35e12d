package normalize

import "testing"

func TestScrubText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// resident / alien registration numbers, every spelling
		{"800101-1234567", "800101-1******"},
		{"주민 800101-1234567", "주민 800101-1******"},
		{"환자 김철수 800101 1234567 외래", "환자 김철수 800101-1****** 외래"},
		{"8001011234560", "800101-1******"},               // bare, resident check digit valid
		{"주민등록번호:8801043014809", "주민등록번호:880104-3******"}, // bare EAN-shaped, but the keyword says resident
		{"８００１０１－１２３４５６７", "800101-1******"},              // full-width digits and dash
		{"800101–1234567 / 800101—1234567", "800101-1****** / 800101-1******"},
		{"8001 01 - 1234 567", "800101-1******"},     // spaces inside
		{"외국인 900101-5234567", "외국인 900101-5******"}, // alien registration number
		{"(800101-1234567)", "(800101-1******)"},
		// card numbers
		{"카드번호 5307123456789012", "카드번호 5307-12**-****-9012"}, // not Luhn-valid, but the keyword says card
		{"4111 1111 1111 1111", "4111-11**-****-1111"},
		{"결제 5307-1234-5678-9014 승인", "결제 5307-12**-****-9014 승인"},
		{"amex 3782 822463 10005", "amex 3782-82**-***0-005"},
		{"9410-1234-5678-9010", "9410-12**-****-9010"},
		// false positives a shape-only rule would make: left alone
		{"새우깡 8801043014809", "새우깡 8801043014809"}, // EAN-13 bar code in an item name
		{"8801062518494 콜라", "8801062518494 콜라"},
		{"800101-12345678", "800101-12345678"},         // 14 digits: not a resident number
		{"801301-1234567", "801301-1234567"},           // month 13: not a birth date
		{"5307-1234-5678-9012", "5307-1234-5678-9012"}, // not Luhn-valid, no card keyword
		{"8111 1111 1111 1116", "8111 1111 1111 1116"}, // Luhn-valid but no card starts with 8
		{"02-1234-5678", "02-1234-5678"},
		{"합계 1,234,567,890,123원", "합계 1,234,567,890,123원"},
		{"2024-01-01 12:30:45", "2024-01-01 12:30:45"},
		{"800101-1******", "800101-1******"}, // already masked
		{"", ""},
	} {
		if got := ScrubText(c.in); got != c.want {
			t.Errorf("ScrubText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
