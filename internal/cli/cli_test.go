package cli

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
)

func TestParseAllowsFlagsAfterArguments(t *testing.T) {
	var g Globals
	var typ string
	fs := flag.NewFlagSet("enqueue", flag.ContinueOnError)
	g.Register(fs)
	fs.StringVar(&typ, "type", "", "")
	pos, err := Parse(fs, []string{"s3://a/1", "--type", "receipt", "s3://a/2", "--config=c.yaml", "--", "--not-a-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"s3://a/1", "s3://a/2", "--not-a-flag"}; !reflect.DeepEqual(pos, want) {
		t.Errorf("positional %v, want %v", pos, want)
	}
	if typ != "receipt" || g.Config != "c.yaml" {
		t.Errorf("type %q config %q", typ, g.Config)
	}
}

func TestParseErrorsAreUsageErrors(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	_, err := Parse(fs, []string{"--bogus"})
	var u *UsageError
	if !errors.As(err, &u) {
		t.Fatalf("err %v, want a UsageError", err)
	}
	var out bytes.Buffer
	if code := Exit(&out, err); code != ExitUsage || !strings.Contains(out.String(), "bogus") {
		t.Errorf("exit %d, output %q", code, out.String())
	}
	if code := Exit(&out, errors.New("boom")); code != ExitFailure {
		t.Errorf("failure exit %d", code)
	}
	if code := Exit(&out, nil); code != ExitOK {
		t.Errorf("ok exit %d", code)
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := Logger(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("hidden")
	log.Warn().Msg("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), `"message":"shown"`) {
		t.Errorf("log output %q", buf.String())
	}
	if _, err := Logger(&buf, "xml", "info"); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := Logger(&buf, "json", "loud"); err == nil {
		t.Error("unknown level accepted")
	}
}
