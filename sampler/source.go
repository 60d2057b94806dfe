package sampler

import (
	"fmt"

	"github.com/mixopt/mixopt/dataset"
)

// Example is one training unit of a task, as Materialise writes it: a
// preference pair (Pairwise) or a response with a target value.
type Example struct {
	ID       string
	Prompt   string
	Pairwise bool
	Chosen   string // pairwise only
	Rejected string // pairwise only
	Response string // pointwise only
	Target   float64
}

// Source gives Materialise the examples of a config's tasks.
type Source interface {
	// Task returns the examples of the named task.
	Task(name string) (Examples, error)
}

// Examples are the training units of one task, by index.
type Examples interface {
	Len() int64
	// At returns unit i, 0 ≤ i < Len.
	At(i int64) Example
}

// LoadSource loads the data of cfg's tasks of positive probability, each
// dataset file (Task.Source, relative to the working directory) once, with
// the dataset names the config records; derives their tasks with opts; and
// verifies them against the config (Config.Verify), so that a changed
// dataset or derivation is an error rather than a silently different
// stream. The result serves Materialise.
func LoadSource(cfg *Config, opts dataset.TaskOptions) (Source, error) {
	var datasets []*dataset.Dataset
	var tasks []dataset.Task
	loaded := map[string]bool{}
	for _, t := range cfg.Tasks {
		if t.Probability == 0 || loaded[t.Source] {
			continue
		}
		loaded[t.Source] = true
		d, err := dataset.LoadFile(t.Source, dataset.LoadOptions{Name: t.Dataset})
		if err != nil {
			return nil, fmt.Errorf("load data of task %q: %w", t.Name, err)
		}
		ts, err := dataset.Tasks(d, opts)
		if err != nil {
			return nil, fmt.Errorf("load data of task %q: %w", t.Name, err)
		}
		datasets = append(datasets, d)
		tasks = append(tasks, ts...)
	}
	entries, err := Entries(datasets, tasks)
	if err != nil {
		return nil, err
	}
	if _, err := cfg.Verify(entries); err != nil {
		return nil, fmt.Errorf("data does not match the sampler config: %w", err)
	}
	return TaskSource(tasks), nil
}

// TaskSource serves the tasks derived by dataset.Tasks, in memory.
func TaskSource(tasks []dataset.Task) Source {
	s := make(taskSource, len(tasks))
	for i := range tasks {
		s[tasks[i].Name] = &tasks[i]
	}
	return s
}

type taskSource map[string]*dataset.Task

func (s taskSource) Task(name string) (Examples, error) {
	t, ok := s[name]
	if !ok {
		return nil, fmt.Errorf("task %q is not in the data", name)
	}
	return taskExamples{t}, nil
}

type taskExamples struct{ t *dataset.Task }

func (e taskExamples) Len() int64 { return int64(e.t.Len()) }

func (e taskExamples) At(i int64) Example {
	if e.t.Objective == dataset.ObjPairwise {
		p := &e.t.Pairs[i]
		return Example{ID: p.ID, Prompt: p.Prompt, Pairwise: true, Chosen: p.Chosen, Rejected: p.Rejected}
	}
	p := &e.t.Points[i]
	return Example{ID: p.ID, Prompt: p.Prompt, Response: p.Response, Target: p.Target}
}
