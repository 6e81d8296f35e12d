package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ocrbatch/ocrworker/internal/vendors/vendorset"
)

var (
	typeOfConfig = reflect.TypeOf(Config{})
	typeOfVendor = reflect.TypeOf(Vendor{})
)

// checkKeys walks the YAML tree beside the Go type and rejects the first
// unknown key with its full path (vendors.ocr.rateLimt), which yaml.v3's
// KnownFields reports only by line and Go type name.
func checkKeys(n *yaml.Node, path string, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(Duration(0)) || n.Kind != yaml.MappingNode {
			return nil // type errors are the decoder's to report
		}
		fields := yamlFields(t)
		if t == typeOfVendor {
			addOptionKeys(fields, n)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			if !ok {
				return &Error{Key: join(path, key), Msg: "unknown key"}
			}
			if err := checkKeys(n.Content[i+1], join(path, key), ft); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(n.Content[i+1], join(path, n.Content[i].Value), t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			if err := checkKeys(c, fmt.Sprintf("%s[%d]", path, i), t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the yaml keys of a struct type to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	return fields
}

// addOptionKeys adds the keys of the vendor block's kind (its driver's
// Options), then those of every other kind: a key of another kind has no
// effect but is accepted, as it always was, so a file that loaded before
// still loads (the README's reference block lists every kind's keys under
// one vendor).
func addOptionKeys(fields map[string]reflect.Type, n *yaml.Node) {
	kind := ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "kind" {
			kind = n.Content[i+1].Value
		}
	}
	add := func(t reflect.Type) {
		for k, ft := range yamlFields(t.Elem()) {
			if _, ok := fields[k]; !ok {
				fields[k] = ft
			}
		}
	}
	if d := vendorset.Lookup(kind); d != nil {
		add(reflect.TypeOf(d.Options()))
	}
	for _, d := range vendorset.Drivers {
		add(reflect.TypeOf(d.Options()))
	}
}
