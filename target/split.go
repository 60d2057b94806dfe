package target

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mixopt/mixopt/dataset"
)

// Part names one half of a dev/test split.
type Part uint8

const (
	// Dev is the half mixtures are optimised on.
	Dev Part = iota + 1
	// Test is the disjoint half results are reported on.
	Test
)

func (p Part) String() string {
	switch p {
	case Dev:
		return "dev"
	case Test:
		return "test"
	}
	return fmt.Sprintf("Part(%d)", uint8(p))
}

// Split assigns every example of a suite to dev or test.
//
// The assignment is by example id: dataset.InSplit(id, salt, devFraction)
// puts an example in dev, so it depends only on the id and the salt, not on
// file order or on which other examples exist. Pure hashing can leave a
// small subset on one side; then, for every subset with at least two
// examples, the example with the smallest id on the crowded side is moved
// across (the rule is deterministic and independent of order). Moved lists
// those ids.
type Split struct {
	salt        string
	devFraction float64
	ids         []string
	parts       []Part
	// subset[i] is the index in the suite's Subsets of example i's subset.
	subset   []int
	nSubsets int
	moved    []string
}

// Split splits the suite with the definition's salt and dev fraction.
func (d *Definition) Split(s *dataset.Suite) (*Split, error) {
	return NewSplit(s, d.SplitSalt, d.DevFraction)
}

// NewSplit splits the suite's examples into dev and test by id. Example ids
// must be unique and every example's subset must be listed in s.Subsets.
func NewSplit(s *dataset.Suite, salt string, devFraction float64) (*Split, error) {
	if !(devFraction > 0 && devFraction < 1) {
		return nil, fmt.Errorf("split suite %q: dev fraction %v outside (0, 1)", s.Name, devFraction)
	}
	subsetIndex := make(map[string]int, len(s.Subsets))
	for i, info := range s.Subsets {
		subsetIndex[info.Name] = i
	}
	sp := &Split{
		salt:        salt,
		devFraction: devFraction,
		ids:         make([]string, len(s.Examples)),
		parts:       make([]Part, len(s.Examples)),
		subset:      make([]int, len(s.Examples)),
		nSubsets:    len(s.Subsets),
	}
	seen := make(map[string]bool, len(s.Examples))
	for i, ex := range s.Examples {
		if seen[ex.ID] {
			return nil, fmt.Errorf("split suite %q: example %d: id %q repeated", s.Name, i, ex.ID)
		}
		seen[ex.ID] = true
		si, ok := subsetIndex[ex.Subset]
		if !ok {
			return nil, fmt.Errorf("split suite %q: example %q: subset %q not among the suite's subsets", s.Name, ex.ID, ex.Subset)
		}
		sp.ids[i], sp.subset[i] = ex.ID, si
		sp.parts[i] = Test
		if dataset.InSplit(ex.ID, salt, devFraction) {
			sp.parts[i] = Dev
		}
	}
	sp.stratify()
	return sp, nil
}

// stratify moves one example across in every subset of two or more examples
// that hashing left on one side.
func (sp *Split) stratify() {
	for _, members := range sp.groups() {
		if len(members) < 2 {
			continue
		}
		first := sp.parts[members[0]]
		if slices.ContainsFunc(members, func(i int) bool { return sp.parts[i] != first }) {
			continue
		}
		pick := slices.MinFunc(members, func(a, b int) int { return strings.Compare(sp.ids[a], sp.ids[b]) })
		if first == Dev {
			sp.parts[pick] = Test
		} else {
			sp.parts[pick] = Dev
		}
		sp.moved = append(sp.moved, sp.ids[pick])
	}
}

// groups returns every example index grouped by subset.
func (sp *Split) groups() [][]int {
	g := make([][]int, sp.nSubsets)
	for i, s := range sp.subset {
		g[s] = append(g[s], i)
	}
	return g
}

// Salt returns the salt the split was made with.
func (sp *Split) Salt() string { return sp.salt }

// DevFraction returns the dev fraction the split was made with.
func (sp *Split) DevFraction() float64 { return sp.devFraction }

// Len returns the number of examples split.
func (sp *Split) Len() int { return len(sp.parts) }

// Part returns the part of example i (an index into the suite's Examples).
func (sp *Split) Part(i int) Part { return sp.parts[i] }

// Moved returns the ids the stratification moved across, in subset order.
func (sp *Split) Moved() []string { return slices.Clone(sp.moved) }

// Indices returns the indices into the suite's Examples of the examples in
// part p, ascending.
func (sp *Split) Indices(p Part) []int {
	var out []int
	for i, q := range sp.parts {
		if q == p {
			out = append(out, i)
		}
	}
	return out
}

// IDs returns the ids of the examples in part p, in suite order.
func (sp *Split) IDs(p Part) []string {
	var out []string
	for i, q := range sp.parts {
		if q == p {
			out = append(out, sp.ids[i])
		}
	}
	return out
}

// BySubset returns, for every subset in the suite's Subsets order, the
// ascending indices into the suite's Examples of its examples in part p.
// A Scorer resolved from the same suite (ResolveSuite) uses the same subset
// order, so the result feeds Tally and bootstrap resampling within subsets
// directly.
func (sp *Split) BySubset(p Part) [][]int {
	g := make([][]int, sp.nSubsets)
	for i, s := range sp.subset {
		if sp.parts[i] == p {
			g[s] = append(g[s], i)
		}
	}
	return g
}
