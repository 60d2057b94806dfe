package mixture

import (
	"fmt"
	"slices"
	"strings"
)

// Ratings of one (task, category), as the paper's hand ratings.
const (
	Harmful         = -1
	NoClearEffect   = 0
	SomewhatHelpful = 1
	Helpful         = 2
)

// flameBundles holds the rule's intermediate results.
type flameBundles struct {
	ratings [][]int // [task][category]; 0 for categories with α = 0
	rates   []float64
	reasons []string
}

// rateEffect applies the rating rule of FlameSettings to one effect.
func rateEffect(effect, low, high, stability float64, fs FlameSettings) int {
	stable := stability >= fs.StableShare
	switch {
	case low > 0 && effect >= fs.HelpfulEffect && stable:
		return Helpful
	case effect > 0 && (low > 0 || stable):
		return SomewhatHelpful
	case high < 0:
		return Harmful
	}
	return NoClearEffect
}

// validateFlame checks the categories named by explicitly set thresholds and
// top categories; the paper's defaults name RewardBench categories, which a
// target may lack, so those are skipped quietly.
func validateFlame(e *Effects, fs FlameSettings) error {
	for _, c := range sortedKeys(fs.Thresholds) {
		if e.categoryIndex(c) < 0 {
			return invalidf("flame-bundles: threshold for unknown category %q", c)
		}
	}
	for _, c := range fs.TopCategories {
		if e.categoryIndex(c) < 0 {
			return invalidf("flame-bundles: top category %q unknown", c)
		}
	}
	if fs.GeneralRate < 0 || fs.CategoryRate < 0 || fs.OtherRate < 0 || fs.TopRate < 0 {
		return invalidf("flame-bundles: negative bundle rate")
	}
	if fs.TopMode != TopReplace && fs.TopMode != TopAdd {
		return invalidf("flame-bundles: top mode %v", fs.TopMode)
	}
	return nil
}

// bundles applies the flame-bundles rule (see FlameSettings) to a view.
func bundles(e *Effects, v *view, est Estimate, alpha []float64, fs FlameSettings) *flameBundles {
	n, k := len(e.Tasks), len(e.Categories)
	effect := v.estimate(est)
	fb := &flameBundles{ratings: make([][]int, n), rates: make([]float64, n), reasons: make([]string, n)}
	tau := make([]float64, k)
	hasTau := make([]bool, k)
	for j, c := range e.Categories {
		tau[j], hasTau[j] = fs.Thresholds[c]
	}
	for i := range n {
		fb.ratings[i] = make([]int, k)
		total := 0
		var crossed []string
		for j := range k {
			if alpha[j] == 0 {
				continue
			}
			stab := 1.0
			if v.stability != nil {
				stab = v.stability[i][j]
			}
			r := rateEffect(effect[i][j], v.low[i][j], v.high[i][j], stab, fs)
			fb.ratings[i][j] = r
			total += r
			if hasTau[j] && v.score != nil && v.score[i][j] >= tau[j] {
				crossed = append(crossed, e.Categories[j])
			}
		}
		var parts []string
		if total >= fs.GeneralRating {
			fb.rates[i] += fs.GeneralRate
			parts = append(parts, fmt.Sprintf("general(rating=%d)", total))
		}
		for _, c := range crossed {
			fb.rates[i] += fs.CategoryRate
			parts = append(parts, "category("+c+")")
		}
		if len(parts) == 0 {
			fb.rates[i] = fs.OtherRate
			parts = append(parts, fmt.Sprintf("other(rating=%d)", total))
		}
		fb.reasons[i] = strings.Join(parts, "+")
	}
	if fs.TopTasks <= 0 {
		return fb
	}
	tops := make([][]string, n)
	for _, c := range fs.TopCategories {
		j := e.categoryIndex(c)
		if j < 0 || alpha[j] == 0 {
			continue
		}
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmpDesc(effect[a][j], effect[b][j]) })
		for _, i := range order[:min(fs.TopTasks, n)] {
			if effect[i][j] > 0 {
				tops[i] = append(tops[i], c)
			}
		}
	}
	for i, cs := range tops {
		if len(cs) == 0 {
			continue
		}
		tag := "top(" + strings.Join(cs, ",") + ")"
		if fs.TopMode == TopAdd {
			fb.rates[i] += fs.TopRate * float64(len(cs))
			fb.reasons[i] += "+" + tag
		} else {
			fb.rates[i] = fs.TopRate
			fb.reasons[i] = tag + " replacing " + fb.reasons[i]
		}
	}
	return fb
}
