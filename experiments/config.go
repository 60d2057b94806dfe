// Package experiments holds mixopt's experiment configurations: the
// shipped YAML files (rewardbench.yaml, …) embedded in the binary, and the
// Config they decode into. A config is read with viper: the file, then
// MIXOPT_* environment variables, then command-line flags.
package experiments

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/validation"
	"github.com/spf13/viper"
)

//go:embed *.yaml
var files embed.FS

// Names lists the shipped experiment configs (file names without .yaml).
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(out)
	return out
}

// File returns the YAML of a shipped experiment config.
func File(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no shipped experiment %q (have: %s); pass --config FILE for your own", name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// ReferenceTrainer configures the in-process reference trainer used when no
// trainer endpoint is given.
type ReferenceTrainer struct {
	// Dim is the number of hashed features (0: 2^18).
	Dim int `mapstructure:"dim"`
	// MaxJobs bounds concurrent jobs (0: number of CPUs).
	MaxJobs int `mapstructure:"max_jobs"`
}

// Scheduler configures how jobs are run on trainers.
type Scheduler struct {
	CallTimeout    time.Duration `mapstructure:"call_timeout"`
	StallTimeout   time.Duration `mapstructure:"stall_timeout"`
	MaxJobAttempts int           `mapstructure:"max_job_attempts"`
	OnInterrupt    string        `mapstructure:"on_interrupt"`
	Retries        int           `mapstructure:"retries"`
}

// Config is one experiment: where the data and trainers are, where results
// go, and the settings of every stage.
type Config struct {
	// Data is the data directory the in-process reference trainer serves
	// (train/ and target/).
	Data string `mapstructure:"data"`
	// Out is the run directory.
	Out string `mapstructure:"out"`
	// Trainers are trainer endpoints (host:port); empty means the
	// in-process reference trainer.
	Trainers         []string         `mapstructure:"trainers"`
	ReferenceTrainer ReferenceTrainer `mapstructure:"reference_trainer"`
	Scheduler        Scheduler        `mapstructure:"scheduler"`
	// TailPatch holds the tail-patch stage (target, tasks, base, patch,
	// seeds, eval_every, no_controls, effects) at the top level of the file.
	TailPatch tailpatch.Config `mapstructure:",squash"`
	Solve     Solve            `mapstructure:"solve"`
	// Run is the planned training run the mixture is for.
	Run      PlannedRun        `mapstructure:"run"`
	Export   Export            `mapstructure:"export"`
	Validate validation.Config `mapstructure:"validate"`
	// Stages lists the optional stages `mixopt plan` runs after solving.
	Stages Stages `mapstructure:"stages"`
}

// Solve configures the mixture solver (package mixture).
type Solve struct {
	// Objective is linear, kl, maxmin, lcb (kl on lower bounds) or
	// flame-bundles; "lcb-<objective>" runs another objective on lower
	// bounds.
	Objective string `mapstructure:"objective"`
	// Reference is "base" (effects vs the unpatched checkpoint) or
	// "control" (vs the control patch).
	Reference string `mapstructure:"reference"`
	// CategoryWeights are α; empty means RewardBench's overall weighting.
	CategoryWeights map[string]float64 `mapstructure:"category_weights"`
	// Lambda is the KL objective's λ (0: 0.01), unless
	// TargetEffectiveTasks chooses it.
	Lambda               float64 `mapstructure:"lambda"`
	TargetEffectiveTasks float64 `mapstructure:"target_effective_tasks"`
	// PriorCap caps the examples-proportional prior (0: 2^16).
	PriorCap    int64       `mapstructure:"prior_cap"`
	TopK        int         `mapstructure:"top_k"`
	Constraints Constraints `mapstructure:"constraints"`
	Flame       Flame       `mapstructure:"flame"`
}

// Constraints mirror mixture.Constraints.
type Constraints struct {
	Floor          float64            `mapstructure:"floor"`
	Cap            float64            `mapstructure:"cap"`
	TaskFloor      map[string]float64 `mapstructure:"task_floor"`
	TaskCap        map[string]float64 `mapstructure:"task_cap"`
	MaxEpochs      float64            `mapstructure:"max_epochs"`
	CategoryFloors map[string]float64 `mapstructure:"category_floors"`
	Groups         []Group            `mapstructure:"groups"`
}

// Group mirrors mixture.Group.
type Group struct {
	Name  string   `mapstructure:"name"`
	Tasks []string `mapstructure:"tasks"`
	Min   float64  `mapstructure:"min"`
	Max   float64  `mapstructure:"max"`
}

// Flame mirrors mixture.FlameSettings (zero: the paper's values).
type Flame struct {
	HelpfulEffect float64            `mapstructure:"helpful_effect"`
	StableShare   float64            `mapstructure:"stable_share"`
	GeneralRating int                `mapstructure:"general_rating"`
	GeneralRate   float64            `mapstructure:"general_rate"`
	CategoryRate  float64            `mapstructure:"category_rate"`
	OtherRate     float64            `mapstructure:"other_rate"`
	TopRate       float64            `mapstructure:"top_rate"`
	TopTasks      int                `mapstructure:"top_tasks"`
	TopCategories []string           `mapstructure:"top_categories"`
	Thresholds    map[string]float64 `mapstructure:"thresholds"`
	// TopMode is "replace" (the 200K is the task's rate) or "add".
	TopMode string `mapstructure:"top_mode"`
}

// PlannedRun is the training run that consumes the mixture: it sets epoch
// caps and the sampler config's budget and seed.
type PlannedRun struct {
	Steps     int64  `mapstructure:"steps"`
	BatchSize int64  `mapstructure:"batch_size"`
	Seed      uint64 `mapstructure:"seed"`
}

// Export configures the sampler exports written by plan.
type Export struct {
	// Formats to write (default: all).
	Formats []string `mapstructure:"formats"`
	// MaxEpochs is the repetition above which exports warn (0: 15).
	MaxEpochs float64 `mapstructure:"max_epochs"`
}

// Stages switches the optional stages of `mixopt plan`.
type Stages struct {
	Validate bool `mapstructure:"validate"`
	Report   bool `mapstructure:"report"`
}

// Load decodes v into a Config. Unknown keys in the file are an error that
// names them, so a typo does not silently fall back to a default.
func Load(v *viper.Viper) (*Config, error) {
	var c Config
	var md mapstructure.Metadata
	err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) {
		dc.Metadata = &md
		dc.ErrorUnused = true
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		)
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// ReadInto reads a shipped config (name) or a file (path, when not empty)
// into v.
func ReadInto(v *viper.Viper, name, path string) error {
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return fmt.Errorf("--config %s: %w", path, err)
		}
		return nil
	}
	b, err := File(name)
	if err != nil {
		return err
	}
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("experiments/%s.yaml: %w", name, err)
	}
	return nil
}

// Check checks the whole config before any work starts, naming the first
// bad key.
func (c *Config) Check() error {
	if err := c.TailPatch.Validate(); err != nil {
		return err
	}
	switch c.Scheduler.OnInterrupt {
	case "", "drain", "cancel", "detach":
	default:
		return fmt.Errorf("scheduler.on_interrupt: %q is not one of drain, cancel, detach", c.Scheduler.OnInterrupt)
	}
	switch c.Solve.Reference {
	case "", "base", "control":
	default:
		return fmt.Errorf("solve.reference: %q is not base or control", c.Solve.Reference)
	}
	if c.Run.Steps < 0 || c.Run.BatchSize < 0 {
		return fmt.Errorf("run: steps %d and batch_size %d must not be negative", c.Run.Steps, c.Run.BatchSize)
	}
	if c.Stages.Validate {
		if err := c.Validate.Validate(); err != nil {
			return err
		}
	}
	return nil
}
