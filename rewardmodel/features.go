// Package rewardmodel is mixopt's reference reward model: a linear model over
// hashed n-gram features of a response, trained with a Bradley–Terry loss on
// preference pairs and a logistic loss on rated or labelled responses, with a
// lazy (sparse) Adam optimiser. It is small enough to train in milliseconds
// and real enough that its tail-patch effects are measured, not scripted.
package rewardmodel

import (
	"math"
	"slices"
	"unicode"
	"unicode/utf8"
)

// FeatureVersion names the featurisation rule. It is part of every checkpoint
// so that weights are never applied to features they were not trained on.
const FeatureVersion = "ngram-v1"

// DefaultDim is the default number of hashed feature slots (2^18).
const DefaultDim = 1 << 18

// Vector is a sparse feature vector with strictly increasing indices.
type Vector struct {
	Idx []uint32
	Val []float32
}

// Dot returns w·v.
func (v *Vector) Dot(w []float32) float64 {
	var s float64
	for i, j := range v.Idx {
		s += float64(w[j]) * float64(v.Val[i])
	}
	return s
}

// Featurizer turns a (prompt, response) pair into a sparse vector: signed,
// hashed unigrams and bigrams of the response (sublinear counts, L2
// normalised, so long answers do not dominate) plus a few dense features —
// response length, line count and lexical overlap with the prompt — that let
// the model learn length and relevance preferences explicitly.
type Featurizer struct {
	dim  uint32
	mask uint32

	// dense holds the slots of the dense features, fixed per dimension.
	dense [numDense]uint32
}

const (
	denseLogTokens = iota
	denseLogLines
	denseOverlap
	denseCodeShare
	numDense
)

// NewFeaturizer returns a featurizer with dim slots; dim must be a power of
// two of at least 2^8.
func NewFeaturizer(dim int) *Featurizer {
	if dim < 1<<8 || dim&(dim-1) != 0 || dim > 1<<30 {
		panic("rewardmodel: dim must be a power of two in [2^8, 2^30]")
	}
	f := &Featurizer{dim: uint32(dim), mask: uint32(dim - 1)}
	for i := range f.dense {
		f.dense[i] = uint32(mix(0xd1b54a32d192ed03^uint64(i+1))) & f.mask
	}
	return f
}

// Dim returns the number of feature slots.
func (f *Featurizer) Dim() int { return int(f.dim) }

// BiasSlot returns the slot of the intercept feature of a task, used for
// pointwise objectives where the absolute level of the reward matters.
func (f *Featurizer) BiasSlot(task string) uint32 {
	return uint32(mix(fnv64(task)^0x9e3779b97f4a7c15)) & f.mask
}

// Scratch is reusable working memory for Featurize. A Featurizer is safe for
// concurrent use; a Scratch is not, so each goroutine brings its own.
type Scratch struct {
	keys   []uint64 // hashed features: slot<<1 | sign
	prompt []uint64 // sorted token hashes of the prompt
	tok    []byte
}

// Featurize computes the features of response given prompt into dst, reusing
// dst's storage.
func (f *Featurizer) Featurize(sc *Scratch, prompt, response string, dst *Vector) {
	s := sc
	s.prompt = s.prompt[:0]
	tokenize(prompt, &s.tok, func(h uint64, _ bool) { s.prompt = append(s.prompt, h) })
	slices.Sort(s.prompt)
	s.prompt = slices.Compact(s.prompt)

	s.keys = s.keys[:0]
	var prev uint64
	var ntok, overlap, code int
	first := true
	tokenize(response, &s.tok, func(h uint64, isCode bool) {
		ntok++
		if _, ok := slices.BinarySearch(s.prompt, h); ok {
			overlap++
		}
		if isCode {
			code++
		}
		s.keys = append(s.keys, f.key(h^0x5bf03635f0b1e4a1))
		if !first {
			s.keys = append(s.keys, f.key(prev*0x100000001b3^h^0x1b03738712fad5c9))
		}
		prev, first = h, false
	})
	lines := 1
	for i := 0; i < len(response); i++ {
		if response[i] == '\n' {
			lines++
		}
	}

	// Sort keys so equal slots are adjacent, then sum signed sublinear counts.
	slices.Sort(s.keys)
	dst.Idx, dst.Val = dst.Idx[:0], dst.Val[:0]
	var norm float64
	for i := 0; i < len(s.keys); {
		slot := uint32(s.keys[i] >> 1)
		var v float64
		for i < len(s.keys) && uint32(s.keys[i]>>1) == slot {
			j := i
			for j < len(s.keys) && s.keys[j] == s.keys[i] {
				j++
			}
			c := 1 + math.Log(float64(j-i))
			if s.keys[i]&1 == 1 {
				c = -c
			}
			v += c
			i = j
		}
		if v != 0 {
			dst.Idx = append(dst.Idx, slot)
			dst.Val = append(dst.Val, float32(v))
			norm += v * v
		}
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for i := range dst.Val {
			dst.Val[i] *= inv
		}
	}

	dense := [numDense]float64{
		denseLogTokens: math.Log1p(float64(ntok)) / 5,
		denseLogLines:  math.Log1p(float64(lines)) / 3,
	}
	if ntok > 0 {
		dense[denseOverlap] = float64(overlap) / float64(ntok)
		dense[denseCodeShare] = float64(code) / float64(ntok)
	}
	for k, v := range dense {
		addSlot(dst, f.dense[k], float32(v))
	}
}

// key maps a feature hash to slot<<1 | sign bit. The sign halves the bias
// that collisions put on the weights (Weinberger et al. 2009).
func (f *Featurizer) key(h uint64) uint64 {
	m := mix(h)
	return uint64(uint32(m)&f.mask)<<1 | (m>>63)&1
}

// addSlot adds v at slot, keeping Idx sorted.
func addSlot(dst *Vector, slot uint32, v float32) {
	if v == 0 {
		return
	}
	i, found := slices.BinarySearch(dst.Idx, slot)
	if found {
		dst.Val[i] += v
		return
	}
	dst.Idx = slices.Insert(dst.Idx, i, slot)
	dst.Val = slices.Insert(dst.Val, i, v)
}

// tokenize calls emit with the hash of every token of s: maximal runs of
// letters and digits (lower-cased), and each other non-space character on its
// own, so punctuation and code symbols ("==", "#", "<<") count. A newline is a
// token too, because formatting carries signal. isCode marks tokens made of
// symbols typical of code.
func tokenize(s string, buf *[]byte, emit func(h uint64, isCode bool)) {
	b := (*buf)[:0]
	flush := func() {
		if len(b) > 0 {
			emit(fnv64b(b), false)
			b = b[:0]
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_':
				b = append(b, c)
			case 'A' <= c && c <= 'Z':
				b = append(b, c+'a'-'A')
			case c == '\n':
				flush()
				emit(fnv64b([]byte{'\n'}), false)
			case c == ' ' || c == '\t' || c == '\r':
				flush()
			default:
				flush()
				emit(fnv64b([]byte{c}), isCodeSymbol(c))
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b = utf8.AppendRune(b, unicode.ToLower(r))
		} else if !unicode.IsSpace(r) {
			flush()
			emit(fnv64b([]byte(s[i:i+size])), false)
		} else {
			flush()
		}
		i += size
	}
	flush()
	*buf = b
}

func isCodeSymbol(c byte) bool {
	switch c {
	case '{', '}', ';', '(', ')', '[', ']', '=', '<', '>', '+', '*', '/', '%', '&', '|', '^', '!', '~':
		return true
	}
	return false
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv64b(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func fnv64(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// mix is the splitmix64 finaliser: FNV alone leaves the low bits, which pick
// the slot, poorly mixed.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
