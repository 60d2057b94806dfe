package target

import (
	"fmt"
	"math"

	"github.com/mixopt/mixopt/dataset"
)

// Reasons a subset is reported as deviating from the definition.
const (
	// ReasonUnknown marks a suite subset the definition does not list: a
	// substitute, weighted by its row count.
	ReasonUnknown = "substituted/unknown"
	// ReasonMissing marks an official subset the suite does not have; it
	// takes no part in scoring.
	ReasonMissing = "missing"
)

// ResolvedSubset is one subset of a suite as the scorer uses it.
type ResolvedSubset struct {
	Name    string
	Section string
	// Category is the tail-patch category, or "" for none.
	Category string
	// Weight is the official weight, or the row count for a subset the
	// definition does not list.
	Weight float64
	// Examples is the number of rows the suite has.
	Examples int
	// Official is set when the definition lists the subset.
	Official bool
}

// Deviation reports a subset where the suite and the definition differ.
type Deviation struct {
	Name     string
	Section  string
	Category string
	Weight   float64
	// Reason is ReasonUnknown or ReasonMissing.
	Reason string
}

// Counts is the number of correct outcomes and of examples in one subset.
type Counts struct {
	Correct, Total int
}

// Scorer computes category scores of one suite under one definition.
//
// Every category is a linear function of the subset accuracies,
// score_c = Σ_s coef[c][s]·acc_s, where acc_s = correct_s / total_s.
// Scores are fractions in [0, 1]; use Percent for display. A category none
// of whose subsets the suite has scores NaN (it keeps its place, so the
// category order never depends on the suite). Overall is the plain mean of
// the sections that have at least one subset in the suite.
//
// Subsets are in the order of the subsets the scorer was resolved from (for
// ResolveSuite, the suite's Subsets order). A Scorer is immutable and safe
// for concurrent use.
type Scorer struct {
	target     string
	subsets    []ResolvedSubset
	categories []Category
	// tailPatch holds the indices of the tail-patch categories, in the
	// definition's TailPatch order.
	tailPatch  []int
	deviations []Deviation
	// The coefficients are stored sparsely, category by category: category
	// c uses idx[off[c]:off[c+1]] and coef[off[c]:off[c+1]]. Sparse storage
	// keeps the hot loop short and keeps a NaN accuracy out of categories
	// the subset is not in.
	off  []int
	idx  []int
	coef []float64
}

// ResolveSuite resolves the definition against a loaded suite.
func (d *Definition) ResolveSuite(s *dataset.Suite) (*Scorer, error) {
	sc, err := d.Resolve(s.Subsets)
	if err != nil {
		return nil, fmt.Errorf("suite %q: %w", s.Name, err)
	}
	return sc, nil
}

// Resolve builds the scorer for a suite that has the given subsets.
//
// A subset the definition lists keeps its official section, weight and
// category; a section given by the data must agree. A subset the definition
// does not list takes its section from the data (it is an error if the data
// gives none, or one the definition does not have), its row count as weight,
// and its tail-patch category by the definition's rules; it is reported as
// ReasonUnknown. Official subsets the suite lacks are reported as
// ReasonMissing and excluded from every score.
//
// Weights are fixed here from the whole suite, so dev and test halves of it
// are scored with the same formula.
func (d *Definition) Resolve(subsets []dataset.SubsetInfo) (*Scorer, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	sc := &Scorer{target: d.Name, categories: d.Categories()}
	for _, name := range d.TailPatch {
		sc.tailPatch = append(sc.tailPatch, sc.CategoryIndex(name))
	}
	present := map[string]bool{}
	sections := map[string]bool{}
	for _, s := range d.Sections {
		sections[s] = true
	}
	for i, in := range subsets {
		if in.Name == "" {
			return nil, fmt.Errorf("subset %d: empty name", i)
		}
		if present[in.Name] {
			return nil, fmt.Errorf("subset %q: listed twice", in.Name)
		}
		present[in.Name] = true
		if in.Examples < 1 {
			return nil, fmt.Errorf("subset %q: %d examples", in.Name, in.Examples)
		}
		r := ResolvedSubset{Name: in.Name, Examples: in.Examples}
		if off, ok := d.Subset(in.Name); ok {
			if in.Section != "" && in.Section != off.Section {
				return nil, fmt.Errorf("subset %q: section %q in the data, %q in target %q",
					in.Name, in.Section, off.Section, d.Name)
			}
			r.Section, r.Category, r.Weight, r.Official = off.Section, off.Category, off.Weight, true
		} else {
			if in.Section == "" {
				return nil, fmt.Errorf("subset %q: not in target %q and the data gives no section", in.Name, d.Name)
			}
			if !sections[in.Section] {
				return nil, fmt.Errorf("subset %q: section %q is not a section of target %q", in.Name, in.Section, d.Name)
			}
			r.Section = in.Section
			r.Category = d.CategoryFor(in.Name, in.Section)
			r.Weight = float64(in.Examples)
			sc.deviations = append(sc.deviations, Deviation{
				Name: r.Name, Section: r.Section, Category: r.Category, Weight: r.Weight, Reason: ReasonUnknown,
			})
		}
		sc.subsets = append(sc.subsets, r)
	}
	for _, off := range d.Subsets {
		if !present[off.Name] {
			sc.deviations = append(sc.deviations, Deviation{
				Name: off.Name, Section: off.Section, Category: off.Category, Weight: off.Weight, Reason: ReasonMissing,
			})
		}
	}
	sc.buildCoefficients()
	return sc, nil
}

// buildCoefficients fills the sparse coefficient table. A section or
// non-section tail-patch category is the weighted mean of its subsets;
// Overall divides each section's coefficients by the number of sections
// present.
func (sc *Scorer) buildCoefficients() {
	members := func(c Category, s ResolvedSubset) bool {
		if c.Section {
			return s.Section == c.Name
		}
		return s.Category == c.Name
	}
	total := func(c Category) float64 {
		var w float64
		for _, s := range sc.subsets {
			if members(c, s) {
				w += s.Weight
			}
		}
		return w
	}
	sectionTotal := map[string]float64{}
	for _, c := range sc.categories {
		if c.Section {
			if w := total(c); w > 0 {
				sectionTotal[c.Name] = w
			}
		}
	}
	nSections := float64(len(sectionTotal))
	sc.off = make([]int, 0, len(sc.categories)+1)
	for _, c := range sc.categories {
		sc.off = append(sc.off, len(sc.idx))
		if c.Name == OverallName {
			for i, s := range sc.subsets {
				sc.idx = append(sc.idx, i)
				sc.coef = append(sc.coef, s.Weight/sectionTotal[s.Section]/nSections)
			}
			continue
		}
		w := total(c)
		for i, s := range sc.subsets {
			if members(c, s) {
				sc.idx = append(sc.idx, i)
				sc.coef = append(sc.coef, s.Weight/w)
			}
		}
	}
	sc.off = append(sc.off, len(sc.idx))
}

// Target returns the name of the definition the scorer was resolved from.
func (sc *Scorer) Target() string { return sc.target }

// Subsets returns the subsets in scorer order.
func (sc *Scorer) Subsets() []ResolvedSubset { return append([]ResolvedSubset(nil), sc.subsets...) }

// NumSubsets returns the number of subsets, the length Score and ScoreInto
// expect their per-subset arguments to have.
func (sc *Scorer) NumSubsets() int { return len(sc.subsets) }

// SubsetIndex returns the scorer index of the named subset, or -1.
func (sc *Scorer) SubsetIndex(name string) int {
	for i, s := range sc.subsets {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// Categories returns the categories in the fixed order of scores.
func (sc *Scorer) Categories() []Category { return append([]Category(nil), sc.categories...) }

// NumCategories returns the number of categories, the length of a score
// vector.
func (sc *Scorer) NumCategories() int { return len(sc.categories) }

// CategoryIndex returns the index of the named category in a score vector,
// or -1.
func (sc *Scorer) CategoryIndex(name string) int {
	for i, c := range sc.categories {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// TailPatchIndices returns the score-vector indices of the tail-patch
// categories in the definition's TailPatch order (for RewardBench the
// paper's Chat, Chat Hard, Math, Coding, Safety).
func (sc *Scorer) TailPatchIndices() []int { return append([]int(nil), sc.tailPatch...) }

// Deviations returns the subsets the definition does not list (in scorer
// order), then the official subsets the suite lacks (in definition order).
func (sc *Scorer) Deviations() []Deviation { return append([]Deviation(nil), sc.deviations...) }

// Coefficients returns category c's coefficient for every subset, in scorer
// order: score_c = Σ_s coef[s]·acc_s. It returns nil for a category that
// scores NaN because the suite has none of its subsets.
func (sc *Scorer) Coefficients(c int) []float64 {
	lo, hi := sc.off[c], sc.off[c+1]
	if lo == hi {
		return nil
	}
	dense := make([]float64, len(sc.subsets))
	for k := lo; k < hi; k++ {
		dense[sc.idx[k]] = sc.coef[k]
	}
	return dense
}

// Score returns the category scores for per-subset counts in scorer order.
// A subset with Total 0 has an undefined accuracy, which makes every
// category containing it NaN. It panics if len(counts) != NumSubsets().
func (sc *Scorer) Score(counts []Counts) []float64 {
	if len(counts) != len(sc.subsets) {
		panic(fmt.Sprintf("target: %d counts for %d subsets", len(counts), len(sc.subsets)))
	}
	acc := make([]float64, len(counts))
	for i, c := range counts {
		acc[i] = math.NaN()
		if c.Total > 0 {
			acc[i] = float64(c.Correct) / float64(c.Total)
		}
	}
	dst := make([]float64, len(sc.categories))
	sc.ScoreAccInto(dst, acc)
	return dst
}

// ScoreInto writes the category scores for per-subset correct and total
// counts (as float64, so bootstrap weights may be fractional) into dst. It
// does not allocate and, for positive totals, gives bit for bit the result
// of Score on the same counts. It panics if the lengths do not match the
// scorer.
func (sc *Scorer) ScoreInto(dst, correct, total []float64) {
	if len(dst) != len(sc.categories) || len(correct) != len(sc.subsets) || len(total) != len(sc.subsets) {
		panic(fmt.Sprintf("target: ScoreInto lengths %d, %d, %d; want %d, %d, %d",
			len(dst), len(correct), len(total), len(sc.categories), len(sc.subsets), len(sc.subsets)))
	}
	// Every subset is in up to three categories (section, tail-patch
	// category, Overall), so dividing once per subset into a stack buffer
	// saves two thirds of the divisions, which dominate the loop.
	if len(correct) <= stackSubsets {
		var buf [stackSubsets]float64
		acc := buf[:len(correct)]
		for i := range acc {
			acc[i] = correct[i] / total[i]
		}
		sc.ScoreAccInto(dst, acc)
		return
	}
	for c := range dst {
		lo, hi := sc.off[c], sc.off[c+1]
		if lo == hi {
			dst[c] = math.NaN()
			continue
		}
		var s float64
		for k := lo; k < hi; k++ {
			i := sc.idx[k]
			s += sc.coef[k] * (correct[i] / total[i])
		}
		dst[c] = s
	}
}

// stackSubsets is the most subsets ScoreInto divides into a stack buffer
// (RewardBench has 23); larger suites divide per coefficient instead.
const stackSubsets = 32

// ScoreAccInto writes the category scores for per-subset accuracies into
// dst. It does not allocate. It panics if the lengths do not match the
// scorer.
func (sc *Scorer) ScoreAccInto(dst, acc []float64) {
	if len(dst) != len(sc.categories) || len(acc) != len(sc.subsets) {
		panic(fmt.Sprintf("target: ScoreAccInto lengths %d, %d; want %d, %d",
			len(dst), len(acc), len(sc.categories), len(sc.subsets)))
	}
	for c := range dst {
		lo, hi := sc.off[c], sc.off[c+1]
		if lo == hi {
			dst[c] = math.NaN()
			continue
		}
		idx, coef := sc.idx[lo:hi], sc.coef[lo:hi]
		coef = coef[:len(idx)] // lets the compiler drop the bounds check on coef[k]
		var s float64
		for k, i := range idx {
			s += coef[k] * acc[i]
		}
		dst[c] = s
	}
}

// Tally counts correct outcomes per group: groups[s] lists the example
// indices of subset s (as Split.BySubset returns them) and correct is
// indexed by example.
func Tally(correct []bool, groups [][]int) []Counts {
	counts := make([]Counts, len(groups))
	for s, g := range groups {
		counts[s].Total = len(g)
		for _, i := range g {
			if correct[i] {
				counts[s].Correct++
			}
		}
	}
	return counts
}

// Outcome reports whether a pairwise example is correct: the chosen
// response must score strictly above the rejected one. Ties count as wrong,
// as in RewardBench, so a constant scorer gets 0, not 50%. A NaN score is
// wrong too.
func Outcome(chosen, rejected float64) bool { return chosen > rejected }

// Percent converts a score fraction to the 0–100 scale used for display.
func Percent(x float64) float64 { return 100 * x }
