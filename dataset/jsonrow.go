package dataset

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeRow parses one JSON Lines record into r in a single pass.
//
// It exists because encoding/json makes three passes over every string
// (validate, scan, unquote) and loaded the data directory about five times
// slower. Its semantics follow encoding/json's: the same grammar (RFC 8259,
// nesting up to 10000 levels), invalid UTF-8 and unpaired surrogates become
// U+FFFD, a later duplicate key wins, null counts as absent, and a syntax
// error anywhere takes precedence over a field of the wrong type. Unlike
// encoding/json, keys match exactly (JSON is case-sensitive). A fuzz test
// checks it against encoding/json.
type rowDecoder struct {
	data    []byte
	i       int
	scratch []byte
	// typeErr is the first field of the wrong type; reported only when the
	// whole line parses.
	typeErr *fieldTypeError
}

// jsonSyntaxError is malformed JSON at byte offset off (0-based) of a line.
type jsonSyntaxError struct {
	off int
	msg string
}

func (e *jsonSyntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at byte %d: %s", e.off+1, e.msg)
}

// fieldTypeError is a known field holding a value of the wrong type. field
// is "" when the line is not an object.
type fieldTypeError struct {
	field string
	msg   string
}

const maxJSONDepth = 10000

func (d *rowDecoder) decode(data []byte, r *row) error {
	d.data, d.i, d.typeErr = data, 0, nil
	d.ws()
	if d.i >= len(d.data) {
		return d.unexpected("looking for beginning of value")
	}
	if d.data[d.i] != '{' {
		kind := d.kindAt()
		if err := d.skipValue(0); err != nil {
			return err
		}
		if err := d.end(); err != nil {
			return err
		}
		return &fieldTypeError{msg: "want a JSON object, got " + kind}
	}
	if err := d.object(r); err != nil {
		return err
	}
	if err := d.end(); err != nil {
		return err
	}
	if d.typeErr != nil {
		return d.typeErr
	}
	return nil
}

func (e *fieldTypeError) Error() string { return e.msg }

func (d *rowDecoder) syntax(format string, args ...any) error {
	return &jsonSyntaxError{off: d.i, msg: fmt.Sprintf(format, args...)}
}

func (d *rowDecoder) unexpected(context string) error {
	if d.i >= len(d.data) {
		return d.syntax("unexpected end of line %s", context)
	}
	return d.syntax("invalid character %s %s", quoteChar(d.data[d.i]), context)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(c))
	return "'" + s[1:len(s)-1] + "'"
}

func (d *rowDecoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *rowDecoder) end() error {
	d.ws()
	if d.i < len(d.data) {
		return d.unexpected("after top-level value")
	}
	return nil
}

// kindAt names the type of the value starting at d.i, for messages.
func (d *rowDecoder) kindAt() string {
	if d.i >= len(d.data) {
		return "nothing"
	}
	switch c := d.data[d.i]; {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	}
	return "number"
}

// fieldByKey maps JSON keys to fields.
var fieldByKey = func() map[string]field {
	m := make(map[string]field, len(fieldNames))
	for f, name := range fieldNames {
		m[name] = field(f)
	}
	return m
}()

func (d *rowDecoder) object(r *row) error {
	d.i++ // '{'
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		if d.i >= len(d.data) || d.data[d.i] != '"' {
			return d.unexpected("looking for beginning of object key string")
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		f, known := fieldByKey[string(key)] // no allocation: the compiler special-cases this lookup
		d.ws()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return d.unexpected("after object key")
		}
		d.i++
		d.ws()
		if known {
			err = d.field(f, r)
		} else {
			err = d.skipValue(1)
		}
		if err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.data) {
			return d.unexpected("after object key:value pair")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
			d.ws()
		case '}':
			d.i++
			return nil
		default:
			return d.unexpected("after object key:value pair")
		}
	}
}

// field reads the value of a known field into r.
func (d *rowDecoder) field(f field, r *row) error {
	if d.i >= len(d.data) {
		return d.unexpected("looking for beginning of value")
	}
	c := d.data[d.i]
	if c == 'n' {
		if err := d.skipValue(1); err != nil {
			return err
		}
		r.has &^= 1 << f
		return nil
	}
	switch {
	case f == fScore && (c == '-' || c >= '0' && c <= '9'):
		lit, err := d.number()
		if err != nil {
			return err
		}
		v, perr := strconv.ParseFloat(string(lit), 64)
		if perr != nil {
			d.typeError(f, "want a float64, got "+string(lit))
			return nil
		}
		r.setScore(v)
		return nil
	case f == fID && (c == '-' || c >= '0' && c <= '9'):
		lit, err := d.number()
		if err != nil {
			return err
		}
		if _, perr := strconv.ParseInt(string(lit), 10, 64); perr != nil {
			d.typeError(f, "want a string or an integer, got number "+string(lit))
			return nil
		}
		r.set(f, string(lit))
		return nil
	case f != fScore && c == '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		r.set(f, string(s))
		return nil
	}
	kind := d.kindAt()
	if err := d.skipValue(1); err != nil {
		return err
	}
	switch f {
	case fScore:
		d.typeError(f, "want a number, got "+kind)
	case fID:
		d.typeError(f, "want a string or an integer, got "+kind)
	default:
		d.typeError(f, "want a string, got "+kind)
	}
	return nil
}

func (d *rowDecoder) typeError(f field, msg string) {
	if d.typeErr == nil {
		d.typeErr = &fieldTypeError{field: f.String(), msg: msg}
	}
}

// str reads a string starting at its opening quote and returns its decoded
// bytes, which alias either the line or the scratch buffer and are valid
// until the next call. A string without escapes or invalid UTF-8, the
// common case, is returned without copying.
func (d *rowDecoder) str() ([]byte, error) {
	d.i++ // opening quote
	var buf []byte
	escaped := false
	for {
		// A run of plain bytes, up to a quote, an escape or an error.
		start := d.i
		var high byte
		for d.i < len(d.data) {
			c := d.data[d.i]
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			high |= c
			d.i++
		}
		run := d.data[start:d.i]
		valid := high < utf8.RuneSelf || utf8.Valid(run)
		if d.i >= len(d.data) || d.data[d.i] < 0x20 {
			return nil, d.unexpected("in string literal")
		}
		if !escaped {
			if d.data[d.i] == '"' && valid {
				d.i++
				return run, nil
			}
			buf, escaped = d.scratch[:0], true
		}
		// Escapes are ASCII, so a run never splits a valid UTF-8 sequence.
		if valid {
			buf = append(buf, run...)
		} else {
			buf = appendValidUTF8(buf, run)
		}
		if d.data[d.i] == '"' {
			d.i++
			d.scratch = buf
			return buf, nil
		}
		var err error
		if buf, err = d.escape(buf); err != nil {
			d.scratch = buf
			return nil, err
		}
	}
}

// appendValidUTF8 appends s with each invalid byte replaced by U+FFFD, as
// encoding/json does.
func appendValidUTF8(buf, s []byte) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			buf = utf8.AppendRune(buf, utf8.RuneError)
		} else {
			buf = append(buf, s[:size]...)
		}
		s = s[size:]
	}
	return buf
}

// escape decodes the escape sequence at d.i (a backslash).
func (d *rowDecoder) escape(buf []byte) ([]byte, error) {
	d.i++
	if d.i >= len(d.data) {
		return buf, d.unexpected("in string literal")
	}
	c := d.data[d.i]
	switch c {
	case '"', '\\', '/':
		buf = append(buf, c)
	case 'b':
		buf = append(buf, '\b')
	case 'f':
		buf = append(buf, '\f')
	case 'n':
		buf = append(buf, '\n')
	case 'r':
		buf = append(buf, '\r')
	case 't':
		buf = append(buf, '\t')
	case 'u':
		r, err := d.hex4()
		if err != nil {
			return buf, err
		}
		if utf16.IsSurrogate(r) {
			// A valid pair is consumed whole; anything else leaves the
			// first half as U+FFFD and the next escape to be read on its own.
			if d.i+6 < len(d.data) && d.data[d.i+1] == '\\' && d.data[d.i+2] == 'u' {
				if r2, ok := parseHex4(d.data[d.i+3 : d.i+7]); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						d.i += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else {
				r = utf8.RuneError
			}
		}
		buf = utf8.AppendRune(buf, r)
	default:
		return buf, d.unexpected("in string escape code")
	}
	d.i++
	return buf, nil
}

// hex4 reads the four hex digits after "\u"; on return d.i is at the last
// digit.
func (d *rowDecoder) hex4() (rune, error) {
	for k := 1; k <= 4; k++ {
		if d.i+k >= len(d.data) || !isHex(d.data[d.i+k]) {
			d.i += k
			return 0, d.unexpected("in \\u hexadecimal character escape")
		}
	}
	r, _ := parseHex4(d.data[d.i+1 : d.i+5])
	d.i += 4
	return r, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func parseHex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number and returns its literal.
func (d *rowDecoder) number() ([]byte, error) {
	start := d.i
	if d.data[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	switch {
	case d.i < len(d.data) && d.data[d.i] == '0':
		d.i++
	case digits() == 0:
		return nil, d.unexpected("in numeric literal")
	}
	if d.i < len(d.data) && d.data[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return nil, d.unexpected("after decimal point in numeric literal")
		}
	}
	if d.i < len(d.data) && (d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		d.i++
		if d.i < len(d.data) && (d.data[d.i] == '+' || d.data[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, d.unexpected("in exponent of numeric literal")
		}
	}
	return d.data[start:d.i], nil
}

// skipValue checks and skips any JSON value.
func (d *rowDecoder) skipValue(depth int) error {
	if d.i >= len(d.data) {
		return d.unexpected("looking for beginning of value")
	}
	switch c := d.data[d.i]; {
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		_, err := d.number()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return d.syntax("exceeded max depth")
		}
		return d.skipContainer(c, depth+1)
	}
	return d.unexpected("looking for beginning of value")
}

func (d *rowDecoder) literal(want string) error {
	for k := 0; k < len(want); k++ {
		if d.i >= len(d.data) || d.data[d.i] != want[k] {
			return d.unexpected(fmt.Sprintf("in literal %s (expecting %s)", want, quoteChar(want[k])))
		}
		d.i++
	}
	return nil
}

func (d *rowDecoder) skipContainer(open byte, depth int) error {
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	d.i++
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == closing {
		d.i++
		return nil
	}
	for {
		if open == '{' {
			if d.i >= len(d.data) || d.data[d.i] != '"' {
				return d.unexpected("looking for beginning of object key string")
			}
			if _, err := d.str(); err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.data) || d.data[d.i] != ':' {
				return d.unexpected("after object key")
			}
			d.i++
			d.ws()
		}
		if err := d.skipValue(depth); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.data) {
			return d.unexpected("after " + containerName(open) + " element")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
			d.ws()
		case closing:
			d.i++
			return nil
		default:
			return d.unexpected("after " + containerName(open) + " element")
		}
	}
}

func containerName(open byte) string {
	if open == '{' {
		return "object"
	}
	return "array"
}
