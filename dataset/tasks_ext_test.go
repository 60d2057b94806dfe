package dataset_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/dataset"
)

func loadRows(t testing.TB, file string, rows ...obj) *dataset.Dataset {
	t.Helper()
	d, err := dataset.LoadFile(writeFile(t, t.TempDir(), file, jsonl(t, rows...)), dataset.LoadOptions{})
	require.NoError(t, err)
	return d
}

func TestTasksPairwise(t *testing.T) {
	d := loadRows(t, "pairwise/prefs.jsonl", pairRows...)
	tasks, err := dataset.Tasks(d, dataset.TaskOptions{})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	assert.Equal(t, "prefs", tasks[0].Name)
	assert.Equal(t, "prefs", tasks[0].Dataset)
	assert.Equal(t, dataset.ObjPairwise, tasks[0].Objective)
	assert.Equal(t, d.Pairs, tasks[0].Pairs)
	assert.Empty(t, tasks[0].Points)
	assert.Equal(t, len(pairRows), tasks[0].Len())
}

func TestTasksPointwise(t *testing.T) {
	d := loadRows(t, "pointwise/grades.jsonl", append(ratedRows,
		obj{"id": "r-5", "prompt": "sort a list", "response": "sorted(x)", "score": 2, "scale": "0-4"}, // same text as r-1
		obj{"id": "r-6", "prompt": "reverse", "response": "reversed(x)", "score": 3, "scale": "0-4"},   // ties r-4
		obj{"id": "r-7", "prompt": "half", "response": "x/2", "score": 0.5, "scale": "-1-1"},
	)...)
	tasks, err := dataset.Tasks(d, dataset.TaskOptions{})
	require.NoError(t, err)
	require.Len(t, tasks, 2)

	native := tasks[0]
	assert.Equal(t, "grades", native.Name)
	assert.Equal(t, dataset.ObjPointwise, native.Objective)
	var targets []float64
	for _, p := range native.Points {
		targets = append(targets, p.Target)
	}
	assert.Equal(t, []float64{1, 0.25, 0, 0.75, 0.5, 0.75, 0.75}, targets)
	assert.Equal(t, dataset.Point{ID: "r-3", Prompt: "sort a list", Response: "", Target: 0}, native.Points[2])

	pairs := tasks[1]
	assert.Equal(t, "grades/pairs", pairs.Name)
	assert.Equal(t, "grades", pairs.Dataset)
	assert.Equal(t, dataset.ObjPairwise, pairs.Objective)
	// r-1 and r-5 share their text and are not paired; r-4 and r-6 tie.
	assert.Equal(t, []dataset.Pair{
		{ID: "r-1|r-2", Prompt: "sort a list", Chosen: "sorted(x)", Rejected: "x.sort"},
		{ID: "r-1|r-3", Prompt: "sort a list", Chosen: "sorted(x)", Rejected: ""},
		{ID: "r-2|r-3", Prompt: "sort a list", Chosen: "x.sort", Rejected: ""},
		{ID: "r-5|r-2", Prompt: "sort a list", Chosen: "sorted(x)", Rejected: "x.sort"},
		{ID: "r-5|r-3", Prompt: "sort a list", Chosen: "sorted(x)", Rejected: ""},
	}, pairs.Pairs)
	assert.NotEqual(t, native.ContentHash, pairs.ContentHash)
}

func TestTasksClassification(t *testing.T) {
	d := loadRows(t, "classification/facts.jsonl",
		obj{"id": "1", "prompt": "evidence A", "response": "claim 1", "label": "SUPPORTS"},
		obj{"id": "2", "prompt": "evidence A", "response": "claim 2", "label": "not enough info"},
		obj{"id": "3", "prompt": "evidence A", "response": "claim 3", "label": "Refutes"},
		obj{"id": "4", "prompt": "evidence B", "response": "claim 4", "label": "supports"},
	)
	tasks, err := dataset.Tasks(d, dataset.TaskOptions{})
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	assert.Equal(t, "facts", tasks[0].Name)
	assert.Equal(t, dataset.ObjClassification, tasks[0].Objective)
	var targets []float64
	for _, p := range tasks[0].Points {
		targets = append(targets, p.Target)
	}
	assert.Equal(t, []float64{1, 0.5, 0, 1}, targets)
	assert.Equal(t, "facts/pairs", tasks[1].Name)
	var ids []string
	for _, p := range tasks[1].Pairs {
		ids = append(ids, p.ID)
	}
	assert.Equal(t, []string{"1|2", "1|3", "2|3"}, ids)

	// No prompt with two different labels: no pairs task.
	d = loadRows(t, "classification/single.jsonl",
		obj{"id": "1", "prompt": "a", "response": "x", "label": "correct"},
		obj{"id": "2", "prompt": "b", "response": "y", "label": "incorrect"},
		obj{"id": "3", "prompt": "b", "response": "z", "label": "INCORRECT"},
	)
	tasks, err = dataset.Tasks(d, dataset.TaskOptions{})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	assert.Equal(t, "single", tasks[0].Name)
}

func TestTasksLabels(t *testing.T) {
	rows := []obj{
		{"id": "1", "prompt": "p", "response": "x", "label": "good"},
		{"id": "2", "prompt": "p", "response": "y", "label": "BAD"},
		{"id": "3", "prompt": "p", "response": "z", "label": "safe"},
	}
	d := loadRows(t, "classification/custom.jsonl", rows...)

	_, err := dataset.Tasks(d, dataset.TaskOptions{})
	var de *dataset.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, d.Path, de.Path)
	assert.Equal(t, 1, de.Line)
	assert.Equal(t, "label", de.Field)
	assert.Contains(t, err.Error(), `custom.jsonl:1: field "label": unknown label "good"`)
	assert.Contains(t, err.Error(), `TaskOptions.Labels["custom"]["good"]`)

	opts := dataset.TaskOptions{Labels: map[string]map[string]float64{
		"custom": {"Good": 1, "bad": 0.25, "SAFE": 0.75},
		"other":  {"good": 0},
	}}
	tasks, err := dataset.Tasks(d, opts)
	require.NoError(t, err)
	var targets []float64
	for _, p := range tasks[0].Points {
		targets = append(targets, p.Target)
	}
	assert.Equal(t, []float64{1, 0.25, 0.75}, targets, "overrides match case-insensitively and beat the lexicon")
	v, ok := opts.LabelValue("custom", "GOOD")
	assert.True(t, ok)
	assert.Equal(t, 1.0, v)
	v, ok = opts.LabelValue("custom", "unsafe")
	assert.True(t, ok, "the lexicon still applies")
	assert.Equal(t, 0.0, v)

	// A mapping that changes a used label's value changes the task hashes;
	// one for another dataset does not.
	opts2 := dataset.TaskOptions{Labels: map[string]map[string]float64{"custom": {"good": 1, "bad": 0, "safe": 0.75}}}
	tasks2, err := dataset.Tasks(d, opts2)
	require.NoError(t, err)
	assert.NotEqual(t, tasks[0].ContentHash, tasks2[0].ContentHash)
	opts3 := dataset.TaskOptions{Labels: map[string]map[string]float64{"custom": {"good": 1, "bad": 0.25, "safe": 0.75}, "x": {"a": 1}}}
	tasks3, err := dataset.Tasks(d, opts3)
	require.NoError(t, err)
	assert.Equal(t, tasks[0].ContentHash, tasks3[0].ContentHash)
	assert.Equal(t, tasks[1].ContentHash, tasks3[1].ContentHash)

	for name, bad := range map[string]map[string]float64{
		"above one":     {"good": 1.5},
		"negative":      {"good": -0.1},
		"NaN":           {"good": math.NaN()},
		"case conflict": {"good": 1, "GOOD": 0},
		"empty label":   {" ": 1},
	} {
		_, err := dataset.Tasks(d, dataset.TaskOptions{Labels: map[string]map[string]float64{"custom": bad}})
		assert.ErrorContains(t, err, "label mapping of dataset custom", name)
	}
}

func TestLabelLexicon(t *testing.T) {
	for label, want := range map[string]float64{
		"correct": 1, "incorrect": 0,
		"Safe": 1, "Unsafe": 0,
		"not jailbroken": 1, "jailbroken": 0,
		"no mistake": 1, "mistake": 0,
		"Fully attributable": 1, "Not fully attributable": 0, "Generic": 0,
		"consistent": 1, "inconsistent": 0,
		"SUPPORTS": 1, "REFUTES": 0, "NOT ENOUGH INFO": 0.5,
		"Useful": 1, "Partially useful": 0.5, "Not useful at all": 0,
		" safe ": 1,
	} {
		got, ok := dataset.LabelValue(label)
		assert.True(t, ok, label)
		assert.Equal(t, want, got, label)
	}
	_, ok := dataset.LabelValue("maybe")
	assert.False(t, ok)
}

func TestTasksPairCap(t *testing.T) {
	// One prompt with 10 distinct scores gives 45 candidate pairs.
	var rows []obj
	for i := range 10 {
		rows = append(rows, obj{"id": fmt.Sprintf("id%02d", i), "prompt": "same", "response": fmt.Sprint("resp", i), "score": i, "scale": "0-9"})
	}
	rows = append(rows, obj{"id": "other-a", "prompt": "other", "response": "a", "score": 1, "scale": "0-9"},
		obj{"id": "other-b", "prompt": "other", "response": "b", "score": 2, "scale": "0-9"})
	d := loadRows(t, "pointwise/many.jsonl", rows...)

	count := func(opts dataset.TaskOptions) []dataset.Pair {
		tasks, err := dataset.Tasks(d, opts)
		require.NoError(t, err)
		require.Len(t, tasks, 2)
		return tasks[1].Pairs
	}
	assert.Len(t, count(dataset.TaskOptions{MaxPairsPerPrompt: -1}), 45+1)
	capped := count(dataset.TaskOptions{})
	require.Len(t, capped, dataset.DefaultMaxPairsPerPrompt+1)
	assert.Equal(t, "other-b|other-a", capped[len(capped)-1].ID, "groups stay in order of first appearance")
	assert.Len(t, count(dataset.TaskOptions{MaxPairsPerPrompt: 5}), 5+1)

	// The choice is deterministic and a smaller cap keeps a subset of a
	// larger one (both take the smallest hashes).
	assert.Equal(t, capped, count(dataset.TaskOptions{}))
	small := count(dataset.TaskOptions{MaxPairsPerPrompt: 5})
	ids := make(map[string]bool)
	for _, p := range capped {
		ids[p.ID] = true
	}
	for _, p := range small {
		assert.True(t, ids[p.ID], p.ID)
	}
	// Each pair prefers the higher score; kept pairs stay in row order.
	last := -1
	for _, p := range capped[:len(capped)-1] {
		var hi, lo int
		_, err := fmt.Sscanf(p.ID, "id%d|id%d", &hi, &lo)
		require.NoError(t, err)
		assert.Greater(t, hi, lo, p.ID)
		assert.Equal(t, fmt.Sprint("resp", hi), p.Chosen)
		assert.Equal(t, fmt.Sprint("resp", lo), p.Rejected)
		order := min(hi, lo)*10 + max(hi, lo)
		assert.Greater(t, order, last, p.ID)
		last = order
	}

	tasks16, err := dataset.Tasks(d, dataset.TaskOptions{})
	require.NoError(t, err)
	tasks5, err := dataset.Tasks(d, dataset.TaskOptions{MaxPairsPerPrompt: 5})
	require.NoError(t, err)
	assert.Equal(t, tasks16[0].ContentHash, tasks5[0].ContentHash, "the cap does not touch the pointwise task")
	assert.NotEqual(t, tasks16[1].ContentHash, tasks5[1].ContentHash)
}

func TestTasksBuiltInCode(t *testing.T) {
	// A dataset built in code has no file; errors fall back to the name and
	// the row number, and the hash is computed on the fly.
	d := &dataset.Dataset{Name: "mem", Kind: dataset.Classification, Labeled: []dataset.Labeled{
		{ID: "a", Prompt: "p", Response: "x", Label: "correct"},
		{ID: "b", Prompt: "p", Response: "y", Label: "huh"},
	}}
	_, err := dataset.Tasks(d, dataset.TaskOptions{})
	assert.EqualError(t, err, `mem:row 2: field "label": unknown label "huh"; give its value in [0, 1] with a label mapping for dataset "mem" (TaskOptions.Labels["mem"]["huh"])`)

	d.Labeled[1].Label = "incorrect"
	tasks, err := dataset.Tasks(d, dataset.TaskOptions{})
	require.NoError(t, err)
	d.ContentHash = dataset.HashDataset(d)
	again, err := dataset.Tasks(d, dataset.TaskOptions{})
	require.NoError(t, err)
	assert.Equal(t, tasks, again)
}

func TestCollectionTasks(t *testing.T) {
	c := &dataset.Collection{Datasets: []*dataset.Dataset{
		{Name: "b", Kind: dataset.Pointwise, Rated: []dataset.Rated{
			{ID: "1", Prompt: "p", Response: "x", Score: 1, Scale: dataset.Scale{Max: 2}},
			{ID: "2", Prompt: "p", Response: "y", Score: 2, Scale: dataset.Scale{Max: 2}},
		}},
		{Name: "a", Kind: dataset.Classification, Labeled: []dataset.Labeled{
			{ID: "1", Prompt: "p", Response: "x", Label: "safe"},
			{ID: "2", Prompt: "p", Response: "y", Label: "unsafe"},
		}},
		{Name: "a_b", Kind: dataset.Pairwise, Pairs: []dataset.Pair{{ID: "1", Prompt: "p", Chosen: "x", Rejected: "y"}}},
	}}
	tasks, err := c.Tasks(dataset.TaskOptions{})
	require.NoError(t, err)
	var names []string
	for _, task := range tasks {
		names = append(names, task.Name)
	}
	assert.Equal(t, []string{"a", "a/pairs", "a_b", "b", "b/pairs"}, names)

	c.Datasets = append(c.Datasets, c.Datasets[2])
	_, err = c.Tasks(dataset.TaskOptions{})
	assert.ErrorContains(t, err, `two datasets yield task "a_b"`)
}
