package mixture

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Explanation says what a solution does and why. Build it with Explain;
// print it with WriteText.
type Explanation struct {
	Objective Objective
	Estimate  Estimate
	Reference Reference
	// Lambda is the kl objective's λ (zero otherwise).
	Lambda float64
	// Value and Unconstrained are the objective's value at the solution and
	// at the optimum of the same objective (same λ) without any constraint.
	Value, UnconstrainedValue float64
	// EffectiveTasks and PriorEffectiveTasks are exp(entropy) of the weights
	// and of the prior.
	EffectiveTasks, PriorEffectiveTasks float64
	// Level is the bootstrap intervals' confidence level, zero without a
	// bootstrap.
	Level float64
	TopK  int
	// Categories explain the predicted gain per category; Total is the
	// α-weighted gain (Name "α-weighted", Alpha 1, no drivers).
	Categories []CategoryExplanation
	Total      CategoryExplanation
	// Active are the binding constraints.
	Active []ActiveConstraint
	// Dropped are the tasks the solution holds at their floor (or at zero)
	// although the prior gives them more, largest prior first.
	Dropped []TaskExplanation
	// Tasks has one row per task, in task order.
	Tasks []TaskExplanation
	// TextRows limits the task rows WriteText prints (largest weights first).
	// Zero means 30; negative means all.
	TextRows int
}

// CategoryExplanation is one category's predicted gain.
type CategoryExplanation struct {
	Name  string
	Alpha float64
	// Gain is the predicted gain in score units; Low and High its bootstrap
	// interval (NaN without a bootstrap).
	Gain, Low, High float64
	// Unconstrained is the gain of the unconstrained optimum.
	Unconstrained float64
	// Drivers are the tasks that contribute most, w_d·Δ[d][k], largest first
	// (up to three, positive only); Drag is the most negative contribution,
	// if any.
	Drivers []Contribution
	Drag    *Contribution
}

// Contribution is one task's share of a category's predicted gain.
type Contribution struct {
	Task  string
	Value float64
}

// TaskExplanation is one task's weight and why.
type TaskExplanation struct {
	Task string
	// Weight and its bootstrap interval (NaN without a bootstrap).
	Weight, Low, High float64
	// InTopK is P(in top-k) (NaN without a bootstrap).
	InTopK float64
	Prior  float64
	// Rate is the weight on the 2^16 scale (see RateScale).
	Rate float64
	// Epochs is the passes over the task's examples in the planned run (NaN
	// without a budget).
	Epochs float64
	// Lower and Upper are the task's effective bounds.
	Lower, Upper float64
	Reason       string
}

// Explain explains sol, which Solve returned for e; unc may be nil.
func Explain(e *Effects, sol *Solution, unc *Uncertainty) (*Explanation, error) {
	if sol == nil {
		return nil, invalidf("explain: nil solution")
	}
	if len(sol.Weights) != len(e.Tasks) {
		return nil, invalidf("explain: solution has %d weights for %d tasks", len(sol.Weights), len(e.Tasks))
	}
	free := sol.Options
	free.Constraints = Constraints{}
	if sol.Objective == KL {
		free.KL = KLSettings{Lambda: sol.Lambda}
	}
	uncon, err := Solve(e, sol.Objective, free)
	if err != nil {
		return nil, fmt.Errorf("explain: unconstrained optimum: %w", err)
	}
	v, err := e.newView(sol.Options.Reference, -1)
	if err != nil {
		return nil, err
	}
	est := v.estimate(sol.Options.Estimate)
	nan := math.NaN()
	x := &Explanation{
		Objective: sol.Objective, Estimate: sol.Options.Estimate, Reference: sol.Options.Reference,
		Lambda: sol.Lambda, Value: sol.Value, UnconstrainedValue: uncon.Value,
		EffectiveTasks: EffectiveTasks(sol.Weights), PriorEffectiveTasks: EffectiveTasks(sol.Prior),
		Active: sol.Active,
		Total:  CategoryExplanation{Name: "α-weighted", Alpha: 1, Gain: sol.Gain, Low: nan, High: nan, Unconstrained: uncon.Gain},
	}
	if unc != nil {
		x.Level, x.TopK = unc.Level, unc.TopK
		x.Total.Low, x.Total.High = unc.AlphaGainLow, unc.AlphaGainHigh
	}
	for j, c := range e.Categories {
		ce := CategoryExplanation{Name: c, Alpha: sol.Alpha[j], Gain: sol.Gains[j], Low: nan, High: nan, Unconstrained: uncon.Gains[j]}
		if unc != nil {
			ce.Low, ce.High = unc.GainLow[j], unc.GainHigh[j]
		}
		contrib := func(i int) float64 { return sol.Weights[i] * est[i][j] }
		for _, i := range topK(len(e.Tasks), 3, contrib) {
			if contrib(i) > 0 {
				ce.Drivers = append(ce.Drivers, Contribution{Task: e.Tasks[i].Name, Value: contrib(i)})
			}
		}
		if worst := topK(len(e.Tasks), 1, func(i int) float64 { return -contrib(i) }); len(worst) == 1 && contrib(worst[0]) < 0 {
			ce.Drag = &Contribution{Task: e.Tasks[worst[0]].Name, Value: contrib(worst[0])}
		}
		x.Categories = append(x.Categories, ce)
	}
	scale := RateScale(e.Tasks, sol.Options.priorCap())
	for i, t := range e.Tasks {
		te := TaskExplanation{
			Task: t.Name, Weight: sol.Weights[i], Low: nan, High: nan, InTopK: nan,
			Prior: sol.Prior[i], Rate: sol.Weights[i] * scale, Epochs: nan,
			Lower: sol.Lower[i], Upper: sol.Upper[i], Reason: sol.Reasons[i],
		}
		if unc != nil {
			te.Low, te.High, te.InTopK = unc.WeightLow[i], unc.WeightHigh[i], unc.InTopK[i]
		}
		if sol.Options.Budget.Examples() > 0 {
			te.Epochs = Epochs(sol.Weights[i], t, sol.Options.Budget)
		}
		x.Tasks = append(x.Tasks, te)
		if te.Weight <= te.Lower+atBoundTol && te.Prior > te.Weight+atBoundTol {
			x.Dropped = append(x.Dropped, te)
		}
	}
	slices.SortStableFunc(x.Dropped, func(a, b TaskExplanation) int { return cmpDesc(a.Prior, b.Prior) })
	return x, nil
}

// points formats a gain in score units as signed points (×100).
func points(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%+.2f", 100*v)
}

func interval(lo, hi float64, f func(float64) string) string {
	if math.IsNaN(lo) {
		return "-"
	}
	return "[" + f(lo) + ", " + f(hi) + "]"
}

func weight(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

// WriteText prints the explanation as readable tables. Gains are in points
// (score units × 100).
func (x *Explanation) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	head := fmt.Sprintf("objective %s on %s effects vs %s", x.Objective, x.Estimate, x.Reference)
	if x.Objective == KL {
		head += fmt.Sprintf(", λ = %.4g score units per nat", x.Lambda)
	}
	ew.printf("%s\n", head)
	ew.printf("objective value %s points (unconstrained %s); effective tasks %.1f (prior %.1f)\n\n",
		points(x.Value), points(x.UnconstrainedValue), x.EffectiveTasks, x.PriorEffectiveTasks)

	ciHead := "CI"
	if x.Level > 0 {
		ciHead = fmt.Sprintf("%g%% CI", 100*x.Level)
	}
	ew.printf("predicted gain (points)\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "category\tα\tgain\t%s\tunconstrained\tdriven by\n", ciHead)
	for _, c := range append(slices.Clone(x.Categories), x.Total) {
		var drv []string
		for _, d := range c.Drivers {
			drv = append(drv, d.Task+" "+points(d.Value))
		}
		if c.Drag != nil {
			drv = append(drv, "drag "+c.Drag.Task+" "+points(c.Drag.Value))
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%s\t%s\t%s\t%s\n", c.Name, c.Alpha, points(c.Gain), interval(c.Low, c.High, points), points(c.Unconstrained), strings.Join(drv, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	ew.printf("\nactive constraints\n")
	if len(x.Active) == 0 {
		ew.printf("  none\n")
	}
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for _, a := range x.Active {
		if a.Tasks > 0 {
			unit := "tasks"
			if a.Tasks == 1 {
				unit = "task"
			}
			fmt.Fprintf(tw, "  %s\t%d %s at bound\n", a.Name, a.Tasks, unit)
		} else {
			fmt.Fprintf(tw, "  %s\tshadow price %.4g\n", a.Name, a.Multiplier)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	ew.printf("\ndropped to the floor (prior → weight)\n")
	if len(x.Dropped) == 0 {
		ew.printf("  none\n")
	}
	const maxDropped = 10
	for _, d := range x.Dropped[:min(maxDropped, len(x.Dropped))] {
		ew.printf("  %s %s → %s\n", d.Task, weight(d.Prior), weight(d.Weight))
	}
	if len(x.Dropped) > maxDropped {
		ew.printf("  … and %d more\n", len(x.Dropped)-maxDropped)
	}

	rows := x.TextRows
	if rows == 0 {
		rows = 30
	}
	if rows < 0 || rows > len(x.Tasks) {
		rows = len(x.Tasks)
	}
	order := topK(len(x.Tasks), rows, func(i int) float64 { return x.Tasks[i].Weight })
	if rows < len(x.Tasks) {
		ew.printf("\nweights (largest %d of %d tasks)\n", rows, len(x.Tasks))
	} else {
		ew.printf("\nweights\n")
	}
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	top := "P(top-k)"
	if x.TopK > 0 {
		top = fmt.Sprintf("P(top-%d)", x.TopK)
	}
	fmt.Fprintf(tw, "task\tweight\t%s\tprior\trate\tepochs\t%s\treason\n", ciHead, top)
	for _, i := range order {
		t := x.Tasks[i]
		epochs, inTop := "-", "-"
		if !math.IsNaN(t.Epochs) {
			epochs = fmt.Sprintf("%.2f", t.Epochs)
		}
		if !math.IsNaN(t.InTopK) {
			inTop = fmt.Sprintf("%.2f", t.InTopK)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%s\t%s\t%s\n", t.Task, weight(t.Weight), interval(t.Low, t.High, weight), weight(t.Prior), t.Rate, epochs, inTop, t.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return ew.err
}

// errWriter keeps the first write error so that printing code stays flat.
type errWriter struct {
	w   io.Writer
	err error
}

func (ew *errWriter) Write(p []byte) (int, error) {
	if ew.err != nil {
		return 0, ew.err
	}
	n, err := ew.w.Write(p)
	ew.err = err
	return n, err
}

func (ew *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(ew, format, args...)
}
