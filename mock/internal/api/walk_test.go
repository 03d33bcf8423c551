package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeObject: the walk reads a body into the members encoding/json reads (values
// whitespace aside, which it keeps as sent), and refuses the bodies encoding/json refuses, and any
// with more than white space after the object.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","scope":["a","b"],"accessTokenValiditySeconds":60}`,
		` { "name" : "a\"b" , "name" : "second" , "n\u0061me2" : { "x" : [ 1 , -2.5e+3 , true , null ] } } `,
		`{"":"","é":"\ud83d\ude00","x":{"}":"]"}}`,
		`{}`, `[]`, `null`, `"x"`, `{} {}`, `{}}`, `{"a":1`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // refused before either reads it
		}
		got, err := decodeObject(body)
		var want map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(body))
		wantErr := dec.Decode(&want)
		if wantErr == nil && (want == nil || len(bytes.Trim(body[dec.InputOffset():], " \t\r\n")) > 0) {
			wantErr = errors.New("not one object")
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: walk %v, encoding/json %v", body, err, wantErr)
		}
		if err != nil {
			return
		}
		for name, v := range want {
			var c bytes.Buffer
			if json.Compact(&c, got[name]) != nil || !bytes.Equal(c.Bytes(), compact(t, v)) {
				t.Fatalf("%q: member %q is %s, encoding/json reads %s", body, name, got[name], v)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%q: walk %v, encoding/json %v", body, got, want)
		}
	})
}

func compact(t *testing.T, v []byte) []byte {
	var c bytes.Buffer
	if err := json.Compact(&c, v); err != nil {
		t.Fatal(err)
	}
	return c.Bytes()
}

// TestJSONString: strings are read as encoding/json reads them, escapes and all; other values are
// not strings.
func TestJSONString(t *testing.T) {
	for _, raw := range []string{`""`, `"plain"`, `"a\"b\\c\u00e9\ud83d\ude00\n"`, `"é"`, `null`, `7`, `["x"]`, `{"a":"b"}`, `true`} {
		got, ok := jsonString([]byte(raw))
		var want string
		wantOK := json.Unmarshal([]byte(raw), &want) == nil && raw != "null"
		if got != want || ok != wantOK {
			t.Errorf("%s: %q %v, want %q %v", raw, got, ok, want, wantOK)
		}
	}
	if !reflect.DeepEqual(memberName([]byte(`"p\u0061th"`)), []byte("path")) {
		t.Error("an escaped member name is not resolved")
	}
}
