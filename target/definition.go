// Package target defines evaluation targets (such as RewardBench): their
// subsets, sections, tail-patch categories and weights, how a score is
// computed from per-subset accuracies, and the deterministic dev/test split
// of a target suite.
package target

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// OverallName is the name of the overall category every definition scores:
// the plain mean of its section scores.
const OverallName = "Overall"

// Subset is one official subset of a target.
type Subset struct {
	// Name is the subset name as it appears in the data's subset column.
	Name string
	// Section is the scoring section the subset belongs to.
	Section string
	// Weight is the subset's weight within its section and tail-patch
	// category (RewardBench's EXAMPLE_COUNTS). It need not equal the
	// number of rows: math-prm has 447 rows and weight 984.
	Weight float64
	// Category is the tail-patch category the subset counts towards, or ""
	// for none. When the section is itself a tail-patch category, Category
	// must equal the section.
	Category string
}

// CategoryRule assigns a tail-patch category to subsets the definition does
// not list, by name. A rule matches a subset of Section whose lower-cased
// name starts with one of Prefixes or contains one of Contains (both
// lower-case).
type CategoryRule struct {
	Section  string
	Prefixes []string
	Contains []string
	Category string
}

func (r CategoryRule) matches(name, section string) bool {
	if section != r.Section {
		return false
	}
	lower := strings.ToLower(name)
	for _, p := range r.Prefixes {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	for _, c := range r.Contains {
		if strings.Contains(lower, c) {
			return true
		}
	}
	return false
}

// Definition describes a target: what it is called, which subsets it has,
// how they group into sections and tail-patch categories, their weights, and
// how the target suite is split into dev and test halves.
//
// Its categories, in the fixed order Categories returns, are the Sections,
// then the TailPatch categories that are not sections, then Overall.
type Definition struct {
	// Name is the key the registry knows the target by (--target).
	Name string
	// Suite is the eval suite name trainers know the target by.
	Suite string
	// Sections are the scoring sections, in report order.
	Sections []string
	// TailPatch are the categories tail patches are rated on, in report
	// order. One that is also a section scores exactly like the section;
	// the others score the subsets assigned to them.
	TailPatch []string
	// Subsets are the official subsets, in report order.
	Subsets []Subset
	// Rules assign tail-patch categories to subsets the definition does not
	// list (substitutes in a local suite). They are tried in order and the
	// first match wins. A subset of a section that is itself a tail-patch
	// category always gets that category; a subset no rule matches gets
	// none and counts only towards its section and Overall.
	Rules []CategoryRule
	// SplitSalt salts the hash that assigns target examples to dev or test.
	// Changing it gives an independent split.
	SplitSalt string
	// DevFraction is the share of each subset's examples hashed to dev, in
	// (0, 1).
	DevFraction float64
}

// Category describes one scored category.
type Category struct {
	Name string
	// Section is set for the definition's sections.
	Section bool
	// TailPatch is set for the categories tail patches are rated on.
	TailPatch bool
}

// ErrInvalid marks a definition that fails validation.
var ErrInvalid = errors.New("invalid target definition")

// Validate checks the definition for internal consistency.
func (d *Definition) Validate() error {
	if err := d.validate(); err != nil {
		return fmt.Errorf("target %q: %w: %w", d.Name, ErrInvalid, err)
	}
	return nil
}

func (d *Definition) validate() error {
	if d.Name == "" {
		return errors.New("empty name")
	}
	if d.Suite == "" {
		return errors.New("empty suite name")
	}
	if len(d.Sections) == 0 {
		return errors.New("no sections")
	}
	if !(d.DevFraction > 0 && d.DevFraction < 1) {
		return fmt.Errorf("dev fraction %v outside (0, 1)", d.DevFraction)
	}
	if d.SplitSalt == "" {
		return errors.New("empty split salt")
	}
	names := map[string]bool{}
	for _, s := range d.Sections {
		if s == "" || s == OverallName || names[s] {
			return fmt.Errorf("section %q: empty, reserved or repeated", s)
		}
		names[s] = true
	}
	tail := map[string]bool{}
	for _, c := range d.TailPatch {
		if c == "" || c == OverallName || tail[c] {
			return fmt.Errorf("tail-patch category %q: empty, reserved or repeated", c)
		}
		tail[c] = true
	}
	seen := map[string]bool{}
	for _, s := range d.Subsets {
		switch {
		case s.Name == "":
			return errors.New("subset with empty name")
		case seen[s.Name]:
			return fmt.Errorf("subset %q listed twice", s.Name)
		case !names[s.Section]:
			return fmt.Errorf("subset %q: unknown section %q", s.Name, s.Section)
		case !(s.Weight > 0) || math.IsInf(s.Weight, 0):
			return fmt.Errorf("subset %q: weight %v not positive and finite", s.Name, s.Weight)
		case s.Category != "" && !tail[s.Category]:
			return fmt.Errorf("subset %q: unknown tail-patch category %q", s.Name, s.Category)
		case tail[s.Section] && s.Category != s.Section:
			return fmt.Errorf("subset %q: section %q is a tail-patch category, so its category must be %q, not %q",
				s.Name, s.Section, s.Section, s.Category)
		}
		seen[s.Name] = true
	}
	for i, r := range d.Rules {
		if !names[r.Section] {
			return fmt.Errorf("rule %d: unknown section %q", i, r.Section)
		}
		if !tail[r.Category] {
			return fmt.Errorf("rule %d: unknown tail-patch category %q", i, r.Category)
		}
		if tail[r.Section] {
			return fmt.Errorf("rule %d: section %q is itself a tail-patch category", i, r.Section)
		}
		for _, p := range slices.Concat(r.Prefixes, r.Contains) {
			if p == "" || p != strings.ToLower(p) {
				return fmt.Errorf("rule %d: pattern %q must be non-empty lower case", i, p)
			}
		}
	}
	return nil
}

// Categories returns the scored categories in their fixed order: the
// sections, then the tail-patch categories that are not sections, then
// Overall. Scores are always reported in this order.
func (d *Definition) Categories() []Category {
	tail := map[string]bool{}
	for _, c := range d.TailPatch {
		tail[c] = true
	}
	var cats []Category
	sections := map[string]bool{}
	for _, s := range d.Sections {
		sections[s] = true
		cats = append(cats, Category{Name: s, Section: true, TailPatch: tail[s]})
	}
	for _, c := range d.TailPatch {
		if !sections[c] {
			cats = append(cats, Category{Name: c, TailPatch: true})
		}
	}
	return append(cats, Category{Name: OverallName})
}

// Subset returns the official subset called name.
func (d *Definition) Subset(name string) (Subset, bool) {
	i := slices.IndexFunc(d.Subsets, func(s Subset) bool { return s.Name == name })
	if i < 0 {
		return Subset{}, false
	}
	return d.Subsets[i], true
}

// CategoryFor returns the tail-patch category a subset the definition does
// not list gets by rule, or "" for none. A subset of a section that is
// itself a tail-patch category gets that category; otherwise the first
// matching rule decides.
func (d *Definition) CategoryFor(name, section string) string {
	if slices.Contains(d.TailPatch, section) {
		return section
	}
	for _, r := range d.Rules {
		if r.matches(name, section) {
			return r.Category
		}
	}
	return ""
}

// Clone returns a deep copy, so a registry entry cannot be changed through
// a returned definition.
func (d *Definition) Clone() *Definition {
	c := *d
	c.Sections = slices.Clone(d.Sections)
	c.TailPatch = slices.Clone(d.TailPatch)
	c.Subsets = slices.Clone(d.Subsets)
	c.Rules = slices.Clone(d.Rules)
	for i := range c.Rules {
		c.Rules[i].Prefixes = slices.Clone(c.Rules[i].Prefixes)
		c.Rules[i].Contains = slices.Clone(c.Rules[i].Contains)
	}
	return &c
}
