package dataset

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
)

// scalePattern is the grammar of a scale string: MIN "-" MAX, each an
// optionally negative decimal number without exponent or spaces. The
// separator is the first '-' after MIN's digits, so "-1-1" is -1 to 1 and
// "-5--1" is -5 to -1.
var scalePattern = regexp.MustCompile(`^(-?[0-9]+(?:\.[0-9]+)?)-(-?[0-9]+(?:\.[0-9]+)?)$`)

// ParseScale parses a scale such as "0-4", "0-1", "1-10", "-1-1" or
// "0.5-2.5". MIN must be below MAX.
func ParseScale(s string) (Scale, error) {
	m := scalePattern.FindStringSubmatch(s)
	if m == nil {
		return Scale{}, fmt.Errorf("bad scale %q: want MIN-MAX, such as \"0-4\" or \"-1-1\"", s)
	}
	lo, err1 := strconv.ParseFloat(m[1], 64)
	hi, err2 := strconv.ParseFloat(m[2], 64)
	if err1 != nil || err2 != nil || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return Scale{}, fmt.Errorf("bad scale %q: bounds out of range", s)
	}
	if lo >= hi {
		return Scale{}, fmt.Errorf("bad scale %q: MIN must be below MAX", s)
	}
	return Scale{Min: lo, Max: hi}, nil
}

// String formats s in the grammar ParseScale reads.
func (s Scale) String() string {
	return strconv.FormatFloat(s.Min, 'f', -1, 64) + "-" + strconv.FormatFloat(s.Max, 'f', -1, 64)
}

// Normalize maps v from the scale onto [0, 1].
func (s Scale) Normalize(v float64) float64 {
	return (v - s.Min) / (s.Max - s.Min)
}
