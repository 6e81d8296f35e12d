package result

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Detail is one vendor detail of a result's "vendor" object.
type Detail struct {
	Key   string
	Value any // a JSON value: string, bool, number
}

// vendorInfoKeys are the JSON keys of VendorInfo's own fields, which a
// Detail may not take.
var vendorInfoKeys = func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeOf(VendorInfo{})
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "-" {
			keys[name] = true
		}
	}
	return keys
}()

// vendorInfoFields is VendorInfo without its methods, for the default encoding.
type vendorInfoFields VendorInfo

// MarshalJSON writes the fields, then the details as further keys.
func (v VendorInfo) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(vendorInfoFields(v))
	if err != nil || len(v.Details) == 0 {
		return b, err
	}
	var out bytes.Buffer
	out.Write(b[:len(b)-1]) // without the closing brace
	for _, d := range v.Details {
		if vendorInfoKeys[d.Key] {
			return nil, fmt.Errorf("vendor detail %q is a field of its own", d.Key)
		}
		k, err := json.Marshal(d.Key)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(d.Value)
		if err != nil {
			return nil, fmt.Errorf("vendor detail %q: %w", d.Key, err)
		}
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		out.Write(k)
		out.WriteByte(':')
		out.Write(val)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// UnmarshalJSON reads the fields, and every other key as a Detail, in order.
func (v *VendorInfo) UnmarshalJSON(b []byte) error {
	var f vendorInfoFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*v = VendorInfo(f)
	v.Details = nil
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // a number reads back as written
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return err // null: nothing more to read
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var val any
		if err := dec.Decode(&val); err != nil {
			return err
		}
		if !vendorInfoKeys[key] {
			v.Details = append(v.Details, Detail{Key: key, Value: val})
		}
	}
	return nil
}
