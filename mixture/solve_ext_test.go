package mixture_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/mixture"
)

var objectives = []mixture.Objective{mixture.KL, mixture.Linear, mixture.MaxMin, mixture.FlameBundles}

// constraintSets are combinations every objective must honour.
func constraintSets(e *mixture.Effects) map[string]mixture.Options {
	n := len(e.Tasks)
	budget := mixture.Budget{Steps: 5000, BatchSize: 8}
	return map[string]mixture.Options{
		"none":           {},
		"box":            {Constraints: mixture.Constraints{Floor: 0.2 / float64(n), Cap: 4 / float64(n)}},
		"epochs":         {Budget: budget, Constraints: mixture.Constraints{MaxEpochs: 15, Cap: 0.3}},
		"category floor": {Constraints: mixture.Constraints{Cap: 0.25, CategoryFloors: map[string]float64{"Safety": -0.001, "Chat Hard": 0}}},
		"groups": {Constraints: mixture.Constraints{Cap: 0.3, Groups: []mixture.Group{
			{Name: "first", Tasks: []string{e.Tasks[0].Name, e.Tasks[1].Name, e.Tasks[2].Name}, Min: 0.1, Max: 0.4},
			{Name: "last", Tasks: []string{e.Tasks[n-1].Name}, Max: 0.01},
		}}},
		"everything lcb": {Estimate: mixture.EstimateLower, Budget: budget, Constraints: mixture.Constraints{
			Floor: 0.1 / float64(n), Cap: 0.2, MaxEpochs: 50,
			TaskCap: map[string]float64{e.Tasks[3].Name: 0}, TaskFloor: map[string]float64{e.Tasks[3].Name: 0},
			CategoryFloors: map[string]float64{"Math": -0.01},
			Groups:         []mixture.Group{{Name: "g", Tasks: []string{e.Tasks[4].Name, e.Tasks[5].Name}, Min: 0.05}},
		}},
		"control": {Reference: mixture.ReferenceControl, Constraints: mixture.Constraints{Cap: 0.2}},
	}
}

func TestSolveHonoursEveryConstraint(t *testing.T) {
	for _, n := range []int{12, 150} {
		e := mixture.RandomEffects(uint64(n), n, 5, 0)
		for name, opts := range constraintSets(e) {
			for _, obj := range objectives {
				t.Run(fmt.Sprintf("n=%d/%s/%s", n, name, obj), func(t *testing.T) {
					sol, err := mixture.Solve(e, obj, opts)
					require.NoError(t, err)
					checkSolution(t, e, opts, sol)
					again, err := mixture.Solve(e, obj, opts)
					require.NoError(t, err)
					assert.Equal(t, sol.Weights, again.Weights, "not deterministic")
				})
			}
		}
	}
}

// checkSolution checks every constraint of opts independently of the
// solver's own bookkeeping.
func checkSolution(t *testing.T, e *mixture.Effects, opts mixture.Options, sol *mixture.Solution) {
	t.Helper()
	c := opts.Constraints
	est := e.Mean
	if opts.Reference == mixture.ReferenceControl {
		est = e.Control
	}
	if opts.Estimate == mixture.EstimateLower {
		require.Equal(t, mixture.ReferenceBase, opts.Reference)
		est = e.Low
	}
	const tol = 1e-12
	sum := 0.0
	for i, task := range e.Tasks {
		w := sol.Weights[i]
		sum += w
		lo, hi := c.Floor, 1.0
		if v, ok := c.TaskFloor[task.Name]; ok {
			lo = v
		}
		if c.Cap > 0 {
			hi = c.Cap
		}
		if v, ok := c.TaskCap[task.Name]; ok {
			hi = v
		}
		if c.MaxEpochs > 0 {
			hi = math.Min(hi, c.MaxEpochs*float64(task.Examples)/float64(opts.Budget.Examples()))
		}
		assert.GreaterOrEqual(t, w, lo-tol, "task %s below its floor", task.Name)
		assert.LessOrEqual(t, w, hi+tol, "task %s above its cap", task.Name)
	}
	assert.InDelta(t, 1, sum, 1e-12, "weights sum")
	for cat, floor := range c.CategoryFloors {
		j := -1
		for k, name := range e.Categories {
			if name == cat {
				j = k
			}
		}
		require.GreaterOrEqual(t, j, 0)
		g := 0.0
		for i, w := range sol.Weights {
			g += w * est[i][j]
		}
		assert.GreaterOrEqual(t, g, floor-1e-9, "category floor %s", cat)
		assert.InDelta(t, g, sol.Gains[j], 1e-12, "reported gain of %s", cat)
	}
	idx := map[string]int{}
	for i, task := range e.Tasks {
		idx[task.Name] = i
	}
	for _, g := range c.Groups {
		s := 0.0
		for _, name := range g.Tasks {
			s += sol.Weights[idx[name]]
		}
		assert.GreaterOrEqual(t, s, g.Min-1e-9, "group %s min", g.Name)
		if g.Max > 0 {
			assert.LessOrEqual(t, s, g.Max+1e-9, "group %s max", g.Name)
		}
	}
	assert.Len(t, sol.Reasons, len(e.Tasks))
}

func TestInfeasibleNamesMinimalConflict(t *testing.T) {
	e := mixture.RandomEffects(3, 10, 5, 0)
	for _, tc := range []struct {
		name string
		c    mixture.Constraints
		b    mixture.Budget
		want []string
	}{
		{"floors above one", mixture.Constraints{Floor: 0.11, Cap: 0.5}, mixture.Budget{}, []string{"floor(0.11)"}},
		{"caps below one", mixture.Constraints{Cap: 0.09, Floor: 0.01}, mixture.Budget{}, []string{"cap(0.09)"}},
		{"floor above cap", mixture.Constraints{Cap: 0.3, TaskFloor: map[string]float64{"task00002": 0.4}}, mixture.Budget{}, []string{"cap(0.3)", "floor(task=task00002)"}},
		{"epochs", mixture.Constraints{MaxEpochs: 1e-6, Floor: 0.001}, mixture.Budget{Steps: 1e6, BatchSize: 1024}, []string{"max_epochs(1e-06)"}},
		{"category floor", mixture.Constraints{Cap: 0.5, CategoryFloors: map[string]float64{"Chat": 0.5}}, mixture.Budget{}, []string{"category_floor(Chat>=0.5)"}},
		{"group vs cap", mixture.Constraints{Cap: 0.2, TaskCap: map[string]float64{"task00001": 0.05},
			Groups: []mixture.Group{{Name: "pair", Tasks: []string{"task00000", "task00001"}, Min: 0.3}}},
			mixture.Budget{}, []string{"cap(0.2)", "cap(task=task00001)", "group(pair in [0.3,1])"}},
		{"two groups", mixture.Constraints{Groups: []mixture.Group{
			{Name: "a", Tasks: []string{"task00000", "task00001"}, Min: 0.7},
			{Name: "b", Tasks: []string{"task00001", "task00002"}, Max: 0.2},
			{Name: "c", Tasks: []string{"task00000"}, Max: 0.4},
			{Name: "harmless", Tasks: []string{"task00009"}, Max: 0.9},
		}}, mixture.Budget{}, []string{"group(b in [0,0.2])", "group(c in [0,0.4])", "group(a in [0.7,1])"}},
	} {
		for _, obj := range objectives {
			t.Run(tc.name+"/"+obj.String(), func(t *testing.T) {
				_, err := mixture.Solve(e, obj, mixture.Options{Constraints: tc.c, Budget: tc.b})
				require.ErrorIs(t, err, mixture.ErrInfeasible)
				var ie *mixture.InfeasibleError
				require.True(t, errors.As(err, &ie))
				assert.ElementsMatch(t, tc.want, ie.Conflict)
				for _, name := range tc.want {
					assert.Contains(t, err.Error(), name)
				}
			})
		}
	}
}

func TestSolveRejectsBadInput(t *testing.T) {
	e := mixture.RandomEffects(3, 6, 5, 0)
	for _, tc := range []struct {
		name string
		obj  mixture.Objective
		opts mixture.Options
		want string
	}{
		{"unknown category weight", mixture.KL, mixture.Options{CategoryWeights: map[string]float64{"Nope": 1}}, `unknown category "Nope"`},
		{"zero category weights", mixture.KL, mixture.Options{CategoryWeights: map[string]float64{"Chat": 0}}, "all zero"},
		{"lambda and target", mixture.KL, mixture.Options{KL: mixture.KLSettings{Lambda: 1, TargetEffectiveTasks: 2}}, "not both"},
		{"unknown task cap", mixture.Linear, mixture.Options{Constraints: mixture.Constraints{TaskCap: map[string]float64{"ghost": 0.1}}}, `unknown task "ghost"`},
		{"epochs without budget", mixture.Linear, mixture.Options{Constraints: mixture.Constraints{MaxEpochs: 15}}, "needs a training budget"},
		{"cap above one", mixture.Linear, mixture.Options{Constraints: mixture.Constraints{Cap: 2}}, "outside [0, 1]"},
		{"unknown category floor", mixture.MaxMin, mixture.Options{Constraints: mixture.Constraints{CategoryFloors: map[string]float64{"Nope": 0}}}, `unknown category "Nope"`},
		{"flame threshold", mixture.FlameBundles, mixture.Options{Flame: mixture.FlameSettings{Thresholds: map[string]float64{"Nope": 0.5}}}, `unknown category "Nope"`},
		{"objective", mixture.Objective(42), mixture.Options{}, "objective"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mixture.Solve(e, tc.obj, tc.opts)
			require.ErrorIs(t, err, mixture.ErrInvalid)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	bad := mixture.RandomEffects(3, 6, 5, 0)
	bad.Low[2][1] = bad.High[2][1] + 0.1
	_, err := mixture.Solve(bad, mixture.KL, mixture.Options{})
	assert.ErrorContains(t, err, `task "task00002", category "Chat Hard"`)
}

func TestKLTargetEffectiveTasks(t *testing.T) {
	e := mixture.RandomEffects(11, 80, 5, 0)
	for _, target := range []float64{3, 10, 25} {
		t.Run(fmt.Sprint(target), func(t *testing.T) {
			sol, err := mixture.Solve(e, mixture.KL, mixture.Options{KL: mixture.KLSettings{TargetEffectiveTasks: target}, Constraints: mixture.Constraints{Cap: 0.5}})
			require.NoError(t, err)
			assert.InDelta(t, target, mixture.EffectiveTasks(sol.Weights), 1e-6)
			assert.Greater(t, sol.Lambda, 0.0)
		})
	}
	_, err := mixture.Solve(e, mixture.KL, mixture.Options{KL: mixture.KLSettings{TargetEffectiveTasks: 80}})
	assert.ErrorContains(t, err, "out of reach")
}

// TestKLLimits checks the KL objective's two ends: a huge λ returns the
// prior, a tiny λ the linear optimum.
func TestKLLimits(t *testing.T) {
	e := mixture.RandomEffects(12, 40, 5, 0)
	c := mixture.Constraints{Cap: 0.1}
	big, err := mixture.Solve(e, mixture.KL, mixture.Options{KL: mixture.KLSettings{Lambda: 1e6}})
	require.NoError(t, err)
	prior, err := mixture.Proportional(e.Tasks, mixture.DefaultCap)
	require.NoError(t, err)
	assert.InDeltaSlice(t, prior, big.Weights, 1e-7)
	small, err := mixture.Solve(e, mixture.KL, mixture.Options{KL: mixture.KLSettings{Lambda: 1e-7}, Constraints: c})
	require.NoError(t, err)
	lin, err := mixture.Solve(e, mixture.Linear, mixture.Options{Constraints: c})
	require.NoError(t, err)
	assert.InDelta(t, lin.Gain, small.Gain, 1e-6)
}

func TestParseObjective(t *testing.T) {
	for _, tc := range []struct {
		in  string
		obj mixture.Objective
		est mixture.Estimate
	}{
		{"kl", mixture.KL, mixture.EstimateMean},
		{"linear", mixture.Linear, mixture.EstimateMean},
		{"maxmin", mixture.MaxMin, mixture.EstimateMean},
		{"flame-bundles", mixture.FlameBundles, mixture.EstimateMean},
		{"lcb", mixture.KL, mixture.EstimateLower},
		{"LCB-linear", mixture.Linear, mixture.EstimateLower},
	} {
		obj, est, err := mixture.ParseObjective(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.obj, obj, tc.in)
		assert.Equal(t, tc.est, est, tc.in)
	}
	_, _, err := mixture.ParseObjective("doremi")
	assert.ErrorIs(t, err, mixture.ErrInvalid)
}

func TestSolveEdgeCases(t *testing.T) {
	one := mixture.RandomEffects(51, 1, 5, 0)
	four := mixture.RandomEffects(52, 4, 5, 0)
	pinned := map[string]float64{"task00000": 0.1, "task00001": 0.2, "task00002": 0.3, "task00003": 0.4}
	single := mixture.RandomEffects(53, 6, 1, 0)
	for _, tc := range []struct {
		name string
		e    *mixture.Effects
		opts mixture.Options
		want []float64
	}{
		{"one task", one, mixture.Options{}, []float64{1}},
		{"every weight pinned", four, mixture.Options{Constraints: mixture.Constraints{TaskFloor: pinned, TaskCap: pinned}}, []float64{0.1, 0.2, 0.3, 0.4}},
		{"floors sum to one", four, mixture.Options{Constraints: mixture.Constraints{Floor: 0.25}}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"one category", single, mixture.Options{Constraints: mixture.Constraints{Cap: 0.5}}, nil},
	} {
		for _, obj := range objectives {
			t.Run(tc.name+"/"+obj.String(), func(t *testing.T) {
				sol, err := mixture.Solve(tc.e, obj, tc.opts)
				require.NoError(t, err)
				checkSolution(t, tc.e, tc.opts, sol)
				if tc.want != nil {
					assert.InDeltaSlice(t, tc.want, sol.Weights, 1e-15)
				}
				assert.False(t, math.IsNaN(sol.Value) || math.IsInf(sol.Value, 0), "value %v", sol.Value)
			})
		}
	}
}

func TestPinnedWeightsStillCheckRows(t *testing.T) {
	e := mixture.RandomEffects(54, 3, 5, 0)
	pinned := map[string]float64{"task00000": 0.2, "task00001": 0.3, "task00002": 0.5}
	opts := mixture.Options{Constraints: mixture.Constraints{TaskFloor: pinned, TaskCap: pinned, CategoryFloors: map[string]float64{"Chat": 0.9}}}
	for _, obj := range objectives {
		_, err := mixture.Solve(e, obj, opts)
		var ie *mixture.InfeasibleError
		require.ErrorAs(t, err, &ie, obj.String())
		assert.Contains(t, ie.Conflict, "category_floor(Chat>=0.9)")
	}
}
