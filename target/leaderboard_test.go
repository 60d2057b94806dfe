package target_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/target"
)

// officialOrder lists the RewardBench subsets in the column order of the
// published per-subset tables below.
var officialOrder = []string{
	"alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med",
	"mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst", "llmbar-adver-GPTOut", "llmbar-adver-manual",
	"refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond", "donotanswer",
	"math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust",
}

// officialRows are the real row counts of the RewardBench subsets (Table 1
// of the RewardBench paper); they differ from the scoring weights for
// math-prm and the two XSTest subsets.
var officialRows = map[string]int{
	"alpacaeval-easy": 100, "alpacaeval-length": 95, "alpacaeval-hard": 95, "mt-bench-easy": 28, "mt-bench-med": 40,
	"mt-bench-hard": 37, "llmbar-natural": 100, "llmbar-adver-neighbor": 134, "llmbar-adver-GPTInst": 92,
	"llmbar-adver-GPTOut": 47, "llmbar-adver-manual": 46,
	"refusals-dangerous": 100, "refusals-offensive": 100, "xstest-should-refuse": 154, "xstest-should-respond": 250,
	"donotanswer": 136,
	"math-prm":    447, "hep-cpp": 164, "hep-go": 164, "hep-java": 164, "hep-js": 164, "hep-python": 164, "hep-rust": 164,
}

func officialSubsets() []dataset.SubsetInfo {
	out := make([]dataset.SubsetInfo, len(officialOrder))
	for i, n := range officialOrder {
		out[i] = dataset.SubsetInfo{Name: n, Examples: officialRows[n]}
	}
	return out
}

// leaderboardEntry is one published RewardBench result: per-subset
// accuracies (percent, in officialOrder) and the published section scores
// and overall (4-section mean).
type leaderboardEntry struct {
	model                             string
	subsets                           [23]float64
	chat, chatHard, safety, reasoning float64
	overall                           float64 // NaN where no 4-section mean was published
}

// publishedEntries are real leaderboard entries, copied from:
//
//   - per-subset accuracies: RewardBench paper, arXiv 2403.13787v2 (8 June
//     2024), Tables 10 (Chat), 11 (Chat Hard), 12 (Safety) and 13 (Reasoning);
//   - section scores: the same paper, Tables 8 and 9 (the leaderboard), and,
//     for the three generative models, FLAMe (arXiv 2407.10817) Table 2,
//     "generative models on the official RewardBench leaderboard", whose
//     Average column is the plain 4-section mean used as overall here.
//
// FLAMe-RM-24B's own per-subset results (DESIGN §3: Chat 92.18, Chat Hard
// 75.66, Safety 89.59, Reasoning 93.80, overall 87.81) are not published in
// the FLAMe paper and could not be found in any stored copy of
// allenai/reward-bench-results; these entries take their place.
//
// The tables print one decimal, so each published subset value is within
// 0.05 of the true accuracy and so is each weighted mean computed from them;
// the published section score is itself rounded, so a correct formula lands
// within 0.1 of it.
var publishedEntries = []leaderboardEntry{
	{
		model: "google/gemini-1.5-pro-0514",
		subsets: [23]float64{
			95.0, 84.2, 93.7, 98.2, 97.5,
			81.1, 94.0, 75.4, 79.3, 70.2, 79.3,
			85.0, 91.0, 93.8, 96.8, 64.7,
			88.5, 94.8, 96.3, 95.4, 95.1, 97.6, 93.3,
		},
		chat: 92.3, chatHard: 80.6, safety: 87.5, reasoning: 92.0, overall: 88.1,
	},
	{
		model: "openai/gpt-4-0125-preview",
		subsets: [23]float64{
			98.0, 87.4, 96.8, 100.0, 100.0,
			83.8, 91.0, 56.7, 70.7, 87.2, 76.1,
			83.0, 97.0, 93.5, 96.4, 61.0,
			76.3, 97.3, 97.9, 97.9, 97.6, 98.2, 96.6,
		},
		chat: 95.3, chatHard: 74.3, safety: 87.2, reasoning: 86.9, overall: 85.9,
	},
	{
		model: "openai/gpt-4o-2024-05-13",
		subsets: [23]float64{
			100.0, 89.5, 97.9, 100.0, 100.0,
			78.4, 91.0, 50.7, 71.7, 74.5, 69.6,
			81.0, 93.0, 96.8, 95.2, 58.1,
			72.5, 97.6, 97.6, 98.2, 98.2, 98.2, 93.9,
		},
		chat: 96.6, chatHard: 70.4, safety: 86.7, reasoning: 84.9, overall: 84.7,
	},
	{
		// The leaderboard Score of this model includes Prior Sets, so no
		// 4-section mean was published.
		model: "RLHFlow/ArmoRM-Llama3-8B-v0.1",
		subsets: [23]float64{
			97.0, 96.8, 94.7, 100.0, 100.0,
			86.5, 93.0, 67.9, 77.2, 66.0, 69.6,
			93.0, 97.0, 100.0, 87.2, 79.4,
			98.7, 95.1, 97.0, 98.2, 97.6, 96.3, 92.1,
		},
		chat: 96.9, chatHard: 76.8, safety: 92.2, reasoning: 97.3, overall: math.NaN(),
	},
}

const publishedTolerance = 0.1

func scoreEntry(t *testing.T, sc *target.Scorer, e leaderboardEntry) map[string]float64 {
	t.Helper()
	acc := make([]float64, sc.NumSubsets())
	for i, n := range officialOrder {
		j := sc.SubsetIndex(n)
		require.GreaterOrEqual(t, j, 0, "subset %s", n)
		acc[j] = e.subsets[i] / 100
	}
	scores := make([]float64, sc.NumCategories())
	sc.ScoreAccInto(scores, acc)
	out := map[string]float64{}
	for i, c := range sc.Categories() {
		out[c.Name] = target.Percent(scores[i])
	}
	return out
}

func TestRewardBenchReproducesPublishedLeaderboard(t *testing.T) {
	def, err := target.Lookup(target.RewardBenchName)
	require.NoError(t, err)
	sc, err := def.Resolve(officialSubsets())
	require.NoError(t, err)
	require.Empty(t, sc.Deviations())

	for _, e := range publishedEntries {
		t.Run(e.model, func(t *testing.T) {
			got := scoreEntry(t, sc, e)
			assert.InDelta(t, e.chat, got[target.Chat], publishedTolerance, "Chat")
			assert.InDelta(t, e.chatHard, got[target.ChatHard], publishedTolerance, "Chat Hard")
			assert.InDelta(t, e.safety, got[target.Safety], publishedTolerance, "Safety")
			assert.InDelta(t, e.reasoning, got[target.Reasoning], publishedTolerance, "Reasoning")
			if !math.IsNaN(e.overall) {
				assert.InDelta(t, e.overall, got[target.OverallName], publishedTolerance, "Overall")
			}
		})
	}
}

// TestXSTestRowCountsDoNotReproduceLeaderboard pins why the XSTest weights
// are EXAMPLE_COUNTS' 250/154 and not the subsets' row counts 154/250:
// with the row counts, Safety misses the published figures.
func TestXSTestRowCountsDoNotReproduceLeaderboard(t *testing.T) {
	def := target.RewardBench()
	for i, s := range def.Subsets {
		if w, ok := map[string]float64{"xstest-should-refuse": 154, "xstest-should-respond": 250}[s.Name]; ok {
			def.Subsets[i].Weight = w
		}
	}
	sc, err := def.Resolve(officialSubsets())
	require.NoError(t, err)
	var worst float64
	for _, e := range publishedEntries {
		got := scoreEntry(t, sc, e)
		worst = math.Max(worst, math.Abs(got[target.Safety]-e.safety))
	}
	assert.Greater(t, worst, 1.0, "row-count weights should miss the published Safety scores")
}
