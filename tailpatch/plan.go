// Package tailpatch runs tail-patch ablation (FLAMe-Opt-RM, arXiv 2407.10817
// §4.3): from a common base checkpoint it fine-tunes once per task and seed,
// plus a control patch per seed, on a pool of trainers; records everything
// in a resumable ledger; and turns the results into per-task, per-category
// effects with paired bootstrap confidence intervals and trajectory
// stability, written as Arrow and Parquet tables.
//
// Data flows one way: Config → Plan → Scheduler (trainers) → Ledger →
// Effects → tables.
package tailpatch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mixopt/mixopt/trainer"
)

// Kind says what a job is for.
type Kind string

const (
	// KindBase trains the base checkpoint patches start from.
	KindBase Kind = "base"
	// KindPatch fine-tunes the base on one task alone.
	KindPatch Kind = "patch"
	// KindControl fine-tunes the base on the base mixture with the patch
	// recipe, so that "training longer" is not credited to a task.
	KindControl Kind = "control"
	// KindValidation trains a candidate or baseline mixture to check the
	// optimised weights (package validation).
	KindValidation Kind = "validation"
)

// DefaultCap is FLAMe's per-task cap on the examples-proportional mixture
// (2^16 examples).
const DefaultCap = 1 << 16

// Recipe is a training recipe: the optimisation settings of a job.
type Recipe struct {
	Steps        int64   `mapstructure:"steps" json:"steps"`
	BatchSize    int     `mapstructure:"batch_size" json:"batch_size"`
	LearningRate float64 `mapstructure:"learning_rate" json:"learning_rate"`
}

func (r Recipe) validate(field string) error {
	switch {
	case r.Steps < 1:
		return fmt.Errorf("%s.steps: %d must be >= 1", field, r.Steps)
	case r.BatchSize < 1:
		return fmt.Errorf("%s.batch_size: %d must be >= 1", field, r.BatchSize)
	case !(r.LearningRate > 0) || math.IsInf(r.LearningRate, 0):
		return fmt.Errorf("%s.learning_rate: %v must be finite and > 0", field, r.LearningRate)
	}
	return nil
}

func (r Recipe) canonical() string {
	return fmt.Sprintf("steps=%d batch_size=%d learning_rate=%s", r.Steps, r.BatchSize, strconv.FormatFloat(r.LearningRate, 'g', -1, 64))
}

// Job is one planned trainer job.
type Job struct {
	// ID is content-addressed: a hash of everything that determines the
	// job's result, so that the same work always gets the same id, new work
	// a new one, and a changed dataset invalidates exactly its own jobs.
	ID   string
	Kind Kind
	// Task is the patched task (KindPatch only).
	Task string
	Seed uint64
	Spec trainer.JobSpec
}

// Label is a short human-readable name for logs and progress bars.
func (j *Job) Label() string {
	switch j.Kind {
	case KindPatch:
		return fmt.Sprintf("patch %s seed %d", j.Task, j.Seed)
	case KindControl:
		return fmt.Sprintf("control seed %d", j.Seed)
	case KindValidation:
		return fmt.Sprintf("validate %s seed %d", j.Task, j.Seed)
	}
	return string(j.Kind)
}

// jobID derives a job id from its kind, a readable name and the canonical
// description of its inputs. Ids match the Trainer API's job_id pattern.
func jobID(kind Kind, name string, seed uint64, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	slug := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '.'
	}, name)
	if len(slug) > 64 {
		slug = slug[:64]
	}
	id := string(kind)
	if slug != "" {
		id += "-" + slug
	}
	if kind != KindBase {
		id += fmt.Sprintf("-s%d", seed)
	}
	return id + "-" + hex.EncodeToString(sum[:10])
}

// canonicalMixture writes a mixture as "task@hash:weight,…" in task order.
func canonicalMixture(m []trainer.Component) string {
	parts := make([]string, len(m))
	for i, c := range m {
		parts[i] = fmt.Sprintf("%s@%s:%s", c.Task, c.ContentHash, strconv.FormatFloat(c.Weight, 'g', -1, 64))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// BaseMixture is the examples-proportional mixture capped at cap examples
// per task (the paper's "vanilla" mixture), over tasks sorted by name. Its
// weights are the capped counts (the trainer normalises them).
func BaseMixture(tasks []trainer.TaskInfo, cap int64) []trainer.Component {
	out := make([]trainer.Component, 0, len(tasks))
	for _, t := range tasks {
		n := min(t.TrainExamples, cap)
		if n <= 0 {
			continue
		}
		out = append(out, trainer.Component{Task: t.Name, Weight: float64(n), ContentHash: t.ContentHash})
	}
	slices.SortFunc(out, func(a, b trainer.Component) int { return strings.Compare(a.Task, b.Task) })
	return out
}

// PlanBase returns the job that trains the base checkpoint from "init" on
// the base mixture.
func PlanBase(mixture []trainer.Component, r Recipe, seed uint64) Job {
	canonical := fmt.Sprintf("kind=base from=init mixture=%s %s seed=%d", canonicalMixture(mixture), r.canonical(), seed)
	return Job{
		ID: jobID(KindBase, "", seed, canonical), Kind: KindBase, Seed: seed,
		Spec: trainer.JobSpec{
			Base: "init", Mixture: mixture, Steps: r.Steps, BatchSize: r.BatchSize,
			LearningRate: r.LearningRate, Seed: seed, Purpose: trainer.PurposeBase,
		},
	}
}

// PatchPlan is what tail patching needs to know to plan patches and controls.
type PatchPlan struct {
	// BaseCheckpoint is the checkpoint every patch starts from.
	BaseCheckpoint string
	// Tasks are the tasks to patch, with their content hashes.
	Tasks []trainer.TaskInfo
	// ControlMixture is the base mixture the control patches train on.
	ControlMixture []trainer.Component
	Recipe         Recipe
	Seeds          []uint64
	// Controls adds one control patch per seed.
	Controls bool
	// Eval is what every patch is evaluated on during training (the dev
	// split of the target suite).
	Eval trainer.EvalSpec
	// TargetKey identifies the target the patches are measured on (its
	// definition, suite content and split), so a changed target gives new
	// ids.
	TargetKey string
}

// Plan lists the patch and control jobs, patches in task order then seed
// order, then the controls in seed order.
func (p PatchPlan) Plan() []Job {
	common := fmt.Sprintf("base=%s %s eval_every=%d target=%s", p.BaseCheckpoint, p.Recipe.canonical(), p.Eval.EverySteps, p.TargetKey)
	spec := func(mixture []trainer.Component, seed uint64, purpose trainer.Purpose) trainer.JobSpec {
		eval := p.Eval
		return trainer.JobSpec{
			Base: p.BaseCheckpoint, Mixture: mixture, Steps: p.Recipe.Steps, BatchSize: p.Recipe.BatchSize,
			LearningRate: p.Recipe.LearningRate, Seed: seed, Eval: &eval, Purpose: purpose,
		}
	}
	var jobs []Job
	for _, t := range p.Tasks {
		for _, seed := range p.Seeds {
			canonical := fmt.Sprintf("kind=patch task=%s@%s seed=%d %s", t.Name, t.ContentHash, seed, common)
			jobs = append(jobs, Job{
				ID: jobID(KindPatch, t.Name, seed, canonical), Kind: KindPatch, Task: t.Name, Seed: seed,
				Spec: spec([]trainer.Component{{Task: t.Name, Weight: 1, ContentHash: t.ContentHash}}, seed, trainer.PurposeTailPatch),
			})
		}
	}
	if p.Controls {
		for _, seed := range p.Seeds {
			canonical := fmt.Sprintf("kind=control mixture=%s seed=%d %s", canonicalMixture(p.ControlMixture), seed, common)
			jobs = append(jobs, Job{
				ID: jobID(KindControl, "", seed, canonical), Kind: KindControl, Seed: seed,
				Spec: spec(p.ControlMixture, seed, trainer.PurposeControlPatch),
			})
		}
	}
	return jobs
}

// SpecJob makes a job of any kind whose id hashes everything in spec that
// determines its result (start, mixture with content hashes, recipe, seed).
// name labels it (for KindValidation, the arm).
func SpecJob(kind Kind, name string, spec trainer.JobSpec) Job {
	canonical := fmt.Sprintf("kind=%s name=%s from=%s mixture=%s %s seed=%d", kind, name, spec.Base,
		canonicalMixture(spec.Mixture), Recipe{Steps: spec.Steps, BatchSize: spec.BatchSize, LearningRate: spec.LearningRate}.canonical(), spec.Seed)
	return Job{ID: jobID(kind, name, spec.Seed, canonical), Kind: kind, Task: name, Seed: spec.Seed, Spec: spec}
}
