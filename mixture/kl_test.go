package mixture

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/optimize"
)

// softmaxKL maximises Σ w·g − λ·KL(w‖p) over the simplex iteratively:
// w = softmax(z), LBFGS on z with the chain rule dL/dz_i = w_i·(∂_i − wᵀ∂).
func softmaxKL(t *testing.T, g, logp []float64, lambda float64) []float64 {
	n := len(g)
	weights := func(z []float64) []float64 { return softmaxLog(z) }
	partial := func(w []float64) []float64 {
		d := make([]float64, n)
		for i := range n {
			d[i] = g[i] - lambda*(math.Log(w[i])-logp[i]+1)
		}
		return d
	}
	prob := optimize.Problem{
		Func: func(z []float64) float64 { return -klValue(weights(z), g, logp, lambda) },
		Grad: func(dst, z []float64) {
			w := weights(z)
			d := partial(w)
			avg := floats.Dot(w, d)
			for i := range n {
				dst[i] = -w[i] * (d[i] - avg)
			}
		},
	}
	// Start at the prior, z = log p.
	res, err := optimize.Minimize(prob, append([]float64(nil), logp...), &optimize.Settings{
		GradientThreshold: 1e-12,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Iterations: 50},
	}, &optimize.LBFGS{})
	require.NotNil(t, res, "%v", err)
	return weights(res.X)
}

func TestKLClosedFormMatchesLBFGS(t *testing.T) {
	for _, tc := range []struct {
		n      int
		lambda float64
	}{{3, 0.01}, {10, 0.01}, {40, 0.005}, {40, 0.05}, {200, 0.02}} {
		t.Run(fmt.Sprintf("n=%d/lambda=%g", tc.n, tc.lambda), func(t *testing.T) {
			e := randomEffects(uint64(tc.n), tc.n, 5, 0)
			prior, err := Proportional(e.Tasks, DefaultCap)
			require.NoError(t, err)
			g := make([]float64, tc.n)
			for i := range g {
				g[i] = e.Mean[i][0]
			}
			lo, hi := make([]float64, tc.n), make([]float64, tc.n)
			for i := range hi {
				hi[i] = 1
			}
			got, _ := tilt(g, logs(prior), lo, hi, tc.lambda)
			want := softmaxKL(t, g, logs(prior), tc.lambda)
			assert.True(t, floats.EqualApprox(got, want, 1e-6), "closed form %v\nLBFGS %v", got, want)
			assert.InDelta(t, 1, floats.Sum(got), 1e-14)
		})
	}
}

// kklKKT checks the KKT conditions of the KL problem at w with multipliers
// y (rows) and the ν implied by the free tasks: stationarity
// g_i − Σ_r y_r·G_ri − λ(log(w_i/p_i)) = ν for tasks strictly inside their
// bounds, ≥ ν at a cap, ≤ ν at a floor; rows feasible and complementary.
func klKKT(t *testing.T, kp *klProblem, sol *klSolution, msg string) {
	t.Helper()
	n := len(kp.g)
	sum := 0.0
	for _, v := range sol.w {
		sum += v
	}
	assert.InDelta(t, 1, sum, 1e-12, "%s: sum", msg)
	marg := make([]float64, n)
	for i := range n {
		marg[i] = kp.g[i]
		for r, rw := range kp.rows {
			marg[i] -= sol.y[r] * rw.coef[i]
		}
		marg[i] -= kp.lambda * (math.Log(sol.w[i]) - kp.logp[i])
	}
	nu := math.NaN()
	for i := range n {
		if sol.w[i] > kp.lo[i]+1e-12 && sol.w[i] < kp.hi[i]-1e-12 {
			if math.IsNaN(nu) {
				nu = marg[i]
			}
			assert.InDelta(t, nu, marg[i], 1e-9, "%s: stationarity of free task %d", msg, i)
		}
	}
	require.False(t, math.IsNaN(nu), "%s: no free task", msg)
	for i := range n {
		assert.GreaterOrEqual(t, sol.w[i], kp.lo[i]-1e-15, msg)
		assert.LessOrEqual(t, sol.w[i], kp.hi[i]+1e-15, msg)
		if sol.w[i] >= kp.hi[i]-1e-12 && sol.w[i] > kp.lo[i]+1e-12 {
			assert.GreaterOrEqual(t, marg[i], nu-1e-9, "%s: task %d at cap wants less", msg, i)
		}
		if sol.w[i] <= kp.lo[i]+1e-12 && sol.w[i] < kp.hi[i]-1e-12 {
			assert.LessOrEqual(t, marg[i], nu+1e-9, "%s: task %d at floor wants more", msg, i)
		}
	}
	for r, rw := range kp.rows {
		lhs := floats.Dot(rw.coef, sol.w)
		scale := floats.Norm(rw.coef, math.Inf(1))
		assert.LessOrEqual(t, lhs, rw.rhs+1e-8*scale, "%s: row %d violated", msg, r)
		assert.GreaterOrEqual(t, sol.y[r], 0.0, "%s: row %d multiplier", msg, r)
		assert.InDelta(t, 0, sol.y[r]*(rw.rhs-lhs), 1e-9, "%s: row %d complementary slackness", msg, r)
	}
}

func TestKLKKT(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 60 {
		n := 5 + rng.IntN(60)
		e := randomEffects(uint64(100+trial), n, 5, 0)
		c := Constraints{Cap: math.Max(1.5/float64(n), 0.3*rng.Float64())}
		if rng.Float64() < 0.5 {
			c.Floor = 0.2 / float64(n)
		}
		if trial%3 != 0 {
			c.CategoryFloors = map[string]float64{"Safety": 0.003 * rng.NormFloat64()}
		}
		if trial%4 == 1 {
			c.Groups = []Group{{Name: "g", Tasks: []string{"task00000", "task00001"}, Min: 0.05 + 0.1*rng.Float64()}}
		}
		cs, err := buildConstraints(e, c, Budget{}, e.Mean)
		require.NoError(t, err)
		f := compile(n, cs, nil)
		if ok, err := f.check(); err != nil || !ok {
			require.NoError(t, err)
			continue
		}
		prior, err := Proportional(e.Tasks, DefaultCap)
		require.NoError(t, err)
		g := make([]float64, n)
		for i := range n {
			g[i] = floats.Sum(e.Mean[i]) / 5
		}
		kp := &klProblem{g: g, logp: logs(prior), lo: f.lo, hi: f.hi, lambda: 0.002 + 0.02*rng.Float64(), rows: f.rows}
		sol, err := kp.solve()
		require.NoError(t, err, "trial %d", trial)
		klKKT(t, kp, sol, fmt.Sprintf("trial %d", trial))
	}
}

// TestKLDualDerivatives checks the analytic gradient and Hessian of the dual
// D(y) against central finite differences.
func TestKLDualDerivatives(t *testing.T) {
	n := 30
	e := randomEffects(9, n, 5, 0)
	prior, err := Proportional(e.Tasks, DefaultCap)
	require.NoError(t, err)
	lo, hi := make([]float64, n), make([]float64, n)
	for i := range hi {
		hi[i] = 0.2
	}
	g := make([]float64, n)
	rows := make([][]float64, 2)
	for r := range rows {
		rows[r] = make([]float64, n)
	}
	for i := range n {
		g[i] = e.Mean[i][0]
		rows[0][i] = -e.Mean[i][4]
		rows[1][i] = -e.Mean[i][2]
	}
	h := []float64{-0.001, 0.002}
	lambda := 0.01
	dual := func(y []float64) float64 {
		eff := make([]float64, n)
		for i := range n {
			eff[i] = g[i] - y[0]*rows[0][i] - y[1]*rows[1][i]
		}
		w, _ := tilt(eff, logs(prior), lo, hi, lambda)
		return klValue(w, eff, logs(prior), lambda) + y[0]*h[0] + y[1]*h[1]
	}
	grad := func(y []float64) []float64 {
		eff := make([]float64, n)
		for i := range n {
			eff[i] = g[i] - y[0]*rows[0][i] - y[1]*rows[1][i]
		}
		w, _ := tilt(eff, logs(prior), lo, hi, lambda)
		return []float64{h[0] - floats.Dot(rows[0], w), h[1] - floats.Dot(rows[1], w)}
	}
	for _, y := range [][]float64{{0.3, 0.1}, {1, 0}, {0.05, 2}} {
		want := fd.Gradient(nil, dual, y, &fd.Settings{Formula: fd.Central, Step: 1e-6})
		assert.True(t, floats.EqualApprox(grad(y), want, 1e-7), "y=%v: gradient %v, finite differences %v", y, grad(y), want)
	}
}

func TestTiltBounds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		g      []float64
		lo, hi []float64
		want   []float64
	}{
		{"all at floor", []float64{0, 0}, []float64{0.5, 0.5}, []float64{1, 1}, []float64{0.5, 0.5}},
		{"all at cap", []float64{1, -1}, []float64{0, 0}, []float64{0.5, 0.5}, []float64{0.5, 0.5}},
		{"huge gain hits cap", []float64{10, 0, 0}, []float64{0, 0, 0}, []float64{0.6, 1, 1}, []float64{0.6, 0.2, 0.2}},
		{"excluded task", []float64{0, 0, 0}, []float64{0, 0, 0}, []float64{0, 1, 1}, []float64{0, 0.5, 0.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logp := logs(Uniform(make([]Task, len(tc.g))))
			got, _ := tilt(tc.g, logp, tc.lo, tc.hi, 0.01)
			assert.True(t, floats.EqualApprox(got, tc.want, 1e-12), "got %v, want %v", got, tc.want)
		})
	}
}
