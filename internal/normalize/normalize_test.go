package normalize

import (
	"testing"
)

func TestDate(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"2014 년 06 월 09 일", "2014-06-09", true}, // CLOVA biz-license openDate
		{"2017 년 06 월 29일", "2017-06-29", true},  // issuanceDate
		{"1951 년 12 03 일", "1951-12-03", true},   // birth, 월 missing in the seed
		{"2012. 6. 1.", "2012-06-01", true},
		{"2011.3. 6.", "2011-03-06", true}, // CLOVA id-card issueDate
		{"2019.01.01", "2019-01-01", true},
		{"20190101", "2019-01-01", true},
		{"2020-04-16", "2020-04-16", true}, // receipt paymentInfo.date
		{"1987/02/01", "1987-02-01", true}, // passport refinedText
		{"２０２０．０８．１６", "2020-08-16", true},
		{"2019.02.30", "", false},
		{"2019.13.01", "", false},
		{"19.01.01", "2019-01-01", true}, // two-digit years: see TestDateTwoDigitYear
		{"", "", false},
		{"서울특별시", "", false},
	}
	for _, c := range cases {
		got, ok := Date(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Date(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestDateParts(t *testing.T) {
	cases := []struct{ y, m, d, want string }{
		{"2020", "04", "16", "2020-04-16"}, // receipt seed formatted
		{"2011", "03", "06", "2011-03-06"}, // id-card seed formatted
		{"2020", "", "16", ""},
		{"20", "04", "16", ""},
		{"2021", "02", "29", ""},
	}
	for _, c := range cases {
		got, ok := DateParts(c.y, c.m, c.d)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("DateParts(%q,%q,%q) = %q, %v; want %q", c.y, c.m, c.d, got, ok, c.want)
		}
	}
}

func TestTime(t *testing.T) {
	cases := []struct{ in, want string }{
		{"20: 11", "20:11:00"}, // receipt seed
		{"13:05:09", "13:05:09"},
		{"201100", "20:11:00"},
		{"0905", "09:05:00"},
		{"오후 3:10", "15:10:00"},
		{"PM 12:30", "12:30:00"},
		{"오전 12:15", "00:15:00"},
		{"25:00", ""},
		{"12:60", ""},
		{"12", ""},
	}
	for _, c := range cases {
		got, ok := Time(c.in)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Time(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	if got, ok := TimeParts("20", "11", "00"); !ok || got != "20:11:00" {
		t.Errorf("TimeParts = %q, %v", got, ok)
	}
	if got, ok := TimeParts("7", "5", ""); !ok || got != "07:05:00" {
		t.Errorf("TimeParts empty second = %q, %v", got, ok)
	}
}

func TestNumber(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{"1,234원", int64(1234)},
		{"1,600", int64(1600)}, // receipt seed
		{"53435", int64(53435)},
		{"₩ 12,000", int64(12000)},
		{"-3,500", int64(-3500)},
		{"1.5", 1.5},
		{"2개", int64(2)},
		{"0", int64(0)},
		{"2 1,600", nil},
		{"원", nil},
		{"A123", nil},
		{"\\5,000", int64(5000)},
		{"", nil},
	}
	for _, c := range cases {
		if got := NumberValue(c.in); got != c.want {
			t.Errorf("NumberValue(%q) = %#v; want %#v", c.in, got, c.want)
		}
	}
}

func TestPhoneAndBizNumber(t *testing.T) {
	phones := []struct{ in, want string }{
		{"(031)786-1171", "0317861171"}, // receipt seed
		{"010-1234-5678", "01012345678"},
		{"+82 10-1234-5678", "+821012345678"},
		{"123-4567-8901", "12345678901"}, // name-card seed
		{"1234", ""},
	}
	for _, c := range phones {
		got, ok := Phone(c.in)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Phone(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	biz := []struct{ in, want string }{
		{"611-01-99810", "611-01-99810"}, // biz-license seed
		{"2128125544", "212-81-25544"},
		{"212 81 25544", "212-81-25544"},
		{"212-81-2554", ""},
	}
	for _, c := range biz {
		got, ok := BizNumber(c.in)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("BizNumber(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

func TestValidThru(t *testing.T) {
	cases := []struct{ in, want string }{
		{"12/25", "12/25"}, {"1225", "12/25"}, {"12/2025", "12/25"}, {"3/27", "03/27"},
		{"13/25", ""}, {"12", ""},
	}
	for _, c := range cases {
		got, ok := ValidThru(c.in)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("ValidThru(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}
