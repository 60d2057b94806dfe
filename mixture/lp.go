package mixture

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// lpInstance is the linear program
//
//	maximise   c·w + xc·x
//	subject to lo ≤ w ≤ hi, Σw = 1, x ≥ 0, G·w + X·x ≤ h
//
// over task weights w and a few extra variables x (the worst-case gain of
// maxmin). Rows and extras are few (categories and groups); tasks may be
// many.
type lpInstance struct {
	c      []float64
	lo, hi []float64
	g      [][]float64 // [row][task]
	h      []float64
	xc     []float64   // [extra]
	xg     [][]float64 // [row][extra]
	// fill orders the tasks for the initial point (largest first); nil
	// means c.
	fill []float64
}

// lpInstance returns the LP over f's bounds and rows with task objective c.
func (f *feasible) lpInstance(c, fill []float64) *lpInstance {
	in := &lpInstance{c: c, lo: f.lo, hi: f.hi, fill: fill}
	for _, r := range f.rows {
		in.g = append(in.g, r.coef)
		in.h = append(in.h, r.rhs)
		in.xg = append(in.xg, nil)
	}
	return in
}

// lpSolution is an optimum of an lpInstance with its certificate.
type lpSolution struct {
	w, x []float64
	obj  float64
	// mu is the multiplier of Σw = 1 and y[r] ≥ 0 that of row r: the rate at
	// which the optimum grows as h[r] grows.
	mu float64
	y  []float64
}

// errLPInfeasible is returned by solve when the rows cannot be met.
var errLPInfeasible = errors.New("lp: infeasible")

// maxRounds bounds the working-set iterations. Each round adds at least one
// task whose reduced cost says it improves the objective, and the objective
// never decreases, so the bound only guards against cycling on degenerate
// problems.
const maxRounds = 1000

// priceTol is the reduced cost, in units of the largest objective
// coefficient, below which a task is not worth adding.
const priceTol = 1e-9

// Status of a task in the working set.
const (
	atLower int8 = iota // fixed at its lower bound, outside the LP
	atUpper             // fixed at its upper bound, outside the LP
	inSet               // a variable of the restricted LP
)

// workingSet solves an lpInstance by column generation. With w = lo + v the
// LP becomes: maximise c·v over 0 ≤ v ≤ u, Σv = s, G·v + X·x ≤ h'. Only
// the tasks in the working set are variables of the dense LP that
// gonum/optimize/convex/lp solves; every other task is fixed at a bound.
// After each restricted solve, the optimal basis (see solveStandard) gives
// the multipliers μ of Σv = s and y of the rows, which price every fixed task: reduced cost d_i = c_i − μ − Σ_r y_r·G_ri. A task
// at its lower bound with d_i > 0, or at its upper bound with d_i < 0,
// would improve the objective and joins the set; tasks the LP leaves at a
// bound with a reduced cost that keeps them there leave it. When no fixed task
// prices out, the primal and dual solutions satisfy every KKT condition of
// the full LP (primal feasibility, dual feasibility, complementary slackness):
// the optimum is certified, not assumed.
//
// Cap rows v_j ≤ u_j enter the restricted LP only for tasks whose cap can
// bind (u_j below the mass left for the set), so the dense LP has about
// 1 + rows + |set| rows whatever the number of tasks.
type workingSet struct {
	n, m, e int
	cScale  float64
	rScale  []float64
	c, u    []float64
	s       float64
	g       [][]float64
	h       []float64
	xc      []float64
	xg      [][]float64
	status  []int8
	v, x    []float64
}

func newWorkingSet(in *lpInstance) *workingSet {
	n, m, e := len(in.c), len(in.h), len(in.xc)
	ws := &workingSet{n: n, m: m, e: e, c: make([]float64, n), u: make([]float64, n), status: make([]int8, n), v: make([]float64, n), x: make([]float64, e)}
	// Scale the objective to a largest coefficient of 1 and every row to a
	// largest coefficient of 1, so that lp.Simplex's absolute tolerances
	// mean the same whatever the units of the effects.
	ws.cScale = 0
	for _, v := range in.c {
		ws.cScale = math.Max(ws.cScale, math.Abs(v))
	}
	for _, v := range in.xc {
		ws.cScale = math.Max(ws.cScale, math.Abs(v))
	}
	if ws.cScale == 0 {
		ws.cScale = 1
	}
	sumLo := 0.0
	for i := range n {
		ws.c[i] = in.c[i] / ws.cScale
		ws.u[i] = math.Max(0, in.hi[i]-in.lo[i])
		sumLo += in.lo[i]
	}
	ws.s = math.Max(0, 1-sumLo)
	// Caps that fall short of 1 by less than the feasibility tolerance
	// (rounding in user-given caps) leave the weights that much short.
	sumU := 0.0
	for _, u := range ws.u {
		sumU += u
	}
	if sumU < ws.s && sumU >= ws.s-feasTol {
		ws.s = sumU
	}
	ws.xc = make([]float64, e)
	for q := range e {
		ws.xc[q] = in.xc[q] / ws.cScale
	}
	ws.rScale = make([]float64, m)
	ws.g = make([][]float64, m)
	ws.h = make([]float64, m)
	ws.xg = make([][]float64, m)
	for r := range m {
		sc := 0.0
		for _, v := range in.g[r] {
			sc = math.Max(sc, math.Abs(v))
		}
		for _, v := range in.xg[r] {
			sc = math.Max(sc, math.Abs(v))
		}
		if sc == 0 {
			sc = 1
		}
		ws.rScale[r] = sc
		ws.g[r] = make([]float64, n)
		h := in.h[r]
		for i := range n {
			ws.g[r][i] = in.g[r][i] / sc
			h -= in.g[r][i] * in.lo[i]
		}
		ws.h[r] = h / sc
		ws.xg[r] = make([]float64, e)
		for q := range in.xg[r] {
			ws.xg[r][q] = in.xg[r][q] / sc
		}
	}
	ws.initialPoint(in)
	return ws
}

// initialPoint fills the tasks in order of priority up to their caps, which
// meets Σv = s and the bounds, and puts the marginal tasks and the tasks that
// matter most to each row in the working set.
func (ws *workingSet) initialPoint(in *lpInstance) {
	prio := in.fill
	if prio == nil {
		prio = in.c
	}
	order := make([]int, ws.n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpDesc(prio[a], prio[b]) })
	rem := ws.s
	last := -1
	for pos, i := range order {
		if ws.u[i] <= 0 {
			continue
		}
		take := math.Min(ws.u[i], rem)
		ws.v[i] = take
		rem -= take
		switch {
		case take == ws.u[i] && take > 0:
			ws.status[i] = atUpper
		case take > 0:
			ws.status[i] = inSet
		}
		if take > 0 {
			last = pos
		}
		if rem <= 0 {
			break
		}
	}
	const near = 8
	// The tasks just around the fill boundary are the likely marginal ones.
	if last >= 0 {
		for pos := max(0, last-near); pos < min(ws.n, last+near+1); pos++ {
			if ws.u[order[pos]] > 0 {
				ws.status[order[pos]] = inSet
			}
		}
	}
	// The restricted LP needs at least one task (Σv = s is its first row).
	hasSet := false
	for i := range ws.n {
		hasSet = hasSet || ws.status[i] == inSet
	}
	for _, i := range order {
		if !hasSet && ws.u[i] > 0 && ws.status[i] == atLower {
			ws.status[i], hasSet = inSet, true
		}
	}
	// For each row, the tasks that loosen it most.
	for r := range ws.m {
		for _, i := range topK(ws.n, near, func(i int) float64 {
			if ws.u[i] <= 0 {
				return math.Inf(-1)
			}
			return -ws.g[r][i]
		}) {
			if ws.u[i] > 0 {
				ws.status[i] = inSet
			}
		}
	}
}

// cmpDesc orders larger values first.
func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// topK returns the indices of the k largest key(i), ties by index.
func topK(n, k int, key func(int) float64) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpDesc(key(a), key(b)) })
	return idx[:min(k, n)]
}

// restricted holds the multipliers of one restricted LP, in scaled units.
type restricted struct {
	mu float64
	y  []float64
}

// solveRestricted solves the LP over the working set (tasks in set, extras
// with costs xc and row coefficients xg), updates v and x, and returns the
// multipliers.
func (ws *workingSet) solveRestricted(c, xc []float64, xg [][]float64) (*restricted, error) {
	var set []int
	s2 := ws.s
	h2 := slices.Clone(ws.h)
	for i := range ws.n {
		switch ws.status[i] {
		case inSet:
			set = append(set, i)
		case atUpper:
			s2 -= ws.u[i]
			for r := range ws.m {
				h2[r] -= ws.g[r][i] * ws.u[i]
			}
		}
	}
	if s2 < 0 {
		s2 = 0
	}
	k, e, m := len(set), len(xc), ws.m
	if k == 0 {
		return nil, errors.New("lp: empty working set")
	}
	var capped []int // positions in set whose cap can bind
	for p, i := range set {
		if ws.u[i] < s2 {
			capped = append(capped, p)
		}
	}
	kc := len(capped)

	// Primal in standard form: columns [v_set | x | row slacks | cap slacks],
	// rows [Σv = s2 | rows | caps].
	rows, cols := 1+m+kc, k+e+m+kc
	a := mat.NewDense(rows, cols, nil)
	b := make([]float64, rows)
	cost := make([]float64, cols)
	for p, i := range set {
		a.Set(0, p, 1)
		cost[p] = -c[i]
		for r := range m {
			a.Set(1+r, p, ws.g[r][i])
		}
	}
	b[0] = s2
	for q := range e {
		cost[k+q] = -xc[q]
		for r := range m {
			a.Set(1+r, k+q, xg[r][q])
		}
	}
	for r := range m {
		a.Set(1+r, k+e+r, 1)
		b[1+r] = h2[r]
	}
	for j, p := range capped {
		a.Set(1+m+j, p, 1)
		a.Set(1+m+j, k+e+m+j, 1)
		b[1+m+j] = ws.u[set[p]]
	}
	sol, err := solveStandard(cost, a, b)
	if err != nil {
		return nil, fmt.Errorf("lp: restricted problem with %d tasks: %w", k, err)
	}
	for p, i := range set {
		ws.v[i] = math.Min(math.Max(sol.x[p], 0), ws.u[i])
	}
	for q := range e {
		ws.x[q] = math.Max(sol.x[k+q], 0)
	}
	// The standard form minimises −c, so its multipliers π are the negated
	// multipliers of the maximisation: μ = −π_0, y_r = −π_{1+r}.
	res := &restricted{mu: -sol.pi[0], y: make([]float64, m)}
	for r := range m {
		res.y[r] = -sol.pi[1+r]
	}
	return res, nil
}

// standardSolution is an optimal basic solution of min cost·x, A·x = b,
// x ≥ 0, with the multipliers π of its basis (Aᵀπ ≤ cost, equal on the
// basis).
type standardSolution struct {
	f     float64
	x, pi []float64
}

// solveStandard solves min cost·x subject to A·x = b, x ≥ 0, where row 0 is
// an equality and every other row has its own slack column, with
// lp.Simplex, and recovers the optimal basis and its multipliers, which
// lp.Simplex does not return.
//
// lp.Simplex has no iteration limit and its anti-cycling rule does not stop
// cycling on degenerate problems, which these are (many tasks sit exactly at
// a bound; cycling was observed). So the right-hand sides are first moved by
// distinct tiny amounts (the classic perturbation method; the inequality
// rows are only relaxed): the perturbed problem is nondegenerate, its
// optimal basis is exactly the support of its solution, and a basis optimal
// for it is optimal for the exact problem too whenever it stays feasible,
// because optimality of a basis (reduced costs ≥ 0) does not depend on b.
// The exact vertex and the multipliers then come from two solves with the
// basis matrix. The result is checked (primal feasible, reduced costs ≥ 0);
// a failed check retries with another perturbation.
func solveStandard(cost []float64, a *mat.Dense, b []float64) (*standardSolution, error) {
	rows, cols := a.Dims()
	var lastErr error
	for attempt, p := range []struct {
		eps  float64
		row0 bool
	}{{1e-9, true}, {1e-7, true}, {1e-9, false}, {1e-11, false}} {
		bp := slices.Clone(b)
		first := 1
		if p.row0 {
			first = 0
		}
		for r := first; r < rows; r++ {
			// Distinct, deterministic perturbations (golden-ratio sequence).
			frac := math.Mod(float64(r+attempt)*0.6180339887498949, 1)
			bp[r] += p.eps * (1 + frac) * (1 + math.Abs(b[r]))
		}
		_, xp, err := lp.Simplex(cost, a, bp, 1e-10, nil)
		if err != nil {
			if errors.Is(err, lp.ErrInfeasible) && !p.row0 {
				// Relaxing the inequality rows keeps a feasible problem
				// feasible; only moving the equality row can break it.
				return nil, errLPInfeasible
			}
			lastErr = err
			continue
		}
		var basis []int
		for j, v := range xp {
			if v != 0 {
				basis = append(basis, j)
			}
		}
		basis = completeBasis(a, basis)
		if len(basis) != rows {
			lastErr = errors.New("degenerate basis")
			continue
		}
		bm := mat.NewDense(rows, rows, nil)
		cb := make([]float64, rows)
		col := make([]float64, rows)
		for p, j := range basis {
			mat.Col(col, j, a)
			bm.SetCol(p, col)
			cb[p] = cost[j]
		}
		var lu mat.LU
		lu.Factorize(bm)
		var xb, pi mat.VecDense
		if err := lu.SolveVecTo(&xb, false, mat.NewVecDense(rows, slices.Clone(b))); err != nil {
			lastErr = err
			continue
		}
		if err := lu.SolveVecTo(&pi, true, mat.NewVecDense(rows, cb)); err != nil {
			lastErr = err
			continue
		}
		sol := &standardSolution{x: make([]float64, cols), pi: make([]float64, rows)}
		ok := true
		for p, j := range basis {
			v := xb.AtVec(p)
			if v < -1e-8 {
				ok = false
			}
			sol.x[j] = math.Max(v, 0)
		}
		for r := range rows {
			sol.pi[r] = pi.AtVec(r)
		}
		for j := 0; j < cols && ok; j++ {
			mat.Col(col, j, a)
			if cost[j]-floats.Dot(col, sol.pi) < -1e-8 {
				ok = false
			}
		}
		if !ok {
			lastErr = errors.New("basis not optimal for the exact problem")
			continue
		}
		sol.f = floats.Dot(cost, sol.x)
		return sol, nil
	}
	return nil, lastErr
}

// completeBasis extends the linearly independent columns in basis to a
// basis of the column space, preferring the slack columns (the last ones),
// by Gram–Schmidt on the columns.
func completeBasis(a *mat.Dense, basis []int) []int {
	rows, cols := a.Dims()
	if len(basis) == rows {
		return basis
	}
	in := make([]bool, cols)
	var q [][]float64
	add := func(j int) bool {
		v := mat.Col(nil, j, a)
		for _, u := range q {
			floats.AddScaled(v, -floats.Dot(u, v), u)
		}
		norm := floats.Norm(v, 2)
		if norm < 1e-9 {
			return false
		}
		floats.Scale(1/norm, v)
		q = append(q, v)
		in[j] = true
		return true
	}
	var out []int
	for _, j := range basis {
		if add(j) {
			out = append(out, j)
		}
	}
	for j := cols - 1; j >= 0 && len(out) < rows; j-- {
		if !in[j] && add(j) {
			out = append(out, j)
		}
	}
	return out
}

// reducedCost is c_i − μ − Σ_r y_r·G_ri.
func (ws *workingSet) reducedCost(c []float64, res *restricted, i int) float64 {
	d := c[i] - res.mu
	for r, y := range res.y {
		if y != 0 {
			d -= y * ws.g[r][i]
		}
	}
	return d
}

// run iterates restricted solves and pricing until no fixed task prices out.
func (ws *workingSet) run(c, xc []float64, xg [][]float64) (*restricted, error) {
	batch := 16 + 4*(ws.m+len(xc))
	type cand struct {
		i int
		d float64
	}
	for range maxRounds {
		res, err := ws.solveRestricted(c, xc, xg)
		if err != nil {
			return nil, err
		}
		var viol []cand
		setSize := 0
		for i := range ws.n {
			if ws.u[i] <= 0 {
				continue
			}
			d := ws.reducedCost(c, res, i)
			switch ws.status[i] {
			case atLower:
				if d > priceTol {
					viol = append(viol, cand{i, d})
				}
			case atUpper:
				if d < -priceTol {
					viol = append(viol, cand{i, -d})
				}
			case inSet:
				setSize++
			}
		}
		if len(viol) == 0 {
			return res, nil
		}
		// Leave out the set's tasks that the LP holds at a bound and whose
		// reduced cost keeps them there, so that the set stays small; keep at
		// least one task in it.
		for i := range ws.n {
			if ws.status[i] != inSet || setSize <= 1 {
				continue
			}
			d := ws.reducedCost(c, res, i)
			switch {
			case ws.v[i] <= 0 && d < -priceTol:
				ws.status[i], ws.v[i] = atLower, 0
				setSize--
			case ws.v[i] >= ws.u[i] && d > priceTol:
				ws.status[i], ws.v[i] = atUpper, ws.u[i]
				setSize--
			}
		}
		slices.SortStableFunc(viol, func(a, b cand) int { return cmpDesc(a.d, b.d) })
		for _, cd := range viol[:min(batch, len(viol))] {
			ws.status[cd.i] = inSet
		}
	}
	return nil, fmt.Errorf("lp: no certified optimum after %d working-set rounds", maxRounds)
}

// phase1 minimises the total violation of the rows from the initial point,
// with one artificial variable per violated row. It reports whether the rows
// can be met; on success v and x are a feasible point and h has been relaxed
// by the leftover violation (at most feasTol).
func (ws *workingSet) phase1() (bool, error) {
	viol := make([]float64, ws.m)
	violated := false
	for r := range ws.m {
		lhs := 0.0
		for i := range ws.n {
			lhs += ws.g[r][i] * ws.v[i]
		}
		for q := range ws.e {
			lhs += ws.xg[r][q] * ws.x[q]
		}
		if lhs > ws.h[r]+1e-12 {
			viol[r] = lhs - ws.h[r]
			violated = true
		}
	}
	if !violated {
		return true, nil
	}
	var art []int
	for r := range ws.m {
		if viol[r] > 0 {
			art = append(art, r)
		}
	}
	e := ws.e + len(art)
	xc := make([]float64, e)
	xg := make([][]float64, ws.m)
	for r := range ws.m {
		xg[r] = make([]float64, e)
		copy(xg[r], ws.xg[r])
	}
	for j, r := range art {
		xc[ws.e+j] = -1
		xg[r][ws.e+j] = -1
	}
	x := ws.x
	ws.x = make([]float64, e)
	copy(ws.x, x)
	zero := make([]float64, ws.n)
	if _, err := ws.run(zero, xc, xg); err != nil {
		return false, err
	}
	total := 0.0
	for j, r := range art {
		a := ws.x[ws.e+j]
		total += a
		ws.h[r] += a
	}
	ws.x = ws.x[:ws.e]
	return total <= feasTol, nil
}

// feasible reports whether the instance's rows can be met within its bounds.
func (in *lpInstance) feasible() (bool, error) {
	ws := newWorkingSet(in)
	if ws.pinned() {
		// Every task is at its only value, so the rows decide alone (at
		// x = 0, which the callers' extras never hurt).
		for r := range ws.m {
			if ws.h[r] < -feasTol {
				return false, nil
			}
		}
		return true, nil
	}
	return ws.phase1()
}

// pinned reports whether no task has room between its bounds.
func (ws *workingSet) pinned() bool {
	for _, u := range ws.u {
		if u > 0 {
			return false
		}
	}
	return true
}

// solve returns a certified optimum of the instance, or errLPInfeasible.
func (in *lpInstance) solve() (*lpSolution, error) {
	ws := newWorkingSet(in)
	if ws.pinned() {
		return nil, errors.New("lp: every task is pinned by its bounds; nothing to optimise")
	}
	ok, err := ws.phase1()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errLPInfeasible
	}
	res, err := ws.run(ws.c, ws.xc, ws.xg)
	if err != nil {
		return nil, err
	}
	sol := &lpSolution{w: make([]float64, ws.n), x: slices.Clone(ws.x), mu: res.mu * ws.cScale, y: make([]float64, ws.m)}
	for i := range ws.n {
		sol.w[i] = in.lo[i] + ws.v[i]
	}
	for r := range ws.m {
		sol.y[r] = res.y[r] * ws.cScale / ws.rScale[r]
	}
	repairSum(sol.w, in.lo, in.hi)
	for i, w := range sol.w {
		sol.obj += in.c[i] * w
	}
	for q, x := range sol.x {
		sol.obj += in.xc[q] * x
	}
	return sol, nil
}

// repairSum moves the rounding residual of Σw = 1 (float sums of many
// weights are off by up to about n·1e-16) onto one task, so that the weights
// sum to 1 as exactly as floating point allows. It prefers the largest task
// strictly between its bounds, so that tasks at a bound stay exactly there.
func repairSum(w, lo, hi []float64) {
	for range 3 {
		sum := 0.0
		for _, v := range w {
			sum += v
		}
		r := 1 - sum
		if r == 0 {
			return
		}
		best, bestFree, room := -1, false, 0.0
		for i := range w {
			var rm float64
			if r > 0 {
				rm = hi[i] - w[i]
			} else {
				rm = w[i] - lo[i]
			}
			if rm < math.Abs(r) {
				continue
			}
			free := w[i] > lo[i] && w[i] < hi[i]
			switch {
			case free && (!bestFree || w[i] > w[best]):
				best, bestFree = i, true
			case !bestFree && rm > room:
				best, room = i, rm
			}
		}
		if best < 0 {
			return
		}
		w[best] += r
	}
}
