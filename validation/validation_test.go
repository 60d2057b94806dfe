package validation

import (
	"testing"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/target"
	"github.com/mixopt/mixopt/trainer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArms(t *testing.T) {
	tasks := []trainer.TaskInfo{
		{Name: "big", TrainExamples: 100_000, ContentHash: "h1"},
		{Name: "small", TrainExamples: 10, ContentHash: "h2"},
		{Name: "unused", TrainExamples: 50, ContentHash: "h3"},
	}
	arms, err := Arms(tasks, []float64{0.7, 0.3, 0}, Config{Steps: 600, Cap: 1 << 16})
	require.NoError(t, err)
	require.Len(t, arms, 4)
	byName := map[string]Arm{}
	for _, a := range arms {
		byName[a.Name] = a
	}
	prop := byName[ArmProportional].Mixture
	require.Len(t, prop, 3)
	assert.Equal(t, float64(1<<16), prop[0].Weight, "the proportional baseline is capped at 2^16")
	assert.Equal(t, 10.0, prop[1].Weight)
	assert.Equal(t, "h1", prop[0].ContentHash, "components carry content hashes")
	for _, c := range byName[ArmUniform].Mixture {
		assert.Equal(t, 1.0, c.Weight)
	}
	assert.Len(t, byName[ArmOptimised].Mixture, 2, "zero-weight tasks are left out")
	assert.EqualValues(t, 600, byName[ArmOptimised].Steps)
	assert.EqualValues(t, 100, byName[ArmOptimisedShort].Steps, "S/6")

	_, err = Arms(tasks, []float64{0, 0, 0}, Config{Steps: 600})
	assert.Error(t, err)
}

// TestScoreVerdicts scores synthetic outcomes where the optimised arm gets
// every test example right and the baselines half of them.
func TestScoreVerdicts(t *testing.T) {
	suite := &dataset.Suite{Name: "rewardbench"}
	for i := range 200 {
		sub, sec := "alpacaeval-easy", "Chat"
		if i%2 == 1 {
			sub, sec = "xstest-should-refuse", "Safety"
		}
		suite.Examples = append(suite.Examples, dataset.TargetExample{ID: string(rune('A'+i%26)) + string(rune('a'+i/26)), Subset: sub, Section: sec})
	}
	suite.Subsets = []dataset.SubsetInfo{{Name: "alpacaeval-easy", Section: "Chat", Examples: 100}, {Name: "xstest-should-refuse", Section: "Safety", Examples: 100}}
	def := target.RewardBench()
	sc, err := def.ResolveSuite(suite)
	require.NoError(t, err)
	split, err := def.Split(suite)
	require.NoError(t, err)

	arms := []Arm{{Name: ArmProportional, Steps: 10}, {Name: ArmUniform, Steps: 10}, {Name: ArmOptimised, Steps: 10}, {Name: ArmOptimisedShort, Steps: 2}}
	cfg := Config{Seeds: []uint64{1, 2}, BatchSize: 4, Replicates: 200}
	cfg.setDefaults()
	var correct [][]bool
	for _, a := range arms {
		for range cfg.Seeds {
			c := make([]bool, len(suite.Examples))
			for i := range c {
				c[i] = a.Name == ArmOptimised || i%4 < 2
			}
			correct = append(correct, c)
		}
	}
	res, err := score(sc, split.BySubset(target.Test), arms, cfg, correct)
	require.NoError(t, err)
	for _, s := range res.Scores {
		if s.Arm == ArmOptimised && s.Category == "Chat" {
			assert.Equal(t, 1.0, s.Score)
			assert.EqualValues(t, 40, s.Examples, "steps × batch size")
		}
		if s.Category == "Chat" || s.Category == "Safety" {
			assert.LessOrEqual(t, s.Low, s.Score)
			assert.GreaterOrEqual(t, s.High, s.Score)
		}
	}
	verdicts := map[string]string{}
	for _, c := range res.Comparisons {
		verdicts[c.Arm+" vs "+c.Baseline+" "+c.Category] = c.Verdict
	}
	assert.Equal(t, "better", verdicts["optimised vs proportional Chat"])
	assert.Equal(t, "better", verdicts["optimised vs uniform Safety"])
	assert.Equal(t, "no clear difference", verdicts["optimised_short vs proportional Chat"], "identical outcomes differ by exactly zero")
}
