package mixture

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// bruteLP maximises c·x subject to eq·x = eqB and in·x ≤ inB by enumerating
// every vertex: each choice of d − len(eq) inequalities made tight, together
// with the equalities, gives a candidate point. It reports false when no
// vertex is feasible (the feasible sets here are bounded polytopes, so a
// feasible LP has a vertex optimum).
func bruteLP(c []float64, eq [][]float64, eqB []float64, in [][]float64, inB []float64) (float64, []float64, bool) {
	d := len(c)
	need := d - len(eq)
	best, found := math.Inf(-1), false
	var bestX []float64
	pick := make([]int, need)
	var rec func(start, depth int)
	rec = func(start, depth int) {
		if depth == need {
			a := mat.NewDense(d, d, nil)
			b := make([]float64, d)
			for r := range eq {
				a.SetRow(r, eq[r])
				b[r] = eqB[r]
			}
			for j, p := range pick {
				a.SetRow(len(eq)+j, in[p])
				b[len(eq)+j] = inB[p]
			}
			var lu mat.LU
			lu.Factorize(a)
			if lu.Cond() > 1e10 {
				return
			}
			var x mat.VecDense
			if err := lu.SolveVecTo(&x, false, mat.NewVecDense(d, b)); err != nil {
				return
			}
			xs := x.RawVector().Data
			for r := range in {
				s := 0.0
				for j := range d {
					s += in[r][j] * xs[j]
				}
				if s > inB[r]+1e-9 {
					return
				}
			}
			v := 0.0
			for j := range d {
				v += c[j] * xs[j]
			}
			if v > best {
				best, found, bestX = v, true, append([]float64(nil), xs...)
			}
			return
		}
		for p := start; p < len(in); p++ {
			pick[depth] = p
			rec(p+1, depth+1)
		}
	}
	rec(0, 0)
	return best, bestX, found
}

// boxRows writes lo ≤ w ≤ hi and the rows of f as in·x ≤ inB over d ≥ n
// variables (the first n are w).
func boxRows(f *feasible, d int) ([][]float64, []float64) {
	n := len(f.lo)
	var in [][]float64
	var inB []float64
	for i := range n {
		r := make([]float64, d)
		r[i] = -1
		in, inB = append(in, r), append(inB, -f.lo[i])
		r = make([]float64, d)
		r[i] = 1
		in, inB = append(in, r), append(inB, f.hi[i])
	}
	for _, rw := range f.rows {
		r := make([]float64, d)
		copy(r, rw.coef)
		in, inB = append(in, r), append(inB, rw.rhs)
	}
	return in, inB
}

// randomFeasible draws a small instance: bounds, and 0–2 rows (category
// floors or groups), some of them infeasible.
func randomFeasible(rng *rand.Rand, n int) *feasible {
	f := &feasible{lo: make([]float64, n), hi: make([]float64, n)}
	for i := range n {
		f.hi[i] = 1
		if rng.Float64() < 0.5 {
			f.lo[i] = 0.15 * rng.Float64()
		}
		if rng.Float64() < 0.6 {
			f.hi[i] = f.lo[i] + 0.5*rng.Float64()
		}
	}
	for range rng.IntN(3) {
		coef := make([]float64, n)
		var rhs float64
		if rng.Float64() < 0.5 {
			// Category floor: Σ E_i·w_i ≥ t.
			for i := range n {
				coef[i] = -0.01 * rng.NormFloat64()
			}
			rhs = 0.004 * rng.NormFloat64()
		} else {
			// Group bound, either direction.
			sign := 1.0
			if rng.Float64() < 0.5 {
				sign = -1
			}
			for i := range n {
				if rng.Float64() < 0.5 {
					coef[i] = sign
				}
			}
			rhs = sign * rng.Float64()
		}
		f.rows = append(f.rows, row{coef: coef, rhs: rhs})
	}
	return f
}

func TestWorkingSetLPMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	feasibleSeen, infeasibleSeen := 0, 0
	for trial := range 300 {
		n := 2 + rng.IntN(5)
		f := randomFeasible(rng, n)
		c := make([]float64, n)
		for i := range c {
			c[i] = 0.01 * rng.NormFloat64()
		}
		if trial%7 == 0 {
			c[1] = c[0] // ties
		}
		ones := make([]float64, n)
		for i := range ones {
			ones[i] = 1
		}
		in, inB := boxRows(f, n)
		want, _, ok := bruteLP(c, [][]float64{ones}, []float64{1}, in, inB)
		got, err := f.lpInstance(c, nil).solve()
		if !ok {
			infeasibleSeen++
			assert.ErrorIs(t, err, errLPInfeasible, "trial %d", trial)
			continue
		}
		feasibleSeen++
		require.NoError(t, err, "trial %d", trial)
		assert.InDelta(t, want, got.obj, 1e-10, "trial %d: objective", trial)
		checkFeasible(t, f, got.w, fmt.Sprintf("trial %d", trial))
	}
	assert.Greater(t, feasibleSeen, 100)
	assert.Greater(t, infeasibleSeen, 10)
}

func TestMaxMinMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 120 {
		n := 2 + rng.IntN(4)
		k := 2 + rng.IntN(2)
		e := randomEffects(uint64(trial), n, k, 0)
		opts := Options{Constraints: Constraints{Cap: 1/float64(n) + (1-1/float64(n))*rng.Float64()}}
		if rng.Float64() < 0.4 {
			opts.Constraints.Floor = 0.1 / float64(n)
		}
		pr, err := prepare(e, MaxMin, opts)
		require.NoError(t, err)
		est := e.Mean
		cs, err := buildConstraints(e, opts.Constraints, opts.Budget, est)
		require.NoError(t, err)
		f := compile(n, cs, nil)
		// Variables (w, t): maximise t subject to t ≤ Σ_i E_ij·w_i.
		d := n + 1
		c := make([]float64, d)
		c[n] = 1
		eq := make([]float64, d)
		for i := range n {
			eq[i] = 1
		}
		in, inB := boxRows(f, d)
		for j := range k {
			r := make([]float64, d)
			for i := range n {
				r[i] = -est[i][j]
			}
			r[n] = 1
			in, inB = append(in, r), append(inB, 0)
		}
		// t is free but bounded by the rows; bound it explicitly below so the
		// polytope is bounded.
		r := make([]float64, d)
		r[n] = -1
		in, inB = append(in, r), append(inB, 1)
		want, _, ok := bruteLP(c, [][]float64{eq}, []float64{1}, in, inB)
		require.True(t, ok)
		v, err := e.newView(ReferenceBase, -1)
		require.NoError(t, err)
		sol, err := pr.solve(v, 0, true)
		require.NoError(t, err, "trial %d", trial)
		assert.InDelta(t, want, sol.Value, 1e-9, "trial %d: worst-case gain", trial)
		// Second stage: the best α-gain among mixtures reaching the optimum.
		f2 := &feasible{lo: f.lo, hi: f.hi}
		for j := range k {
			coef := make([]float64, n)
			for i := range n {
				coef[i] = -est[i][j]
			}
			f2.rows = append(f2.rows, row{coef: coef, rhs: -(want - maxminSlack)})
		}
		gain := make([]float64, n)
		for i := range n {
			for j := range k {
				gain[i] += pr.alpha[j] * est[i][j]
			}
		}
		in2, inB2 := boxRows(f2, n)
		want2, _, ok := bruteLP(gain, [][]float64{eq[:n]}, []float64{1}, in2, inB2)
		require.True(t, ok, "trial %d: want %v w %v lo %v hi %v", trial, want, sol.Weights, f.lo, f.hi)
		assert.InDelta(t, want2, sol.Gain, 1e-9, "trial %d: α-gain among maxmin optima", trial)
	}
}

// denseLP solves the same LP as an lpInstance without a working set, through
// lp.Convert's general form (w free, with explicit −w ≤ −lo and w ≤ hi
// rows): an independent formulation.
func denseLP(t *testing.T, f *feasible, c []float64) float64 {
	n := len(c)
	var gRows [][]float64
	var h []float64
	for i := range n {
		r := make([]float64, n)
		r[i] = -1
		gRows, h = append(gRows, r), append(h, -f.lo[i])
		r = make([]float64, n)
		r[i] = 1
		gRows, h = append(gRows, r), append(h, f.hi[i])
	}
	for _, rw := range f.rows {
		gRows, h = append(gRows, rw.coef), append(h, rw.rhs)
	}
	g := mat.NewDense(len(gRows), n, nil)
	for r, v := range gRows {
		g.SetRow(r, v)
	}
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	neg := make([]float64, n)
	for i, v := range c {
		neg[i] = -v
	}
	cNew, aNew, bNew := lp.Convert(neg, g, h, mat.NewDense(1, n, ones), []float64{1})
	opt, _, err := lp.Simplex(cNew, aNew, bNew, 1e-10, nil)
	require.NoError(t, err)
	return -opt
}

func TestWorkingSetLPMatchesDenseLP(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		opts Constraints
	}{
		{"caps", 40, Constraints{Cap: 0.04}},
		{"floors and caps", 40, Constraints{Floor: 0.005, Cap: 0.05}},
		{"category floors", 30, Constraints{Cap: 0.1, CategoryFloors: map[string]float64{"Safety": 0.004, "Math": 0.002}}},
		{"group", 30, Constraints{Cap: 0.08, Groups: []Group{{Name: "g", Tasks: []string{"task00001", "task00002", "task00003", "task00004"}, Min: 0.2}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := randomEffects(7, tc.n, 5, 0)
			alpha, err := resolveAlpha(e, nil)
			require.NoError(t, err)
			gain := make([]float64, tc.n)
			for i := range tc.n {
				for j, a := range alpha {
					gain[i] += a * e.Mean[i][j]
				}
			}
			cs, err := buildConstraints(e, tc.opts, Budget{}, e.Mean)
			require.NoError(t, err)
			f := compile(tc.n, cs, nil)
			got, err := f.lpInstance(gain, nil).solve()
			require.NoError(t, err)
			assert.InDelta(t, denseLP(t, f, gain), got.obj, 1e-10)
			checkFeasible(t, f, got.w, tc.name)
		})
	}
}

// TestLinearEqualsGreedy checks the LP against the independent greedy
// optimum of a linear objective under box constraints: fill the floors, then
// add weight in order of gain up to each cap.
func TestLinearEqualsGreedy(t *testing.T) {
	for _, n := range []int{10, 300, 3000} {
		e := randomEffects(uint64(n), n, 5, 0)
		opts := Options{Constraints: Constraints{Floor: 0.1 / float64(n), Cap: 3.0 / float64(n)}}
		sol, err := Solve(e, Linear, opts)
		require.NoError(t, err)
		gain := make([]float64, n)
		for i := range n {
			for j, a := range sol.Alpha {
				gain[i] += a * e.Mean[i][j]
			}
		}
		order := topK(n, n, func(i int) float64 { return gain[i] })
		w := make([]float64, n)
		rem := 1.0
		for i := range w {
			w[i] = sol.Lower[i]
			rem -= w[i]
		}
		for _, i := range order {
			add := math.Min(sol.Upper[i]-w[i], rem)
			w[i] += add
			rem -= add
		}
		want := 0.0
		for i := range n {
			want += w[i] * gain[i]
		}
		assert.InDelta(t, want, sol.Value, 1e-12, "n=%d", n)
	}
}

func checkFeasible(t *testing.T, f *feasible, w []float64, msg string) {
	t.Helper()
	sum := 0.0
	for i, v := range w {
		sum += v
		assert.GreaterOrEqual(t, v, f.lo[i]-1e-12, "%s: task %d below floor", msg, i)
		assert.LessOrEqual(t, v, f.hi[i]+1e-12, "%s: task %d above cap", msg, i)
	}
	assert.InDelta(t, 1, sum, 1e-12, "%s: sum", msg)
	for r, rw := range f.rows {
		lhs := 0.0
		for i, c := range rw.coef {
			lhs += c * w[i]
		}
		assert.LessOrEqual(t, lhs, rw.rhs+1e-9, "%s: row %d", msg, r)
	}
}

// TestLPKKT checks the working-set optimum of large instances, where brute
// force is out of reach, against the LP optimality conditions with the
// multipliers it returns: every task's reduced cost d_i = c_i − μ − Σ y_r·G_ri
// is 0 strictly between its bounds, ≤ 0 at its floor and ≥ 0 at its cap;
// y ≥ 0 and y_r = 0 on slack rows.
func TestLPKKT(t *testing.T) {
	for _, n := range []int{500, 5000} {
		e := randomEffects(uint64(n), n, 5, 0)
		c := Constraints{Floor: 0.05 / float64(n), Cap: 20 / float64(n), CategoryFloors: map[string]float64{"Safety": 0.002, "Chat": 0.001},
			Groups: []Group{{Name: "head", Tasks: []string{"task00000", "task00001", "task00002", "task00003"}, Min: 0.01}}}
		cs, err := buildConstraints(e, c, Budget{}, e.Mean)
		require.NoError(t, err)
		f := compile(n, cs, nil)
		gain := make([]float64, n)
		for i := range n {
			gain[i] = e.Mean[i][1]
		}
		sol, err := f.lpInstance(gain, nil).solve()
		require.NoError(t, err)
		checkFeasible(t, f, sol.w, fmt.Sprintf("n=%d", n))
		scale := 0.0
		for _, g := range gain {
			scale = math.Max(scale, math.Abs(g))
		}
		tol := 1e-8 * scale
		for i := range n {
			d := gain[i] - sol.mu
			for r, rw := range f.rows {
				d -= sol.y[r] * rw.coef[i]
			}
			switch {
			case sol.w[i] <= f.lo[i]+1e-13:
				assert.LessOrEqual(t, d, tol, "n=%d: task %d at floor has reduced cost %g", n, i, d)
			case sol.w[i] >= f.hi[i]-1e-13:
				assert.GreaterOrEqual(t, d, -tol, "n=%d: task %d at cap has reduced cost %g", n, i, d)
			default:
				assert.InDelta(t, 0, d, tol, "n=%d: free task %d", n, i)
			}
		}
		for r, rw := range f.rows {
			lhs := 0.0
			for i, v := range rw.coef {
				lhs += v * sol.w[i]
			}
			assert.GreaterOrEqual(t, sol.y[r], -1e-12, "n=%d: row %d multiplier", n, r)
			if rw.rhs-lhs > 1e-9 {
				assert.InDelta(t, 0, sol.y[r], 1e-9, "n=%d: slack row %d has multiplier", n, r)
			}
		}
	}
}

// TestWorkingSetLPDegenerate runs instances built to be degenerate — gains
// on three levels (many ties), caps that sum to exactly 1, floors that
// nearly do, rows met with equality at the start — against the dense LP.
func TestWorkingSetLPDegenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 40 {
		n := 8 + rng.IntN(16)
		e := randomEffects(uint64(200+trial), n, 5, 0)
		gain := make([]float64, n)
		for i := range gain {
			gain[i] = 0.01 * float64(rng.IntN(3))
		}
		var c Constraints
		switch trial % 4 {
		case 0:
			c.Cap = 1 / float64(n-rng.IntN(3)) // Σ caps = 1 or just above
		case 1:
			c.Floor = (1 - 1e-9) / float64(n)
		case 2:
			c.Cap = 2 / float64(n)
			c.CategoryFloors = map[string]float64{"Safety": 0}
		case 3:
			c.Cap = 3 / float64(n)
			c.Groups = []Group{{Name: "g", Tasks: []string{"task00000", "task00001"}, Min: 2 / float64(n)}}
		}
		cs, err := buildConstraints(e, c, Budget{}, e.Mean)
		require.NoError(t, err)
		f := compile(n, cs, nil)
		if ok, err := f.check(); err != nil || !ok {
			require.NoError(t, err)
			continue
		}
		got, err := f.lpInstance(gain, nil).solve()
		require.NoError(t, err, "trial %d", trial)
		assert.InDelta(t, denseLP(t, f, gain), got.obj, 1e-10, "trial %d", trial)
		checkFeasible(t, f, got.w, fmt.Sprintf("trial %d", trial))
	}
}
