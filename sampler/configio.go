package sampler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mixopt/mixopt/internal/atomicfile"

	"go.yaml.in/yaml/v3"
)

// The on-disk layout of a config, shared by YAML and JSON. Field order is
// the order written.
type fileConfig struct {
	Schema     string         `yaml:"schema" json:"schema"`
	Seed       uint64         `yaml:"seed" json:"seed"`
	Budget     fileBudget     `yaml:"budget" json:"budget"`
	Tasks      []fileTask     `yaml:"tasks" json:"tasks"`
	Provenance fileProvenance `yaml:"provenance" json:"provenance"`
}

type fileBudget struct {
	Steps     int64 `yaml:"steps" json:"steps"`
	BatchSize int64 `yaml:"batch_size" json:"batch_size"`
	Examples  int64 `yaml:"examples" json:"examples"`
}

type fileTask struct {
	Name           string    `yaml:"name" json:"name"`
	Dataset        string    `yaml:"dataset" json:"dataset"`
	Source         string    `yaml:"source" json:"source"`
	TaskHash       string    `yaml:"task_hash" json:"task_hash"`
	DatasetHash    string    `yaml:"dataset_hash" json:"dataset_hash"`
	Examples       int64     `yaml:"examples" json:"examples"`
	Probability    yamlFloat `yaml:"probability" json:"probability"`
	Rate           yamlFloat `yaml:"rate" json:"rate"`
	ExpectedEpochs yamlFloat `yaml:"expected_epochs" json:"expected_epochs"`
}

type fileProvenance struct {
	RunID          string            `yaml:"run_id,omitempty" json:"run_id,omitempty"`
	Objective      string            `yaml:"objective,omitempty" json:"objective,omitempty"`
	Solver         string            `yaml:"solver,omitempty" json:"solver,omitempty"`
	SolverSettings map[string]string `yaml:"solver_settings,omitempty" json:"solver_settings,omitempty"`
	MixoptVersion  string            `yaml:"mixopt_version,omitempty" json:"mixopt_version,omitempty"`
}

// yamlFloat is a float64 that YAML writes in the shortest form that parses
// back to the same value, always with a '.' in the mantissa so that YAML 1.1
// readers such as PyYAML read a float rather than a string or an integer.
type yamlFloat float64

func (f yamlFloat) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: pyFloat(float64(f))}, nil
}

// pyFloat formats a finite f in the shortest form that round-trips, with a
// '.' in the mantissa: valid in Python, YAML 1.1 and YAML 1.2 alike.
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if strings.ContainsAny(s, ".nN") { // has a dot, or is Inf/NaN
		return s
	}
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		return s[:i] + ".0" + s[i:]
	}
	return s + ".0"
}

func (c *Config) toFile() fileConfig {
	fc := fileConfig{
		Schema: c.Schema,
		Seed:   c.Seed,
		Budget: fileBudget{Steps: c.Budget.Steps, BatchSize: c.Budget.BatchSize, Examples: c.Budget.Examples()},
		Tasks:  make([]fileTask, len(c.Tasks)),
		Provenance: fileProvenance{
			RunID:          c.Provenance.RunID,
			Objective:      c.Provenance.Objective,
			Solver:         c.Provenance.Solver,
			SolverSettings: c.Provenance.SolverSettings,
			MixoptVersion:  c.Provenance.MixoptVersion,
		},
	}
	for i, t := range c.Tasks {
		fc.Tasks[i] = fileTask{
			Name: t.Name, Dataset: t.Dataset, Source: t.Source,
			TaskHash: t.TaskHash, DatasetHash: t.DatasetHash, Examples: t.Examples,
			Probability: yamlFloat(t.Probability), Rate: yamlFloat(t.Rate), ExpectedEpochs: yamlFloat(t.ExpectedEpochs),
		}
	}
	return fc
}

func (fc *fileConfig) toConfig() *Config {
	c := &Config{
		Schema: fc.Schema,
		Seed:   fc.Seed,
		Budget: Budget{Steps: fc.Budget.Steps, BatchSize: fc.Budget.BatchSize},
		Tasks:  make([]Task, len(fc.Tasks)),
		Provenance: Provenance{
			RunID:          fc.Provenance.RunID,
			Objective:      fc.Provenance.Objective,
			Solver:         fc.Provenance.Solver,
			SolverSettings: fc.Provenance.SolverSettings,
			MixoptVersion:  fc.Provenance.MixoptVersion,
		},
	}
	for i, t := range fc.Tasks {
		c.Tasks[i] = Task{
			TaskEntry: TaskEntry{
				Name: t.Name, Dataset: t.Dataset, Source: t.Source,
				TaskHash: t.TaskHash, DatasetHash: t.DatasetHash, Examples: t.Examples,
			},
			Probability: float64(t.Probability), Rate: float64(t.Rate), ExpectedEpochs: float64(t.ExpectedEpochs),
		}
	}
	return c
}

const yamlHeader = `# mixopt sampler config (schema %s).
# probability: chance that one training example comes from the task (they sum to 1).
# rate: probability on FLAMe's 2^16 scale, probability × Σ_tasks min(examples, 65536).
# expected_epochs: passes over the task's examples in the planned budget.
# Export it to a trainer's format with "mixopt export"; do not edit the numbers by hand.
`

// EncodeYAML writes the config as YAML with an explanatory header. The bytes
// depend only on the config.
func (c *Config) EncodeYAML(w io.Writer) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, yamlHeader, SchemaVersion)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c.toFile()); err != nil {
		return fmt.Errorf("encode sampler config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode sampler config: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// EncodeJSON writes the config as indented JSON. The bytes depend only on
// the config.
func (c *Config) EncodeJSON(w io.Writer) error {
	b, err := json.MarshalIndent(c.toFile(), "", "  ")
	if err != nil {
		return fmt.Errorf("encode sampler config: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteYAML writes the config to path as YAML, atomically (a temporary file
// in the same directory, then a rename).
func (c *Config) WriteYAML(path string) error {
	return atomicfile.Write(path, c.EncodeYAML)
}

// WriteJSON writes the config to path as JSON, atomically.
func (c *Config) WriteJSON(path string) error {
	return atomicfile.Write(path, c.EncodeJSON)
}

// Load reads and validates a config file: YAML for .yaml and .yml, JSON for
// .json. Errors name the file, the field and, for YAML, the line, e.g.
// "sampler.yaml:14: tasks[3].probability: -0.1: negative".
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load sampler config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes and validates a config read from the file name, whose
// extension selects the format as in Load.
func Parse(data []byte, name string) (*Config, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return parseYAML(data, name)
	case ".json":
		return parseJSON(data, name)
	}
	return nil, fmt.Errorf("%s: unknown sampler config format %q: want .yaml, .yml or .json", name, filepath.Ext(name))
}

func parseYAML(data []byte, name string) (*Config, error) {
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty sampler config", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := fc.toConfig()
	errs := fc.validate()
	if len(errs) == 0 {
		errs = c.validate(true)
	}
	if len(errs) == 0 {
		return c, nil
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // it decoded above, so it parses
	for _, e := range errs {
		e.File = name
		e.Line = lineOf(&root, e.Field)
	}
	return nil, joinFieldErrors(errs)
}

func parseJSON(data []byte, name string) (*Config, error) {
	var fc fileConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, fmt.Errorf("%s:%d: %w", name, lineAt(data, syn.Offset), err)
		case errors.As(err, &typ):
			return nil, fmt.Errorf("%s:%d: %s: %w", name, lineAt(data, typ.Offset), typ.Field, err)
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("%s: empty sampler config", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the sampler config", name)
	}
	c := fc.toConfig()
	errs := fc.validate()
	if len(errs) == 0 {
		errs = c.validate(true)
	}
	if len(errs) == 0 {
		return c, nil
	}
	for _, e := range errs {
		e.File = name
	}
	return nil, joinFieldErrors(errs)
}

// validate checks what only the file form has: the redundant example count
// of the budget.
func (fc *fileConfig) validate() []*FieldError {
	b := fc.Budget
	if b.Steps > 0 && b.BatchSize > 0 && b.Steps <= MaxPosition/b.BatchSize && b.Examples != b.Steps*b.BatchSize {
		return []*FieldError{{Field: "budget.examples", Msg: fmt.Sprintf("%d: want steps × batch_size = %d", b.Examples, b.Steps*b.BatchSize)}}
	}
	return nil
}

// lineAt returns the 1-based line of a byte offset.
func lineAt(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// lineOf returns the line of the YAML node at a field path such as
// "tasks[3].probability", or of its nearest ancestor present in the file; 0
// if there is none.
func lineOf(root *yaml.Node, field string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(field, ".") {
		key, index, hasIndex := part, 0, false
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			v, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err == nil {
				key, index, hasIndex = part[:i], v, true
			}
		}
		next := mappingValue(n, key)
		if next == nil {
			return line
		}
		n, line = next, next.Line
		if hasIndex {
			if n.Kind != yaml.SequenceNode || index >= len(n.Content) {
				return line
			}
			n = n.Content[index]
			line = n.Line
		}
	}
	return line
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
