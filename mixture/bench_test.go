package mixture

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// benchObjectives are the objectives the benchmarks run; lcb is KL on the
// lower confidence bounds.
var benchObjectives = []struct {
	name string
	obj  Objective
	est  Estimate
}{
	{"kl", KL, EstimateMean},
	{"linear", Linear, EstimateMean},
	{"maxmin", MaxMin, EstimateMean},
	{"lcb", KL, EstimateLower},
	{"flame-bundles", FlameBundles, EstimateMean},
}

// benchConstraints are realistic: a 5% cap and at most 15 epochs of a
// 5000-step, batch-8 run (FLAMe-Opt-RM's budget); with rows, also a Safety
// floor and a group maximum.
func benchConstraints(e *Effects, rows bool) (Constraints, Budget) {
	c := Constraints{Cap: 0.05, MaxEpochs: 15}
	if rows {
		c.CategoryFloors = map[string]float64{"Safety": 0}
		var g []string
		for _, t := range e.Tasks[:len(e.Tasks)/10] {
			g = append(g, t.Name)
		}
		c.Groups = []Group{{Name: "first tenth", Tasks: g, Max: 0.05}}
	}
	return c, Budget{Steps: 5000, BatchSize: 8}
}

func benchmarkSolve(b *testing.B, rows bool) {
	for _, bo := range benchObjectives {
		for _, n := range []int{100, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/n=%d", bo.name, n), func(b *testing.B) {
				e := randomEffects(uint64(n), n, 5, 0)
				c, budget := benchConstraints(e, rows)
				opts := Options{Estimate: bo.est, Constraints: c, Budget: budget}
				var sol *Solution
				var err error
				for b.Loop() {
					sol, err = Solve(e, bo.obj, opts)
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(sol.Value*100, "value_pts")
				b.ReportMetric(sol.Gain*100, "gain_pts")
			})
		}
	}
}

// BenchmarkSolve times each objective under a cap and epoch caps.
func BenchmarkSolve(b *testing.B) { benchmarkSolve(b, false) }

// BenchmarkSolveRows adds a category floor and a group, which the KL
// objective handles through its dual and the LPs as rows.
func BenchmarkSolveRows(b *testing.B) { benchmarkSolve(b, true) }

// BenchmarkLinearDenseBaseline solves the linear objective of
// BenchmarkSolve/linear as the naive dense standard form — one cap row and
// one slack per task, lp.Simplex on the whole thing — as the baseline the
// working set is measured against.
func BenchmarkLinearDenseBaseline(b *testing.B) {
	for _, n := range []int{100, 300} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			e := randomEffects(uint64(n), n, 5, 0)
			c, budget := benchConstraints(e, false)
			cs, err := buildConstraints(e, c, budget, e.Mean)
			if err != nil {
				b.Fatal(err)
			}
			f := compile(n, cs, nil)
			alpha, err := resolveAlpha(e, nil)
			if err != nil {
				b.Fatal(err)
			}
			cost := make([]float64, 2*n)
			a := mat.NewDense(1+n, 2*n, nil)
			rhs := make([]float64, 1+n)
			rhs[0] = 1
			for i := range n {
				for j, al := range alpha {
					cost[i] -= al * e.Mean[i][j]
				}
				a.Set(0, i, 1)
				a.Set(1+i, i, 1)
				a.Set(1+i, n+i, 1)
				rhs[1+i] = f.hi[i]
			}
			var opt float64
			for b.Loop() {
				opt, _, err = lp.Simplex(cost, a, rhs, 1e-10, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(-opt*100, "value_pts")
		})
	}
}

// BenchmarkBootstrap re-solves on 100 replicates.
func BenchmarkBootstrap(b *testing.B) {
	for _, bo := range benchObjectives[:3] {
		b.Run(bo.name+"/n=1000", func(b *testing.B) {
			e := randomEffects(1000, 1000, 5, 100)
			c, budget := benchConstraints(e, false)
			sol, err := Solve(e, bo.obj, Options{Constraints: c, Budget: budget})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := Bootstrap(e, sol, BootstrapOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
