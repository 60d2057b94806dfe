package tailpatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/target"
	"github.com/mixopt/mixopt/trainer"
)

// BaseConfig says where patches start: an existing checkpoint, or a base
// trained here on the examples-proportional mixture capped at Cap examples
// per task (the paper's "partially trained" start; how far is a knob).
type BaseConfig struct {
	// Checkpoint, when set, is used as the base and nothing is trained.
	Checkpoint string `mapstructure:"checkpoint" json:"checkpoint,omitempty"`
	Recipe     `mapstructure:",squash"`
	Seed       uint64 `mapstructure:"seed" json:"seed"`
	// Cap is the per-task cap of the base mixture (default 2^16).
	Cap int64 `mapstructure:"cap" json:"cap"`
}

// Config is a tail-patch experiment.
type Config struct {
	// Target names the target definition (default "rewardbench").
	Target string `mapstructure:"target" json:"target"`
	// Tasks are the tasks to patch; empty means every task the trainers
	// offer. Exclude removes tasks from that list.
	Tasks   []string   `mapstructure:"tasks" json:"tasks,omitempty"`
	Exclude []string   `mapstructure:"exclude" json:"exclude,omitempty"`
	Base    BaseConfig `mapstructure:"base" json:"base"`
	// Patch is the recipe of every tail patch and control patch.
	Patch Recipe `mapstructure:"patch" json:"patch"`
	// Seeds are the patch seeds (default 1, 2, 3).
	Seeds []uint64 `mapstructure:"seeds" json:"seeds"`
	// EvalEvery evaluates patches on the dev split every so many steps, for
	// stability (default Patch.Steps/5).
	EvalEvery int64 `mapstructure:"eval_every" json:"eval_every"`
	// NoControls skips the control patches.
	NoControls bool          `mapstructure:"no_controls" json:"no_controls"`
	Effects    EffectOptions `mapstructure:"effects" json:"effects"`
}

// DefaultConfig returns the defaults mixopt ships (they suit the reference
// trainer; the paper's patches were up to 3000 steps).
func DefaultConfig() Config {
	return Config{
		Target: target.RewardBenchName,
		Base:   BaseConfig{Recipe: Recipe{Steps: 300, BatchSize: 32, LearningRate: 0.01}, Seed: 0, Cap: DefaultCap},
		Patch:  Recipe{Steps: 150, BatchSize: 16, LearningRate: 0.01},
		Seeds:  []uint64{1, 2, 3},
	}
}

// Validate checks the config, naming the first bad field.
func (c *Config) Validate() error {
	if c.Target == "" {
		return errors.New("target: required")
	}
	if c.Base.Checkpoint == "" {
		if err := c.Base.Recipe.validate("base"); err != nil {
			return err
		}
		if c.Base.Cap < 1 {
			return fmt.Errorf("base.cap: %d must be >= 1", c.Base.Cap)
		}
	}
	if err := c.Patch.validate("patch"); err != nil {
		return err
	}
	if len(c.Seeds) == 0 {
		return errors.New("seeds: at least one seed required")
	}
	seen := map[uint64]bool{}
	for i, s := range c.Seeds {
		if seen[s] {
			return fmt.Errorf("seeds[%d]: %d listed twice", i, s)
		}
		seen[s] = true
	}
	if c.EvalEvery < 0 {
		return fmt.Errorf("eval_every: %d must be >= 0", c.EvalEvery)
	}
	return nil
}

func (c *Config) evalEvery() int64 {
	if c.EvalEvery > 0 {
		return c.EvalEvery
	}
	return max(1, c.Patch.Steps/5)
}

// RunOptions are the execution settings of a run, which do not change its
// results.
type RunOptions struct {
	// Dir is the run directory: ledger and tables live there.
	Dir       string
	Endpoints []Endpoint
	Scheduler SchedulerConfig
	// Version is the mixopt version recorded in table metadata.
	Version string
	Logger  *slog.Logger
}

// Summary describes a finished run.
type Summary struct {
	RunID          string
	Dir            string
	BaseCheckpoint string
	Description    *trainer.Description
	Scorer         *target.Scorer
	Split          *target.Split
	Effects        *Effects
	// Jobs counts the planned jobs; Ran counts those this invocation ran.
	Jobs, Ran int
	// Files are the tables written.
	Files []string
}

// Run plans and runs a tail-patch experiment in opts.Dir, resuming whatever
// an earlier run there finished, and writes the patches, effects, bootstrap
// and jobs tables.
func Run(ctx context.Context, cfg Config, opts RunOptions) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.Scheduler.Logger = log
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	ledger, err := OpenLedger(filepath.Join(opts.Dir, LedgerFile))
	if err != nil {
		return nil, err
	}
	defer ledger.Close()

	def, err := target.Lookup(cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	desc, live, limits, err := describeAll(ctx, opts, log)
	if err != nil {
		return nil, err
	}
	opts.Endpoints = live
	suiteInfo, ok := desc.Suite(def.Suite)
	if !ok {
		return nil, fmt.Errorf("target %s: trainer %s has no eval suite %q", def.Name, opts.Endpoints[0].Name, def.Suite)
	}
	tasks, err := selectTasks(desc.Tasks, cfg.Tasks, cfg.Exclude)
	if err != nil {
		return nil, err
	}
	// Later stages (solve, validate) read what the trainers offer from here.
	if err := saveDescription(ledger, desc); err != nil {
		return nil, err
	}
	sched, err := NewScheduler(ledger, opts.Endpoints, limits, opts.Scheduler)
	if err != nil {
		return nil, err
	}
	before, err := succeededCount(ledger)
	if err != nil {
		return nil, err
	}

	// Stage 1: the base checkpoint and its evaluation.
	baseJob, err := runBase(ctx, cfg, desc, def.Suite, ledger, sched, opts)
	if err != nil {
		return nil, err
	}
	baseRec, _, err := ledger.Job(baseJob.ID)
	if err != nil {
		return nil, err
	}
	if err := ledger.SetMeta(MetaBaseJob, baseJob.ID); err != nil {
		return nil, err
	}
	baseOutcomes, err := ledger.Outcomes(baseJob.ID)
	if err != nil {
		return nil, err
	}

	// The suite as the trainer scores it, its scorer and its dev split.
	scorer, split, err := ResolveTarget(def, suiteInfo, baseOutcomes)
	if err != nil {
		return nil, err
	}
	for _, d := range scorer.Deviations() {
		log.Debug("target subset differs from the definition", "subset", d.Name, "section", d.Section, "weight", d.Weight, "reason", d.Reason)
	}
	targetKey := fmt.Sprintf("%s/%s@%s split=%s:%g", def.Name, suiteInfo.Name, suiteInfo.ContentHash, split.Salt(), split.DevFraction())

	// Stage 2: tail patches and controls.
	pp := PatchPlan{
		BaseCheckpoint: baseRec.Checkpoint,
		Tasks:          tasks,
		ControlMixture: BaseMixture(tasks, max(cfg.Base.Cap, 1)),
		Recipe:         cfg.Patch,
		Seeds:          cfg.Seeds,
		Controls:       !cfg.NoControls,
		Eval:           trainer.EvalSpec{Suite: def.Suite, EverySteps: cfg.evalEvery(), ExampleIDs: split.IDs(target.Dev)},
		TargetKey:      targetKey,
	}
	jobs := pp.Plan()
	if err := ledger.Plan(jobs); err != nil {
		return nil, err
	}
	log.Info("tail patches planned", "tasks", len(tasks), "seeds", len(cfg.Seeds), "jobs", len(jobs), "base", baseRec.Checkpoint)
	ids := make([]string, len(baseOutcomes))
	for i, o := range baseOutcomes {
		ids[i] = o.ID
	}
	if err := sched.Run(ctx, jobs, def.Suite, SameExamples(ids)); err != nil {
		return nil, err
	}

	// Stage 3: effects and tables.
	effects, rows, err := measure(ledger, scorer, split, baseRec, tasks, cfg, jobs, cfg.Effects)
	if err != nil {
		return nil, err
	}
	runID := runID(targetKey, baseRec.Checkpoint, jobs)
	meta, err := metadata(runID, cfg, def, desc, opts, baseRec.Checkpoint, suiteInfo, split, scorer)
	if err != nil {
		return nil, err
	}
	examples := map[string]int64{}
	for _, t := range tasks {
		// The dataset's size, which the real training run sees (the
		// reference trainer's held-out slice is its own affair).
		examples[t.Name] = t.Examples
	}
	if err := WritePatches(opts.Dir, rows, scorer.Categories(), meta); err != nil {
		return nil, err
	}
	if err := WriteEffects(opts.Dir, effects, examples, meta); err != nil {
		return nil, err
	}
	recs, err := jobRecords(ledger, append([]Job{baseJob}, jobs...))
	if err != nil {
		return nil, err
	}
	if err := WriteJobs(opts.Dir, recs, meta); err != nil {
		return nil, err
	}
	after, err := succeededCount(ledger)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, name := range []string{PatchesTable, EffectsTable, BootstrapTable, JobsTable} {
		files = append(files, filepath.Join(opts.Dir, name+".arrow"), filepath.Join(opts.Dir, name+".parquet"))
	}
	return &Summary{
		RunID: runID, Dir: opts.Dir, BaseCheckpoint: baseRec.Checkpoint, Description: desc,
		Scorer: scorer, Split: split, Effects: effects, Jobs: len(jobs) + 1, Ran: after - before, Files: files,
	}, nil
}

// describeAll asks every endpoint what it offers and checks that they agree
// on the data (task and suite content hashes), so a job gives the same
// result wherever it runs. Endpoints that cannot be reached are left out of
// the run with a warning (a pool keeps working when one machine is down);
// it returns the reachable ones with their concurrency limits.
func describeAll(ctx context.Context, opts RunOptions, log *slog.Logger) (*trainer.Description, []Endpoint, []int, error) {
	if len(opts.Endpoints) == 0 {
		return nil, nil, nil, errors.New("no trainer endpoints")
	}
	var first *trainer.Description
	var firstName string
	var live []Endpoint
	var limits []int
	var down []error
	timeout := opts.Scheduler.CallTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	for _, ep := range opts.Endpoints {
		var d *trainer.Description
		err := opts.Scheduler.Backoff.Retry(ctx, func(ctx context.Context) error {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			var err error
			d, err = ep.Trainer.Describe(cctx)
			return err
		})
		if err != nil {
			if !trainer.Retryable(err) {
				return nil, nil, nil, fmt.Errorf("describe %s: %w", ep.Name, err)
			}
			log.Warn("trainer unreachable; running without it", "endpoint", ep.Name, "err", err)
			down = append(down, fmt.Errorf("describe %s: %w", ep.Name, err))
			continue
		}
		live = append(live, ep)
		limits = append(limits, d.MaxConcurrentJobs)
		if first == nil {
			first, firstName = d, ep.Name
			continue
		}
		for _, t := range first.Tasks {
			o, ok := d.Task(t.Name)
			if !ok || o.ContentHash != t.ContentHash {
				return nil, nil, nil, fmt.Errorf("trainer %s disagrees with %s on task %s (content %q vs %q): every endpoint must serve the same data", ep.Name, firstName, t.Name, o.ContentHash, t.ContentHash)
			}
		}
		for _, s := range first.Suites {
			o, ok := d.Suite(s.Name)
			if !ok || o.ContentHash != s.ContentHash {
				return nil, nil, nil, fmt.Errorf("trainer %s disagrees with %s on eval suite %s: every endpoint must serve the same data", ep.Name, firstName, s.Name)
			}
		}
	}
	if first == nil {
		return nil, nil, nil, fmt.Errorf("no trainer reachable: %w", errors.Join(down...))
	}
	return first, live, limits, nil
}

// selectTasks picks the tasks to patch, in name order.
func selectTasks(all []trainer.TaskInfo, include, exclude []string) ([]trainer.TaskInfo, error) {
	byName := map[string]trainer.TaskInfo{}
	names := make([]string, 0, len(all))
	for _, t := range all {
		byName[t.Name] = t
		names = append(names, t.Name)
	}
	want := include
	if len(want) == 0 {
		want = names
	}
	drop := map[string]bool{}
	for i, n := range exclude {
		if _, ok := byName[n]; !ok {
			return nil, fmt.Errorf("exclude[%d]: unknown task %q (the trainer offers: %s)", i, n, strings.Join(names, ", "))
		}
		drop[n] = true
	}
	var out []trainer.TaskInfo
	seen := map[string]bool{}
	for i, n := range want {
		t, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("tasks[%d]: unknown task %q (the trainer offers: %s)", i, n, strings.Join(names, ", "))
		}
		if drop[n] || seen[n] {
			continue
		}
		if t.TrainExamples == 0 {
			continue
		}
		seen[n] = true
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b trainer.TaskInfo) int { return strings.Compare(a.Name, b.Name) })
	if len(out) == 0 {
		return nil, errors.New("tasks: nothing to patch")
	}
	return out, nil
}

// runBase trains (or adopts) the base checkpoint and evaluates it with
// per-example outcomes, recording both in the ledger.
func runBase(ctx context.Context, cfg Config, desc *trainer.Description, suite string, ledger *Ledger, sched *Scheduler, opts RunOptions) (Job, error) {
	if cfg.Base.Checkpoint == "" {
		// The base mixture covers every task the trainer offers: the
		// vanilla mixture of the whole collection.
		job := PlanBase(BaseMixture(desc.Tasks, cfg.Base.Cap), cfg.Base.Recipe, cfg.Base.Seed)
		if err := ledger.Plan([]Job{job}); err != nil {
			return Job{}, err
		}
		if err := sched.Run(ctx, []Job{job}, suite, nil); err != nil {
			return Job{}, fmt.Errorf("base: %w", err)
		}
		return job, nil
	}
	// An existing checkpoint: record an evaluation-only entry.
	canonical := fmt.Sprintf("kind=base checkpoint=%s suite=%s", cfg.Base.Checkpoint, suite)
	job := Job{ID: jobID(KindBase, "given", 0, canonical), Kind: KindBase, Spec: trainer.JobSpec{Base: cfg.Base.Checkpoint}}
	if err := ledger.Plan([]Job{job}); err != nil {
		return Job{}, err
	}
	rec, _, err := ledger.Job(job.ID)
	if err != nil || rec.State == StateSucceeded {
		return job, err
	}
	// Any endpoint can evaluate it; try them in turn.
	var errs []error
	for _, ep := range opts.Endpoints {
		if err := ledger.Submitted(job.ID, ep.Name); err != nil {
			return Job{}, err
		}
		var ev *trainer.Evaluation
		err = sched.call(ctx, func(cctx context.Context) error {
			var err error
			ev, err = ep.Trainer.Evaluate(cctx, cfg.Base.Checkpoint, suite, nil, true)
			return err
		})
		if err == nil {
			err = validateEvaluation(ev)
		}
		if err == nil {
			return job, ledger.Finished(job.ID, Result{Endpoint: ep.Name, Checkpoint: cfg.Base.Checkpoint, Outcomes: ev.Examples})
		}
		if ctx.Err() != nil {
			return Job{}, ctx.Err()
		}
		errs = append(errs, fmt.Errorf("on %s: %w", ep.Name, err))
	}
	return Job{}, fmt.Errorf("evaluate base checkpoint %s: %w", cfg.Base.Checkpoint, errors.Join(errs...))
}

// ResolveTarget rebuilds the target suite from a full evaluation (example
// ids and subsets in suite order) and Describe's subset sections, and returns
// the target's scorer and dev/test split for it.
func ResolveTarget(def *target.Definition, info trainer.SuiteInfo, outcomes []trainer.ExampleOutcome) (*target.Scorer, *target.Split, error) {
	suite, err := suiteFrom(info, outcomes)
	if err != nil {
		return nil, nil, err
	}
	scorer, err := def.ResolveSuite(suite)
	if err != nil {
		return nil, nil, err
	}
	split, err := def.Split(suite)
	if err != nil {
		return nil, nil, err
	}
	return scorer, split, nil
}

// suiteFrom rebuilds the suite's example list (ids and subsets, in suite
// order) from an evaluation, with sections from Describe.
func suiteFrom(info trainer.SuiteInfo, outcomes []trainer.ExampleOutcome) (*dataset.Suite, error) {
	section := map[string]string{}
	s := &dataset.Suite{Name: info.Name, ContentHash: info.ContentHash}
	for _, sub := range info.Subsets {
		section[sub.Name] = sub.Section
		s.Subsets = append(s.Subsets, dataset.SubsetInfo{Name: sub.Name, Section: sub.Section, Examples: int(sub.Examples)})
	}
	counts := map[string]int{}
	for _, o := range outcomes {
		sec, ok := section[o.Subset]
		if !ok {
			return nil, fmt.Errorf("suite %s: example %s has subset %q that Describe does not list", info.Name, o.ID, o.Subset)
		}
		counts[o.Subset]++
		s.Examples = append(s.Examples, dataset.TargetExample{ID: o.ID, Subset: o.Subset, Section: sec})
	}
	for _, sub := range s.Subsets {
		if counts[sub.Name] != sub.Examples {
			return nil, fmt.Errorf("suite %s: subset %s has %d examples in the evaluation, %d in Describe", info.Name, sub.Name, counts[sub.Name], sub.Examples)
		}
	}
	return s, nil
}

// SameExamples returns a Validator that checks an evaluation scored exactly
// ids (the base's examples) in the same order, so outcomes can be paired.
func SameExamples(ids []string) Validator {
	return func(ev *trainer.Evaluation) error {
		if len(ev.Examples) != len(ids) {
			return fmt.Errorf("%d examples, the base evaluation had %d", len(ev.Examples), len(ids))
		}
		for i, e := range ev.Examples {
			if e.ID != ids[i] {
				return fmt.Errorf("example %d is %q, the base evaluation had %q", i, e.ID, ids[i])
			}
		}
		return nil
	}
}

// measure loads the outcomes of every job and computes effects and the
// patches table rows.
func measure(ledger *Ledger, scorer *target.Scorer, split *target.Split, base JobRecord, tasks []trainer.TaskInfo, cfg Config, jobs []Job, opts EffectOptions) (*Effects, []PatchRow, error) {
	groups := split.BySubset(target.Dev)
	load := func(id string) ([]bool, error) {
		outs, err := ledger.Outcomes(id)
		if err != nil {
			return nil, err
		}
		c := make([]bool, len(outs))
		for i, o := range outs {
			c[i] = o.Correct
		}
		return c, nil
	}
	devScores := func(correct []bool) []float64 {
		return scorer.Score(target.Tally(correct, groups))
	}
	baseCorrect, err := load(base.ID)
	if err != nil {
		return nil, nil, err
	}
	in := EffectInput{Scorer: scorer, Groups: groups, Base: baseCorrect}
	taskIndex := map[string]int{}
	for _, t := range tasks {
		taskIndex[t.Name] = len(in.Tasks)
		in.Tasks = append(in.Tasks, t.Name)
		in.Patches = append(in.Patches, nil)
	}
	rows := []PatchRow{{
		JobID: base.ID, Kind: KindBase, Seed: base.Seed, BaseCheckpoint: base.Spec.Base, Checkpoint: base.Checkpoint,
		Steps: base.Spec.Steps, BatchSize: base.Spec.BatchSize, LearningRate: base.Spec.LearningRate,
		FinalLoss: base.FinalLoss, Scores: devScores(baseCorrect),
	}}
	for _, j := range jobs {
		rec, ok, err := ledger.Job(j.ID)
		if err != nil {
			return nil, nil, err
		}
		if !ok || rec.State != StateSucceeded {
			return nil, nil, fmt.Errorf("job %s has not succeeded", j.ID)
		}
		correct, err := load(j.ID)
		if err != nil {
			return nil, nil, err
		}
		traj, err := ledger.Trajectory(j.ID)
		if err != nil {
			return nil, nil, err
		}
		jo := JobOutcome{Seed: j.Seed, Correct: correct, Trajectory: traj}
		switch j.Kind {
		case KindPatch:
			t := taskIndex[j.Task]
			in.Patches[t] = append(in.Patches[t], jo)
		case KindControl:
			in.Controls = append(in.Controls, jo)
		}
		rows = append(rows, PatchRow{
			JobID: j.ID, Kind: j.Kind, Task: j.Task, Seed: j.Seed, BaseCheckpoint: j.Spec.Base, Checkpoint: rec.Checkpoint,
			Steps: j.Spec.Steps, BatchSize: j.Spec.BatchSize, LearningRate: j.Spec.LearningRate,
			FinalLoss: rec.FinalLoss, Scores: devScores(correct),
		})
	}
	effects, err := ComputeEffects(in, opts)
	if err != nil {
		return nil, nil, err
	}
	return effects, rows, nil
}

func jobRecords(ledger *Ledger, jobs []Job) ([]JobRecord, error) {
	out := make([]JobRecord, 0, len(jobs))
	for _, j := range jobs {
		rec, ok, err := ledger.Job(j.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, rec)
		}
	}
	return out, nil
}

func succeededCount(ledger *Ledger) (int, error) {
	recs, err := ledger.Jobs()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		if r.State == StateSucceeded {
			n++
		}
	}
	return n, nil
}

// runID derives the run's id from what determines its results.
func runID(targetKey, base string, jobs []Job) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", targetKey, base)
	for _, j := range jobs {
		fmt.Fprintln(h, j.ID)
	}
	return "run-" + hex.EncodeToString(h.Sum(nil)[:6])
}

// metadata is the provenance every table carries. It holds nothing that
// varies between runs with the same results (no times, no endpoints).
func metadata(runID string, cfg Config, def *target.Definition, desc *trainer.Description, opts RunOptions, base string, suite trainer.SuiteInfo, split *target.Split, scorer *target.Scorer) (map[string]string, error) {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // plain data types only
		}
		return string(b)
	}
	type cat struct {
		Name      string `json:"name"`
		Section   bool   `json:"section"`
		TailPatch bool   `json:"tail_patch"`
	}
	var cats []cat
	for _, c := range scorer.Categories() {
		cats = append(cats, cat{c.Name, c.Section, c.TailPatch})
	}
	return map[string]string{
		"mixopt.version":         opts.Version,
		"mixopt.run_id":          runID,
		"mixopt.target":          def.Name,
		"mixopt.suite":           suite.Name,
		"mixopt.suite_hash":      suite.ContentHash,
		"mixopt.split":           enc(map[string]any{"salt": split.Salt(), "dev_fraction": split.DevFraction(), "dev_examples": len(split.IDs(target.Dev)), "test_examples": len(split.IDs(target.Test))}),
		"mixopt.base_checkpoint": base,
		"mixopt.config":          enc(cfg),
		"mixopt.categories":      enc(cats),
		"mixopt.deviations":      enc(scorer.Deviations()),
		// Endpoints are left out: results do not depend on where jobs ran
		// (the jobs table records that).
		"mixopt.trainer": enc(map[string]any{
			"api_version": desc.APIVersion, "model": desc.ModelName,
			"model_version": desc.ModelVersion, "parameters": desc.ModelParameters,
		}),
	}, nil
}

// MetaBaseJob is the ledger meta key of the run's base job id (whose
// outcomes define the suite's example order).
const MetaBaseJob = "base.job"

// MetaDescription is the ledger meta key under which a run keeps the
// trainers' Describe answer.
const MetaDescription = "trainer.describe"

func saveDescription(ledger *Ledger, desc *trainer.Description) error {
	b, err := json.Marshal(desc)
	if err != nil {
		return err
	}
	return ledger.SetMeta(MetaDescription, string(b))
}

// LoadDescription returns the Describe answer a run recorded.
func LoadDescription(ledger *Ledger) (*trainer.Description, error) {
	s, err := ledger.Meta(MetaDescription)
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, fmt.Errorf("ledger %s records no trainer description (run `mixopt patch` first)", ledger.Path())
	}
	var d trainer.Description
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("ledger %s: %s: %w", ledger.Path(), MetaDescription, err)
	}
	return &d, nil
}
