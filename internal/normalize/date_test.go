package normalize

import (
	"testing"
	"time"
)

// Quirks of real CLOVA receipt answers (issue 15): two-digit years with an
// empty formatted year, spaced times, day "00", counts read as ",".

func TestDateTwoDigitYear(t *testing.T) {
	defer func(f func() time.Time) { clock = f }(clock)
	clock = func() time.Time { return time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC) }
	cases := []struct {
		in, want string
	}{
		{"20-09-26", "2020-09-26"}, // a real receipt's paymentInfo.date text
		{"20.09.26", "2020-09-26"},
		{"20/09/26", "2020-09-26"},
		{"20. 9. 26.", "2020-09-26"},
		{"26-12-02", "2026-12-02"}, // today
		{"26-12-03", "2026-12-03"}, // tomorrow: clocks and time zones differ by a day
		{"26-12-31", "1926-12-31"}, // later this year: the past century
		{"98.03.06", "1998-03-06"},
		{"20-02-30", ""}, // no such day
		{"20-09-00", ""}, // day "00"
		{"20-13-01", ""},
		{"20-09/26", ""},       // mixed separators are not a date
		{"20 09 26", ""},       // nor are bare spaces
		{"26-09-20 11:58", ""}, // date and time together: not a date field
		{"1-09-26", ""},
	}
	for _, c := range cases {
		got, ok := Date(c.in)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Date(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

func TestDatePartsDayZero(t *testing.T) {
	if got, ok := DateParts("2020", "09", "00"); ok {
		t.Errorf(`DateParts day "00" = %q; want no date`, got)
	}
}

func TestTimeSpaced(t *testing.T) {
	for in, want := range map[string]string{
		"11: 58: 55": "11:58:55",
		"11 : 58":    "11:58:00",
		"11:58: 5":   "11:58:05",
	} {
		if got, ok := Time(in); !ok || got != want {
			t.Errorf("Time(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := TimeParts("11", " 58", " 55"); !ok || got != "11:58:55" {
		t.Errorf("TimeParts with spaces = %q, %v", got, ok)
	}
}

func TestCountWithoutDigits(t *testing.T) {
	for _, in := range []string{",", " , ", ".", "-", "₩"} {
		if v := NumberValue(in); v != nil {
			t.Errorf("NumberValue(%q) = %#v; want nil (no number read)", in, v)
		}
	}
}
