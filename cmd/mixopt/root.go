package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mixopt/mixopt/internal/progress"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// app carries what every command shares: output streams, the logger and the
// configuration (file < MIXOPT_* environment < flags).
type app struct {
	stdout, stderr io.Writer
	v              *viper.Viper
	log            *slog.Logger
	level          *slog.LevelVar
	progress       progress.Mode
}

// NewRootCommand builds the mixopt command tree. Results go to stdout,
// progress and logs to stderr.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	a := &app{
		stdout: stdout, stderr: stderr, level: new(slog.LevelVar),
		v: viper.NewWithOptions(viper.EnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))),
	}
	a.v.SetEnvPrefix("MIXOPT")
	a.v.AutomaticEnv()

	root := &cobra.Command{
		Use:   "mixopt",
		Short: "Optimise multitask mixture weights for reward models by tail-patch ablation",
		Long: `mixopt runs one short fine-tune ("tail patch") per training task from a common
checkpoint on trainers reached over gRPC, measures each task's effect on a target
benchmark with confidence intervals, solves for mixture weights, and emits a
sampler config for the real training run. Tables are written as Arrow and Parquet.

Start with:  mixopt plan --target rewardbench`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup(cmd)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.String("log-level", "info", "log level: debug, info, warn, error")
	pf.String("log-format", "text", "log format: text or json")
	pf.String("progress", "auto", "progress display: auto (bars on a terminal), always, never")

	root.AddCommand(
		newTrainerCommand(a),
		newPatchCommand(a),
		newSolveCommand(a),
		newExportCommand(a),
		newSampleCommand(a),
		newValidateCommand(a),
		newPlanCommand(a),
		newReportCommand(a),
	)
	return root
}

// logger builds the logger writing to w, in the configured format and
// level.
func (a *app) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: a.level}
	if a.v.GetString("log-format") == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// tracker starts the progress display of a long command. While it shows
// bars, a.log prints above them instead of through them; the returned
// function stops the display and restores the logger.
func (a *app) tracker(title string) (*progress.Tracker, func()) {
	tr := progress.New(a.stderr, a.progress, a.log, title)
	plain := a.log
	if w := tr.Writer(); w != nil {
		a.log = a.logger(w)
		tr.SetLogger(a.log)
	}
	return tr, func() {
		tr.Close()
		a.log = plain
	}
}

// setup reads the config file named by --config (when the command has one),
// binds flags into viper, and builds the logger.
func (a *app) setup(cmd *cobra.Command) error {
	if f := cmd.Flags().Lookup("config"); f != nil && f.Value.String() != "" {
		a.v.SetConfigFile(f.Value.String())
		if err := a.v.ReadInConfig(); err != nil {
			return fmt.Errorf("--config %s: %w", f.Value.String(), err)
		}
	}
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err := a.v.BindPFlag(f.Name, f); err != nil && bindErr == nil {
			bindErr = err
		}
	})
	if bindErr != nil {
		return bindErr
	}
	if err := a.level.UnmarshalText([]byte(a.v.GetString("log-level"))); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	switch a.v.GetString("log-format") {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format: %q is not text or json", a.v.GetString("log-format"))
	}
	a.log = a.logger(a.stderr)
	mode, err := progress.ParseMode(a.v.GetString("progress"))
	if err != nil {
		return fmt.Errorf("--progress: %w", err)
	}
	a.progress = mode
	return nil
}
