package notify

import (
	"errors"
	"strings"
	"testing"
)

func valid() Receiver {
	return Receiver{URL: "https://hooks.example.com/ocr?token=t0ps3cret", Secret: "s", Events: []string{EventBatchCompleted}}
}

func TestValidateRefusesPlainHTTPBeyondLoopback(t *testing.T) {
	r := valid()
	r.URL = "http://hooks.example.com/ocr?token=t0ps3cret"
	err := Validate([]Receiver{valid(), r})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "notify[1].url" {
		t.Fatalf("err = %v, want a FieldError on notify[1].url", err)
	}
	if strings.Contains(err.Error(), "t0ps3cret") || strings.Contains(err.Error(), "hooks.example.com") {
		t.Errorf("error repeats the URL: %v", err)
	}
	r.Insecure = true
	if err := Validate([]Receiver{r}); err != nil {
		t.Errorf("insecure: true: %v", err)
	}
	for _, u := range []string{"http://127.0.0.1:8080/h", "http://localhost/h", "http://[::1]:9/h", "https://10.0.0.1/h"} {
		r := valid()
		r.URL = u
		if err := Validate([]Receiver{r}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"ftp://h/x", "hooks.example.com/x", "http://10.0.0.1/h", "http://127.0.0.1.example.com/h"} {
		r := valid()
		r.URL = u
		if err := Validate([]Receiver{r}); err == nil {
			t.Errorf("%s: accepted", u)
		}
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	cases := map[string]func(*Receiver){
		"notify[0].secret": func(r *Receiver) { r.Secret = "" },
		"notify[0].events": func(r *Receiver) { r.Events = []string{"batch.done"} },
		"notify[0].name":   func(r *Receiver) { r.Name = "has space" },
	}
	for key, mutate := range cases {
		r := valid()
		mutate(&r)
		if err := Validate([]Receiver{r}); err == nil || !strings.HasPrefix(err.Error(), key+": ") {
			t.Errorf("%s: err = %v", key, err)
		}
	}
	if err := Validate([]Receiver{valid(), valid()}); err == nil || !strings.Contains(err.Error(), "notify[1]") {
		t.Errorf("duplicate receiver: err = %v", err)
	}
}

func TestReceiverIDAndTargetHoldNoToken(t *testing.T) {
	r := valid()
	r.URL = "https://user:pw@hooks.example.com:8443/ocr?token=t0ps3cret"
	if got := r.Target(); got != "https://hooks.example.com:8443" {
		t.Errorf("Target = %q", got)
	}
	if id := r.ID(); strings.Contains(id, "t0ps3cret") || !strings.HasPrefix(id, "url-") {
		t.Errorf("ID = %q", id)
	}
	r.Name = "accounting"
	if r.ID() != "accounting" {
		t.Errorf("ID = %q, want the name", r.ID())
	}
}
