// Package sampler turns solved mixture weights into the sampler config a
// training run consumes, exports that config to the formats real trainers
// read, and implements mixopt's own deterministic, seekable mixing sampler.
//
// A Config (sampler.yaml, or the same as JSON) records, per task, where its
// data lives, the content hashes that pin it, its example count and its
// sampling probability, plus the seed, the planned training budget and the
// provenance of the weights. Export writes it in a trainer's own format with
// that trainer's weight semantics (see Formats), and reports how many epochs
// of each task the budget implies. Stream produces the mixed sequence of
// (task, example) itself: every prefix holds each task within one example
// of its share, examples follow a fresh seeded permutation each epoch, and
// any position can be resumed exactly. Materialise writes that sequence with
// the examples' contents to an Arrow IPC file.
package sampler

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
)

// SchemaVersion names the version of the sampler config format. Load rejects
// any other.
const SchemaVersion = "mixopt.sampler/v1"

// RateScale is the per-task cap of FLAMe's examples-proportional mixture,
// the scale of Task.Rate: with probability ∝ min(examples, RateScale), a
// task's rate is min(examples, RateScale).
const RateScale = 1 << 16

// sumTolerance is how far from 1 the probabilities of a loaded config may
// sum.
const sumTolerance = 1e-9

// taskNameRE is what a task name may look like: non-empty segments without
// control characters, joined by '/' for derived tasks such as
// "conala_human_grades/pairs". Exporters map names into each trainer's
// namespace and reject collisions.
var taskNameRE = regexp.MustCompile(`^[^/\x00-\x1f\x7f]+(/[^/\x00-\x1f\x7f]+)*$`)

// TaskEntry identifies one task and the data it is drawn from.
type TaskEntry struct {
	// Name is the task name, e.g. "hh_rlhf_harmless_base" or
	// "conala_human_grades/pairs".
	Name string
	// Dataset names the dataset the task is derived from.
	Dataset string
	// Source is the path of the dataset file.
	Source string
	// TaskHash is the task's content hash (dataset content and derivation
	// rule).
	TaskHash string
	// DatasetHash is the content hash of the dataset.
	DatasetHash string
	// Examples is the number of training units of the task.
	Examples int64
}

// Task is a task of a Config with its sampling weight.
type Task struct {
	TaskEntry
	// Probability is the chance that any one training example comes from
	// this task. The probabilities of a config sum to 1.
	Probability float64
	// Rate is Probability on FLAMe's 2^16 scale:
	// Probability × Σ_tasks min(Examples, RateScale).
	Rate float64
	// ExpectedEpochs is how many passes over the task's examples the
	// planned budget makes: Probability × Budget.Examples() / Examples.
	ExpectedEpochs float64
}

// Budget is the planned training run.
type Budget struct {
	Steps     int64
	BatchSize int64
}

// Examples returns the number of training examples the budget draws, steps
// times batch size.
func (b Budget) Examples() int64 { return b.Steps * b.BatchSize }

// Provenance records where a config's weights came from. Its fields are
// informational; Load does not check them.
type Provenance struct {
	RunID     string
	Objective string
	Solver    string
	// SolverSettings are the solver's settings as strings; they are written
	// in key order.
	SolverSettings map[string]string
	MixoptVersion  string
}

// Config is a sampler config: the seed, the planned budget and the weighted
// tasks of one training mixture.
type Config struct {
	Schema     string
	Seed       uint64
	Budget     Budget
	Tasks      []Task
	Provenance Provenance
}

// FieldError is a problem with one field of a config. File and Line are set
// when the config was read from a file (Line only for YAML).
type FieldError struct {
	File  string
	Line  int
	Field string // e.g. "tasks[3].probability"
	Msg   string
}

func (e *FieldError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Msg)
}

// New builds a config from the tasks and their weights. Weights are
// relative: they must be finite, non-negative and not all zero, and New
// divides them by their sum, so a solver's probabilities and FLAMe-style
// rates both work. Rates and expected epochs are derived.
func New(tasks []TaskEntry, weights []float64, budget Budget, seed uint64, prov Provenance) (*Config, error) {
	if len(tasks) != len(weights) {
		return nil, fmt.Errorf("sampler config: %d tasks but %d weights", len(tasks), len(weights))
	}
	var errs []*FieldError
	var sum float64
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("weights[%d]", i), Msg: fmt.Sprintf("%v: must be finite and non-negative", w)})
			continue
		}
		sum += w
	}
	if len(errs) == 0 && (!(sum > 0) || math.IsInf(sum, 0)) {
		errs = append(errs, &FieldError{Field: "weights", Msg: fmt.Sprintf("sum %v: must be positive and finite", sum)})
	}
	if len(errs) > 0 {
		return nil, joinFieldErrors(errs)
	}
	c := &Config{
		Schema:     SchemaVersion,
		Seed:       seed,
		Budget:     budget,
		Tasks:      make([]Task, len(tasks)),
		Provenance: prov,
	}
	if prov.SolverSettings != nil {
		c.Provenance.SolverSettings = make(map[string]string, len(prov.SolverSettings))
		for k, v := range prov.SolverSettings {
			c.Provenance.SolverSettings[k] = v
		}
	}
	for i, t := range tasks {
		c.Tasks[i] = Task{TaskEntry: t, Probability: weights[i] / sum}
	}
	c.derive()
	if errs := c.validate(false); len(errs) > 0 {
		return nil, joinFieldErrors(errs)
	}
	return c, nil
}

// derive sets the rates and expected epochs from the probabilities.
func (c *Config) derive() {
	capped := c.cappedTotal()
	for i := range c.Tasks {
		t := &c.Tasks[i]
		t.Rate = t.Probability * capped
		t.ExpectedEpochs = 0
		if t.Examples > 0 {
			t.ExpectedEpochs = t.Probability * float64(c.Budget.Examples()) / float64(t.Examples)
		}
	}
}

// cappedTotal returns Σ_tasks min(examples, RateScale).
func (c *Config) cappedTotal() float64 {
	var s int64
	for _, t := range c.Tasks {
		s += min(max(t.Examples, 0), RateScale)
	}
	return float64(s)
}

// Probabilities returns the tasks' probabilities in config order.
func (c *Config) Probabilities() []float64 {
	p := make([]float64, len(c.Tasks))
	for i, t := range c.Tasks {
		p[i] = t.Probability
	}
	return p
}

// TaskIndex returns the index of the named task.
func (c *Config) TaskIndex(name string) (int, bool) {
	i := slices.IndexFunc(c.Tasks, func(t Task) bool { return t.Name == name })
	return i, i >= 0
}

// Fingerprint identifies what the mixed stream of this config depends on:
// seed, task names, content hashes, example counts and probabilities. A
// State carries it so that a checkpoint is never resumed on another mixture.
func (c *Config) Fingerprint() string {
	h := sha256.New()
	var buf [8]byte
	write := func(s string) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	write(c.Schema)
	binary.BigEndian.PutUint64(buf[:], c.Seed)
	h.Write(buf[:])
	for _, t := range c.Tasks {
		write(t.Name)
		write(t.TaskHash)
		binary.BigEndian.PutUint64(buf[:], uint64(t.Examples))
		h.Write(buf[:])
		binary.BigEndian.PutUint64(buf[:], math.Float64bits(t.Probability))
		h.Write(buf[:])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Validate checks the config as Load does: schema, budget, unique valid task
// names, hashes and sources present, positive example counts, probabilities
// finite, non-negative and summing to 1 within 1e-9, and rates and expected
// epochs consistent with them.
func (c *Config) Validate() error {
	if errs := c.validate(true); len(errs) > 0 {
		return joinFieldErrors(errs)
	}
	return nil
}

func (c *Config) validate(checkDerived bool) []*FieldError {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Schema != SchemaVersion {
		bad("schema", "%q: want %q", c.Schema, SchemaVersion)
	}
	b := c.Budget
	switch {
	case b.Steps <= 0:
		bad("budget.steps", "%d: must be positive", b.Steps)
	case b.BatchSize <= 0:
		bad("budget.batch_size", "%d: must be positive", b.BatchSize)
	case b.Steps > MaxPosition/b.BatchSize:
		bad("budget", "%d steps × batch %d overflows", b.Steps, b.BatchSize)
	}
	if len(c.Tasks) == 0 {
		bad("tasks", "empty: a mixture needs at least one task")
	}
	seen := make(map[string]int, len(c.Tasks))
	var sum float64
	for i, t := range c.Tasks {
		f := func(name string) string { return fmt.Sprintf("tasks[%d].%s", i, name) }
		switch {
		case t.Name == "":
			bad(f("name"), "empty")
		case !taskNameRE.MatchString(t.Name) || strings.TrimSpace(t.Name) != t.Name:
			bad(f("name"), "%q: want non-empty segments without control characters or outer spaces, joined by '/'", t.Name)
		default:
			if j, dup := seen[t.Name]; dup {
				bad(f("name"), "%q: duplicate of tasks[%d]", t.Name, j)
			}
			seen[t.Name] = i
		}
		for _, s := range []struct{ field, value string }{
			{"dataset", t.Dataset}, {"source", t.Source}, {"task_hash", t.TaskHash}, {"dataset_hash", t.DatasetHash},
		} {
			if s.value == "" {
				bad(f(s.field), "empty")
			}
		}
		if t.Examples <= 0 {
			bad(f("examples"), "%d: must be positive", t.Examples)
		}
		p := t.Probability
		switch {
		case math.IsNaN(p) || math.IsInf(p, 0):
			bad(f("probability"), "%v: not finite", p)
			continue
		case p < 0:
			bad(f("probability"), "%v: negative", p)
			continue
		case p > 1:
			bad(f("probability"), "%v: above 1", p)
		}
		sum += p
	}
	if len(errs) > 0 {
		return errs
	}
	if math.Abs(sum-1) > sumTolerance {
		bad("tasks", "probabilities sum to %.17g, not 1 (within %g)", sum, sumTolerance)
		return errs
	}
	if checkDerived {
		capped := c.cappedTotal()
		for i, t := range c.Tasks {
			if want := t.Probability * capped; !near(t.Rate, want) {
				bad(fmt.Sprintf("tasks[%d].rate", i), "%v: want probability × Σ min(examples, %d) = %v", t.Rate, RateScale, want)
			}
			if want := t.Probability * float64(b.Examples()) / float64(t.Examples); !near(t.ExpectedEpochs, want) {
				bad(fmt.Sprintf("tasks[%d].expected_epochs", i), "%v: want probability × budget examples / examples = %v", t.ExpectedEpochs, want)
			}
		}
	}
	return errs
}

// near reports whether got matches the derived value want up to rounding.
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*max(1, math.Abs(want))
}

func joinFieldErrors(errs []*FieldError) error {
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}
