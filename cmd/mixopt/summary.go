package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/mixopt/mixopt/tailpatch"
)

// pts formats a score difference in points (percentage points).
func pts(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%+.2f", 100*x)
}

// printPatchSummary prints what a tail-patch run found: per tail-patch
// category the most helpful and most harmful tasks with their intervals.
func printPatchSummary(w io.Writer, s *tailpatch.Summary) error {
	fmt.Fprintf(w, "run %s in %s: %d jobs (%d run now), base checkpoint %s\n", s.RunID, s.Dir, s.Jobs, s.Ran, s.BaseCheckpoint)
	for _, d := range s.Scorer.Deviations() {
		fmt.Fprintf(w, "  target subset %-22s %-9s %s (weight %g)\n", d.Name, d.Section, d.Reason, d.Weight)
	}
	printTopEffects(w, s.Effects, 3)
	fmt.Fprintln(w, "tables:")
	for _, f := range s.Files {
		fmt.Fprintln(w, " ", f)
	}
	return nil
}

// printTopEffects lists, for every tail-patch category, the k tasks with
// the largest and the smallest effect (points vs the base, with the
// bootstrap interval, the delta vs control and the stability).
func printTopEffects(w io.Writer, e *tailpatch.Effects, k int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "category\t\ttask\tΔ pts\t95% CI\tvs control\tstability")
	for c, cat := range e.Categories {
		if !cat.TailPatch {
			continue
		}
		idx := make([]int, len(e.Tasks))
		for t := range idx {
			idx[t] = t
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			da, db := e.Row(a, c).Delta, e.Row(b, c).Delta
			switch {
			case da > db:
				return -1
			case da < db:
				return 1
			}
			return 0
		})
		show := func(label string, t int) {
			r := e.Row(t, c)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t[%s, %s]\t%s\t%.2f\n", cat.Name, label, r.Task, pts(r.Delta), pts(r.Low), pts(r.High), pts(r.DeltaVsControl), r.Stability)
		}
		for i := 0; i < k && i < len(idx); i++ {
			if e.Row(idx[i], c).Delta > 0 {
				show("helpful", idx[i])
			}
		}
		for i := len(idx) - 1; i >= max(0, len(idx)-k); i-- {
			if e.Row(idx[i], c).Delta < 0 {
				show("harmful", idx[i])
			}
		}
	}
	tw.Flush()
}
