package dataset

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
)

// TaskRule names the version of the task-derivation rules. It is part of
// every task's content hash; change it whenever Tasks would derive different
// units from the same dataset and options.
const TaskRule = "mixopt.tasks.v1"

// DefaultMaxPairsPerPrompt caps the pairs derived from one prompt when
// TaskOptions.MaxPairsPerPrompt is zero.
const DefaultMaxPairsPerPrompt = 16

// PairsSuffix ends the name of a task of pairs derived from pointwise or
// classification rows.
const PairsSuffix = "/pairs"

// TaskOptions tunes Tasks. The zero value uses the defaults.
type TaskOptions struct {
	// MaxPairsPerPrompt caps the pairs derived from one prompt, so that a
	// prompt with many rated responses does not dominate a task. Zero means
	// DefaultMaxPairsPerPrompt; a negative value means no cap.
	MaxPairsPerPrompt int
	// Labels maps dataset name → label → value in [0, 1], overriding or
	// extending the built-in lexicon (see LabelValue) for that dataset.
	// Labels match case-insensitively. The built-in lexicon:
	//
	//	correct 1, incorrect 0
	//	Safe 1, Unsafe 0
	//	not jailbroken 1, jailbroken 0
	//	no mistake 1, mistake 0
	//	Fully attributable 1, Not fully attributable 0, Generic 0
	//	consistent 1, inconsistent 0
	//	SUPPORTS 1, REFUTES 0, NOT ENOUGH INFO 0.5
	//	Useful 1, Partially useful 0.5, Not useful at all 0
	Labels map[string]map[string]float64
}

func (o TaskOptions) maxPairs() int {
	switch {
	case o.MaxPairsPerPrompt == 0:
		return DefaultMaxPairsPerPrompt
	case o.MaxPairsPerPrompt < 0:
		return -1
	}
	return o.MaxPairsPerPrompt
}

// Tasks derives the training tasks of d (FLAMe: a task is not a dataset):
//
//   - pairwise: one task named after the dataset, ObjPairwise, its pairs as
//     they are (the slice is shared with d);
//   - pointwise: "<name>", ObjPointwise, each row a Point with Target =
//     (score-min)/(max-min); and "<name>/pairs", ObjPairwise;
//   - classification: "<name>", ObjClassification, each row a Point whose
//     Target is its label's value (opts.Labels, else the built-in lexicon);
//     and "<name>/pairs", ObjPairwise.
//
// Derived pairs: rows are grouped by exact prompt text, groups in order of
// first appearance. Within a group every two responses whose values differ
// make a pair, the higher value chosen, with ID "<id_chosen>|<id_rejected>";
// two responses with identical text are never paired, because neither can
// be preferred. Past opts.MaxPairsPerPrompt pairs in a group, the pairs with
// the smallest FNV-1a 64 hash of their ID are kept, which is deterministic and
// unrelated to row order; kept pairs stay in row order. A "/pairs" task is
// omitted when no group yields a pair. The work is quadratic in the size of a
// group, not of the dataset.
//
// Tasks are returned in name order. An unknown label is an *Error naming the
// file, line and field "label".
func Tasks(d *Dataset, opts TaskOptions) ([]Task, error) {
	if err := checkName(d.Name); err != nil {
		return nil, fmt.Errorf("tasks of dataset %q: %w", d.Name, err)
	}
	dataHash := d.ContentHash
	if dataHash == "" {
		dataHash = HashDataset(d)
	}
	newTask := func(name string, obj Objective, opt func(*hasher)) Task {
		h := newHasher("mixopt.task.v1")
		h.str(TaskRule)
		h.str(dataHash)
		h.str(name)
		h.str(obj.String())
		if opt != nil {
			opt(h)
		}
		return Task{Name: name, Dataset: d.Name, Objective: obj, ContentHash: h.sum()}
	}
	maxPairs := opts.maxPairs()
	pairOpt := func(h *hasher) { h.int(int64(maxPairs)) }

	var units []unit
	var native Task
	switch d.Kind {
	case Pairwise:
		t := newTask(d.Name, ObjPairwise, nil)
		t.Pairs = slices.Clip(d.Pairs)
		return []Task{t}, nil
	case Pointwise:
		native = newTask(d.Name, ObjPointwise, nil)
		native.Points = make([]Point, len(d.Rated))
		units = make([]unit, len(d.Rated))
		for i, x := range d.Rated {
			v := x.Scale.Normalize(x.Score)
			native.Points[i] = Point{ID: x.ID, Prompt: x.Prompt, Response: x.Response, Target: v}
			units[i] = unit{id: x.ID, prompt: x.Prompt, response: x.Response, value: v}
		}
	case Classification:
		lv, err := opts.labelsFor(d.Name)
		if err != nil {
			return nil, err
		}
		used := make(map[string]float64)
		units = make([]unit, len(d.Labeled))
		for i, x := range d.Labeled {
			v, ok := lv.value(x.Label)
			if !ok {
				return nil, d.errAt(i, "label", fmt.Sprintf(
					"unknown label %q; give its value in [0, 1] with a label mapping for dataset %q (TaskOptions.Labels[%q][%q])",
					x.Label, d.Name, d.Name, x.Label))
			}
			used[foldLabel(x.Label)] = v
			units[i] = unit{id: x.ID, prompt: x.Prompt, response: x.Response, value: v}
		}
		// The label values used are options that change the task.
		labelOpt := func(h *hasher) {
			for _, l := range slices.Sorted(maps.Keys(used)) {
				h.str(l)
				h.num(used[l])
			}
		}
		native = newTask(d.Name, ObjClassification, labelOpt)
		native.Points = make([]Point, len(units))
		for i, u := range units {
			native.Points[i] = Point{ID: u.id, Prompt: u.prompt, Response: u.response, Target: u.value}
		}
		pairOpt = func(h *hasher) {
			h.int(int64(maxPairs))
			labelOpt(h)
		}
	default:
		return nil, fmt.Errorf("tasks of %s: invalid kind %v", d.Name, d.Kind)
	}
	tasks := []Task{native}
	if pairs := derivePairs(units, maxPairs); len(pairs) > 0 {
		t := newTask(d.Name+PairsSuffix, ObjPairwise, pairOpt)
		t.Pairs = pairs
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// unit is a row reduced to what pair derivation needs.
type unit struct {
	id, prompt, response string
	value                float64
}

type candidate struct {
	chosen, rejected int // indexes into units
	key              uint64
}

// derivePairs implements the pair rule documented on Tasks. maxPairs < 0
// means no cap.
func derivePairs(units []unit, maxPairs int) []Pair {
	groupOf := make(map[string]int)
	var groups [][]int
	for i, u := range units {
		g, ok := groupOf[u.prompt]
		if !ok {
			g = len(groups)
			groupOf[u.prompt] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	var pairs []Pair
	var cands []candidate
	for _, g := range groups {
		cands = cands[:0]
		for a := 0; a < len(g); a++ {
			for b := a + 1; b < len(g); b++ {
				ua, ub := &units[g[a]], &units[g[b]]
				if ua.value == ub.value || ua.response == ub.response {
					continue
				}
				c := candidate{chosen: g[a], rejected: g[b]}
				if ub.value > ua.value {
					c.chosen, c.rejected = g[b], g[a]
				}
				cands = append(cands, c)
			}
		}
		if maxPairs >= 0 && len(cands) > maxPairs {
			for i := range cands {
				cands[i].key = pairKey(units[cands[i].chosen].id, units[cands[i].rejected].id)
			}
			// Keep the smallest keys; ties (hash collisions) fall back to
			// row order so that the choice stays total.
			slices.SortFunc(cands, func(x, y candidate) int {
				return cmp.Or(cmp.Compare(x.key, y.key), compareRows(x, y))
			})
			cands = cands[:maxPairs]
			slices.SortFunc(cands, compareRows)
		}
		for _, c := range cands {
			ch, rj := &units[c.chosen], &units[c.rejected]
			pairs = append(pairs, Pair{
				ID:       ch.id + "|" + rj.id,
				Prompt:   ch.prompt,
				Chosen:   ch.response,
				Rejected: rj.response,
			})
		}
	}
	return pairs
}

// compareRows orders candidates by the rows of their two responses, earlier
// row first, as they were enumerated.
func compareRows(x, y candidate) int {
	return cmp.Or(
		cmp.Compare(min(x.chosen, x.rejected), min(y.chosen, y.rejected)),
		cmp.Compare(max(x.chosen, x.rejected), max(y.chosen, y.rejected)))
}

// pairKey is the FNV-1a 64 hash of a derived pair's ID.
func pairKey(chosenID, rejectedID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(chosenID))
	h.Write([]byte{'|'})
	h.Write([]byte(rejectedID))
	return h.Sum64()
}

// Tasks derives the tasks of every dataset in c (see the function Tasks),
// sorted by name.
func (c *Collection) Tasks(opts TaskOptions) ([]Task, error) {
	var all []Task
	for _, d := range c.Datasets {
		ts, err := Tasks(d, opts)
		if err != nil {
			return nil, err
		}
		all = append(all, ts...)
	}
	slices.SortFunc(all, func(a, b Task) int { return cmp.Compare(a.Name, b.Name) })
	for i := 1; i < len(all); i++ {
		if all[i].Name == all[i-1].Name {
			return nil, fmt.Errorf("tasks: two datasets yield task %q", all[i].Name)
		}
	}
	return all, nil
}
