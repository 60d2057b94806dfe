package dataset_test

import (
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/internal/testenv"
)

// The tables of the data directory's README.md.
var (
	realDatasets = map[string]struct {
		kind dataset.Kind
		n    int
	}{
		"pandalm_human":          {dataset.Pairwise, 888},
		"tulu1_human_eval":       {dataset.Pairwise, 666},
		"finegrained_rlhf_qa":    {dataset.Pairwise, 2616},
		"feedbackqa_ratings":     {dataset.Pointwise, 1547},
		"expertqa_usefulness":    {dataset.Classification, 478},
		"hh_rlhf_harmless_base":  {dataset.Pairwise, 2306},
		"diasafety":              {dataset.Classification, 2191},
		"safetext":               {dataset.Pairwise, 1104},
		"gptfuzz_jailbreak":      {dataset.Classification, 2700},
		"conala_human_grades":    {dataset.Pointwise, 2360},
		"mrben_coding":           {dataset.Classification, 238},
		"quixbugs_python":        {dataset.Pairwise, 40},
		"mrben_math":             {dataset.Classification, 918},
		"bigbench_mistake":       {dataset.Classification, 1200},
		"begin_attribution":      {dataset.Classification, 4453},
		"q2_factual_consistency": {dataset.Classification, 600},
		"dialfact_sample":        {dataset.Classification, 300},
		"frank_factuality":       {dataset.Pointwise, 1125},
	}
	realSubsets = []dataset.SubsetInfo{
		{Name: "alpacaeval-easy", Section: "Chat", Examples: 100},
		{Name: "alpacaeval-length", Section: "Chat", Examples: 95},
		{Name: "alpacaeval-hard", Section: "Chat", Examples: 95},
		{Name: "hep-cpp", Section: "Reasoning", Examples: 164},
		{Name: "hep-go", Section: "Reasoning", Examples: 164},
		{Name: "hep-java", Section: "Reasoning", Examples: 164},
		{Name: "hep-js", Section: "Reasoning", Examples: 164},
		{Name: "hep-python", Section: "Reasoning", Examples: 164},
		{Name: "hep-rust", Section: "Reasoning", Examples: 164},
		{Name: "llmbar-natural", Section: "Chat Hard", Examples: 100},
		{Name: "llmbar-adver-neighbor", Section: "Chat Hard", Examples: 134},
		{Name: "llmbar-adver-GPTInst", Section: "Chat Hard", Examples: 92},
		{Name: "llmbar-adver-GPTOut", Section: "Chat Hard", Examples: 47},
		{Name: "llmbar-adver-manual", Section: "Chat Hard", Examples: 46},
		{Name: "math-mrgsm8k", Section: "Reasoning", Examples: 340},
		{Name: "mt-bench-human", Section: "Chat", Examples: 200},
		{Name: "xstest-should-respond", Section: "Safety", Examples: 161},
		{Name: "xstest-should-refuse", Section: "Safety", Examples: 131},
	}
)

var realData struct {
	once sync.Once
	c    *dataset.Collection
	err  error
}

// loadReal loads the real data directory once for all tests; they must not
// modify it.
func loadReal(t testing.TB) *dataset.Collection {
	t.Helper()
	dir := testenv.DataDir(t)
	realData.once.Do(func() { realData.c, realData.err = dataset.LoadDir(dir, dataset.LoadOptions{}) })
	require.NoError(t, realData.err)
	return realData.c
}

func TestRealDataCounts(t *testing.T) {
	c := loadReal(t)
	require.Len(t, c.Datasets, len(realDatasets))
	total := 0
	for i, d := range c.Datasets {
		want, ok := realDatasets[d.Name]
		require.True(t, ok, d.Name)
		assert.Equal(t, want.kind, d.Kind, d.Name)
		assert.Equal(t, want.n, d.Len(), d.Name)
		assert.Equal(t, d.ContentHash, dataset.HashDataset(d), d.Name)
		if i > 0 {
			assert.Less(t, c.Datasets[i-1].Name, d.Name)
		}
		total += d.Len()
	}
	assert.Equal(t, 25730, total)

	require.NotNil(t, c.Suite)
	assert.Equal(t, "rewardbench", c.Suite.Name)
	assert.Len(t, c.Suite.Examples, 2525)
	assert.Equal(t, realSubsets, c.Suite.Subsets)
	assert.Len(t, c.Suite.Paths, 6)
}

// TestRealTasks checks the derived tasks of the real data: the expected
// set, non-empty, targets in [0, 1], and every derived pair prefers the
// response with the higher score or label value.
func TestRealTasks(t *testing.T) {
	c := loadReal(t)
	tasks, err := c.Tasks(dataset.TaskOptions{})
	require.NoError(t, err)

	var pairTasks []string
	for _, task := range tasks {
		assert.Positive(t, task.Len(), task.Name)
		if strings.HasSuffix(task.Name, dataset.PairsSuffix) {
			pairTasks = append(pairTasks, task.Name)
		}
	}
	assert.Equal(t, []string{
		"begin_attribution/pairs", "conala_human_grades/pairs", "dialfact_sample/pairs", "diasafety/pairs",
		"feedbackqa_ratings/pairs", "frank_factuality/pairs", "gptfuzz_jailbreak/pairs", "mrben_coding/pairs",
		"mrben_math/pairs", "q2_factual_consistency/pairs",
	}, pairTasks)
	assert.Len(t, tasks, len(realDatasets)+len(pairTasks))

	opts := dataset.TaskOptions{}
	for _, task := range tasks {
		d, ok := c.Dataset(task.Dataset)
		require.True(t, ok, task.Name)
		// value and text of each row, by id
		type resp struct {
			prompt, text string
			value        float64
		}
		rows := make(map[string]resp)
		switch d.Kind {
		case dataset.Pairwise:
			assert.Equal(t, d.Pairs, task.Pairs)
			continue
		case dataset.Pointwise:
			for _, x := range d.Rated {
				rows[x.ID] = resp{x.Prompt, x.Response, x.Score}
			}
		case dataset.Classification:
			for _, x := range d.Labeled {
				v, ok := opts.LabelValue(d.Name, x.Label)
				require.True(t, ok, x.Label)
				rows[x.ID] = resp{x.Prompt, x.Response, v}
			}
		}
		if task.Objective != dataset.ObjPairwise {
			require.Len(t, task.Points, d.Len(), task.Name)
			for _, p := range task.Points {
				assert.True(t, p.Target >= 0 && p.Target <= 1, "%s %s: target %v", task.Name, p.ID, p.Target)
			}
			continue
		}
		perPrompt := make(map[string]int)
		seen := make(map[string]bool)
		for _, p := range task.Pairs {
			chosenID, rejectedID, ok := strings.Cut(p.ID, "|")
			require.True(t, ok, p.ID)
			ch, rj := rows[chosenID], rows[rejectedID]
			assert.Greater(t, ch.value, rj.value, "%s %s", task.Name, p.ID)
			assert.Equal(t, ch.text, p.Chosen, p.ID)
			assert.Equal(t, rj.text, p.Rejected, p.ID)
			assert.Equal(t, ch.prompt, p.Prompt, p.ID)
			assert.Equal(t, rj.prompt, p.Prompt, p.ID)
			assert.NotEqual(t, p.Chosen, p.Rejected, p.ID)
			assert.False(t, seen[p.ID], "duplicate pair %s", p.ID)
			seen[p.ID] = true
			perPrompt[p.Prompt]++
		}
		for prompt, n := range perPrompt {
			assert.LessOrEqual(t, n, dataset.DefaultMaxPairsPerPrompt, "%s: %.40q", task.Name, prompt)
		}
	}
}

func TestRealInSplit(t *testing.T) {
	c := loadReal(t)
	var ids []string
	for _, d := range c.Datasets {
		for _, p := range d.Pairs {
			ids = append(ids, p.ID)
		}
		for _, x := range d.Rated {
			ids = append(ids, x.ID)
		}
		for _, x := range d.Labeled {
			ids = append(ids, x.ID)
		}
	}
	for _, x := range c.Suite.Examples {
		ids = append(ids, x.ID)
	}
	require.Len(t, ids, 25730+2525)
	for _, fraction := range []float64{0.2, 0.5} {
		in := 0
		for _, id := range ids {
			if dataset.InSplit(id, "dev", fraction) {
				in++
			}
		}
		sigma := math.Sqrt(fraction * (1 - fraction) / float64(len(ids)))
		assert.InDelta(t, fraction, float64(in)/float64(len(ids)), 4*sigma, "fraction %v", fraction)
	}
}

// TestRealHHRaw rebuilds HH-RLHF's raw transcripts from the converted file
// and checks that the raw loader splits them back into the same rows.
func TestRealHHRaw(t *testing.T) {
	dir := testenv.DataDir(t)
	conv, err := dataset.LoadFile(filepath.Join(dir, "train", "pairwise", "hh_rlhf_harmless_base.jsonl"), dataset.LoadOptions{})
	require.NoError(t, err)
	rows := make([]obj, len(conv.Pairs))
	for i, p := range conv.Pairs {
		rows[i] = obj{
			"id":       p.ID,
			"chosen":   p.Prompt + "\n\nAssistant: " + p.Chosen,
			"rejected": p.Prompt + "\n\nAssistant: " + p.Rejected,
		}
	}
	p := writeFile(t, t.TempDir(), "raw/harmless-base-test.jsonl.gz", gzipBytes(t, jsonl(t, rows...)))
	raw, err := dataset.LoadFile(p, dataset.LoadOptions{Kind: dataset.Pairwise, Name: conv.Name})
	require.NoError(t, err)
	assert.Equal(t, conv.Pairs, raw.Pairs)
	assert.Equal(t, conv.ContentHash, raw.ContentHash)
}

// TestRealParquet converts a real pointwise file to Parquet and checks that
// the rows and the content hash survive.
func TestRealParquet(t *testing.T) {
	dir := testenv.DataDir(t)
	src, err := dataset.LoadFile(filepath.Join(dir, "train", "pointwise", "conala_human_grades.jsonl"), dataset.LoadOptions{})
	require.NoError(t, err)
	rows := make([]obj, len(src.Rated))
	for i, x := range src.Rated {
		rows[i] = obj{"id": x.ID, "prompt": x.Prompt, "response": x.Response, "score": x.Score, "scale": x.Scale.String()}
	}
	p := writeTable(t, t.TempDir(), "conala_human_grades.parquet", ratedCols(arrow.PrimitiveTypes.Int64), rows)
	got, err := dataset.LoadFile(p, dataset.LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, src.Rated, got.Rated)
	assert.Equal(t, src.ContentHash, got.ContentHash)
}
