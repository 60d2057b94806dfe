package mixture_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/mixture"
)

func TestBootstrap(t *testing.T) {
	e := mixture.RandomEffects(21, 30, 5, 24)
	for _, tc := range []struct {
		name string
		obj  mixture.Objective
		opts mixture.Options
	}{
		{"kl", mixture.KL, mixture.Options{Constraints: mixture.Constraints{Cap: 0.2}}},
		{"lcb target", mixture.KL, mixture.Options{Estimate: mixture.EstimateLower, KL: mixture.KLSettings{TargetEffectiveTasks: 8}}},
		{"linear", mixture.Linear, mixture.Options{Constraints: mixture.Constraints{Cap: 0.1}}},
		{"maxmin", mixture.MaxMin, mixture.Options{Constraints: mixture.Constraints{Cap: 0.25}}},
		{"flame-bundles", mixture.FlameBundles, mixture.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sol, err := mixture.Solve(e, tc.obj, tc.opts)
			require.NoError(t, err)
			one, err := mixture.Bootstrap(e, sol, mixture.BootstrapOptions{Workers: 1, TopK: 3})
			require.NoError(t, err)
			four, err := mixture.Bootstrap(e, sol, mixture.BootstrapOptions{Workers: 4, TopK: 3})
			require.NoError(t, err)
			assert.Equal(t, one, four, "result depends on the number of workers")

			assert.Equal(t, 24, one.Replicates)
			assert.Equal(t, 0.95, one.Level)
			inTop := 0.0
			for i := range e.Tasks {
				assert.LessOrEqual(t, one.WeightLow[i], one.WeightHigh[i])
				assert.GreaterOrEqual(t, one.WeightLow[i], 0.0)
				inTop += one.InTopK[i]
			}
			assert.InDelta(t, 3, inTop, 1e-12, "P(in top-k) sums to k")
			for j := range e.Categories {
				assert.LessOrEqual(t, one.GainLow[j], one.GainHigh[j])
			}
			assert.LessOrEqual(t, one.AlphaGainLow, one.AlphaGainHigh)
		})
	}
}

// TestBootstrapIntervals checks the intervals against a case whose answer is
// known: with λ huge the KL solution is the prior whatever the effects, so
// every weight interval collapses onto the prior weight, and the gain
// interval is the spread of the replicates' gains under fixed weights.
func TestBootstrapIntervals(t *testing.T) {
	e := mixture.RandomEffects(22, 12, 5, 200)
	sol, err := mixture.Solve(e, mixture.KL, mixture.Options{KL: mixture.KLSettings{Lambda: 1e9}})
	require.NoError(t, err)
	u, err := mixture.Bootstrap(e, sol, mixture.BootstrapOptions{Level: 0.9})
	require.NoError(t, err)
	for i := range e.Tasks {
		assert.InDelta(t, sol.Prior[i], u.WeightLow[i], 1e-9)
		assert.InDelta(t, sol.Prior[i], u.WeightHigh[i], 1e-9)
	}
	for j := range e.Categories {
		below, above := 0, 0
		for _, rep := range e.Replicates {
			g := 0.0
			for i, w := range sol.Weights {
				g += w * rep[i][j]
			}
			if g < u.GainLow[j] {
				below++
			}
			if g > u.GainHigh[j] {
				above++
			}
		}
		// 5% of 200 in each tail, give or take the interpolation.
		assert.InDelta(t, 10, below, 1)
		assert.InDelta(t, 10, above, 1)
	}
}

func TestBootstrapCountsInfeasibleReplicates(t *testing.T) {
	e := mixture.RandomEffects(23, 10, 5, 60)
	// A Safety floor just under the best attainable Safety gain: some
	// replicates cannot reach it.
	best := -1.0
	for i := range e.Tasks {
		best = max(best, e.Mean[i][4])
	}
	opts := mixture.Options{Constraints: mixture.Constraints{CategoryFloors: map[string]float64{"Safety": best - 0.001}}}
	sol, err := mixture.Solve(e, mixture.Linear, opts)
	require.NoError(t, err)
	u, err := mixture.Bootstrap(e, sol, mixture.BootstrapOptions{})
	require.NoError(t, err)
	assert.Positive(t, u.Infeasible)
	assert.Positive(t, u.Replicates)
	assert.Equal(t, 60, u.Replicates+u.Infeasible)

	noReps := mixture.RandomEffects(23, 10, 5, 0)
	_, err = mixture.Bootstrap(noReps, sol, mixture.BootstrapOptions{})
	assert.ErrorIs(t, err, mixture.ErrInvalid)
}
