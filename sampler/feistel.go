package sampler

import (
	"hash/fnv"
	"math/bits"
)

// feistelRounds is the number of rounds of the permutation's Feistel
// network. Four rounds of a pseudo-random round function already give a
// pseudo-random permutation (Luby–Rackoff); six leave a margin for the
// cheap mixing function.
const feistelRounds = 6

// A Permutation is a keyed pseudo-random bijection of [0, n) that costs O(1)
// memory whatever n is: a balanced Feistel network over the smallest
// even-width bit domain holding n, with cycle-walking to stay below n (at
// most four expected rounds of the network, since that domain is under 4n).
// The zero value is the permutation of the empty set.
type Permutation struct {
	n    uint64
	half uint   // bits per Feistel half
	mask uint64 // (1 << half) − 1
	keys [feistelRounds]uint64
}

// NewPermutation returns the permutation of [0, n) selected by key.
func NewPermutation(n, key uint64) Permutation {
	p := Permutation{n: n}
	if n <= 1 {
		return p
	}
	p.half = uint(bits.Len64(n-1)+1) / 2
	p.mask = 1<<p.half - 1
	k := key
	for i := range p.keys {
		k += 0x9e3779b97f4a7c15
		p.keys[i] = mix64(k)
	}
	return p
}

// Len returns n.
func (p *Permutation) Len() uint64 { return p.n }

// At returns the image of i, which must be below Len.
func (p *Permutation) At(i uint64) uint64 {
	if i >= p.n {
		panic("sampler: permutation index out of range")
	}
	if p.n == 1 {
		return 0
	}
	x := p.encrypt(i)
	for x >= p.n {
		x = p.encrypt(x)
	}
	return x
}

func (p *Permutation) encrypt(x uint64) uint64 {
	l, r := x>>p.half, x&p.mask
	for _, k := range p.keys {
		l, r = r, l^(mix64(r^k)&p.mask)
	}
	return l<<p.half | r
}

// mix64 is the SplitMix64 finaliser, a fast bijective 64-bit mixer.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// epochKey derives the permutation key of one epoch of one task from the
// stream seed. It hashes the task's name rather than its index, so that
// reordering the tasks of a config does not change any task's example order.
func epochKey(seed uint64, task string, epoch int64) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(task))
	k := mix64(seed ^ 0x6d69786f70742e73) // "mixopt.s"
	k = mix64(k ^ h.Sum64())
	return mix64(k ^ uint64(epoch))
}
