// Package jobspec checks a Trainer API JobSpec against what a trainer has,
// with the status codes and field names trainer.proto documents. The
// reference trainer and the test fake share it, so both hold the same
// contract.
package jobspec

import (
	"errors"
	"fmt"
	"math"

	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Catalog is what a trainer knows that a spec refers to.
type Catalog interface {
	// Checkpoint reports whether id names a checkpoint. A malformed id is
	// an error wrapping ErrMalformed; any other error is internal.
	Checkpoint(id string) (bool, error)
	// Task returns the named task.
	Task(name string) (*trainerv1.TaskInfo, bool)
	// Suite reports whether the suite exists and, when it does, the first
	// of ids it lacks ("" if none).
	Suite(name string, ids []string) (ok bool, missing string)
	// Limits bounds steps and batch size (zero: no limit).
	Limits() *trainerv1.Limits
}

// ErrMalformed marks a checkpoint id of the wrong shape.
var ErrMalformed = errors.New("malformed checkpoint id")

// Check validates spec, returning a gRPC status error that names the first
// offending field, or nil.
func Check(spec *trainerv1.JobSpec, c Catalog) error {
	if spec == nil {
		return status.Error(codes.InvalidArgument, "spec: required")
	}
	if spec.BaseCheckpoint == "" {
		return status.Error(codes.InvalidArgument, `spec.base_checkpoint: required ("init" for the untrained model)`)
	}
	ok, err := c.Checkpoint(spec.BaseCheckpoint)
	switch {
	case errors.Is(err, ErrMalformed):
		return status.Errorf(codes.InvalidArgument, "spec.base_checkpoint: %v", err)
	case err != nil:
		return status.Errorf(codes.Internal, "spec.base_checkpoint: %v", err)
	case !ok:
		return status.Errorf(codes.NotFound, "spec.base_checkpoint: checkpoint %q not found", spec.BaseCheckpoint)
	}
	if len(spec.Mixture) == 0 {
		return status.Error(codes.InvalidArgument, "spec.mixture: at least one component required")
	}
	seen := map[string]bool{}
	for i, m := range spec.Mixture {
		field := fmt.Sprintf("spec.mixture[%d]", i)
		t, ok := c.Task(m.Task)
		switch {
		case m.Task == "":
			return status.Errorf(codes.InvalidArgument, "%s.task: required", field)
		case seen[m.Task]:
			return status.Errorf(codes.InvalidArgument, "%s.task: %q listed twice", field, m.Task)
		case !ok:
			return status.Errorf(codes.NotFound, "%s.task: unknown task %q", field, m.Task)
		case !(m.Weight > 0) || math.IsInf(m.Weight, 0):
			return status.Errorf(codes.InvalidArgument, "%s.weight: %v must be finite and > 0", field, m.Weight)
		case m.ExpectedContentHash != "" && m.ExpectedContentHash != t.ContentHash:
			return status.Errorf(codes.FailedPrecondition, "%s.expected_content_hash: task %q has content %s here, not %s", field, m.Task, t.ContentHash, m.ExpectedContentHash)
		case t.TrainExamples == 0:
			return status.Errorf(codes.FailedPrecondition, "%s.task: task %q has no training examples", field, m.Task)
		}
		seen[m.Task] = true
	}
	lim := c.Limits()
	switch {
	case spec.Steps < 1:
		return status.Errorf(codes.InvalidArgument, "spec.steps: %d must be >= 1", spec.Steps)
	case lim.GetMaxSteps() > 0 && spec.Steps > lim.GetMaxSteps():
		return status.Errorf(codes.InvalidArgument, "spec.steps: %d exceeds this trainer's limit %d", spec.Steps, lim.GetMaxSteps())
	case spec.BatchSize < 1:
		return status.Errorf(codes.InvalidArgument, "spec.batch_size: %d must be >= 1", spec.BatchSize)
	case lim.GetMaxBatchSize() > 0 && spec.BatchSize > lim.GetMaxBatchSize():
		return status.Errorf(codes.InvalidArgument, "spec.batch_size: %d exceeds this trainer's limit %d", spec.BatchSize, lim.GetMaxBatchSize())
	case !(spec.LearningRate > 0) || math.IsInf(spec.LearningRate, 0):
		return status.Errorf(codes.InvalidArgument, "spec.learning_rate: %v must be finite and > 0", spec.LearningRate)
	}
	if e := spec.Eval; e != nil {
		if e.Suite == "" {
			return status.Error(codes.InvalidArgument, "spec.eval.suite: required when eval is set")
		}
		ok, missing := c.Suite(e.Suite, e.ExampleIds)
		switch {
		case !ok:
			return status.Errorf(codes.NotFound, "spec.eval.suite: unknown suite %q", e.Suite)
		case e.EverySteps < 0:
			return status.Errorf(codes.InvalidArgument, "spec.eval.every_steps: %d must be >= 0", e.EverySteps)
		case missing != "":
			return status.Errorf(codes.NotFound, "spec.eval.example_ids: suite %q has no example %q", e.Suite, missing)
		}
	}
	return nil
}
