package mixture_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/mixture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestExplainGolden(t *testing.T) {
	e := mixture.RandomEffects(31, 14, 5, 50)
	budget := mixture.Budget{Steps: 5000, BatchSize: 8}
	for _, tc := range []struct {
		file string
		obj  mixture.Objective
		opts mixture.Options
	}{
		{"explain_kl.golden", mixture.KL, mixture.Options{Budget: budget, Constraints: mixture.Constraints{
			Floor: 0.001, Cap: 0.25, MaxEpochs: 1.2, CategoryFloors: map[string]float64{"Safety": 0.0125},
		}}},
		{"explain_flame.golden", mixture.FlameBundles, mixture.Options{Budget: budget, Constraints: mixture.Constraints{Cap: 0.2}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			sol, err := mixture.Solve(e, tc.obj, tc.opts)
			require.NoError(t, err)
			u, err := mixture.Bootstrap(e, sol, mixture.BootstrapOptions{TopK: 3})
			require.NoError(t, err)
			x, err := mixture.Explain(e, sol, u)
			require.NoError(t, err)
			x.TextRows = 10
			var buf bytes.Buffer
			require.NoError(t, x.WriteText(&buf))
			path := filepath.Join("testdata", tc.file)
			if *update {
				require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), buf.String())
		})
	}
}

func TestExplainContents(t *testing.T) {
	e := mixture.RandomEffects(32, 20, 5, 0)
	opts := mixture.Options{Constraints: mixture.Constraints{Cap: 0.1, Floor: 0.01, CategoryFloors: map[string]float64{"Safety": 0.003}}}
	sol, err := mixture.Solve(e, mixture.Linear, opts)
	require.NoError(t, err)
	x, err := mixture.Explain(e, sol, nil)
	require.NoError(t, err)

	// The unconstrained linear optimum puts everything on the best task.
	best := 0.0
	for i := range e.Tasks {
		g := 0.0
		for j, a := range sol.Alpha {
			g += a * e.Mean[i][j]
		}
		best = max(best, g)
	}
	assert.InDelta(t, best, x.UnconstrainedValue, 1e-12)
	assert.LessOrEqual(t, x.Value, x.UnconstrainedValue)

	names := map[string]bool{}
	for _, a := range x.Active {
		names[a.Name] = true
	}
	assert.True(t, names["cap(0.1)"], "active: %v", x.Active)
	assert.True(t, names["floor(0.01)"], "active: %v", x.Active)
	for _, d := range x.Dropped {
		assert.InDelta(t, 0.01, d.Weight, 1e-12)
		assert.Greater(t, d.Prior, d.Weight)
	}
	for _, c := range x.Categories {
		sum := 0.0
		for _, d := range c.Drivers {
			assert.Positive(t, d.Value)
			sum += d.Value
		}
		if c.Drag != nil {
			assert.Negative(t, c.Drag.Value)
		}
	}
	require.Len(t, x.Tasks, len(e.Tasks))
	assert.Equal(t, e.Tasks[0].Name, x.Tasks[0].Task)
}
