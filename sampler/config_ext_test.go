package sampler_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mixopt/mixopt/sampler"
)

func TestNewDerivesProbabilitiesRatesAndEpochs(t *testing.T) {
	cfg := flameConfig(t)
	var sum float64
	for _, task := range cfg.Tasks {
		sum += task.Probability
	}
	assert.InDelta(t, 1, sum, 1e-15)
	// Rates keep the FLAMe scale: Σ min(examples, 2^16) = 2306+2360+5120+40+918.
	capped := 2306.0 + 2360 + 5120 + 40 + 918
	hh := cfg.Tasks[0]
	assert.InDelta(t, 100_000.0/163_000, hh.Probability, 1e-15)
	assert.InDelta(t, hh.Probability*capped, hh.Rate, 1e-9)
	assert.InDelta(t, hh.Probability*40_000/2306, hh.ExpectedEpochs, 1e-12)
	assert.Equal(t, 0.0, cfg.Tasks[4].Probability)
	assert.Equal(t, sampler.SchemaVersion, cfg.Schema)
	assert.Equal(t, int64(40_000), cfg.Budget.Examples())
}

func TestNewRejects(t *testing.T) {
	ok := []sampler.TaskEntry{entry("a", "a", 10), entry("b", "b", 10)}
	budget := sampler.Budget{Steps: 10, BatchSize: 2}
	tests := []struct {
		name    string
		tasks   []sampler.TaskEntry
		weights []float64
		budget  sampler.Budget
		want    string
	}{
		{"length", ok, []float64{1}, budget, "2 tasks but 1 weights"},
		{"negative", ok, []float64{1, -1}, budget, "weights[1]: -1: must be finite and non-negative"},
		{"nan", ok, []float64{math.NaN(), 1}, budget, "weights[0]: NaN"},
		{"zero", ok, []float64{0, 0}, budget, "weights: sum 0: must be positive"},
		{"duplicate", []sampler.TaskEntry{entry("a", "a", 1), entry("a", "a", 1)}, []float64{1, 1}, budget, `tasks[1].name: "a": duplicate of tasks[0]`},
		{"bad-name", []sampler.TaskEntry{entry("a//b", "a", 1)}, []float64{1}, budget, `tasks[0].name: "a//b"`},
		{"no-examples", []sampler.TaskEntry{entry("a", "a", 0)}, []float64{1}, budget, "tasks[0].examples: 0: must be positive"},
		{"no-hash", []sampler.TaskEntry{{Name: "a", Dataset: "a", Source: "a.jsonl", Examples: 1}}, []float64{1}, budget, "tasks[0].task_hash: empty"},
		{"budget", ok, []float64{1, 1}, sampler.Budget{Steps: 0, BatchSize: 8}, "budget.steps: 0: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sampler.New(tt.tasks, tt.weights, tt.budget, 1, sampler.Provenance{})
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestConfigRoundTrip(t *testing.T) {
	cfg := flameConfig(t)
	dir := t.TempDir()
	for _, ext := range []string{".yaml", ".json"} {
		t.Run(ext, func(t *testing.T) {
			path := filepath.Join(dir, "sampler"+ext)
			write := cfg.WriteYAML
			if ext == ".json" {
				write = cfg.WriteJSON
			}
			require.NoError(t, write(path))
			first, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, write(path))
			second, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, first, second, "deterministic bytes")

			got, err := sampler.Load(path)
			require.NoError(t, err)
			assert.Equal(t, cfg, got, "floats round-trip exactly")
			var sum float64
			for _, task := range got.Tasks {
				sum += task.Probability
			}
			assert.InDelta(t, 1, sum, 1e-9)
			assert.Equal(t, cfg.Fingerprint(), got.Fingerprint())

			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				assert.NotContains(t, e.Name(), ".tmp", "temporary file left behind")
			}
		})
	}
}

func TestConfigGolden(t *testing.T) {
	cfg := flameConfig(t)
	var y, j bytes.Buffer
	require.NoError(t, cfg.EncodeYAML(&y))
	require.NoError(t, cfg.EncodeJSON(&j))
	golden(t, "sampler.yaml", y.Bytes())
	golden(t, "sampler.json", j.Bytes())
}

// TestConfigYAMLReadsAsFloatsInPython checks the YAML 1.1 reading of the
// numbers: PyYAML reads "1e-05" as a string and "1" as an integer, so every
// float is written with a '.' in its mantissa.
func TestConfigYAMLReadsAsFloatsInPython(t *testing.T) {
	py := python3(t)
	if err := exec.Command(py, "-c", "import yaml").Run(); err != nil {
		t.Skip("PyYAML not installed")
	}
	cfg := syntheticConfig(t, []float64{1, 1e-7, 0}, []int64{1_000_000}, sampler.Budget{Steps: 100, BatchSize: 10})
	path := filepath.Join(t.TempDir(), "sampler.yaml")
	require.NoError(t, cfg.WriteYAML(path))
	script := `import json, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
print(json.dumps([[type(t[k]).__name__ for k in ("probability", "rate", "expected_epochs")] for t in doc["tasks"]]))`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	require.NoError(t, err, string(out))
	var types [][]string
	require.NoError(t, json.Unmarshal(out, &types))
	for i, row := range types {
		for _, ty := range row {
			assert.Equal(t, "float", ty, "task %d", i)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	cfg := flameConfig(t)
	var buf bytes.Buffer
	require.NoError(t, cfg.EncodeYAML(&buf))
	valid := buf.String()
	// Line numbers below refer to testdata/sampler.yaml.
	tests := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"negative", func(s string) string {
			return strings.Replace(s, "probability: 0.18404907975460122", "probability: -0.18404907975460122", 1)
		}, []string{"sampler.yaml:28: tasks[1].probability: -0.18404907975460122: negative"}},
		{"sum", func(s string) string {
			return strings.Replace(s, "probability: 0.18404907975460122", "probability: 0.2", 1)
		}, []string{"sampler.yaml:", "tasks: probabilities sum to 1.01595092024539", "not 1"}},
		{"nan", func(s string) string {
			return strings.Replace(s, "probability: 0.18404907975460122", "probability: .nan", 1)
		}, []string{"sampler.yaml:28: tasks[1].probability: NaN: not finite"}},
		{"rate", func(s string) string {
			return strings.Replace(s, "rate: 1977.4233128834355", "rate: 1977", 1)
		}, []string{"sampler.yaml:29: tasks[1].rate: 1977: want probability × Σ min(examples, 65536)"}},
		{"duplicate", func(s string) string {
			return strings.Replace(s, "name: conala_human_grades\n", "name: hh_rlhf_harmless_base\n", 1)
		}, []string{`sampler.yaml:22: tasks[1].name: "hh_rlhf_harmless_base": duplicate of tasks[0]`}},
		{"schema", func(s string) string {
			return strings.Replace(s, "schema: mixopt.sampler/v1", "schema: mixopt.sampler/v9", 1)
		}, []string{`sampler.yaml:6: schema: "mixopt.sampler/v9": want "mixopt.sampler/v1"`}},
		{"budget", func(s string) string {
			return strings.Replace(s, "examples: 40000", "examples: 40001", 1)
		}, []string{"sampler.yaml:11: budget.examples: 40001: want steps × batch_size = 40000"}},
		{"unknown-field", func(s string) string {
			return strings.Replace(s, "seed: 1234", "seed: 1234\nseeds: 5", 1)
		}, []string{"sampler.yaml:", "field seeds not found"}},
		{"type", func(s string) string {
			return strings.Replace(s, "examples: 2306", "examples: many", 1)
		}, []string{"sampler.yaml:", "line 18", "cannot unmarshal"}},
		{"empty", func(string) string { return "" }, []string{"sampler.yaml: empty sampler config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := tt.edit(valid)
			if tt.name != "empty" {
				require.NotEqual(t, valid, edited, "edit did not apply")
			}
			_, err := sampler.Parse([]byte(edited), "sampler.yaml")
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadJSONErrorsNameTheLine(t *testing.T) {
	cfg := flameConfig(t)
	var buf bytes.Buffer
	require.NoError(t, cfg.EncodeJSON(&buf))
	tests := []struct {
		name, old, new string
		want           []string
	}{
		{"type", `"examples": 2306`, `"examples": "many"`, []string{"sampler.json:16: tasks.examples:"}},
		{"syntax", `"seed": 1234,`, `"seed": 1234`, []string{"sampler.json:4:", "invalid character"}},
		{"negative", `"probability": 0.18404907975460122`, `"probability": -0.5`, []string{"sampler.json: tasks[1].probability: -0.5: negative"}},
		{"unknown", `"seed": 1234,`, `"seed": 1234, "extra": 1,`, []string{"sampler.json:", `unknown field "extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := strings.Replace(buf.String(), tt.old, tt.new, 1)
			require.NotEqual(t, buf.String(), edited)
			_, err := sampler.Parse([]byte(edited), "sampler.json")
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadUnknownExtension(t *testing.T) {
	_, err := sampler.Parse([]byte("{}"), "sampler.toml")
	assert.ErrorContains(t, err, `sampler.toml: unknown sampler config format ".toml"`)
	_, err = sampler.Load(filepath.Join(t.TempDir(), "missing.yaml"))
	assert.ErrorContains(t, err, "missing.yaml")
}

func TestVerify(t *testing.T) {
	cfg := flameConfig(t)
	present := []sampler.TaskEntry{
		entry("hh_rlhf_harmless_base", "hh_rlhf_harmless_base", 2306),
		entry("conala_human_grades", "conala_human_grades", 2360),
		entry("conala_human_grades/pairs", "conala_human_grades", 5120),
	}
	unchecked, err := cfg.Verify(present)
	require.NoError(t, err)
	assert.Equal(t, []string{"quixbugs_python", "mrben_math"}, unchecked)

	changed := append([]sampler.TaskEntry(nil), present...)
	changed[0].DatasetHash = "sha256:other"
	changed[0].TaskHash = "sha256:other-task"
	changed[1].Examples = 2000
	changed = changed[:2] // the dataset no longer yields its pairs task
	_, err = cfg.Verify(changed)
	require.Error(t, err)
	for _, want := range []string{
		"tasks[0].dataset_hash: task \"hh_rlhf_harmless_base\": config has sha256:dataset-hh_rlhf_harmless_base, data has sha256:other",
		"tasks[0].task_hash:",
		"tasks[1].examples: task \"conala_human_grades\": config has 2360, data has 2000",
		"tasks[2].name: task \"conala_human_grades/pairs\" is not derived from dataset \"conala_human_grades\"",
	} {
		assert.Contains(t, err.Error(), want)
	}
}
