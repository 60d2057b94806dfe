package dataset

import (
	"crypto/sha256"
	"encoding/binary"
)

// SplitPoint places id in [0, 1) for the split named salt: the first 8 bytes
// of SHA-256(salt || 0x00 || id), read big-endian, top 53 bits scaled to
// [0, 1). The zero byte keeps ("ab", "c") and ("a", "bc") apart. It depends
// on nothing but the two strings, so it is the same on every platform and
// release.
func SplitPoint(id, salt string) float64 {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(id))
	var sum [sha256.Size]byte
	u := binary.BigEndian.Uint64(h.Sum(sum[:0]))
	return float64(u>>11) / (1 << 53)
}

// InSplit reports whether id falls in the share fraction of the split named
// salt: SplitPoint(id, salt) < fraction. About fraction of any large set of
// ids is in; fraction <= 0 takes none and fraction >= 1 all. Splits are
// nested: an id in the split at fraction f is in it at every larger
// fraction. Use different salts for independent splits (the trainer's
// held-out slice, the target's dev/test split).
func InSplit(id, salt string, fraction float64) bool {
	return SplitPoint(id, salt) < fraction
}
