package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/internal/testenv"
)

// refDecode is the reference for rowDecoder, built on encoding/json: keys in
// document order, a later key wins, null clears, the first field of a wrong
// type is the error, and any syntax error comes first.
func refDecode(line []byte) (row, error) {
	var r row
	if !json.Valid(line) {
		return r, &jsonSyntaxError{}
	}
	if bytes.TrimLeft(line, " \t\r\n")[0] != '{' {
		return r, &fieldTypeError{}
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil { // '{'
		return r, err
	}
	var typeErr *fieldTypeError
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return r, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return r, err
		}
		f, ok := fieldByKey[tok.(string)]
		if !ok {
			continue
		}
		c := raw[0]
		num := c == '-' || c >= '0' && c <= '9'
		bad := func() {
			if typeErr == nil {
				typeErr = &fieldTypeError{field: f.String()}
			}
		}
		switch {
		case c == 'n':
			r.has &^= 1 << f
		case f == fScore && num:
			v, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				bad()
				continue
			}
			r.setScore(v)
		case f == fID && num:
			if _, err := strconv.ParseInt(string(raw), 10, 64); err != nil {
				bad()
				continue
			}
			r.set(f, string(raw))
		case f != fScore && c == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return r, err
			}
			r.set(f, s)
		default:
			bad()
		}
	}
	if typeErr != nil {
		return r, typeErr
	}
	return r, nil
}

func checkAgainstRef(t *testing.T, line []byte) {
	var got row
	var d rowDecoder
	gotErr := d.decode(line, &got)
	want, wantErr := refDecode(line)

	var gs, ws *jsonSyntaxError
	var gt, wt *fieldTypeError
	switch {
	case errors.As(wantErr, &ws):
		require.ErrorAs(t, gotErr, &gs, "%q", line)
	case errors.As(wantErr, &wt):
		require.ErrorAs(t, gotErr, &gt, "%q", line)
		assert.Equal(t, wt.field, gt.field, "%q", line)
	case wantErr != nil:
		t.Fatalf("reference failed on %q: %v", line, wantErr)
	default:
		require.NoError(t, gotErr, "%q", line)
		for f := range numStrFields {
			if want.present(f) {
				assert.Equal(t, want.str[f], got.str[f], "%q: field %s", line, f)
			}
		}
		assert.Equal(t, want.has, got.has, "%q", line)
		assert.Equal(t, want.score, got.score, "%q", line)
	}
}

var decoderSeeds = []string{
	`{"id": "a", "prompt": "p", "chosen": "x", "rejected": "y"}`,
	`{"id": 7, "prompt": "p\n\u00e9\ud83d\ude00", "response": "r", "score": -2.5e-1, "scale": "0-4"}`,
	`{"id": "a", "label": "Safe", "nested": {"a": [1, 2.0, "x", true, false, null, {}]}, "prompt": "q"}`,
	`{"prompt": "a", "prompt": null}`,
	`{"prompt": 5, "id": true}`,
	`{"prompt": "a" "id": "b"}`,
	`{"prompt": "\ud800"}`,
	`{"prompt": "\ud800\u0041\udc00x"}`,
	`{"prompt": "bad \x escape"}`,
	"{\"prompt\": \"raw \xff\xfe bytes and \xe2\x82\xac\"}",
	"{\"prompt\": \"tab\there\"}",
	`{"score": 1e400}`,
	`{"score": "3"}`,
	`{"id": 1.5}`,
	`{"id": 99999999999999999999}`,
	`{"id": -0}`,
	`{"score": 01}`,
	`{"score": -}`,
	`{"score": 1.}`,
	`{"score": 1e}`,
	`[1, 2]`,
	`"str"`,
	`null`,
	`1e700`,
	`{}`,
	`{"a":1,}`,
	`{"a" 1}`,
	`{"id": "x"} trailing`,
	`{"pr\u006fmpt": "escaped key"}`,
	`  {"id":"a"}  ` + "\r\n",
	`{"Prompt": "case matters"}`,
	`{"prompt": tru}`,
	`{"prompt": "unterminated`,
	``,
	`   `,
	`{"a": [[[[[]]]]], "b": {"c": {"d": null}}}`,
}

func TestRowDecoderMatchesEncodingJSON(t *testing.T) {
	for _, s := range decoderSeeds {
		checkAgainstRef(t, []byte(s))
	}
}

func FuzzRowDecoder(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		checkAgainstRef(t, line)
	})
}

// BenchmarkDecodeRow compares rowDecoder with encoding/json (the baseline)
// on the lines of the biggest real training file.
func BenchmarkDecodeRow(b *testing.B) {
	content, err := os.ReadFile(filepath.Join(testenv.DataDir(b), "train", "pointwise", "frank_factuality.jsonl"))
	require.NoError(b, err)
	lines := bytes.SplitAfter(content, []byte("\n"))
	b.Run("encoding-json", func(b *testing.B) {
		// The struct the package used before rowDecoder.
		type jsonRow struct {
			ID       json.RawMessage `json:"id"`
			Dataset  *string         `json:"dataset"`
			Prompt   *string         `json:"prompt"`
			Response *string         `json:"response"`
			Scale    *string         `json:"scale"`
			Score    json.RawMessage `json:"score"`
		}
		b.SetBytes(int64(len(content)))
		for b.Loop() {
			for _, line := range lines {
				var jr jsonRow
				if err := json.Unmarshal(line, &jr); err != nil && len(bytes.TrimSpace(line)) > 0 {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("rowDecoder", func(b *testing.B) {
		var d rowDecoder
		var r row
		b.SetBytes(int64(len(content)))
		for b.Loop() {
			for _, line := range lines {
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				if err := d.decode(line, &r); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
