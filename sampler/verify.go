package sampler

import (
	"errors"
	"fmt"

	"github.com/mixopt/mixopt/dataset"
)

// Entries describes tasks derived from loaded datasets (dataset.Tasks) for
// New and Verify. Each task's dataset must be among datasets.
func Entries(datasets []*dataset.Dataset, tasks []dataset.Task) ([]TaskEntry, error) {
	byName := make(map[string]*dataset.Dataset, len(datasets))
	for _, d := range datasets {
		byName[d.Name] = d
	}
	entries := make([]TaskEntry, len(tasks))
	for i := range tasks {
		t := &tasks[i]
		d, ok := byName[t.Dataset]
		if !ok {
			return nil, fmt.Errorf("task %q: dataset %q not among the loaded datasets", t.Name, t.Dataset)
		}
		entries[i] = TaskEntry{
			Name:        t.Name,
			Dataset:     d.Name,
			Source:      d.Path,
			TaskHash:    t.ContentHash,
			DatasetHash: d.ContentHash,
			Examples:    int64(t.Len()),
		}
	}
	return entries, nil
}

// Verify checks the config against the data at hand, given as the entries
// of every task derived from the datasets that are present (see Entries).
// A config task must then match its entry's dataset, content hashes and
// example count; a task whose dataset is present but that the dataset no
// longer yields is an error. Tasks whose dataset is not present are returned
// as unchecked, in config order.
func (c *Config) Verify(present []TaskEntry) (unchecked []string, err error) {
	byTask := make(map[string]TaskEntry, len(present))
	datasets := make(map[string]bool, len(present))
	for _, e := range present {
		byTask[e.Name] = e
		datasets[e.Dataset] = true
	}
	var errs []error
	for i, t := range c.Tasks {
		e, ok := byTask[t.Name]
		if !ok {
			if datasets[t.Dataset] {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("tasks[%d].name", i),
					Msg: fmt.Sprintf("task %q is not derived from dataset %q in the data", t.Name, t.Dataset)})
			} else {
				unchecked = append(unchecked, t.Name)
			}
			continue
		}
		mismatch := func(field, want, got string) {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("tasks[%d].%s", i, field),
				Msg: fmt.Sprintf("task %q: config has %s, data has %s", t.Name, want, got)})
		}
		if t.Dataset != e.Dataset {
			mismatch("dataset", t.Dataset, e.Dataset)
		}
		if t.DatasetHash != e.DatasetHash {
			mismatch("dataset_hash", t.DatasetHash, e.DatasetHash+" (the dataset changed since the config was written)")
		}
		if t.TaskHash != e.TaskHash {
			mismatch("task_hash", t.TaskHash, e.TaskHash+" (the task's data or derivation changed)")
		}
		if t.Examples != e.Examples {
			mismatch("examples", fmt.Sprint(t.Examples), fmt.Sprint(e.Examples))
		}
	}
	return unchecked, errors.Join(errs...)
}
