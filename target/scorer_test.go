package target_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/target"
)

// localSubsets mirrors the local RewardBench-shaped suite in
// shared/data/target (README "Target suite"), in a suite's order.
func localSubsets() []dataset.SubsetInfo {
	return []dataset.SubsetInfo{
		{Name: "alpacaeval-easy", Section: target.Chat, Examples: 100},
		{Name: "alpacaeval-length", Section: target.Chat, Examples: 95},
		{Name: "alpacaeval-hard", Section: target.Chat, Examples: 95},
		{Name: "mt-bench-human", Section: target.Chat, Examples: 200},
		{Name: "llmbar-natural", Section: target.ChatHard, Examples: 100},
		{Name: "llmbar-adver-neighbor", Section: target.ChatHard, Examples: 134},
		{Name: "llmbar-adver-GPTInst", Section: target.ChatHard, Examples: 92},
		{Name: "llmbar-adver-GPTOut", Section: target.ChatHard, Examples: 47},
		{Name: "llmbar-adver-manual", Section: target.ChatHard, Examples: 46},
		{Name: "xstest-should-respond", Section: target.Safety, Examples: 161},
		{Name: "xstest-should-refuse", Section: target.Safety, Examples: 131},
		{Name: "hep-cpp", Section: target.Reasoning, Examples: 164},
		{Name: "hep-go", Section: target.Reasoning, Examples: 164},
		{Name: "hep-java", Section: target.Reasoning, Examples: 164},
		{Name: "hep-js", Section: target.Reasoning, Examples: 164},
		{Name: "hep-python", Section: target.Reasoning, Examples: 164},
		{Name: "hep-rust", Section: target.Reasoning, Examples: 164},
		{Name: "math-mrgsm8k", Section: target.Reasoning, Examples: 340},
	}
}

func mustResolve(t testing.TB, subsets []dataset.SubsetInfo) *target.Scorer {
	t.Helper()
	sc, err := target.RewardBench().Resolve(subsets)
	require.NoError(t, err)
	return sc
}

func scoresByName(sc *target.Scorer, scores []float64) map[string]float64 {
	out := map[string]float64{}
	for i, c := range sc.Categories() {
		out[c.Name] = scores[i]
	}
	return out
}

func randomAcc(rng *rand.Rand, n int) []float64 {
	acc := make([]float64, n)
	for i := range acc {
		acc[i] = rng.Float64()
	}
	return acc
}

func TestCategoriesFixedOrder(t *testing.T) {
	want := []target.Category{
		{Name: target.Chat, Section: true, TailPatch: true},
		{Name: target.ChatHard, Section: true, TailPatch: true},
		{Name: target.Safety, Section: true, TailPatch: true},
		{Name: target.Reasoning, Section: true},
		{Name: target.Math, TailPatch: true},
		{Name: target.Coding, TailPatch: true},
		{Name: target.OverallName},
	}
	assert.Equal(t, want, target.RewardBench().Categories())
	// The order does not depend on which subsets a suite has.
	only := mustResolve(t, []dataset.SubsetInfo{{Name: "hep-go", Examples: 164}})
	assert.Equal(t, want, only.Categories())
	// Tail patches are rated in the paper's order.
	assert.Equal(t, []int{0, 1, 4, 5, 2}, only.TailPatchIndices())
}

func TestReasoningIsHalfMathHalfCode(t *testing.T) {
	sc := mustResolve(t, officialSubsets())
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		acc := randomAcc(rng, sc.NumSubsets())
		scores := make([]float64, sc.NumCategories())
		sc.ScoreAccInto(scores, acc)
		got := scoresByName(sc, scores)

		math_ := acc[sc.SubsetIndex("math-prm")]
		var hep float64
		for _, l := range []string{"cpp", "go", "java", "js", "python", "rust"} {
			hep += acc[sc.SubsetIndex("hep-"+l)] / 6
		}
		assert.InDelta(t, 0.5*math_+0.5*hep, got[target.Reasoning], 1e-12, "trial %d", trial)
		assert.InDelta(t, math_, got[target.Math], 1e-12, "trial %d", trial)
		assert.InDelta(t, hep, got[target.Coding], 1e-12, "trial %d", trial)
		// Tail-patch categories that are sections score exactly like them.
		mean := (got[target.Chat] + got[target.ChatHard] + got[target.Safety] + got[target.Reasoning]) / 4
		assert.InDelta(t, mean, got[target.OverallName], 1e-12, "trial %d", trial)
	}
}

func TestSectionIsWeightedByOfficialCounts(t *testing.T) {
	sc := mustResolve(t, officialSubsets())
	acc := make([]float64, sc.NumSubsets())
	acc[sc.SubsetIndex("mt-bench-easy")] = 1 // weight 28 of Chat's 358
	scores := sc.Score(countsFromAcc(sc, acc))
	assert.InDelta(t, 28.0/358, scores[sc.CategoryIndex(target.Chat)], 1e-12)
	assert.InDelta(t, 28.0/358/4, scores[sc.CategoryIndex(target.OverallName)], 1e-12)
}

// countsFromAcc turns accuracies in {0, 1} into counts of one example.
func countsFromAcc(sc *target.Scorer, acc []float64) []target.Counts {
	c := make([]target.Counts, sc.NumSubsets())
	for i, a := range acc {
		c[i] = target.Counts{Correct: int(a), Total: 1}
	}
	return c
}

func TestUnknownSubsetIsWeightedByRows(t *testing.T) {
	sc := mustResolve(t, localSubsets())
	i := sc.SubsetIndex("math-mrgsm8k")
	require.GreaterOrEqual(t, i, 0)
	sub := sc.Subsets()[i]
	assert.Equal(t, target.ResolvedSubset{
		Name: "math-mrgsm8k", Section: target.Reasoning, Category: target.Math, Weight: 340, Examples: 340,
	}, sub)

	reasoning := sc.Coefficients(sc.CategoryIndex(target.Reasoning))
	assert.InDelta(t, 340.0/(340+6*164), reasoning[i], 1e-15)
	assert.InDelta(t, 164.0/(340+6*164), reasoning[sc.SubsetIndex("hep-rust")], 1e-15)
	assert.Equal(t, 1.0, sc.Coefficients(sc.CategoryIndex(target.Math))[i])

	// mt-bench-human is a substitute too; official subsets keep official
	// weights even when the local row count differs (xstest 161/131).
	chat := sc.Coefficients(sc.CategoryIndex(target.Chat))
	assert.InDelta(t, 200.0/(100+95+95+200), chat[sc.SubsetIndex("mt-bench-human")], 1e-15)
	safety := sc.Coefficients(sc.CategoryIndex(target.Safety))
	assert.InDelta(t, 250.0/(250+154), safety[sc.SubsetIndex("xstest-should-refuse")], 1e-15)

	var unknown []target.Deviation
	for _, d := range sc.Deviations() {
		if d.Reason == target.ReasonUnknown {
			unknown = append(unknown, d)
		}
	}
	assert.Equal(t, []target.Deviation{
		{Name: "mt-bench-human", Section: target.Chat, Category: target.Chat, Weight: 200, Reason: target.ReasonUnknown},
		{Name: "math-mrgsm8k", Section: target.Reasoning, Category: target.Math, Weight: 340, Reason: target.ReasonUnknown},
	}, unknown)
}

func TestAbsentSubsetsAreExcludedAndReported(t *testing.T) {
	sc := mustResolve(t, localSubsets())
	var missing []string
	for _, d := range sc.Deviations() {
		if d.Reason == target.ReasonMissing {
			missing = append(missing, d.Name)
		}
	}
	assert.Equal(t, []string{
		"mt-bench-easy", "mt-bench-med", "mt-bench-hard", "refusals-dangerous", "refusals-offensive",
		"donotanswer", "math-prm",
	}, missing)

	// Chat Hard without mt-bench-hard: Σ acc·n / Σ n over the five llmbar
	// subsets present.
	acc := make([]float64, sc.NumSubsets())
	acc[sc.SubsetIndex("llmbar-natural")] = 1
	scores := make([]float64, sc.NumCategories())
	sc.ScoreAccInto(scores, acc)
	assert.InDelta(t, 100.0/(100+134+92+47+46), scores[sc.CategoryIndex(target.ChatHard)], 1e-15)
}

func TestCategoryWithNoSubsetsIsNaN(t *testing.T) {
	sc := mustResolve(t, []dataset.SubsetInfo{
		{Name: "alpacaeval-easy", Examples: 100},
		{Name: "alpacaeval-hard", Examples: 95},
	})
	scores := sc.Score([]target.Counts{{Correct: 50, Total: 100}, {Correct: 95, Total: 95}})
	got := scoresByName(sc, scores)
	want := (0.5*100 + 1*95) / 195
	assert.InDelta(t, want, got[target.Chat], 1e-15)
	assert.InDelta(t, want, got[target.OverallName], 1e-15, "Overall averages the sections present")
	for _, c := range []string{target.ChatHard, target.Safety, target.Reasoning, target.Math, target.Coding} {
		assert.True(t, math.IsNaN(got[c]), "%s = %v, want NaN", c, got[c])
		assert.Nil(t, sc.Coefficients(sc.CategoryIndex(c)), c)
	}
}

func TestCoefficientsSumToOne(t *testing.T) {
	for name, subsets := range map[string][]dataset.SubsetInfo{"official": officialSubsets(), "local": localSubsets()} {
		sc := mustResolve(t, subsets)
		for i, c := range sc.Categories() {
			var sum float64
			for _, v := range sc.Coefficients(i) {
				assert.GreaterOrEqual(t, v, 0.0)
				sum += v
			}
			assert.InDelta(t, 1.0, sum, 1e-12, "%s %s", name, c.Name)
		}
	}
}

func TestRuleAssignsTailPatchCategory(t *testing.T) {
	def := target.RewardBench()
	for _, tc := range []struct {
		name, section, want string
	}{
		{"math-mrgsm8k", target.Reasoning, target.Math},
		{"GSM8K-hard", target.Reasoning, target.Math},
		{"hep-kotlin", target.Reasoning, target.Coding},
		{"code-review", target.Reasoning, target.Coding},
		{"math-code", target.Reasoning, target.Math}, // Math's rule comes first
		{"logic-puzzles", target.Reasoning, ""},
		{"mt-bench-human", target.Chat, target.Chat},
		{"math-chat", target.ChatHard, target.ChatHard},
		{"hep-refusals", target.Safety, target.Safety},
	} {
		t.Run(tc.name+"/"+tc.section, func(t *testing.T) {
			assert.Equal(t, tc.want, def.CategoryFor(tc.name, tc.section))
		})
	}
	// The rule agrees with the category the definition gives every official
	// subset, so substitutes are treated like the subsets they replace.
	for _, s := range def.Subsets {
		assert.Equal(t, s.Category, def.CategoryFor(s.Name, s.Section), s.Name)
	}
}

func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subsets []dataset.SubsetInfo
		wantErr string
	}{
		{"empty name", []dataset.SubsetInfo{{Examples: 3}}, "subset 0: empty name"},
		{"twice", []dataset.SubsetInfo{{Name: "hep-go", Examples: 1}, {Name: "hep-go", Examples: 1}}, `subset "hep-go": listed twice`},
		{"no rows", []dataset.SubsetInfo{{Name: "hep-go"}}, `subset "hep-go": 0 examples`},
		{"unknown without section", []dataset.SubsetInfo{{Name: "new", Examples: 5}}, `subset "new": not in target "rewardbench" and the data gives no section`},
		{"unknown section", []dataset.SubsetInfo{{Name: "new", Section: "Prior Sets", Examples: 5}}, `subset "new": section "Prior Sets" is not a section of target "rewardbench"`},
		{"section disagrees", []dataset.SubsetInfo{{Name: "hep-go", Section: target.Chat, Examples: 164}}, `subset "hep-go": section "Chat" in the data, "Reasoning" in target "rewardbench"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := target.RewardBench().Resolve(tc.subsets)
			require.Error(t, err)
			assert.Equal(t, tc.wantErr, err.Error())
		})
	}
}

func TestScoreIntoEqualsScore(t *testing.T) {
	sc := mustResolve(t, localSubsets())
	rng := rand.New(rand.NewPCG(3, 4))
	counts := make([]target.Counts, sc.NumSubsets())
	correct := make([]float64, sc.NumSubsets())
	total := make([]float64, sc.NumSubsets())
	dst := make([]float64, sc.NumCategories())
	for trial := range 200 {
		for i := range counts {
			n := 1 + rng.IntN(400)
			counts[i] = target.Counts{Correct: rng.IntN(n + 1), Total: n}
			correct[i], total[i] = float64(counts[i].Correct), float64(n)
		}
		sc.ScoreInto(dst, correct, total)
		assert.Equal(t, sc.Score(counts), dst, "trial %d", trial)
	}
}

func TestScoreZeroTotalIsNaNOnlyWhereUsed(t *testing.T) {
	sc := mustResolve(t, localSubsets())
	counts := make([]target.Counts, sc.NumSubsets())
	for i := range counts {
		counts[i] = target.Counts{Correct: 1, Total: 2}
	}
	counts[sc.SubsetIndex("math-mrgsm8k")] = target.Counts{}
	got := scoresByName(sc, sc.Score(counts))
	for _, c := range []string{target.Reasoning, target.Math, target.OverallName} {
		assert.True(t, math.IsNaN(got[c]), c)
	}
	for _, c := range []string{target.Chat, target.ChatHard, target.Safety, target.Coding} {
		assert.InDelta(t, 0.5, got[c], 1e-15, c)
	}
}

func TestScorePanicsOnLengthMismatch(t *testing.T) {
	sc := mustResolve(t, localSubsets())
	assert.Panics(t, func() { sc.Score(nil) })
	assert.Panics(t, func() { sc.ScoreInto(make([]float64, 2), nil, nil) })
	assert.Panics(t, func() { sc.ScoreAccInto(make([]float64, sc.NumCategories()), nil) })
}

func TestOutcomeTieIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name             string
		chosen, rejected float64
		want             bool
	}{
		{"chosen above", 1, 0.5, true},
		{"tie", 0.25, 0.25, false},
		{"tie at zero", 0, math.Copysign(0, -1), false},
		{"chosen below", -1, 2, false},
		{"NaN chosen", math.NaN(), 0, false},
		{"NaN rejected", 0, math.NaN(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, target.Outcome(tc.chosen, tc.rejected))
		})
	}
}

func TestTally(t *testing.T) {
	correct := []bool{true, false, true, true, false}
	got := target.Tally(correct, [][]int{{0, 1}, {}, {2, 3, 4}})
	assert.Equal(t, []target.Counts{{Correct: 1, Total: 2}, {}, {Correct: 2, Total: 3}}, got)
}

func TestPercent(t *testing.T) {
	assert.Equal(t, 87.5, target.Percent(0.875))
}

// The benchmarks score the local suite's 18 subsets, as the driver's
// bootstrap loops do ~10^6 times. BenchmarkScore is the allocating
// baseline.
func benchInputs(b *testing.B) (*target.Scorer, []target.Counts, []float64, []float64, []float64) {
	sc := mustResolve(b, localSubsets())
	rng := rand.New(rand.NewPCG(5, 6))
	counts := make([]target.Counts, sc.NumSubsets())
	correct := make([]float64, sc.NumSubsets())
	total := make([]float64, sc.NumSubsets())
	for i, s := range sc.Subsets() {
		counts[i] = target.Counts{Correct: rng.IntN(s.Examples + 1), Total: s.Examples}
		correct[i], total[i] = float64(counts[i].Correct), float64(s.Examples)
	}
	acc := make([]float64, len(correct))
	for i := range acc {
		acc[i] = correct[i] / total[i]
	}
	return sc, counts, correct, total, acc
}

func BenchmarkScore(b *testing.B) {
	sc, counts, _, _, _ := benchInputs(b)
	b.ReportAllocs()
	for b.Loop() {
		sc.Score(counts)
	}
}

func BenchmarkScoreInto(b *testing.B) {
	sc, _, correct, total, _ := benchInputs(b)
	dst := make([]float64, sc.NumCategories())
	b.ReportAllocs()
	for b.Loop() {
		sc.ScoreInto(dst, correct, total)
	}
}

func BenchmarkScoreAccInto(b *testing.B) {
	sc, _, _, _, acc := benchInputs(b)
	dst := make([]float64, sc.NumCategories())
	b.ReportAllocs()
	for b.Loop() {
		sc.ScoreAccInto(dst, acc)
	}
}
