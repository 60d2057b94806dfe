package report

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/mixopt/mixopt/tailpatch"
)

// gainRow is one category's predicted gain under the solved weights and
// under the prior, and their difference, each with an interval. Values are
// in score units (0–1 scale).
type gainRow struct {
	Category string
	// Alpha is the category's weight in the objective (NaN when the weights
	// table does not state it).
	Alpha                      float64
	Gain, GainLow, GainHigh    float64
	Prior, PriorLow, PriorHigh float64
	Diff, DiffLow, DiffHigh    float64
}

// gains is the predicted-gain table, recomputed from the effects and the
// weights: the weights table does not store the solver's predictions.
type gains struct {
	// Reference is "base" or "control": which deltas the prediction uses.
	Reference string
	Level     float64
	// Replicates is the number of effect bootstrap replicates behind the
	// intervals (0: no intervals).
	Replicates int
	Rows       []gainRow
	// Total is the α-weighted gain (nil when α is unknown or a category it
	// weights has no prediction).
	Total *gainRow
	// Skipped lists categories left out because some task has no delta.
	Skipped []string
}

// predictGains applies the weights and the prior to the measured effects,
// the solver's first-order model: gain_k = Σ_d w_d·Δ[d][k]. The interval
// applies the same weights to every bootstrap replicate of the effects, so
// it reflects the effects' noise with the weights held fixed (the weights'
// own bootstrap spread is in the weights table). It returns a reason instead
// when the weights do not cover the effects' tasks.
func predictGains(eff *tailpatch.LoadedEffects, wt *weightsTable, level float64) (*gains, string) {
	nt, nc := len(eff.Tasks), len(eff.Categories)
	if len(wt.rows) != nt {
		return nil, fmt.Sprintf("%s has %d tasks, the effects table %d: the weights were solved on other effects; rerun `mixopt solve` to predict gains", filepath.Base(wt.path), len(wt.rows), nt)
	}
	byName := make(map[string]int, len(wt.rows))
	for i, r := range wt.rows {
		byName[r.Task] = i
	}
	w := make([]float64, nt)
	prior := make([]float64, nt)
	for t, name := range eff.Tasks {
		i, ok := byName[name]
		if !ok {
			return nil, fmt.Sprintf("%s has no weight for task %q of the effects table: the weights were solved on other effects; rerun `mixopt solve` to predict gains", filepath.Base(wt.path), name)
		}
		w[t], prior[t] = wt.rows[i].Weight, wt.rows[i].Prior
	}

	g := &gains{Reference: "base", Level: level}
	point := func(r *tailpatch.Effect) float64 { return r.Delta }
	reps := eff.Replicates
	if wt.settings.Reference == "control" && len(eff.ControlReplicates) > 0 {
		g.Reference = "control"
		point = func(r *tailpatch.Effect) float64 { return r.DeltaVsControl }
		reps = eff.ControlReplicates
	}
	g.Replicates = len(reps)

	// gw and gp hold Σ_d w_d·Δ[d][c] and Σ_d prior_d·Δ[d][c] per kept
	// category: index 0 on the measured effects, 1+b on replicate b.
	var kept []int
	var gw, gp [][]float64
	for c, cat := range eff.Categories {
		ok := true
		for t := range nt {
			ok = ok && !math.IsNaN(point(eff.Row(t, c)))
		}
		if !ok {
			g.Skipped = append(g.Skipped, cat.Name)
			continue
		}
		kept = append(kept, c)
		vw := make([]float64, 1+len(reps))
		vp := make([]float64, 1+len(reps))
		for t := range nt {
			d := point(eff.Row(t, c))
			vw[0] += w[t] * d
			vp[0] += prior[t] * d
			for b, rep := range reps {
				vw[1+b] += w[t] * rep[t*nc+c]
				vp[1+b] += prior[t] * rep[t*nc+c]
			}
		}
		gw, gp = append(gw, vw), append(gp, vp)
	}

	alphaTail := (1 - level) / 2
	// row summarises the combination Σ_k coef_k·(category k's sums).
	row := func(name string, alpha float64, coef []float64) gainRow {
		comb := func(v [][]float64, i int) float64 {
			s := 0.0
			for k := range coef {
				s += coef[k] * v[k][i]
			}
			return s
		}
		r := gainRow{Category: name, Alpha: alpha, Gain: comb(gw, 0), Prior: comb(gp, 0)}
		r.Diff = r.Gain - r.Prior
		r.GainLow, r.GainHigh = math.NaN(), math.NaN()
		r.PriorLow, r.PriorHigh = math.NaN(), math.NaN()
		r.DiffLow, r.DiffHigh = math.NaN(), math.NaN()
		if len(reps) == 0 {
			return r
		}
		xs := make([]float64, len(reps))
		interval := func(f func(i int) float64) (float64, float64) {
			for b := range reps {
				xs[b] = f(1 + b)
			}
			return tailpatch.PercentileInterval(xs, alphaTail)
		}
		r.GainLow, r.GainHigh = interval(func(i int) float64 { return comb(gw, i) })
		r.PriorLow, r.PriorHigh = interval(func(i int) float64 { return comb(gp, i) })
		r.DiffLow, r.DiffHigh = interval(func(i int) float64 { return comb(gw, i) - comb(gp, i) })
		return r
	}

	alpha := make([]float64, len(kept))
	total := true // every kept category has a stated α, and some α > 0
	positive := false
	for k, c := range kept {
		name := eff.Categories[c].Name
		coef := make([]float64, len(kept))
		coef[k] = 1
		a, ok := wt.settings.CategoryWeights[name]
		if !ok {
			a, total = math.NaN(), false
		}
		alpha[k] = a
		positive = positive || a > 0
		g.Rows = append(g.Rows, row(name, a, coef))
	}
	for _, name := range g.Skipped {
		total = total && !(wt.settings.CategoryWeights[name] > 0)
	}
	if total && positive {
		r := row("α-weighted", 1, alpha)
		g.Total = &r
	}
	return g, ""
}
