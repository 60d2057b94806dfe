package mixture

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
)

// Solution is a mixture and what it is predicted to do. Slices indexed by
// task follow Effects.Tasks; slices indexed by category follow
// Effects.Categories.
type Solution struct {
	Objective Objective
	// Options are the options Solve was called with.
	Options Options

	// Weights sum to 1 and respect every constraint.
	Weights []float64
	// Prior is the examples-proportional mixture capped at Options.PriorCap.
	Prior []float64
	// Lower and Upper are each task's effective bounds after combining all
	// floors, caps and epoch caps.
	Lower, Upper []float64

	// Alpha are the category weights α used, normalised to sum to 1.
	Alpha []float64
	// Gains are the predicted gains per category, Σ_d w_d·Δ[d][k], on the
	// estimate the objective read (mean or lower bound).
	Gains []float64
	// Gain is the α-weighted predicted gain, Σ_k α_k·Gains[k].
	Gain float64
	// Value is the objective's value: Gain for linear and flame-bundles,
	// Gain − λ·KL(w‖prior) for kl, the worst category's gain for maxmin.
	Value float64
	// Lambda is the λ of the kl objective (chosen from the target effective
	// number of tasks when one was set); zero for other objectives.
	Lambda float64

	// Rates and Ratings are the flame-bundles rule's bundle rates per task and
	// ratings per task × category (Harmful … Helpful); nil for other
	// objectives.
	Rates   []float64
	Ratings [][]int
	// Reasons says, per task, why it has its weight: the constraint holding
	// it at a bound, "zero", "free" (with the tilt from the prior for kl), or
	// the flame-bundles bundles.
	Reasons []string
	// Active lists the constraints that bind at the solution, in the order of
	// the constraint names.
	Active []ActiveConstraint
}

// ActiveConstraint is a constraint that binds at a solution.
type ActiveConstraint struct {
	Name string
	// Tasks is the number of tasks held at the bound, for floors and caps.
	Tasks int
	// Multiplier is the shadow price of a category floor or group: how much
	// the objective would gain per unit the constraint is relaxed (score units
	// per unit of weight or gain). Zero for floors and caps.
	Multiplier float64
}

// atBoundTol decides that a weight sits at a bound.
const atBoundTol = 1e-12

// Solve finds the mixture weights that optimise obj over the effects e
// under opts. Infeasible constraints give an *InfeasibleError that names a
// minimal conflicting set.
func Solve(e *Effects, obj Objective, opts Options) (*Solution, error) {
	pr, err := prepare(e, obj, opts)
	if err != nil {
		return nil, err
	}
	v, err := e.newView(opts.Reference, -1)
	if err != nil {
		return nil, err
	}
	return pr.solve(v, 0, true)
}

// prepared holds what every solve over the same effects and options shares.
type prepared struct {
	e     *Effects
	obj   Objective
	opts  Options
	alpha []float64
	prior []float64
	flame FlameSettings
}

func prepare(e *Effects, obj Objective, opts Options) (*prepared, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if obj < KL || obj > FlameBundles {
		return nil, invalidf("objective %v unknown", obj)
	}
	if opts.Estimate != EstimateMean && opts.Estimate != EstimateLower {
		return nil, invalidf("estimate %v unknown", opts.Estimate)
	}
	if opts.Reference != ReferenceBase && opts.Reference != ReferenceControl {
		return nil, invalidf("reference %v unknown", opts.Reference)
	}
	if opts.Budget.Steps < 0 || opts.Budget.BatchSize < 0 {
		return nil, invalidf("budget: negative steps or batch size")
	}
	if l := opts.KL.Lambda; l < 0 || math.IsNaN(l) || math.IsInf(l, 0) {
		return nil, invalidf("kl: lambda %v, want a positive value", l)
	}
	if t := opts.KL.TargetEffectiveTasks; t < 0 || math.IsNaN(t) {
		return nil, invalidf("kl: target effective tasks %v, want a positive value", t)
	}
	if opts.KL.Lambda > 0 && opts.KL.TargetEffectiveTasks > 0 {
		return nil, invalidf("kl: set lambda or target effective tasks, not both")
	}
	if t := opts.KL.TargetEffectiveTasks; t > float64(len(e.Tasks)) || (t > 0 && t < 1) {
		return nil, invalidf("kl: target effective tasks %v outside [1, %d]", t, len(e.Tasks))
	}
	alpha, err := resolveAlpha(e, opts.CategoryWeights)
	if err != nil {
		return nil, err
	}
	prior, err := Proportional(e.Tasks, opts.priorCap())
	if err != nil {
		return nil, err
	}
	pr := &prepared{e: e, obj: obj, opts: opts, alpha: alpha, prior: prior}
	if obj == FlameBundles {
		if err := validateFlame(e, opts.Flame); err != nil {
			return nil, err
		}
		pr.flame = opts.Flame.withDefaults()
	}
	return pr, nil
}

// resolveAlpha returns α aligned with the categories, normalised.
func resolveAlpha(e *Effects, weights map[string]float64) ([]float64, error) {
	k := len(e.Categories)
	alpha := make([]float64, k)
	switch {
	case weights != nil:
		for _, c := range sortedKeys(weights) {
			j := e.categoryIndex(c)
			if j < 0 {
				return nil, invalidf("category weights: unknown category %q", c)
			}
			if v := weights[c]; v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, invalidf("category weights: %q: %v, want ≥ 0", c, v)
			}
			alpha[j] = weights[c]
		}
	case hasAll(e, RewardBenchCategories):
		for j, c := range e.Categories {
			alpha[j] = rewardBenchOverall[c]
		}
	default:
		for j := range alpha {
			alpha[j] = 1
		}
	}
	sum := 0.0
	for _, a := range alpha {
		sum += a
	}
	if sum == 0 {
		return nil, invalidf("category weights: all zero")
	}
	for j := range alpha {
		alpha[j] /= sum
	}
	return alpha, nil
}

func hasAll(e *Effects, cats []string) bool {
	for _, c := range cats {
		if e.categoryIndex(c) < 0 {
			return false
		}
	}
	return true
}

// solve solves on one view. lambda, when positive, fixes λ (Bootstrap reuses
// the measured solution's λ); explain asks for a minimal conflicting set
// when the constraints are infeasible.
func (pr *prepared) solve(v *view, lambda float64, explain bool) (*Solution, error) {
	e, opts := pr.e, pr.opts
	n, k := len(e.Tasks), len(e.Categories)
	est := v.estimate(opts.Estimate)
	gain := make([]float64, n)
	for i := range n {
		for j := range k {
			gain[i] += pr.alpha[j] * est[i][j]
		}
	}
	cs, err := buildConstraints(e, opts.Constraints, opts.Budget, est)
	if err != nil {
		return nil, err
	}
	f := compile(n, cs, nil)
	infeasible := func() error {
		if !explain {
			return &InfeasibleError{}
		}
		if err := findConflict(n, cs); err != nil {
			return err
		}
		return errors.New("constraints reported infeasible, but no subset of them conflicts")
	}
	if !f.boundsFeasible() {
		return nil, infeasible()
	}
	// The LP objectives find infeasible rows in their own phase 1. The KL
	// dual proves feasibility by converging; when it does not, the LP
	// decides whether the rows could be met at all.
	klError := func(err error) error {
		if !errors.Is(err, errDual) {
			return err
		}
		ok, cerr := f.check()
		if cerr != nil {
			return cerr
		}
		if !ok {
			return infeasible()
		}
		return err
	}
	sol := &Solution{Objective: pr.obj, Options: opts, Prior: pr.prior, Lower: f.lo, Upper: f.hi, Alpha: pr.alpha}
	var rowMult []float64
	fixed := true
	for i := range n {
		fixed = fixed && f.hi[i]-f.lo[i] <= feasTol
	}
	switch {
	case fixed:
		// Every weight is pinned by its bounds: nothing to optimise, but the
		// rows must still hold.
		sol.Weights = slices.Clone(f.lo)
		repairSum(sol.Weights, f.lo, f.hi)
		for _, r := range f.rows {
			if floats.Dot(r.coef, sol.Weights) > r.rhs+feasTol*floats.Norm(r.coef, math.Inf(1)) {
				return nil, infeasible()
			}
		}
		if pr.obj == KL {
			sol.Lambda = opts.KL.Lambda
			if sol.Lambda == 0 {
				sol.Lambda = DefaultLambda
			}
			sol.Value = klValue(sol.Weights, gain, logs(pr.prior), sol.Lambda)
		}
		if pr.obj == FlameBundles {
			fb := bundles(e, v, opts.Estimate, pr.alpha, pr.flame)
			sol.Rates, sol.Ratings, sol.Reasons = fb.rates, fb.ratings, fb.reasons
		}
	case pr.obj == Linear:
		res, err := f.lpInstance(gain, nil).solve()
		if err != nil {
			return nil, pr.lpError(err, infeasible)
		}
		sol.Weights, rowMult = res.w, res.y
	case pr.obj == MaxMin:
		w, worst, y, err := pr.maxmin(f, est, gain)
		if err != nil {
			return nil, pr.lpError(err, infeasible)
		}
		sol.Weights, rowMult = w, y
		sol.Value = worst
	case pr.obj == KL:
		logp := logs(pr.prior)
		kp := &klProblem{g: gain, logp: logp, lo: f.lo, hi: f.hi, rows: f.rows}
		solveAt := func(l float64) (*klSolution, error) {
			kp.lambda = l
			return kp.solve()
		}
		switch {
		case lambda > 0:
			kp.lambda = lambda
		case opts.KL.Lambda > 0:
			kp.lambda = opts.KL.Lambda
		case opts.KL.TargetEffectiveTasks > 0:
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, g := range gain {
				lo, hi = math.Min(lo, g), math.Max(hi, g)
			}
			l, err := lambdaForTarget(opts.KL.TargetEffectiveTasks, hi-lo, solveAt)
			if err != nil {
				return nil, klError(err)
			}
			kp.lambda = l
		default:
			kp.lambda = DefaultLambda
		}
		res, err := solveAt(kp.lambda)
		if err != nil {
			return nil, klError(err)
		}
		sol.Weights, rowMult, sol.Lambda = res.w, res.y, kp.lambda
		sol.Value = res.value
	case pr.obj == FlameBundles:
		fb := bundles(e, v, opts.Estimate, pr.alpha, pr.flame)
		total := 0.0
		for _, r := range fb.rates {
			total += r
		}
		if !(total > 0) {
			return nil, invalidf("flame-bundles: all rates are zero")
		}
		q := make([]float64, n)
		for i, r := range fb.rates {
			q[i] = r / total
		}
		// The feasible mixture closest to the rates in KL divergence: the
		// KL objective with zero gains and the rates as prior.
		res, err := (&klProblem{g: make([]float64, n), logp: logs(q), lo: f.lo, hi: f.hi, lambda: 1, rows: f.rows}).solve()
		if err != nil {
			return nil, klError(err)
		}
		sol.Weights, rowMult = res.w, res.y
		sol.Rates, sol.Ratings, sol.Reasons = fb.rates, fb.ratings, fb.reasons
	}
	sol.Gains = make([]float64, k)
	for i, w := range sol.Weights {
		for j := range k {
			sol.Gains[j] += w * est[i][j]
		}
	}
	for j, a := range pr.alpha {
		sol.Gain += a * sol.Gains[j]
	}
	switch pr.obj {
	case Linear, FlameBundles:
		sol.Value = sol.Gain
	case MaxMin:
		if fixed {
			sol.Value = math.Inf(1)
			for j, a := range pr.alpha {
				if a > 0 {
					sol.Value = math.Min(sol.Value, sol.Gains[j])
				}
			}
		}
	}
	sol.Active = active(cs, f, sol.Weights, rowMult)
	sol.Reasons = reasons(pr.obj, cs, f, sol.Weights, pr.prior, sol.Reasons)
	return sol, nil
}

func (pr *prepared) lpError(err error, infeasible func() error) error {
	if errors.Is(err, errLPInfeasible) {
		return infeasible()
	}
	return fmt.Errorf("%v: %w", pr.obj, err)
}

// maxmin solves the two-stage maxmin LP: first the best worst-case gain t*
// over the categories with α > 0 (t = t0 + τ with τ ≥ 0 an extra variable,
// t0 a lower bound on every mixture's gains), then the best α-weighted gain
// among mixtures whose every such category gains at least t* − maxminSlack.
// It returns the weights, t* and the second stage's row multipliers.
func (pr *prepared) maxmin(f *feasible, est [][]float64, gain []float64) ([]float64, float64, []float64, error) {
	n, k := len(pr.e.Tasks), len(pr.e.Categories)
	t0 := math.Inf(1)
	for i := range n {
		for j := range k {
			t0 = math.Min(t0, est[i][j])
		}
	}
	t0--
	in := f.lpInstance(make([]float64, n), gain)
	in.xc = []float64{1}
	var cats []int
	for j := range k {
		if pr.alpha[j] == 0 {
			continue
		}
		cats = append(cats, j)
		coef := make([]float64, n)
		for i := range n {
			coef[i] = -est[i][j]
		}
		// t0 + τ ≤ Σ_i est_ij·w_i
		in.g = append(in.g, coef)
		in.h = append(in.h, -t0)
		in.xg = append(in.xg, []float64{1})
	}
	for r := range f.rows {
		in.xg[r] = []float64{0}
	}
	stage1, err := in.solve()
	if err != nil {
		return nil, 0, nil, err
	}
	worst := t0 + stage1.x[0]
	f2 := &feasible{lo: f.lo, hi: f.hi, rows: append([]row(nil), f.rows...)}
	for _, j := range cats {
		coef := make([]float64, n)
		for i := range n {
			coef[i] = -est[i][j]
		}
		f2.rows = append(f2.rows, row{coef: coef, rhs: -(worst - maxminSlack)})
	}
	stage2, err := f2.lpInstance(gain, nil).solve()
	if err != nil {
		return nil, 0, nil, err
	}
	w := stage2.w
	worst = math.Inf(1)
	for _, j := range cats {
		s := 0.0
		for i := range n {
			s += w[i] * est[i][j]
		}
		worst = math.Min(worst, s)
	}
	return w, worst, stage2.y[:len(f.rows)], nil
}

// maxminSlack is how far below the best worst case the second maxmin stage
// may go, in score units: far below any measurable effect, large enough to
// absorb the first stage's rounding.
const maxminSlack = 1e-10

func logs(p []float64) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = math.Log(v)
	}
	return out
}

// active lists the binding constraints: bounds holding at least one task,
// rows met with equality.
func active(cs []constraint, f *feasible, w, mult []float64) []ActiveConstraint {
	tasks := make([]int, len(cs))
	for i := range w {
		if f.loFrom[i] >= 0 && w[i] <= f.lo[i]+atBoundTol {
			tasks[f.loFrom[i]]++
		}
		if f.hiFrom[i] >= 0 && w[i] >= f.hi[i]-atBoundTol {
			tasks[f.hiFrom[i]]++
		}
	}
	rowActive := make([]bool, len(cs))
	rowMult := make([]float64, len(cs))
	for r, rw := range f.rows {
		lhs, scale := 0.0, 0.0
		for i, c := range rw.coef {
			lhs += c * w[i]
			scale = math.Max(scale, math.Abs(c))
		}
		if lhs >= rw.rhs-1e-9*math.Max(scale, 1e-300) {
			rowActive[f.rowFrom[r]] = true
			if r < len(mult) {
				rowMult[f.rowFrom[r]] += mult[r]
			}
		}
	}
	var out []ActiveConstraint
	for ci, c := range cs {
		switch {
		case c.kind != kindRow && tasks[ci] > 0:
			out = append(out, ActiveConstraint{Name: c.name, Tasks: tasks[ci]})
		case c.kind == kindRow && rowActive[ci]:
			out = append(out, ActiveConstraint{Name: c.name, Multiplier: rowMult[ci]})
		}
	}
	return out
}

// reasons says why each task has its weight. Flame-bundles reasons (in
// prev) are kept, with the constraint appended when one binds.
func reasons(obj Objective, cs []constraint, f *feasible, w, prior []float64, prev []string) []string {
	out := make([]string, len(w))
	for i := range w {
		var r string
		switch {
		case f.hiFrom[i] >= 0 && w[i] >= f.hi[i]-atBoundTol:
			r = "cap: " + cs[f.hiFrom[i]].name
		case f.loFrom[i] >= 0 && w[i] <= f.lo[i]+atBoundTol:
			r = "floor: " + cs[f.loFrom[i]].name
		case w[i] <= atBoundTol:
			r = "zero"
		case obj == KL:
			r = fmt.Sprintf("free: %.3gx prior", w[i]/prior[i])
		default:
			r = "free"
		}
		if prev != nil {
			if r == "free" || r == "zero" {
				r = prev[i]
			} else {
				r = prev[i] + "; " + r
			}
		}
		out[i] = r
	}
	return out
}
