package mixture

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// BootstrapOptions configures Bootstrap. The zero value is ready to use.
type BootstrapOptions struct {
	// TopK is the k of P(in top-k). Zero means 5 (or the number of tasks, if
	// fewer).
	TopK int
	// Level is the confidence level of the intervals. Zero means the effects'
	// Level, or 0.95 when that is not stated.
	Level float64
	// Workers bounds the replicates solved at once. Zero means GOMAXPROCS.
	// The result does not depend on it.
	Workers int
}

// Uncertainty is the bootstrap distribution of a solution: the solve is
// repeated on every bootstrap replicate of the effects with the same
// objective, options and λ. Slices indexed by task follow Effects.Tasks,
// by category Effects.Categories.
type Uncertainty struct {
	Level float64
	TopK  int
	// Replicates is the number of replicates solved; Infeasible the number
	// left out because their effects made the category floors unattainable.
	Replicates, Infeasible int
	// WeightLow and WeightHigh are percentile intervals of each weight, and
	// WeightMean its bootstrap mean.
	WeightLow, WeightHigh, WeightMean []float64
	// InTopK is the share of replicates in which the task is among the TopK
	// largest weights (ties broken by task order).
	InTopK []float64
	// GainLow and GainHigh are percentile intervals of the solution's
	// predicted gain per category: the measured solution's weights applied to
	// each replicate's effects. This is the uncertainty of what this mixture
	// will do, not of what re-solving would promise (which is biased upwards
	// by picking the winners of each replicate).
	GainLow, GainHigh []float64
	// AlphaGainLow and AlphaGainHigh bound the α-weighted predicted gain.
	AlphaGainLow, AlphaGainHigh float64
}

// Bootstrap re-solves sol's problem on each bootstrap replicate of e (which
// must be the effects sol was solved on). λ stays at sol.Lambda so that the
// intervals reflect the effects' noise, not the choice of λ. For lower-bound
// objectives and the flame-bundles rating, a replicate keeps the measured
// interval widths around its own values (see newView). Replicates are solved
// in parallel by a bounded pool of workers; each result lands in its own slot
// and all reductions run in replicate order, so the output is the same for
// any number of workers.
func Bootstrap(e *Effects, sol *Solution, opts BootstrapOptions) (*Uncertainty, error) {
	if sol == nil {
		return nil, invalidf("bootstrap: nil solution")
	}
	pr, err := prepare(e, sol.Objective, sol.Options)
	if err != nil {
		return nil, err
	}
	if len(sol.Weights) != len(e.Tasks) {
		return nil, invalidf("bootstrap: solution has %d weights for %d tasks", len(sol.Weights), len(e.Tasks))
	}
	nb := len(e.Replicates)
	if nb < 2 {
		return nil, invalidf("bootstrap: effects have %d replicates, want at least 2", nb)
	}
	n, k := len(e.Tasks), len(e.Categories)
	u := &Uncertainty{Level: opts.Level, TopK: opts.TopK}
	if u.Level == 0 {
		u.Level = e.Level
	}
	if u.Level == 0 {
		u.Level = 0.95
	}
	if !(u.Level > 0 && u.Level < 1) {
		return nil, invalidf("bootstrap: level %v outside (0, 1)", u.Level)
	}
	if u.TopK == 0 {
		u.TopK = 5
	}
	if u.TopK < 0 {
		return nil, invalidf("bootstrap: top-k %d, want ≥ 1", u.TopK)
	}
	u.TopK = min(u.TopK, n)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, nb)

	weights := make([][]float64, nb)
	gains := make([][]float64, nb) // the measured solution's gains on replicate b
	errs := make([]error, nb)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				v, err := e.newView(sol.Options.Reference, b)
				if err != nil {
					errs[b] = err
					continue
				}
				est := v.estimate(sol.Options.Estimate)
				g := make([]float64, k)
				for i, w := range sol.Weights {
					for j := range k {
						g[j] += w * est[i][j]
					}
				}
				gains[b] = g
				s, err := pr.solve(v, sol.Lambda, false)
				if err != nil {
					errs[b] = err
					continue
				}
				weights[b] = s.Weights
			}
		}()
	}
	for b := range nb {
		next <- b
	}
	close(next)
	wg.Wait()

	var solved [][]float64
	for b := range nb {
		switch {
		case errs[b] == nil:
			solved = append(solved, weights[b])
		case errors.Is(errs[b], ErrInfeasible):
			u.Infeasible++
		default:
			return nil, fmt.Errorf("bootstrap: replicate %d: %w", b, errs[b])
		}
	}
	u.Replicates = len(solved)
	if u.Replicates == 0 {
		return nil, fmt.Errorf("bootstrap: constraints infeasible on all %d replicates: %w", nb, ErrInfeasible)
	}
	alphaQ := (1 - u.Level) / 2
	u.WeightLow, u.WeightHigh, u.WeightMean, u.InTopK = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	col := make([]float64, len(solved))
	for i := range n {
		sum := 0.0
		for b, w := range solved {
			col[b] = w[i]
			sum += w[i]
		}
		u.WeightMean[i] = sum / float64(len(solved))
		slices.Sort(col)
		u.WeightLow[i], u.WeightHigh[i] = quantile(col, alphaQ), quantile(col, 1-alphaQ)
	}
	order := make([]int, n)
	for _, w := range solved {
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmpDesc(w[a], w[b]) })
		for _, i := range order[:u.TopK] {
			u.InTopK[i]++
		}
	}
	for i := range n {
		u.InTopK[i] /= float64(len(solved))
	}
	u.GainLow, u.GainHigh = make([]float64, k), make([]float64, k)
	col = make([]float64, nb)
	for j := range k {
		for b := range nb {
			col[b] = gains[b][j]
		}
		slices.Sort(col)
		u.GainLow[j], u.GainHigh[j] = quantile(col, alphaQ), quantile(col, 1-alphaQ)
	}
	for b := range nb {
		col[b] = 0
		for j, a := range sol.Alpha {
			col[b] += a * gains[b][j]
		}
	}
	slices.Sort(col)
	u.AlphaGainLow, u.AlphaGainHigh = quantile(col, alphaQ), quantile(col, 1-alphaQ)
	return u, nil
}

// quantile returns the p-quantile of sorted x by linear interpolation between
// order statistics (type 7, numpy's default).
func quantile(x []float64, p float64) float64 {
	if len(x) == 1 {
		return x[0]
	}
	h := p * float64(len(x)-1)
	lo := int(math.Floor(h))
	if lo >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[lo] + (h-float64(lo))*(x[lo+1]-x[lo])
}
