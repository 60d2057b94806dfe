// Package dataset loads human-judgment datasets and target suites, validates
// them, gives each a content hash, and derives the training tasks a dataset
// yields (FLAMe: a task is not a dataset).
package dataset

import "fmt"

// Kind is the shape of a dataset's rows.
type Kind int

const (
	// Pairwise rows are (prompt, chosen, rejected).
	Pairwise Kind = iota + 1
	// Pointwise rows are (prompt, response, score on a scale).
	Pointwise
	// Classification rows are (prompt, response, label).
	Classification
)

func (k Kind) String() string {
	switch k {
	case Pairwise:
		return "pairwise"
	case Pointwise:
		return "pointwise"
	case Classification:
		return "classification"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Pair is one pairwise judgment: chosen was preferred to rejected.
type Pair struct {
	ID       string
	Prompt   string
	Chosen   string
	Rejected string
}

// Scale is the closed range a pointwise score lies on, e.g. "0-4".
type Scale struct {
	Min, Max float64
}

// Rated is one pointwise judgment.
type Rated struct {
	ID       string
	Prompt   string
	Response string
	Score    float64
	Scale    Scale
}

// Labeled is one classification judgment.
type Labeled struct {
	ID       string
	Prompt   string
	Response string
	Label    string
}

// Dataset is one loaded training dataset. Exactly one of Pairs, Rated and
// Labeled is filled, according to Kind, in file order.
type Dataset struct {
	Name string
	Kind Kind
	// Path is the file the dataset was read from.
	Path string
	// ContentHash is "sha256:<hex>" over the canonical content of the rows
	// (not the file bytes), so the same rows read from JSONL, gzip, Arrow or
	// Parquet hash alike.
	ContentHash string
	Pairs       []Pair
	Rated       []Rated
	Labeled     []Labeled

	// origin maps rows to the lines they were read from; empty for datasets
	// built in code.
	origin origin
}

// Len returns the number of rows.
func (d *Dataset) Len() int {
	switch d.Kind {
	case Pairwise:
		return len(d.Pairs)
	case Pointwise:
		return len(d.Rated)
	case Classification:
		return len(d.Labeled)
	}
	return 0
}

// TargetExample is one pairwise example of a target suite.
type TargetExample struct {
	ID       string
	Section  string
	Subset   string
	Prompt   string
	Chosen   string
	Rejected string
}

// SubsetInfo names a subset of a suite and counts its examples.
type SubsetInfo struct {
	Name     string
	Section  string
	Examples int
}

// Suite is a target suite: pairwise examples grouped into subsets.
type Suite struct {
	Name string
	// Paths are the files the suite was read from, in load order.
	Paths       []string
	ContentHash string
	// Examples are in canonical order: files sorted by name, rows in file
	// order.
	Examples []TargetExample
	// Subsets are in order of first appearance in Examples.
	Subsets []SubsetInfo
}

// Objective is the loss a task is trained with.
type Objective int

const (
	// ObjPairwise trains chosen above rejected.
	ObjPairwise Objective = iota + 1
	// ObjPointwise regresses a rating normalised to [0, 1].
	ObjPointwise
	// ObjClassification predicts a label mapped to a value in [0, 1].
	ObjClassification
)

func (o Objective) String() string {
	switch o {
	case ObjPairwise:
		return "pairwise"
	case ObjPointwise:
		return "pointwise"
	case ObjClassification:
		return "classification"
	}
	return fmt.Sprintf("Objective(%d)", int(o))
}

// Point is one pointwise training unit: the reward of Response should track
// Target, which lies in [0, 1] (a normalised rating or a label's value).
type Point struct {
	ID       string
	Prompt   string
	Response string
	Target   float64
}

// Task is a training task derived from a dataset. Pairs is filled for
// ObjPairwise, Points otherwise.
type Task struct {
	// Name is the dataset name for the dataset's native task and
	// "<dataset>/pairs" for pairs derived from pointwise or classification
	// rows.
	Name      string
	Dataset   string
	Objective Objective
	// ContentHash covers the dataset's content hash and the derivation rule
	// (with its options), so a changed dataset or rule changes it.
	ContentHash string
	Pairs       []Pair
	Points      []Point
}

// Len returns the number of training units.
func (t *Task) Len() int {
	if t.Objective == ObjPairwise {
		return len(t.Pairs)
	}
	return len(t.Points)
}
