package sampler_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/sampler"
)

// aliasSampler is the baseline the mixing sampler is measured against: a
// seeded weighted-random task sampler using Vose's alias method, O(1) per
// pick, whose prefix deviation grows like √n.
type aliasSampler struct {
	rng   *rand.Rand
	prob  []uint64 // acceptance threshold of column i, scaled to 2^64
	alias []int
}

func newAliasSampler(w []float64, seed uint64) *aliasSampler {
	k := len(w)
	s := &aliasSampler{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), prob: make([]uint64, k), alias: make([]int, k)}
	scaled := make([]float64, k)
	var small, large []int
	for i, v := range w {
		scaled[i] = v * float64(k)
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		l, g := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		s.prob[l] = uint64(scaled[l] * (1 << 63) * 2)
		s.alias[l] = g
		scaled[g] -= 1 - scaled[l]
		if scaled[g] < 1 {
			large = large[:len(large)-1]
			small = append(small, g)
		}
	}
	for _, i := range append(small, large...) {
		s.prob[i] = math.MaxUint64
		s.alias[i] = i
	}
	return s
}

func (s *aliasSampler) Next() int {
	col := s.rng.IntN(len(s.prob))
	if s.rng.Uint64() < s.prob[col] {
		return col
	}
	return s.alias[col]
}

type picker interface{ Next() int }

func benchWeights(k int) []float64 {
	return randomWeights(rand.New(rand.NewPCG(uint64(k), 7)), k, "skewed")
}

// BenchmarkPick measures task picks per second of the Tijdeman mixing
// sampler next to the alias-method random sampler on the same weights.
func BenchmarkPick(b *testing.B) {
	for _, k := range []int{27, 1000} {
		w := benchWeights(k)
		samplers := []struct {
			name string
			new  func() picker
		}{
			{"tijdeman", func() picker {
				m, err := sampler.NewMixer(w)
				require.NoError(b, err)
				return m
			}},
			{"alias", func() picker { return newAliasSampler(w, 1) }},
		}
		for _, s := range samplers {
			b.Run(fmt.Sprintf("%s/k=%d", s.name, k), func(b *testing.B) {
				p := s.new()
				sink := 0
				start := time.Now()
				for b.Loop() {
					sink += p.Next()
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "picks/s")
				if sink < 0 {
					b.Fatal(sink)
				}
			})
		}
	}
}

// BenchmarkStreamNext measures whole stream positions per second: the task
// pick plus the example index from the task's seeded epoch permutation.
func BenchmarkStreamNext(b *testing.B) {
	for _, k := range []int{27, 1000} {
		cfg := benchConfig(b, k, 1_000_000_000)
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			s, err := sampler.NewStream(cfg)
			require.NoError(b, err)
			var sink int64
			start := time.Now()
			for b.Loop() {
				sink += s.Next().Example
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "picks/s")
			if sink < 0 {
				b.Fatal(sink)
			}
		})
	}
}

// BenchmarkMaxDeviation reports the largest |count − w·n| over every task and
// every prefix of 10^7 picks ("maxdev"), for both samplers on the same
// weights, with √n for scale.
func BenchmarkMaxDeviation(b *testing.B) {
	const n = 10_000_000
	w := benchWeights(27)
	for _, name := range []string{"tijdeman", "alias"} {
		b.Run(name, func(b *testing.B) {
			var dev float64
			for b.Loop() {
				var p picker = newAliasSampler(w, 1)
				if name == "tijdeman" {
					m, err := sampler.NewMixer(w)
					require.NoError(b, err)
					p = m
				}
				dev = runDeviation(p, w, n)
			}
			b.ReportMetric(dev, "maxdev")
			b.ReportMetric(math.Sqrt(n), "sqrt(n)")
		})
	}
}

// runDeviation returns the largest |count − w·i| over every task and prefix
// i ≤ n. Between two picks of a task its deviation c − w·i only decreases,
// so its extremes are just before and just after each pick, and the final
// prefix covers the run after its last pick: O(1) per pick.
func runDeviation(p picker, w []float64, n int) float64 {
	counts := make([]float64, len(w))
	var worst float64
	for i := 1; i <= n; i++ {
		d := p.Next()
		before := math.Abs(counts[d] - w[d]*float64(i-1))
		counts[d]++
		after := math.Abs(counts[d] - w[d]*float64(i))
		worst = max(worst, before, after)
	}
	for d, c := range counts {
		worst = max(worst, math.Abs(c-w[d]*float64(n)))
	}
	return worst
}

func TestRunDeviationMatchesNaiveCheck(t *testing.T) {
	w := randomWeights(rand.New(rand.NewPCG(9, 9)), 7, "skewed")
	for _, name := range []string{"tijdeman", "alias"} {
		var a, b picker = newAliasSampler(w, 3), newAliasSampler(w, 3)
		if name == "tijdeman" {
			m1, err := sampler.NewMixer(w)
			require.NoError(t, err)
			m2, err := sampler.NewMixer(w)
			require.NoError(t, err)
			a, b = m1, m2
		}
		fast := runDeviation(a, w, 20_000)
		counts := make([]float64, len(w))
		var naive float64
		for i := 1; i <= 20_000; i++ {
			counts[b.Next()]++
			for d, c := range counts {
				naive = max(naive, math.Abs(c-w[d]*float64(i)))
			}
		}
		assert.InDelta(t, naive, fast, 1e-9, name)
	}
}

func TestAliasSamplerFrequencies(t *testing.T) {
	w := normalise([]float64{0.5, 0.25, 0.125, 0.125})
	s := newAliasSampler(w, 5)
	counts := make([]float64, len(w))
	const n = 200_000
	for i := 0; i < n; i++ {
		counts[s.Next()]++
	}
	for d := range w {
		assert.InDelta(t, w[d], counts[d]/n, 0.005, "task %d", d)
	}
}
