package target_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/internal/testenv"
	"github.com/mixopt/mixopt/target"
)

// loadLocalSuite reads the real RewardBench-shaped suite.
func loadLocalSuite(t *testing.T) *dataset.Suite {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testenv.DataDir(t), "target", "*.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	s, err := dataset.LoadSuite(dataset.DefaultSuiteName, paths)
	require.NoError(t, err)
	return s
}

// syntheticSuite builds a suite with the given number of examples per
// subset; ids are "<subset>-<i>".
func syntheticSuite(sizes map[string]int) *dataset.Suite {
	s := &dataset.Suite{Name: "synthetic"}
	names := make([]string, 0, len(sizes))
	for n := range sizes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s.Subsets = append(s.Subsets, dataset.SubsetInfo{Name: n, Section: target.Chat, Examples: sizes[n]})
		for i := range sizes[n] {
			s.Examples = append(s.Examples, dataset.TargetExample{ID: fmt.Sprintf("%s-%d", n, i), Section: target.Chat, Subset: n})
		}
	}
	return s
}

func TestSplitRealSuite(t *testing.T) {
	suite := loadLocalSuite(t)
	def := target.RewardBench()
	sp, err := def.Split(suite)
	require.NoError(t, err)
	require.Equal(t, len(suite.Examples), sp.Len())

	// Deterministic: a second split is identical.
	again, err := def.Split(suite)
	require.NoError(t, err)
	assert.Equal(t, sp.IDs(target.Dev), again.IDs(target.Dev))
	assert.Equal(t, sp.Moved(), again.Moved())

	// Disjoint and covering, in suite order.
	dev, test := sp.Indices(target.Dev), sp.Indices(target.Test)
	all := slices.Concat(dev, test)
	slices.Sort(all)
	want := make([]int, len(suite.Examples))
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, all)
	for _, i := range dev {
		assert.Equal(t, target.Dev, sp.Part(i))
	}

	// Near 50/50: the suite's 2,525 examples at p = 0.5 have a standard
	// deviation of about 25, so 150 is six of them.
	assert.InDelta(t, len(suite.Examples)/2, len(dev), 150, "dev %d of %d", len(dev), len(suite.Examples))

	// Every subset has both halves, and BySubset agrees with Indices.
	byDev, byTest := sp.BySubset(target.Dev), sp.BySubset(target.Test)
	require.Len(t, byDev, len(suite.Subsets))
	for s, info := range suite.Subsets {
		assert.NotEmpty(t, byDev[s], info.Name)
		assert.NotEmpty(t, byTest[s], info.Name)
		assert.Equal(t, info.Examples, len(byDev[s])+len(byTest[s]), info.Name)
		for _, i := range slices.Concat(byDev[s], byTest[s]) {
			assert.Equal(t, info.Name, suite.Examples[i].Subset)
		}
	}
	assert.Equal(t, dev, slices.Sorted(slices.Values(slices.Concat(byDev...))))

	// The suite resolves, and its subsets line up with the split's groups.
	sc, err := def.ResolveSuite(suite)
	require.NoError(t, err)
	for s, info := range suite.Subsets {
		assert.Equal(t, s, sc.SubsetIndex(info.Name))
	}
	counts := target.Tally(make([]bool, len(suite.Examples)), byTest)
	for s, c := range counts {
		assert.Equal(t, len(byTest[s]), c.Total)
	}
}

func TestSplitDependsOnlyOnIDAndSalt(t *testing.T) {
	suite := syntheticSuite(map[string]int{"a": 200, "b": 300})
	sp, err := target.NewSplit(suite, "salt-1", 0.5)
	require.NoError(t, err)
	for i, ex := range suite.Examples {
		want := target.Test
		if dataset.InSplit(ex.ID, "salt-1", 0.5) {
			want = target.Dev
		}
		assert.Equal(t, want, sp.Part(i), ex.ID)
	}
	require.Empty(t, sp.Moved(), "large subsets need no fix")

	// Reordering the examples moves no id across.
	reversed := *suite
	reversed.Examples = slices.Clone(suite.Examples)
	slices.Reverse(reversed.Examples)
	rsp, err := target.NewSplit(&reversed, "salt-1", 0.5)
	require.NoError(t, err)
	assert.ElementsMatch(t, sp.IDs(target.Dev), rsp.IDs(target.Dev))

	// Another salt gives another split.
	other, err := target.NewSplit(suite, "salt-2", 0.5)
	require.NoError(t, err)
	assert.NotEqual(t, sp.IDs(target.Dev), other.IDs(target.Dev))

	// The fraction is honoured.
	small, err := target.NewSplit(suite, "salt-1", 0.2)
	require.NoError(t, err)
	assert.InDelta(t, 100, len(small.IDs(target.Dev)), 40)
}

// oneSidedPair finds two ids of a subset that hashing puts on the same
// side, so the stratification must act.
func oneSidedPair(t *testing.T, salt string) (*dataset.Suite, target.Part) {
	t.Helper()
	for i := 0; i < 100; i++ {
		a, b := fmt.Sprintf("pair-%d", 2*i), fmt.Sprintf("pair-%d", 2*i+1)
		if inA := dataset.InSplit(a, salt, 0.5); inA == dataset.InSplit(b, salt, 0.5) {
			side := target.Test
			if inA {
				side = target.Dev
			}
			return &dataset.Suite{
				Name:    "pair",
				Subsets: []dataset.SubsetInfo{{Name: "pair", Section: target.Chat, Examples: 2}, {Name: "single", Section: target.Chat, Examples: 1}},
				Examples: []dataset.TargetExample{
					{ID: b, Subset: "pair"}, {ID: "single-0", Subset: "single"}, {ID: a, Subset: "pair"},
				},
			}, side
		}
	}
	t.Fatal("no one-sided pair among 100 candidates")
	return nil, 0
}

func TestSplitStratifiesOneSidedSubsets(t *testing.T) {
	suite, side := oneSidedPair(t, "salt-1")
	sp, err := target.NewSplit(suite, "salt-1", 0.5)
	require.NoError(t, err)
	// The smaller id of the pair (examples[2]) moved to the other side.
	smaller := suite.Examples[2].ID
	assert.Equal(t, []string{smaller}, sp.Moved())
	assert.NotEqual(t, side, sp.Part(2))
	assert.Equal(t, side, sp.Part(0))
	byDev, byTest := sp.BySubset(target.Dev), sp.BySubset(target.Test)
	assert.Len(t, byDev[0], 1)
	assert.Len(t, byTest[0], 1)
	// A subset of one example stays where hashing put it.
	assert.Equal(t, 1, len(byDev[1])+len(byTest[1]))
}

func TestSplitErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		suite    *dataset.Suite
		fraction float64
		wantErr  string
	}{
		{"fraction 0", syntheticSuite(map[string]int{"a": 2}), 0, `split suite "synthetic": dev fraction 0 outside (0, 1)`},
		{"fraction 1", syntheticSuite(map[string]int{"a": 2}), 1, `split suite "synthetic": dev fraction 1 outside (0, 1)`},
		{"repeated id", &dataset.Suite{
			Name:     "s",
			Subsets:  []dataset.SubsetInfo{{Name: "a", Examples: 2}},
			Examples: []dataset.TargetExample{{ID: "x", Subset: "a"}, {ID: "x", Subset: "a"}},
		}, 0.5, `split suite "s": example 1: id "x" repeated`},
		{"unlisted subset", &dataset.Suite{
			Name:     "s",
			Subsets:  []dataset.SubsetInfo{{Name: "a", Examples: 1}},
			Examples: []dataset.TargetExample{{ID: "x", Subset: "b"}},
		}, 0.5, `split suite "s": example "x": subset "b" not among the suite's subsets`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := target.NewSplit(tc.suite, "salt", tc.fraction)
			assert.EqualError(t, err, tc.wantErr)
		})
	}
}

func TestPartString(t *testing.T) {
	assert.Equal(t, "dev", target.Dev.String())
	assert.Equal(t, "test", target.Test.String())
	assert.Equal(t, "Part(9)", target.Part(9).String())
}
