package dataset

import (
	"fmt"
	"math"
	"strings"
)

// field names one of the columns the loaders know. Other columns are ignored.
type field int

const (
	fID field = iota
	fDataset
	fPrompt
	fChosen
	fRejected
	fResponse
	fLabel
	fScale
	fSection
	fSubset
	numStrFields
	// fScore is the only numeric field; it follows the string fields so that
	// one bit mask covers presence of all of them.
	fScore = numStrFields
)

var fieldNames = [...]string{
	fID:       "id",
	fDataset:  "dataset",
	fPrompt:   "prompt",
	fChosen:   "chosen",
	fRejected: "rejected",
	fResponse: "response",
	fLabel:    "label",
	fScale:    "scale",
	fSection:  "section",
	fSubset:   "subset",
	fScore:    "score",
}

func (f field) String() string { return fieldNames[f] }

// row is one record as read from any format, before it is checked against a
// schema. A field is present when its bit is set in has; JSON null and Arrow
// null count as absent.
type row struct {
	line  int
	str   [numStrFields]string
	score float64
	has   uint32
}

func (r *row) present(f field) bool { return r.has&(1<<f) != 0 }

func (r *row) set(f field, s string) {
	r.str[f] = s
	r.has |= 1 << f
}

func (r *row) setScore(v float64) {
	r.score = v
	r.has |= 1 << fScore
}

// source yields the rows of one file in order. next returns io.EOF after the
// last row.
type source interface {
	next(r *row) error
	// rows says whether row.line counts table rows rather than text lines.
	rows() bool
	close() error
}

// check validates the fields of one row and builds *Error values that point
// at it.
type check struct {
	path string
	rows bool
	r    *row
}

func (c check) err(f field, format string, args ...any) *Error {
	return &Error{Path: c.path, Line: c.r.line, Row: c.rows, Field: f.String(), Msg: fmt.Sprintf(format, args...)}
}

// text returns a required, non-blank field.
func (c check) text(f field) (string, error) {
	if !c.r.present(f) {
		return "", c.err(f, "missing")
	}
	s := c.r.str[f]
	if strings.TrimSpace(s) == "" {
		return "", c.err(f, "must not be empty")
	}
	return s, nil
}

// response returns a required field that may be empty: real human-judgment
// data contains empty model outputs (a model that answered nothing), and such
// a response was judged like any other.
func (c check) response(f field) (string, error) {
	if !c.r.present(f) {
		return "", c.err(f, "missing")
	}
	return c.r.str[f], nil
}

// optionalText returns a field that may be absent but, when present, must not
// be blank.
func (c check) optionalText(f field) (string, error) {
	if !c.r.present(f) {
		return "", nil
	}
	return c.text(f)
}

// distinct rejects a pair whose two responses are identical: it carries no
// preference, and as a target example it can only tie, which counts as wrong.
func (c check) distinct(chosen, rejected string) error {
	if chosen == rejected {
		return c.err(fRejected, "identical to chosen; a pair needs two different responses")
	}
	return nil
}

func (c check) score() (float64, error) {
	if !c.r.present(fScore) {
		return 0, c.err(fScore, "missing")
	}
	v := c.r.score
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, c.err(fScore, "must be a finite number, got %v", v)
	}
	return v, nil
}
