package sampler_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/mixopt/mixopt/sampler"
)

// pyLiterals is a Python script printing, as JSON, every module-level
// assignment of a literal in the file it is given, after compiling it.
const pyLiterals = `import ast, json, py_compile, sys
py_compile.compile(sys.argv[1], doraise=True)
tree = ast.parse(open(sys.argv[1]).read())
out = {}
for node in tree.body:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        try:
            out[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            pass
print(json.dumps(out))
`

func pythonLiterals(t *testing.T, src []byte) map[string]json.RawMessage {
	t.Helper()
	py := python3(t)
	path := filepath.Join(t.TempDir(), "export.py")
	require.NoError(t, os.WriteFile(path, src, 0o644))
	out, err := exec.Command(py, "-c", pyLiterals, path).CombinedOutput()
	require.NoError(t, err, "python3 rejects the export:\n%s", out)
	var lits map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &lits), string(out))
	return lits
}

func export(t *testing.T, cfg *sampler.Config, format string, opts sampler.ExportOptions) ([]byte, *sampler.EpochReport) {
	t.Helper()
	var buf bytes.Buffer
	report, err := sampler.Export(&buf, cfg, format, opts)
	require.NoError(t, err)
	return buf.Bytes(), report
}

// positive returns the probabilities of the config's tasks of positive
// probability, by name.
func positive(cfg *sampler.Config) map[string]float64 {
	out := map[string]float64{}
	for _, task := range cfg.Tasks {
		if task.Probability > 0 {
			out[task.Name] = task.Probability
		}
	}
	return out
}

func normaliseMap(m map[string]float64) map[string]float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	out := map[string]float64{}
	for k, v := range m {
		out[k] = v / s
	}
	return out
}

func assertWeights(t *testing.T, want, got map[string]float64) {
	t.Helper()
	require.Len(t, got, len(want), "tasks: got %v want %v", got, want)
	for name, w := range want {
		g, ok := got[name]
		if assert.True(t, ok, "task %s missing from the export", name) {
			assert.InDelta(t, w, g, 1e-9, "task %s", name)
		}
	}
}

func TestExportGolden(t *testing.T) {
	cfg := flameConfig(t)
	for _, f := range sampler.Formats() {
		t.Run(f.Name, func(t *testing.T) {
			out, report := export(t, cfg, f.Name, sampler.ExportOptions{})
			golden(t, "export/"+f.Name+f.Ext, out)
			assert.Equal(t, f.Name, report.Format)
			again, _ := export(t, cfg, f.Name, sampler.ExportOptions{})
			assert.Equal(t, out, again, "deterministic bytes")
		})
	}
}

func TestExportSeqio(t *testing.T) {
	cfg := flameConfig(t)
	out, _ := export(t, cfg, "seqio", sampler.ExportOptions{})
	lits := pythonLiterals(t, out)
	var names map[string]string
	require.NoError(t, json.Unmarshal(lits["MIXOPT_TASK_NAMES"], &names))
	var rates [][2]any
	require.NoError(t, json.Unmarshal(lits["TASK_RATES"], &rates))
	got := map[string]float64{}
	for _, r := range rates {
		seqioName := r[0].(string)
		assert.Regexp(t, `^[\w\d.:_]+$`, seqioName, "seqio's task name rule")
		got[names[seqioName]] = r[1].(float64)
	}
	assertWeights(t, positive(cfg), normaliseMap(got))
	for _, task := range cfg.Tasks {
		if task.Probability > 0 {
			name := strings.ReplaceAll(task.Name, "/", ":")
			assert.InDelta(t, task.Rate, got[names[name]], 1e-9*task.Rate, "rates keep the 2^16 scale")
		}
	}
	assert.JSONEq(t, `"mixopt_run_7"`, string(lits["MIXTURE_NAME"]))
	assert.JSONEq(t, `40000`, string(lits["BUDGET_EXAMPLES"]))
	assert.JSONEq(t, `1234`, string(lits["SEED"]))
}

func TestExportHF(t *testing.T) {
	cfg := flameConfig(t)
	out, _ := export(t, cfg, "hf", sampler.ExportOptions{PathTemplate: "/data/{dataset}/{name}.jsonl"})
	lits := pythonLiterals(t, out)
	var tasks []struct {
		Task        string  `json:"task"`
		DataFiles   string  `json:"data_files"`
		Probability float64 `json:"probability"`
		Passes      int64   `json:"passes"`
	}
	require.NoError(t, json.Unmarshal(lits["TASKS"], &tasks))
	got := map[string]float64{}
	for _, task := range tasks {
		got[task.Task] = task.Probability
		i, ok := cfg.TaskIndex(task.Task)
		require.True(t, ok)
		ct := cfg.Tasks[i]
		assert.Equal(t, "/data/"+ct.Dataset+"/"+strings.ReplaceAll(ct.Name, "/", "__")+".jsonl", task.DataFiles)
		// The passes cover the expected samples with room for the random
		// fluctuation of interleaving.
		mean := ct.Probability * float64(cfg.Budget.Examples())
		assert.GreaterOrEqual(t, float64(task.Passes*ct.Examples), mean+4*math.Sqrt(mean), task.Task)
	}
	assertWeights(t, positive(cfg), got)
	assert.JSONEq(t, `"first_exhausted"`, string(lits["STOPPING_STRATEGY"]))
	assert.Contains(t, string(out), "interleave_datasets(")
	assert.Contains(t, string(out), "seed=SEED")
}

func TestExportMosaic(t *testing.T) {
	cfg := flameConfig(t)
	out, _ := export(t, cfg, "mosaic", sampler.ExportOptions{})
	lits := pythonLiterals(t, out)
	var streams []struct {
		Task       string  `json:"task"`
		Local      string  `json:"local"`
		Proportion float64 `json:"proportion"`
	}
	require.NoError(t, json.Unmarshal(lits["STREAMS"], &streams))
	got := map[string]float64{}
	for _, s := range streams {
		got[s.Task] = s.Proportion
	}
	assertWeights(t, positive(cfg), got)
	assert.JSONEq(t, `40000`, string(lits["BUDGET_EXAMPLES"]))
	assert.Contains(t, string(out), "epoch_size=BUDGET_EXAMPLES")
}

func TestExportMegatron(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	cfg := flameConfig(t)
	out, _ := export(t, cfg, "megatron", sampler.ExportOptions{PathTemplate: "/data/it's here/{name}_text_document"})
	path := filepath.Join(t.TempDir(), "blend.sh")
	require.NoError(t, os.WriteFile(path, out, 0o644))
	script := `set -eu; source "$1"; echo "$MIXOPT_TRAIN_SAMPLES"; echo "$MIXOPT_SEED"; printf '%s\n' "${MIXOPT_DATA_PATH[@]}"`
	res, err := exec.Command(bash, "-c", script, "bash", path).CombinedOutput()
	require.NoError(t, err, string(res))
	lines := strings.Split(strings.TrimSuffix(string(res), "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 2)
	assert.Equal(t, "40000", lines[0])
	assert.Equal(t, "1234", lines[1])
	args := lines[2:]
	require.Equal(t, 0, len(args)%2, "weight, prefix pairs: %q", args)
	got := map[string]float64{}
	for i := 0; i < len(args); i += 2 {
		w, err := strconv.ParseFloat(args[i], 64)
		require.NoError(t, err)
		prefix := strings.TrimSuffix(strings.TrimPrefix(args[i+1], "/data/it's here/"), "_text_document")
		got[strings.ReplaceAll(prefix, "__", "/")] = w
	}
	assertWeights(t, positive(cfg), got)
}

func TestExportMegatronJSON(t *testing.T) {
	cfg := flameConfig(t)
	out, _ := export(t, cfg, "megatron-json", sampler.ExportOptions{})
	var doc map[string]any
	require.NoError(t, json.Unmarshal(out, &doc))
	assert.Nil(t, doc["valid"])
	assert.Nil(t, doc["test"])
	assert.Contains(t, doc["_comment"], "per-sample probability")
	train := doc["train"].([]any)
	got := map[string]float64{}
	for i := 0; i < len(train); i += 2 {
		prefix := strings.TrimSuffix(train[i+1].(string), "_text_document")
		got[strings.ReplaceAll(prefix, "__", "/")] = train[i].(float64)
	}
	assertWeights(t, positive(cfg), got)
}

func TestExportOlmix(t *testing.T) {
	cfg := flameConfig(t)
	out, _ := export(t, cfg, "olmix", sampler.ExportOptions{})
	var doc []struct {
		Domain string  `json:"domain"`
		Weight float64 `json:"weight"`
	}
	require.NoError(t, json.Unmarshal(out, &doc))
	got := map[string]float64{}
	var sum float64
	for _, d := range doc {
		got[strings.ReplaceAll(d.Domain, ":", "/")] = d.Weight
		sum += d.Weight
	}
	assertWeights(t, positive(cfg), got)
	assert.InDelta(t, 1, sum, 1e-9)
	assert.Contains(t, string(out), `"domain": "conala_human_grades:pairs"`)
}

func TestExportOpenInstruct(t *testing.T) {
	cfg := flameConfig(t)
	out, report := export(t, cfg, "open-instruct", sampler.ExportOptions{})
	var doc struct {
		List   []string `yaml:"dataset_mixer_list"`
		Splits []string `yaml:"dataset_mixer_list_splits"`
	}
	require.NoError(t, yaml.Unmarshal(out, &doc))
	assert.Equal(t, []string{"train"}, doc.Splits)
	require.Equal(t, 0, len(doc.List)%2)
	samples := map[string]int64{}
	var total int64
	for i := 0; i < len(doc.List); i += 2 {
		name := strings.ReplaceAll(strings.TrimSuffix(doc.List[i], ".jsonl"), "__", "/")
		frac := doc.List[i+1]
		// open-instruct reads a value with a '.' as a fraction of the
		// dataset and takes int(fraction × size) examples.
		require.Contains(t, frac, ".", "a value without '.' is an absolute count to open-instruct")
		f, err := strconv.ParseFloat(frac, 64)
		require.NoError(t, err)
		ti, ok := cfg.TaskIndex(name)
		require.True(t, ok, name)
		samples[name] = int64(f * float64(cfg.Tasks[ti].Examples))
		total += samples[name]
		assert.Equal(t, report.Rows[ti].Samples, samples[name], name)
	}
	assert.Equal(t, cfg.Budget.Examples(), total, "the fractions take exactly the budget")
	got := map[string]float64{}
	for name, n := range samples {
		got[name] = float64(n) / float64(total)
	}
	for name, p := range positive(cfg) {
		assert.InDelta(t, p, got[name], 1.0/float64(total), name)
	}
}

func TestExportEpochWarnings(t *testing.T) {
	budget := sampler.Budget{Steps: 1000, BatchSize: 10} // 10,000 examples
	tests := []struct {
		name      string
		weights   []float64
		examples  []int64
		maxEpochs float64
		want      map[string]sampler.WarningKind
	}{
		{"none", []float64{1, 1}, []int64{5000}, 0, map[string]sampler.WarningKind{}},
		{"many-epochs", []float64{1, 1}, []int64{100, 5000}, 0, map[string]sampler.WarningKind{"task_000": sampler.WarnManyEpochs}},
		{"raised-threshold", []float64{1, 1}, []int64{100, 5000}, 60, map[string]sampler.WarningKind{}},
		{"lowered-threshold", []float64{1, 1}, []int64{5000}, 0.5, map[string]sampler.WarningKind{"task_000": sampler.WarnManyEpochs, "task_001": sampler.WarnManyEpochs}},
		{"under-one", []float64{1, 5e-5}, []int64{5000}, 0, map[string]sampler.WarningKind{"task_001": sampler.WarnUnderOneSample}},
		{"zero-weight-is-not-warned", []float64{1, 0}, []int64{5000}, 0, map[string]sampler.WarningKind{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := syntheticConfig(t, tt.weights, tt.examples, budget)
			for _, f := range sampler.Formats() {
				var buf bytes.Buffer
				report, err := sampler.Export(&buf, cfg, f.Name, sampler.ExportOptions{MaxEpochs: tt.maxEpochs})
				require.NoError(t, err, f.Name)
				got := map[string]sampler.WarningKind{}
				for _, w := range report.Warnings {
					got[w.Task] = w.Kind
				}
				assert.Equal(t, tt.want, got, f.Name)
				var text bytes.Buffer
				require.NoError(t, report.WriteText(&text))
				for _, w := range report.Warnings {
					assert.Contains(t, text.String(), "warning: "+w.Msg)
				}
			}
		})
	}
}

func TestExportLeavesOutZeroWeights(t *testing.T) {
	cfg := flameConfig(t) // mrben_math has weight 0
	for _, f := range sampler.Formats() {
		out, report := export(t, cfg, f.Name, sampler.ExportOptions{})
		body := string(out)
		if f.Ext != ".json" {
			// Commented formats name it only in the header's table and note.
			var code []string
			for _, line := range strings.Split(body, "\n") {
				if !strings.HasPrefix(line, "#") {
					code = append(code, line)
				}
			}
			body = strings.Join(code, "\n")
		}
		assert.NotContains(t, body, "mrben_math", f.Name)
		assert.Contains(t, report.Notes, "left out, probability 0: mrben_math", f.Name)
	}
}

func TestExportRejects(t *testing.T) {
	cfg := flameConfig(t)
	clash := syntheticConfig(t, []float64{1, 1}, []int64{10}, sampler.Budget{Steps: 10, BatchSize: 1})
	clash.Tasks[0].Name, clash.Tasks[1].Name = "a-b", "a_b"
	tests := []struct {
		name   string
		cfg    *sampler.Config
		format string
		opts   sampler.ExportOptions
		want   string
	}{
		{"format", cfg, "tfds", sampler.ExportOptions{}, `unknown export format "tfds": want one of hf, megatron, megatron-json, mosaic, olmix, open-instruct, seqio`},
		{"placeholder", cfg, "hf", sampler.ExportOptions{PathTemplate: "{split}.jsonl"}, "unknown placeholder {split}"},
		{"unclosed", cfg, "hf", sampler.ExportOptions{PathTemplate: "{name.jsonl"}, "unclosed '{'"},
		{"path-clash", cfg, "megatron", sampler.ExportOptions{PathTemplate: "{dataset}"}, `tasks "conala_human_grades" and "conala_human_grades/pairs" both map to the path "conala_human_grades"`},
		{"name-clash", clash, "seqio", sampler.ExportOptions{}, `tasks "a-b" and "a_b" both map to the name "a_b"`},
		{"max-epochs", cfg, "hf", sampler.ExportOptions{MaxEpochs: -1}, "max epochs -1: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := sampler.Export(&buf, tt.cfg, tt.format, tt.opts)
			assert.ErrorContains(t, err, tt.want)
			assert.Zero(t, buf.Len(), "nothing written on error")
		})
	}
}

func TestEpochReportText(t *testing.T) {
	report, err := sampler.NewEpochReport(flameConfig(t), 0)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, report.WriteText(&buf))
	golden(t, "report.txt", buf.Bytes())
	var sum int64
	for _, row := range report.Rows {
		sum += row.Samples
		assert.InDelta(t, row.Expected, float64(row.Samples), 1, row.Task)
	}
	assert.Equal(t, int64(40_000), sum)
}
