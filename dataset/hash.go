package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
)

// Content hashes are SHA-256 over a canonical encoding, never over file
// bytes, so a dataset hashes the same from JSON Lines, gzip, Arrow or
// Parquet. The encoding starts with a domain tag and the kind; each row then
// contributes its fields in a fixed order, strings as an 8-byte big-endian
// length and the bytes, numbers as their IEEE-754 bits. The dataset name and
// path are not covered: the same rows hash alike under any name.

// hasher writes the canonical encoding.
type hasher struct {
	h   hash.Hash
	buf [8]byte
}

func newHasher(tag string) *hasher {
	h := &hasher{h: sha256.New()}
	h.str(tag)
	return h
}

func (h *hasher) str(s string) {
	binary.BigEndian.PutUint64(h.buf[:], uint64(len(s)))
	h.h.Write(h.buf[:])
	h.h.Write([]byte(s))
}

func (h *hasher) num(v float64) {
	if v == 0 {
		v = 0 // -0 and +0 are the same score
	}
	binary.BigEndian.PutUint64(h.buf[:], math.Float64bits(v))
	h.h.Write(h.buf[:])
}

func (h *hasher) int(v int64) {
	binary.BigEndian.PutUint64(h.buf[:], uint64(v))
	h.h.Write(h.buf[:])
}

func (h *hasher) sum() string {
	return "sha256:" + hex.EncodeToString(h.h.Sum(nil))
}

// HashDataset returns d's content hash, "sha256:<hex>". Loaders set
// Dataset.ContentHash with it; call it after building or changing a dataset
// in code.
func HashDataset(d *Dataset) string {
	h := newHasher("mixopt.dataset.v1")
	h.str(d.Kind.String())
	switch d.Kind {
	case Pairwise:
		h.int(int64(len(d.Pairs)))
		for _, p := range d.Pairs {
			h.str(p.ID)
			h.str(p.Prompt)
			h.str(p.Chosen)
			h.str(p.Rejected)
		}
	case Pointwise:
		h.int(int64(len(d.Rated)))
		for _, x := range d.Rated {
			h.str(x.ID)
			h.str(x.Prompt)
			h.str(x.Response)
			h.num(x.Score)
			h.num(x.Scale.Min)
			h.num(x.Scale.Max)
		}
	case Classification:
		h.int(int64(len(d.Labeled)))
		for _, x := range d.Labeled {
			h.str(x.ID)
			h.str(x.Prompt)
			h.str(x.Response)
			h.str(x.Label)
		}
	}
	return h.sum()
}

// HashSuite returns s's content hash over its examples in order (id,
// section, subset, prompt, chosen, rejected); neither the suite's name nor
// its paths are covered. Loaders set Suite.ContentHash with it.
func HashSuite(s *Suite) string {
	h := newHasher("mixopt.suite.v1")
	h.int(int64(len(s.Examples)))
	for _, x := range s.Examples {
		h.str(x.ID)
		h.str(x.Section)
		h.str(x.Subset)
		h.str(x.Prompt)
		h.str(x.Chosen)
		h.str(x.Rejected)
	}
	return h.sum()
}
