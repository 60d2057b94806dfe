package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mixopt/mixopt/experiments"
	"github.com/mixopt/mixopt/internal/progress"
	"github.com/mixopt/mixopt/reftrainer"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/trainer"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// flagKey maps a command-line flag to the config key it overrides.
type flagKey struct{ flag, key string }

// experimentFlags are the flags every command that runs an experiment has.
var experimentFlags = []flagKey{
	{"target", "target"}, {"out", "out"}, {"trainer", "trainers"}, {"data", "data"},
	{"tasks", "tasks"}, {"exclude", "exclude"}, {"seeds", "seeds"},
	{"base-checkpoint", "base.checkpoint"}, {"base-steps", "base.steps"},
	{"patch-steps", "patch.steps"}, {"patch-batch-size", "patch.batch_size"}, {"patch-learning-rate", "patch.learning_rate"},
	{"eval-every", "eval_every"}, {"replicates", "effects.replicates"}, {"on-interrupt", "scheduler.on_interrupt"},
}

func addExperimentFlags(f *pflag.FlagSet) {
	f.String("config", "", "experiment config file (default: the shipped experiments/<target>.yaml)")
	f.String("target", "rewardbench", "target, and the shipped experiment config of that name")
	f.String("out", "", "run directory (default from the config: runs/<target>)")
	f.StringArray("trainer", nil, "trainer endpoint host:port (repeatable; none: in-process reference trainer)")
	f.String("data", "", "data directory of the in-process reference trainer")
	f.StringSlice("tasks", nil, "tasks to patch (default: all the trainers offer)")
	f.StringSlice("exclude", nil, "tasks not to patch")
	f.UintSlice("seeds", nil, "patch seeds")
	f.String("base-checkpoint", "", "start patches from this checkpoint instead of training a base")
	f.Int64("base-steps", 0, "steps of the base training")
	f.Int64("patch-steps", 0, "steps of each tail patch")
	f.Int("patch-batch-size", 0, "batch size of each tail patch")
	f.Float64("patch-learning-rate", 0, "learning rate of each tail patch")
	f.Int64("eval-every", 0, "evaluate patches on the dev split every N steps")
	f.Int("replicates", 0, "bootstrap resamples")
	f.String("on-interrupt", "", "on Ctrl-C: drain (finish jobs in flight), cancel them, or detach")
}

// runConfigFile is where a run directory keeps the effective config its
// run used, so that later commands on it (solve, validate, report) agree.
const runConfigFile = "config.yaml"

// experiment reads the config: --config, else the run directory's
// config.yaml (for commands given --run), else the shipped file for
// --target; then MIXOPT_* environment variables; then flags that were set
// (mapped to config keys by keys).
func (a *app) experiment(cmd *cobra.Command, keys []flagKey) (*experiments.Config, *viper.Viper, error) {
	f := cmd.Flags()
	path, _ := f.GetString("config")
	if run, _ := f.GetString("run"); path == "" && run != "" {
		if _, err := os.Stat(filepath.Join(run, runConfigFile)); err == nil {
			path = filepath.Join(run, runConfigFile)
		}
	}
	name := a.v.GetString("target")
	if t := f.Lookup("target"); t != nil && t.Changed {
		name = t.Value.String()
	}
	if name == "" {
		name = "rewardbench"
	}
	// A viper of its own: the global one also holds flags that are not
	// experiment keys (log-level…), which Load would reject as unknown.
	v := viper.NewWithOptions(viper.EnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_")))
	v.SetEnvPrefix("MIXOPT")
	v.AutomaticEnv()
	if err := experiments.ReadInto(v, name, path); err != nil {
		return nil, nil, err
	}
	for _, fk := range keys {
		if fl := f.Lookup(fk.flag); fl != nil && fl.Changed {
			if err := v.BindPFlag(fk.key, fl); err != nil {
				return nil, nil, err
			}
		}
	}
	cfg, err := experiments.Load(v)
	if err != nil {
		if path == "" {
			path = "experiments/" + name + ".yaml"
		}
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if run, _ := f.GetString("run"); run != "" {
		cfg.Out = run
	}
	if cfg.Out == "" {
		cfg.Out = filepath.Join("runs", cfg.TailPatch.Target)
	}
	if err := cfg.Check(); err != nil {
		if path == "" {
			path = "experiments/" + name + ".yaml"
		}
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, v, nil
}

// saveConfig records the effective config in the run directory.
func saveConfig(v *viper.Viper, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return v.WriteConfigAs(filepath.Join(dir, runConfigFile))
}

// endpoints connects to the configured trainers, or starts the in-process
// reference trainer. The returned function releases them.
func (a *app) endpoints(cfg *experiments.Config) ([]tailpatch.Endpoint, func(), error) {
	if len(cfg.Trainers) == 0 {
		local, err := reftrainer.StartLocal(reftrainer.Config{
			DataDir: cfg.Data, StateDir: filepath.Join(cfg.Out, "trainer"), SuiteName: "",
			Dim: cfg.ReferenceTrainer.Dim, MaxConcurrentJobs: cfg.ReferenceTrainer.MaxJobs,
			Logger: a.log.With("component", "reference-trainer"),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("reference trainer on %s: %w", cfg.Data, err)
		}
		c, err := trainer.Dial(local.Addr)
		if err != nil {
			local.Close()
			return nil, nil, err
		}
		// "inproc", not the random port, names it in the ledger and tables.
		return []tailpatch.Endpoint{{Name: "inproc", Trainer: c}}, func() { c.Close(); local.Close() }, nil
	}
	var eps []tailpatch.Endpoint
	var clients []*trainer.Client
	for _, addr := range cfg.Trainers {
		c, err := trainer.Dial(addr)
		if err != nil {
			for _, c := range clients {
				c.Close()
			}
			return nil, nil, fmt.Errorf("--trainer %s: %w", addr, err)
		}
		clients = append(clients, c)
		eps = append(eps, tailpatch.Endpoint{Name: addr, Trainer: c})
	}
	return eps, func() {
		for _, c := range clients {
			c.Close()
		}
	}, nil
}

// schedulerConfig turns the config's scheduler section into the
// scheduler's settings.
func (a *app) schedulerConfig(cmd *cobra.Command, cfg *experiments.Config, tr *progress.Tracker) (tailpatch.SchedulerConfig, error) {
	sc := cfg.Scheduler
	var onInt tailpatch.Interrupt
	if sc.OnInterrupt != "" {
		var err error
		if onInt, err = tailpatch.ParseInterrupt(sc.OnInterrupt); err != nil {
			return tailpatch.SchedulerConfig{}, fmt.Errorf("scheduler.on_interrupt: %w", err)
		}
	}
	return tailpatch.SchedulerConfig{
		CallTimeout:    sc.CallTimeout,
		StallTimeout:   sc.StallTimeout,
		MaxJobAttempts: sc.MaxJobAttempts,
		Backoff:        trainer.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Attempts: sc.Retries},
		OnInterrupt:    onInt,
		Stop:           stopOf(cmd.Context()),
		Progress:       tr,
	}, nil
}
