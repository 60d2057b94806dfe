package mixture_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/mixture"
)

// flameEffects has one task per situation of the rule; categories are
// Chat, Chat Hard, Math, Coding, Safety.
func flameEffects() *mixture.Effects {
	const hw = 0.005 // CI half-width
	type spec struct {
		name  string
		mean  [5]float64
		stab  float64
		score [5]float64
	}
	low := [5]float64{0.5, 0.5, 0.5, 0.5, 0.5}
	specs := []spec{
		// Helpful (+2) in three categories: total 6, generally helpful.
		{"broad", [5]float64{0.02, 0.02, 0.02, 0, 0}, 1, low},
		// Helpful in Safety only, and its patched Safety score crosses τ.
		{"safety", [5]float64{0, 0, 0, 0, 0.05}, 1, [5]float64{0.5, 0.5, 0.5, 0.5, 0.9}},
		// Somewhat helpful (CI includes 0, stable) in two categories, above τ
		// in Chat Hard and Coding.
		{"specialist", [5]float64{0, 0.004, 0, 0.003, 0}, 1, [5]float64{0.5, 0.7, 0.5, 0.9, 0.5}},
		// Harmful everywhere.
		{"harmful", [5]float64{-0.02, -0.02, -0.02, -0.02, -0.02}, 1, low},
		// No effect.
		{"noise", [5]float64{}, 1, low},
		// Significant but unstable: somewhat helpful everywhere, total 5.
		{"unstable", [5]float64{0.01, 0.01, 0.01, 0.01, 0.01}, 0.5, low},
	}
	e := &mixture.Effects{Categories: mixture.RewardBenchCategories, Level: 0.95}
	for _, s := range specs {
		e.Tasks = append(e.Tasks, mixture.Task{Name: s.name, Examples: 1000})
		var m, l, h, st, sc []float64
		for j := range 5 {
			m = append(m, s.mean[j])
			l = append(l, s.mean[j]-hw)
			h = append(h, s.mean[j]+hw)
			st = append(st, s.stab)
			sc = append(sc, s.score[j])
		}
		e.Mean, e.Low, e.High = append(e.Mean, m), append(e.Low, l), append(e.High, h)
		e.Stability, e.Score = append(e.Stability, st), append(e.Score, sc)
	}
	return e
}

func TestFlameBundles(t *testing.T) {
	e := flameEffects()
	for _, tc := range []struct {
		name  string
		fs    mixture.FlameSettings
		rates []float64
	}{
		{"no top tasks", mixture.FlameSettings{TopTasks: -1}, []float64{100000, 30000, 60000, 3000, 3000, 100000}},
		// Top two by effect: Chat Hard broad, unstable; Coding unstable,
		// specialist; Safety safety, unstable.
		{"top replaces", mixture.FlameSettings{}, []float64{200000, 200000, 200000, 3000, 3000, 200000}},
		{"top adds", mixture.FlameSettings{TopMode: mixture.TopAdd}, []float64{300000, 230000, 260000, 3000, 3000, 700000}},
		{"custom rates and threshold", mixture.FlameSettings{TopTasks: -1, GeneralRate: 50000, Thresholds: map[string]float64{"Safety": 0.95}},
			[]float64{50000, 3000, 3000, 3000, 3000, 50000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sol, err := mixture.Solve(e, mixture.FlameBundles, mixture.Options{Flame: tc.fs})
			require.NoError(t, err)
			assert.Equal(t, tc.rates, sol.Rates)
			total := 0.0
			for _, r := range tc.rates {
				total += r
			}
			for i, r := range tc.rates {
				assert.InDelta(t, r/total, sol.Weights[i], 1e-15, "task %s", e.Tasks[i].Name)
			}
		})
	}
	sol, err := mixture.Solve(e, mixture.FlameBundles, mixture.Options{})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 2, 2, 0, 0}, sol.Ratings[0])
	assert.Equal(t, []int{0, 0, 0, 0, 2}, sol.Ratings[1])
	assert.Equal(t, []int{0, 1, 0, 1, 0}, sol.Ratings[2])
	assert.Equal(t, []int{-1, -1, -1, -1, -1}, sol.Ratings[3])
	assert.Equal(t, []int{0, 0, 0, 0, 0}, sol.Ratings[4])
	assert.Equal(t, []int{1, 1, 1, 1, 1}, sol.Ratings[5])
	assert.Equal(t, "top(Safety) replacing category(Safety)", sol.Reasons[1])
	assert.Equal(t, "other(rating=-5)", sol.Reasons[3])
}

// TestFlameBundlesUnderCap checks that binding constraints give the
// feasible mixture closest to the rates: capped tasks at the cap, the others
// still in proportion to their rates.
func TestFlameBundlesUnderCap(t *testing.T) {
	e := flameEffects()
	sol, err := mixture.Solve(e, mixture.FlameBundles, mixture.Options{Flame: mixture.FlameSettings{TopTasks: -1}, Constraints: mixture.Constraints{Cap: 0.3}})
	require.NoError(t, err)
	w := sol.Weights
	assert.InDelta(t, 0.3, w[0], 1e-15)
	assert.InDelta(t, 0.3, w[5], 1e-15)
	assert.InDelta(t, 30000.0/60000, w[1]/w[2], 1e-12)
	assert.InDelta(t, 3000.0/60000, w[3]/w[2], 1e-12)
	assert.InDelta(t, 1, w[0]+w[1]+w[2]+w[3]+w[4]+w[5], 1e-15)
	assert.Equal(t, "general(rating=6); cap: cap(0.3)", sol.Reasons[0])
}
