package mixture

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrInfeasible is wrapped by an *InfeasibleError when no weights satisfy the
// constraints.
var ErrInfeasible = errors.New("infeasible constraints")

// InfeasibleError reports constraints that no mixture satisfies. Conflict is a
// minimal conflicting set: together with Σw = 1 and w ≥ 0 these constraints
// have no solution, and dropping any one of them leaves a set that has.
type InfeasibleError struct {
	Conflict []string
}

func (e *InfeasibleError) Error() string {
	if len(e.Conflict) == 0 {
		return ErrInfeasible.Error()
	}
	return fmt.Sprintf("%v: no weights with sum(w)=1 satisfy %s together", ErrInfeasible, strings.Join(e.Conflict, ", "))
}

func (e *InfeasibleError) Unwrap() error { return ErrInfeasible }

type constraintKind int

const (
	kindFloor constraintKind = iota
	kindCap
	kindRow
)

// constraint is one named constraint: a lower or upper bound on a set of
// tasks, or one or two linear rows.
type constraint struct {
	name  string
	kind  constraintKind
	tasks []int     // bound constraints: the tasks bounded
	bound []float64 // bound constraints: the bound of each task in tasks
	rows  []row     // row constraints
}

// row is the linear constraint coef·w ≤ rhs.
type row struct {
	coef []float64
	rhs  float64
}

// feasible is the compiled form of a set of constraints: per-task bounds,
// which constraint set each bound, and the linear rows.
type feasible struct {
	lo, hi         []float64
	loFrom, hiFrom []int // index into the constraint list, -1 for the default 0 and 1
	rows           []row
	rowFrom        []int
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// buildConstraints turns Constraints into named constraints, in a fixed
// order: global floor, global cap, max epochs, task floors and caps in task
// order, category floors in category order, groups in the given order. est
// is the effect matrix the category floors are evaluated on.
func buildConstraints(e *Effects, c Constraints, budget Budget, est [][]float64) ([]constraint, error) {
	n := len(e.Tasks)
	idx := e.taskIndex()
	var out []constraint
	checkWeight := func(what string, v float64) error {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return invalidf("constraints: %s %v outside [0, 1]", what, v)
		}
		return nil
	}
	if err := checkWeight("floor", c.Floor); err != nil {
		return nil, err
	}
	if err := checkWeight("cap", c.Cap); err != nil {
		return nil, err
	}
	// uniform returns the tasks without a per-task override.
	uniform := func(override map[string]float64) []int {
		var ts []int
		for i, t := range e.Tasks {
			if _, ok := override[t.Name]; !ok {
				ts = append(ts, i)
			}
		}
		return ts
	}
	fill := func(ts []int, v float64) []float64 {
		b := make([]float64, len(ts))
		for i := range b {
			b[i] = v
		}
		return b
	}
	if c.Floor > 0 {
		ts := uniform(c.TaskFloor)
		out = append(out, constraint{name: "floor(" + fmtNum(c.Floor) + ")", kind: kindFloor, tasks: ts, bound: fill(ts, c.Floor)})
	}
	if c.Cap > 0 && c.Cap < 1 {
		ts := uniform(c.TaskCap)
		out = append(out, constraint{name: "cap(" + fmtNum(c.Cap) + ")", kind: kindCap, tasks: ts, bound: fill(ts, c.Cap)})
	}
	if c.MaxEpochs < 0 || math.IsNaN(c.MaxEpochs) {
		return nil, invalidf("constraints: max epochs %v, want ≥ 0", c.MaxEpochs)
	}
	if c.MaxEpochs > 0 {
		ex := budget.Examples()
		if budget.Steps <= 0 || budget.BatchSize <= 0 {
			return nil, invalidf("constraints: max_epochs(%s) needs a training budget (steps and batch size)", fmtNum(c.MaxEpochs))
		}
		ts := make([]int, n)
		b := make([]float64, n)
		for i, t := range e.Tasks {
			ts[i] = i
			b[i] = math.Min(1, c.MaxEpochs*float64(t.Examples)/float64(ex))
		}
		out = append(out, constraint{name: "max_epochs(" + fmtNum(c.MaxEpochs) + ")", kind: kindCap, tasks: ts, bound: b})
	}
	for _, o := range []struct {
		kind constraintKind
		m    map[string]float64
		word string
	}{{kindFloor, c.TaskFloor, "floor"}, {kindCap, c.TaskCap, "cap"}} {
		for _, name := range sortedKeys(o.m) {
			if _, ok := idx[name]; !ok {
				return nil, invalidf("constraints: %s: unknown task %q", o.word, name)
			}
			if err := checkWeight(o.word+" of task "+strconv.Quote(name), o.m[name]); err != nil {
				return nil, err
			}
		}
		for i, t := range e.Tasks {
			if v, ok := o.m[t.Name]; ok {
				out = append(out, constraint{name: o.word + "(task=" + t.Name + ")", kind: o.kind, tasks: []int{i}, bound: []float64{v}})
			}
		}
	}
	for k, cat := range e.Categories {
		f, ok := c.CategoryFloors[cat]
		if !ok {
			continue
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, invalidf("constraints: category floor %q: %v", cat, f)
		}
		coef := make([]float64, n)
		for i := range n {
			coef[i] = -est[i][k]
		}
		out = append(out, constraint{name: "category_floor(" + cat + ">=" + fmtNum(f) + ")", kind: kindRow, rows: []row{{coef: coef, rhs: -f}}})
	}
	for _, cat := range sortedKeys(c.CategoryFloors) {
		if e.categoryIndex(cat) < 0 {
			return nil, invalidf("constraints: category floor: unknown category %q", cat)
		}
	}
	for gi, g := range c.Groups {
		if g.Name == "" {
			return nil, invalidf("constraints: group %d: empty name", gi)
		}
		if len(g.Tasks) == 0 {
			return nil, invalidf("constraints: group %q: no tasks", g.Name)
		}
		if err := checkWeight("minimum of group "+strconv.Quote(g.Name), g.Min); err != nil {
			return nil, err
		}
		if err := checkWeight("maximum of group "+strconv.Quote(g.Name), g.Max); err != nil {
			return nil, err
		}
		member := make([]float64, n)
		for _, t := range g.Tasks {
			i, ok := idx[t]
			if !ok {
				return nil, invalidf("constraints: group %q: unknown task %q", g.Name, t)
			}
			member[i] = 1
		}
		hi := g.Max
		if hi == 0 {
			hi = 1
		}
		var rows []row
		if g.Min > 0 {
			neg := make([]float64, n)
			for i, v := range member {
				neg[i] = -v
			}
			rows = append(rows, row{coef: neg, rhs: -g.Min})
		}
		if hi < 1 {
			rows = append(rows, row{coef: member, rhs: hi})
		}
		if len(rows) > 0 {
			out = append(out, constraint{name: "group(" + g.Name + " in [" + fmtNum(g.Min) + "," + fmtNum(hi) + "])", kind: kindRow, rows: rows})
		}
	}
	return out, nil
}

// compile combines the constraints marked in use (all when use is nil) into
// per-task bounds and rows. A task's lower bound is the largest floor that
// applies to it, its upper bound the smallest cap.
func compile(n int, cs []constraint, use []bool) *feasible {
	f := &feasible{lo: make([]float64, n), hi: make([]float64, n), loFrom: make([]int, n), hiFrom: make([]int, n)}
	for i := range n {
		f.hi[i] = 1
		f.loFrom[i], f.hiFrom[i] = -1, -1
	}
	for ci, c := range cs {
		if use != nil && !use[ci] {
			continue
		}
		switch c.kind {
		case kindFloor:
			for j, i := range c.tasks {
				if c.bound[j] > f.lo[i] {
					f.lo[i], f.loFrom[i] = c.bound[j], ci
				}
			}
		case kindCap:
			for j, i := range c.tasks {
				if c.bound[j] < f.hi[i] {
					f.hi[i], f.hiFrom[i] = c.bound[j], ci
				}
			}
		case kindRow:
			for _, r := range c.rows {
				f.rows = append(f.rows, r)
				f.rowFrom = append(f.rowFrom, ci)
			}
		}
	}
	return f
}

// boundsFeasible reports whether the bounds alone admit a mixture.
func (f *feasible) boundsFeasible() bool {
	sumLo, sumHi := 0.0, 0.0
	for i := range f.lo {
		if f.lo[i] > f.hi[i]+feasTol {
			return false
		}
		sumLo += f.lo[i]
		sumHi += f.hi[i]
	}
	return sumLo <= 1+feasTol && sumHi >= 1-feasTol
}

// feasTol is the slack allowed on Σw = 1 and on the rows when deciding
// feasibility, in weight units.
const feasTol = 1e-9

// check decides whether f admits a mixture: the bounds by sums, the rows by
// phase 1 of the working-set LP.
func (f *feasible) check() (bool, error) {
	if !f.boundsFeasible() {
		return false, nil
	}
	if len(f.rows) == 0 {
		return true, nil
	}
	inst := f.lpInstance(make([]float64, len(f.lo)), nil)
	return inst.feasible()
}

// findConflict finds a minimal conflicting set among cs by a deletion filter:
// drop each constraint in turn and keep it out whenever the rest stays
// infeasible. What remains is infeasible, and removing any one member makes
// it feasible.
func findConflict(n int, cs []constraint) error {
	use := make([]bool, len(cs))
	for i := range use {
		use[i] = true
	}
	if ok, err := compile(n, cs, use).check(); err != nil {
		return err
	} else if ok {
		return nil
	}
	for i := range cs {
		use[i] = false
		ok, err := compile(n, cs, use).check()
		if err != nil {
			return err
		}
		if ok {
			use[i] = true
		}
	}
	var names []string
	for i, c := range cs {
		if use[i] {
			names = append(names, c.name)
		}
	}
	return &InfeasibleError{Conflict: names}
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
