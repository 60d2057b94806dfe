package reftrainer

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mixopt/mixopt/dataset"
	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"github.com/mixopt/mixopt/rewardmodel"
	"github.com/mixopt/mixopt/target"
)

// heldoutSalt keys the split of each task into training and held-out units.
// Changing it changes every task's training set, so it is fixed.
const heldoutSalt = "mixopt-heldout-v1"

// heldoutPrefix starts the name of a task's held-out eval suite.
const heldoutPrefix = "heldout/"

// catalog is the trainer's view of its data: tasks to train on and suites to
// evaluate, each featurised once, on first use.
type catalog struct {
	feat     *rewardmodel.Featurizer
	datasets []*trainerv1.DatasetInfo
	tasks    map[string]*taskEntry
	suites   map[string]*suiteEntry
	// suiteNames lists suites in Describe order.
	suiteNames []string
}

type taskEntry struct {
	info *trainerv1.TaskInfo
	task *dataset.Task
	keep func(id string) bool

	once  sync.Once
	train *rewardmodel.TaskData
}

// data returns the task's training units, featurising them on first use.
func (t *taskEntry) data(f *rewardmodel.Featurizer) *rewardmodel.TaskData {
	t.once.Do(func() { t.train = rewardmodel.FeaturizeTask(f, t.task, t.keep) })
	return t.train
}

// evalExample is one pairwise example of an eval suite.
type evalExample struct {
	id, subset, section      string
	prompt, chosen, rejected string
}

type suiteEntry struct {
	info     *trainerv1.EvalSuiteInfo
	examples []evalExample
	index    map[string]int

	subsetOf []int // example → subset position in info.Subsets

	once             sync.Once
	chosen, rejected []rewardmodel.Vector
}

func (s *suiteEntry) features(f *rewardmodel.Featurizer) {
	s.once.Do(func() {
		ex := s.examples
		s.chosen = rewardmodel.FeaturizeAll(f, len(ex), func(i int) (string, string) { return ex[i].prompt, ex[i].chosen })
		s.rejected = rewardmodel.FeaturizeAll(f, len(ex), func(i int) (string, string) { return ex[i].prompt, ex[i].rejected })
	})
}

// loadCatalog reads every dataset and the target suite under dataDir. It
// refuses data files that resolve outside dataDir (through symbolic links), so
// the trainer never reads beyond the directory it was given.
func loadCatalog(dataDir, suiteName string, dim int, heldout float64) (*catalog, error) {
	root, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	col, err := dataset.LoadDir(dataDir, dataset.LoadOptions{SuiteName: suiteName})
	if err != nil {
		return nil, err
	}
	inside := func(path string) error {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, real)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s resolves to %s, outside the data directory %s", path, real, root)
		}
		return nil
	}

	c := &catalog{
		feat:   rewardmodel.NewFeaturizer(dim),
		tasks:  map[string]*taskEntry{},
		suites: map[string]*suiteEntry{},
	}
	for _, d := range col.Datasets {
		if err := inside(d.Path); err != nil {
			return nil, err
		}
		tasks, err := dataset.Tasks(d, dataset.TaskOptions{})
		if err != nil {
			return nil, err
		}
		di := &trainerv1.DatasetInfo{
			Name:        d.Name,
			Kind:        kindProto(d.Kind),
			Examples:    int64(d.Len()),
			ContentHash: d.ContentHash,
			Source:      d.Path,
		}
		for i := range tasks {
			t := &tasks[i]
			keep := func(id string) bool { return !dataset.InSplit(id, heldoutSalt, heldout) }
			e := &taskEntry{task: t, keep: keep, info: &trainerv1.TaskInfo{
				Name:        t.Name,
				Dataset:     d.Name,
				Objective:   objectiveProto(t.Objective),
				Examples:    int64(t.Len()),
				ContentHash: t.ContentHash,
			}}
			var held []evalExample
			for u := 0; u < t.Len(); u++ {
				if t.Objective == dataset.ObjPairwise && !keep(t.Pairs[u].ID) {
					p := t.Pairs[u]
					held = append(held, evalExample{id: p.ID, subset: t.Name, prompt: p.Prompt, chosen: p.Chosen, rejected: p.Rejected})
				}
			}
			e.info.TrainExamples = int64(t.Len() - len(held))
			if t.Objective != dataset.ObjPairwise {
				// Point tasks hold out the same slice, which no suite scores.
				n := 0
				for u := 0; u < t.Len(); u++ {
					if keep(t.Points[u].ID) {
						n++
					}
				}
				e.info.TrainExamples = int64(n)
			}
			if len(held) > 0 {
				name := heldoutPrefix + t.Name
				e.info.HeldoutSuite = name
				if err := c.addSuite(name, t.ContentHash, held); err != nil {
					return nil, err
				}
			}
			c.tasks[t.Name] = e
			di.Tasks = append(di.Tasks, e.info)
		}
		slices.SortFunc(di.Tasks, func(a, b *trainerv1.TaskInfo) int { return strings.Compare(a.Name, b.Name) })
		c.datasets = append(c.datasets, di)
	}
	slices.SortFunc(c.datasets, func(a, b *trainerv1.DatasetInfo) int { return strings.Compare(a.Name, b.Name) })

	if col.Suite != nil {
		for _, p := range col.Suite.Paths {
			if err := inside(p); err != nil {
				return nil, err
			}
		}
		ex := make([]evalExample, len(col.Suite.Examples))
		for i, e := range col.Suite.Examples {
			ex[i] = evalExample{id: e.ID, subset: e.Subset, section: e.Section, prompt: e.Prompt, chosen: e.Chosen, rejected: e.Rejected}
		}
		if err := c.addSuite(col.Suite.Name, col.Suite.ContentHash, ex); err != nil {
			return nil, err
		}
	}
	slices.Sort(c.suiteNames)
	return c, nil
}

func (c *catalog) addSuite(name, hash string, ex []evalExample) error {
	if _, dup := c.suites[name]; dup {
		return fmt.Errorf("eval suite %q defined twice", name)
	}
	s := &suiteEntry{
		info:     &trainerv1.EvalSuiteInfo{Name: name, Examples: int64(len(ex)), ContentHash: hash},
		examples: ex,
		index:    make(map[string]int, len(ex)),
		subsetOf: make([]int, len(ex)),
	}
	pos := map[string]int{}
	for i, e := range ex {
		if _, dup := s.index[e.id]; dup {
			return fmt.Errorf("eval suite %q: duplicate example id %q", name, e.id)
		}
		s.index[e.id] = i
		p, ok := pos[e.subset]
		if !ok {
			p = len(s.info.Subsets)
			pos[e.subset] = p
			s.info.Subsets = append(s.info.Subsets, &trainerv1.SubsetInfo{Name: e.subset, Section: e.section})
		}
		s.info.Subsets[p].Examples++
		s.subsetOf[i] = p
	}
	c.suites[name] = s
	c.suiteNames = append(c.suiteNames, name)
	return nil
}

// selection resolves example ids to suite positions in suite order; empty
// ids select the whole suite. It returns the first unknown id, if any.
func (s *suiteEntry) selection(ids []string) ([]int, string) {
	if len(ids) == 0 {
		all := make([]int, len(s.examples))
		for i := range all {
			all[i] = i
		}
		return all, ""
	}
	sel := make([]int, 0, len(ids))
	for _, id := range ids {
		i, ok := s.index[id]
		if !ok {
			return nil, id
		}
		sel = append(sel, i)
	}
	slices.Sort(sel)
	return slices.Compact(sel), ""
}

// evaluate scores m on the selected examples: per-subset counts in suite
// order (subsets without a selected example omitted) and, if asked, one
// outcome per example. An example is correct iff chosen outscores rejected.
func (s *suiteEntry) evaluate(f *rewardmodel.Featurizer, m *rewardmodel.Model, sel []int, withExamples bool) ([]*trainerv1.SubsetResult, []*trainerv1.ExampleOutcome) {
	s.features(f)
	correct := make([]int64, len(s.info.Subsets))
	total := make([]int64, len(s.info.Subsets))
	var out []*trainerv1.ExampleOutcome
	if withExamples {
		out = make([]*trainerv1.ExampleOutcome, 0, len(sel))
	}
	for _, i := range sel {
		c, r := m.Score(&s.chosen[i]), m.Score(&s.rejected[i])
		ok := target.Outcome(c, r)
		p := s.subsetOf[i]
		total[p]++
		if ok {
			correct[p]++
		}
		if withExamples {
			e := &s.examples[i]
			out = append(out, &trainerv1.ExampleOutcome{ExampleId: e.id, Subset: e.subset, ChosenScore: c, RejectedScore: r, Correct: ok})
		}
	}
	var res []*trainerv1.SubsetResult
	for p, info := range s.info.Subsets {
		if total[p] > 0 {
			res = append(res, &trainerv1.SubsetResult{Subset: info.Name, Section: info.Section, Correct: correct[p], Total: total[p]})
		}
	}
	return res, out
}

func kindProto(k dataset.Kind) trainerv1.DatasetKind {
	switch k {
	case dataset.Pairwise:
		return trainerv1.DatasetKind_DATASET_KIND_PAIRWISE
	case dataset.Pointwise:
		return trainerv1.DatasetKind_DATASET_KIND_POINTWISE
	case dataset.Classification:
		return trainerv1.DatasetKind_DATASET_KIND_CLASSIFICATION
	}
	return trainerv1.DatasetKind_DATASET_KIND_UNSPECIFIED
}

func objectiveProto(o dataset.Objective) trainerv1.Objective {
	switch o {
	case dataset.ObjPairwise:
		return trainerv1.Objective_OBJECTIVE_PAIRWISE
	case dataset.ObjPointwise:
		return trainerv1.Objective_OBJECTIVE_POINTWISE
	case dataset.ObjClassification:
		return trainerv1.Objective_OBJECTIVE_CLASSIFICATION
	}
	return trainerv1.Objective_OBJECTIVE_UNSPECIFIED
}
