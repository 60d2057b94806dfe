package mixture_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/mixture"
)

func TestBaselines(t *testing.T) {
	tasks := []mixture.Task{{Name: "small", Examples: 10}, {Name: "big", Examples: 100000}, {Name: "mid", Examples: 70000}}
	capped := []float64{10, 65536, 65536}
	sum := capped[0] + capped[1] + capped[2]

	assert.Equal(t, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, mixture.Uniform(tasks))

	prop, err := mixture.Proportional(tasks, mixture.DefaultCap)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{10 / sum, 65536 / sum, 65536 / sum}, prop, 1e-15)

	uncapped, err := mixture.Proportional(tasks, 0)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{10.0 / 170010, 100000.0 / 170010, 70000.0 / 170010}, uncapped, 1e-15)

	temp, err := mixture.Temperature(tasks, mixture.DefaultCap, 2)
	require.NoError(t, err)
	rs := math.Sqrt(10) + 2*256
	assert.InDeltaSlice(t, []float64{math.Sqrt(10) / rs, 256 / rs, 256 / rs}, temp, 1e-15)

	one, err := mixture.Temperature(tasks, mixture.DefaultCap, 1)
	require.NoError(t, err)
	assert.InDeltaSlice(t, prop, one, 1e-15)

	hot, err := mixture.Temperature(tasks, mixture.DefaultCap, 1e6)
	require.NoError(t, err)
	assert.InDeltaSlice(t, mixture.Uniform(tasks), hot, 1e-4)

	// The rate scale makes the capped proportional mixture's rates min(n, cap).
	scale := mixture.RateScale(tasks, mixture.DefaultCap)
	for i := range tasks {
		assert.InDelta(t, capped[i], prop[i]*scale, 1e-9)
	}
	assert.InDelta(t, 3, mixture.EffectiveTasks(mixture.Uniform(tasks)), 1e-12)
	assert.InDelta(t, 1, mixture.EffectiveTasks([]float64{0, 1, 0}), 1e-12)
	assert.InDelta(t, 2.5, mixture.Epochs(0.5, mixture.Task{Examples: 8000}, mixture.Budget{Steps: 5000, BatchSize: 8}), 1e-12)

	for _, tc := range []struct {
		name  string
		tasks []mixture.Task
		t     float64
	}{
		{"no tasks", nil, 1},
		{"zero temperature", tasks, 0},
		{"negative temperature", tasks, -1},
		{"empty task", []mixture.Task{{Name: "x"}}, 1},
	} {
		_, err := mixture.Temperature(tc.tasks, mixture.DefaultCap, tc.t)
		assert.ErrorIs(t, err, mixture.ErrInvalid, tc.name)
	}
}
