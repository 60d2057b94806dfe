package mixture

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// randomEffects returns realistic random effects: n tasks × k categories (the
// five RewardBench ones when k = 5), deltas ~ N(0, 0.01) with a handful of
// truly helpful tasks, bootstrap CIs, stability, patched scores and reps
// bootstrap replicates. The same seed gives the same effects.
func randomEffects(seed uint64, n, k, reps int) *Effects {
	rng := rand.New(rand.NewPCG(seed, 0x6d69786f7074))
	e := &Effects{Level: 0.95}
	if k == len(RewardBenchCategories) {
		e.Categories = append([]string(nil), RewardBenchCategories...)
	} else {
		for j := range k {
			e.Categories = append(e.Categories, fmt.Sprintf("cat%d", j))
		}
	}
	e.Mean, e.Low, e.High = newMatrix(n, k), newMatrix(n, k), newMatrix(n, k)
	e.Stability, e.Score, e.Control = newMatrix(n, k), newMatrix(n, k), newMatrix(n, k)
	se := newMatrix(n, k)
	base := make([]float64, k)
	control := make([]float64, k)
	for j := range k {
		base[j] = 0.6 + 0.3*rng.Float64()
		control[j] = 0.002 * rng.NormFloat64()
	}
	helpful := map[int]bool{}
	for len(helpful) < min(5, n) {
		helpful[rng.IntN(n)] = true
	}
	for i := range n {
		e.Tasks = append(e.Tasks, Task{Name: fmt.Sprintf("task%05d", i), Examples: int64(math.Ceil(math.Exp(8 + 2*rng.NormFloat64())))})
		for j := range k {
			m := 0.01 * rng.NormFloat64()
			if helpful[i] && rng.Float64() < 0.6 {
				m = 0.02 + 0.02*rng.Float64()
			}
			m = clip(m, -0.2, 0.2)
			s := 0.002 + 0.006*rng.Float64()
			se[i][j] = s
			e.Mean[i][j] = m
			e.Low[i][j] = m - 1.96*s
			e.High[i][j] = m + 1.96*s
			e.Control[i][j] = m - control[j]
			e.Stability[i][j] = 0.5 + 0.5*rng.Float64()
			e.Score[i][j] = clip(base[j]+m, 0, 1)
		}
	}
	for range reps {
		rep := newMatrix(n, k)
		for i := range n {
			for j := range k {
				rep[i][j] = clip(e.Mean[i][j]+se[i][j]*rng.NormFloat64(), -1, 1)
			}
		}
		e.Replicates = append(e.Replicates, rep)
	}
	return e
}
