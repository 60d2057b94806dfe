package target_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/target"
)

func TestRewardBenchDefinition(t *testing.T) {
	def := target.RewardBench()
	require.NoError(t, def.Validate())
	assert.Equal(t, "rewardbench", def.Name)
	assert.Equal(t, "rewardbench", def.Suite)
	assert.Len(t, def.Subsets, 23)

	weights := map[string]float64{}
	for _, s := range def.Subsets {
		weights[s.Section] += s.Weight
	}
	// Section totals of EXAMPLE_COUNTS: math-prm weighs as much as the six
	// hep-* subsets together.
	assert.Equal(t, map[string]float64{
		target.Chat: 358, target.ChatHard: 456, target.Safety: 740, target.Reasoning: 1968,
	}, weights)
	prm, ok := def.Subset("math-prm")
	require.True(t, ok)
	assert.Equal(t, target.Subset{Name: "math-prm", Section: target.Reasoning, Weight: 984, Category: target.Math}, prm)
	_, ok = def.Subset("anthropic_helpful")
	assert.False(t, ok, "Prior Sets are excluded")
}

func TestValidateRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(d *target.Definition)
		wantErr string
	}{
		{"no name", func(d *target.Definition) { d.Name = "" }, "empty name"},
		{"no suite", func(d *target.Definition) { d.Suite = "" }, "empty suite name"},
		{"no sections", func(d *target.Definition) { d.Sections = nil }, "no sections"},
		{"fraction 1", func(d *target.Definition) { d.DevFraction = 1 }, "dev fraction 1 outside (0, 1)"},
		{"no salt", func(d *target.Definition) { d.SplitSalt = "" }, "empty split salt"},
		{"section Overall", func(d *target.Definition) { d.Sections = append(d.Sections, target.OverallName) }, `section "Overall": empty, reserved or repeated`},
		{"category twice", func(d *target.Definition) { d.TailPatch = append(d.TailPatch, target.Math) }, `tail-patch category "Math": empty, reserved or repeated`},
		{"subset twice", func(d *target.Definition) { d.Subsets = append(d.Subsets, d.Subsets[0]) }, `subset "alpacaeval-easy" listed twice`},
		{"unknown section", func(d *target.Definition) { d.Subsets[0].Section = "Prior Sets" }, `subset "alpacaeval-easy": unknown section "Prior Sets"`},
		{"zero weight", func(d *target.Definition) { d.Subsets[0].Weight = 0 }, `subset "alpacaeval-easy": weight 0 not positive and finite`},
		{"unknown category", func(d *target.Definition) { d.Subsets[16].Category = "Algebra" }, `subset "math-prm": unknown tail-patch category "Algebra"`},
		{"section category mismatch", func(d *target.Definition) { d.Subsets[0].Category = target.Math }, `subset "alpacaeval-easy": section "Chat" is a tail-patch category, so its category must be "Chat", not "Math"`},
		{"rule section", func(d *target.Definition) { d.Rules[0].Section = "Prior Sets" }, `rule 0: unknown section "Prior Sets"`},
		{"rule category", func(d *target.Definition) { d.Rules[1].Category = "Algebra" }, `rule 1: unknown tail-patch category "Algebra"`},
		{"rule on tail-patch section", func(d *target.Definition) { d.Rules[0].Section = target.Chat }, `rule 0: section "Chat" is itself a tail-patch category`},
		{"rule pattern case", func(d *target.Definition) { d.Rules[0].Contains = []string{"GSM"} }, `rule 0: pattern "GSM" must be non-empty lower case`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := target.RewardBench()
			tc.edit(d)
			err := d.Validate()
			require.Error(t, err)
			assert.True(t, errors.Is(err, target.ErrInvalid))
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestRegistry(t *testing.T) {
	assert.Contains(t, target.Names(), target.RewardBenchName)

	d, err := target.Lookup(target.RewardBenchName)
	require.NoError(t, err)
	assert.Equal(t, target.RewardBench(), d)

	// A looked-up definition is a copy.
	d.Subsets[0].Weight = 1
	d.Rules[0].Contains[0] = "x"
	again, err := target.Lookup(target.RewardBenchName)
	require.NoError(t, err)
	assert.Equal(t, target.RewardBench(), again)

	_, err = target.Lookup("helpsteer")
	require.Error(t, err)
	assert.True(t, errors.Is(err, target.ErrUnknown))
	assert.Contains(t, err.Error(), `target "helpsteer": unknown target (known: `)

	custom := target.RewardBench()
	custom.Name = "rewardbench-registry-test"
	require.NoError(t, target.Register(custom))
	custom.Subsets[0].Weight = 7 // must not reach the registered copy
	got, err := target.Lookup("rewardbench-registry-test")
	require.NoError(t, err)
	assert.Equal(t, 100.0, got.Subsets[0].Weight)
	assert.Contains(t, target.Names(), "rewardbench-registry-test")
	assert.IsNonDecreasing(t, target.Names())

	err = target.Register(target.RewardBench())
	assert.EqualError(t, err, `register target "rewardbench": already registered`)

	bad := target.RewardBench()
	bad.Name, bad.DevFraction = "bad-registry-test", 0
	assert.ErrorIs(t, target.Register(bad), target.ErrInvalid)
	assert.NotContains(t, target.Names(), "bad-registry-test")
}
