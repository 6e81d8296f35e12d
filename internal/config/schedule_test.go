package config

import (
	"strings"
	"testing"
)

const scheduleBase = `
redis: {url: redis://x}
vendors:
  clova: {kind: clova-ocr, url: https://e/clova}
  nhn: {kind: nhn-ocr, url: https://e/nhn}
routes: {receipt: clova}
schedules:
`

// Every schedule problem is caught at load time and names its key, so a
// typo cannot leave a backfill that silently never fires.
func TestScheduleValidation(t *testing.T) {
	for _, tc := range []struct{ name, entry, key string }{
		{"bad cron", `{cron: "61 * * * *", source: s3://a/p/, type: receipt, out: s3://b/}`, "schedules[0].cron"},
		{"seconds field", `{cron: "*/5 * * * * *", source: s3://a/p/, type: receipt, out: s3://b/}`, "schedules[0].cron"},
		{"garbage cron", `{cron: "nightly", source: s3://a/p/, type: receipt, out: s3://b/}`, "schedules[0].cron"},
		{"source not s3", `{cron: "@daily", source: /data/in/, type: receipt, out: s3://b/}`, "schedules[0].source"},
		{"source not a prefix", `{cron: "@daily", source: s3://a/one.png, type: receipt, out: s3://b/}`, "schedules[0].source"},
		{"out not s3", `{cron: "@daily", source: s3://a/p/, type: receipt, out: b/results/}`, "schedules[0].out"},
		{"type without route", `{cron: "@daily", source: s3://a/p/, type: passport, out: s3://b/}`, "schedules[0].type"},
		{"vendor unknown", `{cron: "@daily", source: s3://a/p/, type: receipt, vendor: nope, out: s3://b/}`, "schedules[0].vendor"},
		{"vendor cannot read type", `{cron: "@daily", source: s3://a/p/, type: receipt, vendor: nhn, out: s3://b/}`, "schedules[0].vendor"},
		// The name becomes the batch id <name>-<YYYYMMDDTHHMM>, which batch.CheckID must accept.
		{"name with a space", `{name: nightly receipts, cron: "@daily", source: s3://a/p/, type: receipt, out: s3://b/}`, "schedules[0].name"},
		{"name with a slash", `{name: a/b, cron: "@daily", source: s3://a/p/, type: receipt, out: s3://b/}`, "schedules[0].name"},
		{"name too long", `{name: ` + strings.Repeat("n", 120) + `, cron: "@daily", source: s3://a/p/, type: receipt, out: s3://b/}`, "schedules[0].name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(scheduleBase + "  - " + tc.entry + "\n"))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.key+":") {
				t.Errorf("error %q does not name %q", err, tc.key)
			}
		})
	}
}

func TestScheduleValid(t *testing.T) {
	c, err := Parse([]byte(scheduleBase +
		"  - {name: nightly, cron: \"0 2 * * *\", source: s3://a/p/, type: receipt, out: s3://b/r/}\n" +
		"  - {cron: \"@hourly\", source: s3://a/, type: receipt, vendor: clova, out: s3://b/r, queue: slow}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Schedules) != 2 || c.Schedules[0].Queue != "backfill" || c.Schedules[1].Queue != "slow" {
		t.Errorf("schedules = %+v", c.Schedules)
	}
}
