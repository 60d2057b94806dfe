package mixture

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// klProblem is
//
//	maximise Σ_i w_i·g_i − λ·Σ_i w_i·log(w_i/p_i)
//	subject to lo ≤ w ≤ hi, Σw = 1, G·w ≤ h.
type klProblem struct {
	g, logp, lo, hi []float64
	lambda          float64
	rows            []row
}

// klSolution is the optimum with its multipliers: nu for Σw = 1 and y[r] ≥ 0
// for row r.
type klSolution struct {
	w     []float64
	nu    float64
	y     []float64
	value float64
}

// tilt returns the closed-form maximiser of Σ w_i·f_i − λ·KL(w‖p) over the
// box and the simplex: w_i = clip(p_i·exp((f_i − ν)/λ), lo_i, hi_i), with ν
// the unique value at which the weights sum to 1.
//
// With t_i = log p_i + f_i/λ and ζ = −ν/λ, the sum Σ clip(exp(t_i + ζ), lo_i,
// hi_i) is nondecreasing in ζ, and between consecutive breakpoints
// log lo_i − t_i and log hi_i − t_i each task is either at a bound or free.
// A binary search over the sorted breakpoints finds the piece where the sum
// crosses 1; there the free tasks solve exp(ζ)·Σ_free exp(t_i) = 1 − Σ_bound
// exactly (a log-sum-exp), so no iteration on ν is needed and no exponent
// overflows or underflows, however small λ is. The caller guarantees
// Σlo ≤ 1 ≤ Σhi.
func tilt(f, logp, lo, hi []float64, lambda float64) ([]float64, float64) {
	n := len(f)
	t := make([]float64, n)
	for i := range n {
		t[i] = logp[i] + f[i]/lambda
	}
	ex := newExpTable(t)
	zeta := solveTilt(t, lo, hi, ex)
	w := make([]float64, n)
	for i := range n {
		w[i] = clip(ex.at(i, zeta), lo[i], hi[i])
	}
	return w, -lambda * zeta
}

func clip(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

// expTable evaluates exp(t_i + ζ) for many ζ. When the t_i span less than
// expSpan, it stores a_i = exp(t_i − max t) once and multiplies by
// exp(ζ + max t), one exp per ζ instead of one per task; a wider span would
// underflow a_i, so it then calls exp per task.
type expTable struct {
	t, a []float64
	top  float64
}

const expSpan = 600

func newExpTable(t []float64) *expTable {
	top, bottom := math.Inf(-1), math.Inf(1)
	for _, v := range t {
		if !math.IsInf(v, -1) {
			top, bottom = math.Max(top, v), math.Min(bottom, v)
		}
	}
	ex := &expTable{t: t, top: top}
	if top-bottom < expSpan {
		ex.a = make([]float64, len(t))
		for i, v := range t {
			ex.a[i] = math.Exp(v - top)
		}
	}
	return ex
}

func (ex *expTable) at(i int, zeta float64) float64 {
	if ex.a == nil {
		return math.Exp(ex.t[i] + zeta)
	}
	return ex.a[i] * math.Exp(zeta+ex.top)
}

// sum returns Σ clip(exp(t_i + ζ), lo_i, hi_i).
func (ex *expTable) sum(zeta float64, lo, hi []float64) float64 {
	s := 0.0
	if ex.a == nil {
		for i, v := range ex.t {
			s += clip(math.Exp(v+zeta), lo[i], hi[i])
		}
		return s
	}
	scale := math.Exp(zeta + ex.top)
	for i, a := range ex.a {
		s += clip(a*scale, lo[i], hi[i])
	}
	return s
}

// solveTilt returns ζ with Σ clip(exp(t_i + ζ), lo_i, hi_i) = 1.
func solveTilt(t, lo, hi []float64, ex *expTable) float64 {
	n := len(t)
	bps := make([]float64, 0, 2*n)
	for i := range n {
		if hi[i] <= lo[i] || math.IsInf(t[i], -1) {
			continue // fixed at lo (= hi) or at its floor (zero prior)
		}
		if lo[i] > 0 {
			bps = append(bps, math.Log(lo[i])-t[i])
		}
		bps = append(bps, math.Log(hi[i])-t[i])
	}
	slices.Sort(bps)
	// The piece (below, above) between consecutive breakpoints where the sum
	// reaches 1: below is the last breakpoint where the sum is still < 1.
	k := sort.Search(len(bps), func(j int) bool { return ex.sum(bps[j], lo, hi) >= 1 })
	below, above := math.Inf(-1), math.Inf(1)
	if k > 0 {
		below = bps[k-1]
	}
	if k < len(bps) {
		above = bps[k]
	}
	if k < len(bps) && ex.sum(above, lo, hi) == 1 {
		return above
	}
	// On the piece every task's state is fixed: classify by its breakpoints.
	rest, top := 1.0, math.Inf(-1)
	var free []int
	for i := range n {
		switch {
		case hi[i] <= lo[i] || math.IsInf(t[i], -1):
			rest -= lo[i]
		case lo[i] > 0 && math.Log(lo[i])-t[i] >= above:
			rest -= lo[i]
		case math.Log(hi[i])-t[i] <= below:
			rest -= hi[i]
		default:
			free = append(free, i)
			top = math.Max(top, t[i])
		}
	}
	if len(free) == 0 || rest <= 0 {
		// Only when Σlo = 1 or Σhi = 1: every task at a bound.
		if math.IsInf(below, -1) {
			return above
		}
		return below
	}
	lse := 0.0
	for _, i := range free {
		lse += math.Exp(t[i] - top)
	}
	return math.Log(rest) - top - math.Log(lse)
}

// klValue is Σ w·g − λ·KL(w‖p).
func klValue(w, g, logp []float64, lambda float64) float64 {
	v := 0.0
	for i, wi := range w {
		v += wi * g[i]
		if wi > 0 {
			v -= lambda * wi * (math.Log(wi) - logp[i])
		}
	}
	return v
}

// errDual says that the dual iteration ended without meeting the rows,
// which happens when they cannot be met.
var errDual = errors.New("kl: dual solve did not converge")

// maxDualEvals bounds the inner solves of one dual solve; a feasible problem
// needs a few dozen.
const maxDualEvals = 1000

// dualTol is the KKT tolerance of the dual solve, in weight units (rows are
// scaled to a largest coefficient of 1).
const dualTol = 1e-9

// solve returns the optimum. Without rows it is the closed form. With rows
// it minimises the Lagrangian dual D(y) = max_w [Σ w·(g − Gᵀy) − λ·KL] + yᵀh
// over y ≥ 0: D is convex and differentiable with ∇D = h − G·w(y), and
// Hessian (1/λ)·Cov_w(G) over the unclipped tasks. The bound y ≥ 0 is kept by
// an active-set loop: gonum/optimize's Newton method minimises D over the
// free multipliers, a step that would make one negative stops at zero and
// frees it, and the loop ends when the KKT conditions hold (y ≥ 0, G·w ≤ h,
// y_r·(h_r − G_r·w) = 0). A solution that meets the rows is itself the proof
// that they can be met; when the iteration ends without one it returns
// errDual, and the caller decides feasibility with the LP.
func (kp *klProblem) solve() (*klSolution, error) {
	m := len(kp.rows)
	if m == 0 {
		w, nu := tilt(kp.g, kp.logp, kp.lo, kp.hi, kp.lambda)
		return &klSolution{w: w, nu: nu, value: klValue(w, kp.g, kp.logp, kp.lambda)}, nil
	}
	n := len(kp.g)
	// Scale rows to a largest coefficient of 1.
	gs := make([][]float64, m)
	hs := make([]float64, m)
	scale := make([]float64, m)
	for r, rw := range kp.rows {
		sc := 0.0
		for _, v := range rw.coef {
			sc = math.Max(sc, math.Abs(v))
		}
		if sc == 0 {
			sc = 1
		}
		scale[r] = sc
		gs[r] = make([]float64, n)
		for i, v := range rw.coef {
			gs[r][i] = v / sc
		}
		hs[r] = rw.rhs / sc
	}
	eff := make([]float64, n)
	evals := 0
	inner := func(y []float64) ([]float64, float64) {
		for i := range n {
			eff[i] = kp.g[i]
			for r := range m {
				eff[i] -= y[r] * gs[r][i]
			}
		}
		evals++
		return tilt(eff, kp.logp, kp.lo, kp.hi, kp.lambda)
	}
	// at solves the inner problem at y and evaluates D there, caching the
	// last point because gonum asks for D, ∇D and ∇²D separately.
	var (
		lastY, lastW []float64
		lastVal      float64
	)
	at := func(y []float64) []float64 {
		if lastY != nil && slices.Equal(lastY, y) {
			return lastW
		}
		w, _ := inner(y)
		lastY, lastW = slices.Clone(y), w
		lastVal = klValue(w, eff, kp.logp, kp.lambda)
		for r := range m {
			lastVal += y[r] * hs[r]
		}
		return w
	}
	grad := func(dst []float64, y []float64) {
		w := at(y)
		for r := range m {
			s := hs[r]
			for i := range n {
				s -= gs[r][i] * w[i]
			}
			dst[r] = s
		}
	}
	hess := func(dst *mat.SymDense, y []float64) {
		w := at(y)
		// Weighted covariance of the row coefficients over unclipped tasks.
		wf := 0.0
		mean := make([]float64, m)
		for i := range n {
			if w[i] > kp.lo[i] && w[i] < kp.hi[i] {
				wf += w[i]
				for r := range m {
					mean[r] += w[i] * gs[r][i]
				}
			}
		}
		for r := range m {
			for s := r; s < m; s++ {
				dst.SetSym(r, s, 0)
			}
		}
		if wf == 0 {
			return
		}
		for r := range m {
			mean[r] /= wf
		}
		for r := range m {
			for s := r; s < m; s++ {
				v := 0.0
				for i := range n {
					if w[i] > kp.lo[i] && w[i] < kp.hi[i] {
						v += w[i] * (gs[r][i] - mean[r]) * (gs[s][i] - mean[s])
					}
				}
				dst.SetSym(r, s, v/kp.lambda)
			}
		}
	}

	y := make([]float64, m)
	g := make([]float64, m)
	kkt := func() bool {
		grad(g, y)
		for r := range m {
			if g[r] < -dualTol || (y[r] > 0 && g[r] > dualTol) {
				return false
			}
		}
		return true
	}
	// The evaluation budget ends the loop when the rows cannot be met: D is
	// then unbounded below and the multipliers grow without end.
	for iter := 0; iter < 50 && evals < maxDualEvals && !kkt(); iter++ {
		var free []int
		for r := range m {
			if y[r] > 0 || g[r] < -dualTol {
				free = append(free, r)
			}
		}
		full := slices.Clone(y)
		expand := func(z []float64) []float64 {
			for j, r := range free {
				full[r] = z[j]
			}
			return full
		}
		fg := make([]float64, m)
		fh := mat.NewSymDense(m, nil)
		prob := optimize.Problem{
			Func: func(z []float64) float64 { at(expand(z)); return lastVal },
			Grad: func(dst, z []float64) {
				grad(fg, expand(z))
				for j, r := range free {
					dst[j] = fg[r]
				}
			},
			Hess: func(dst *mat.SymDense, z []float64) {
				hess(fh, expand(z))
				for a, r := range free {
					for b := a; b < len(free); b++ {
						dst.SetSym(a, b, fh.At(r, free[b]))
					}
				}
			},
		}
		start := make([]float64, len(free))
		for j, r := range free {
			start[j] = y[r]
		}
		// Newton reaches the gradient threshold in a few steps; near the
		// optimum the function's rounding can stall the Armijo line search,
		// so the evaluations are capped rather than left to backtrack to a
		// zero step.
		res, err := optimize.Minimize(prob, start, &optimize.Settings{
			GradientThreshold: dualTol,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-16, Relative: 1e-15, Iterations: 3},
			MajorIterations:   100,
			FuncEvaluations:   200,
		}, &optimize.Newton{Linesearcher: &optimize.Backtracking{ContractionFactor: 0.25}})
		if res == nil {
			return nil, fmt.Errorf("kl: dual solve: %w", err)
		}
		// Newton may stop on a failed line search at the noise floor; the KKT
		// test above decides whether the point is good enough, so err alone
		// is not fatal.
		next := slices.Clone(y)
		for j, r := range free {
			next[r] = res.X[j]
		}
		step := 1.0
		for _, r := range free {
			if next[r] < 0 {
				step = math.Min(step, y[r]/(y[r]-next[r]))
			}
		}
		moved := false
		for _, r := range free {
			v := y[r] + step*(next[r]-y[r])
			if v < 0 || (next[r] < 0 && step == y[r]/(y[r]-next[r])) {
				v = 0
			}
			if v != y[r] {
				moved = true
			}
			y[r] = v
		}
		if !moved {
			// No progress: the final feasibility check decides.
			break
		}
	}
	w, nu := inner(y)
	for r := range m {
		lhs := 0.0
		for i := range n {
			lhs += gs[r][i] * w[i]
		}
		if lhs > hs[r]+1e-8 {
			return nil, fmt.Errorf("%w: row %d violated by %g after %d evaluations", errDual, r, lhs-hs[r], evals)
		}
	}
	sol := &klSolution{w: w, nu: nu, y: make([]float64, m), value: klValue(w, kp.g, kp.logp, kp.lambda)}
	for r := range m {
		sol.y[r] = y[r] / scale[r]
	}
	return sol, nil
}

// lambdaForTarget finds the λ at which the KL solution has the target
// effective number of tasks: scan a log grid of λ from large (the prior end)
// to small, and bisect (on log λ) the first interval where the effective
// number crosses the target.
func lambdaForTarget(target float64, spread float64, solve func(lambda float64) (*klSolution, error)) (float64, error) {
	if spread <= 0 {
		return 0, invalidf("kl: target effective tasks %v: all tasks have the same gain, so λ does not move the weights", target)
	}
	const steps = 46 // 10^3 … 10^-6 in steps of 10^0.2
	hiLog, loLog := math.Log(spread)+3*math.Ln10, math.Log(spread)-6*math.Ln10
	eff := func(logLambda float64) (float64, error) {
		s, err := solve(math.Exp(logLambda))
		if err != nil {
			return 0, err
		}
		return EffectiveTasks(s.w) - target, nil
	}
	prevLog := hiLog
	prev, err := eff(prevLog)
	if err != nil {
		return 0, err
	}
	if prev == 0 {
		return math.Exp(prevLog), nil
	}
	lowest, highest := prev, prev
	for k := 1; k < steps; k++ {
		cur := hiLog + (loLog-hiLog)*float64(k)/float64(steps-1)
		d, err := eff(cur)
		if err != nil {
			return 0, err
		}
		lowest, highest = math.Min(lowest, d), math.Max(highest, d)
		if (d <= 0) != (prev <= 0) {
			a, b, fa := prevLog, cur, prev
			for range 50 { // brackets log λ to about 1e-14
				mid := (a + b) / 2
				fm, err := eff(mid)
				if err != nil {
					return 0, err
				}
				if (fm <= 0) == (fa <= 0) {
					a, fa = mid, fm
				} else {
					b = mid
				}
			}
			return math.Exp((a + b) / 2), nil
		}
		prevLog, prev = cur, d
	}
	return 0, invalidf("kl: target effective tasks %v out of reach: λ in [%.3g, %.3g] gives %.4g to %.4g",
		target, math.Exp(loLog), math.Exp(hiLog), lowest+target, highest+target)
}
