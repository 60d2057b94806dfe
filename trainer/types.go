// Package trainer is the driver's side of the Trainer gRPC API: plain Go
// types for jobs, events and evaluations, and a client that speaks the API to
// one endpoint and turns gRPC status codes into the errors below. Nothing past
// this package needs to know about gRPC.
package trainer

import (
	"errors"
	"fmt"
)

// Errors a trainer call can return, matched with errors.Is. The original
// status message is kept in the error text.
var (
	// ErrNotFound: an unknown job, task, checkpoint, suite or example.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request was malformed; the message names the field.
	ErrInvalid = errors.New("invalid request")
	// ErrConflict: the job id is taken by a job with a different spec.
	ErrConflict = errors.New("job id conflict")
	// ErrPrecondition: the trainer's data differs from what was expected.
	ErrPrecondition = errors.New("failed precondition")
	// ErrUnavailable: the endpoint is down, overloaded or timed out. Worth
	// retrying, here or elsewhere.
	ErrUnavailable = errors.New("trainer unavailable")
	// ErrTrainer: any other failure inside the trainer.
	ErrTrainer = errors.New("trainer error")
)

// Retryable reports whether a failed call may succeed if tried again.
func Retryable(err error) bool { return errors.Is(err, ErrUnavailable) }

// Purpose labels why a job runs; it does not change training.
type Purpose int

const (
	PurposeUnspecified Purpose = iota
	PurposeBase
	PurposeTailPatch
	PurposeControlPatch
	PurposeValidation
)

func (p Purpose) String() string {
	switch p {
	case PurposeBase:
		return "base"
	case PurposeTailPatch:
		return "patch"
	case PurposeControlPatch:
		return "control"
	case PurposeValidation:
		return "validation"
	}
	return "unspecified"
}

// Component is one task of a mixture with its sampling weight.
type Component struct {
	Task   string
	Weight float64
	// ContentHash, when set, must match the trainer's copy of the task.
	ContentHash string
}

// EvalSpec asks for evaluations during and after training.
type EvalSpec struct {
	Suite string
	// EverySteps evaluates every so many steps and after the last; 0 only
	// after the last.
	EverySteps int64
	// ExampleIDs restricts the evaluation to these examples (e.g. a dev
	// split); empty means the whole suite.
	ExampleIDs []string
}

// JobSpec is one training run.
type JobSpec struct {
	// Base is the checkpoint to start from; "init" is the untrained model.
	Base         string
	Mixture      []Component
	Steps        int64
	BatchSize    int
	LearningRate float64
	Seed         uint64
	Eval         *EvalSpec
	Purpose      Purpose
}

// State is a job's lifecycle state.
type State int

const (
	StateUnknown State = iota
	StateQueued
	StateRunning
	StateSucceeded
	StateFailed
	StateCancelled
)

func (s State) String() string {
	switch s {
	case StateQueued:
		return "queued"
	case StateRunning:
		return "running"
	case StateSucceeded:
		return "succeeded"
	case StateFailed:
		return "failed"
	case StateCancelled:
		return "cancelled"
	}
	return "unknown"
}

// Terminal reports whether a job in state s will not change again.
func (s State) Terminal() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// JobStatus is a snapshot of a job.
type JobStatus struct {
	ID         string
	State      State
	Step       int64
	Checkpoint string
	Error      string
	LastSeq    uint64
	Attempts   int
}

// EventKind says what an Event carries.
type EventKind int

const (
	EventStateChange EventKind = iota + 1
	EventProgress
	EventEvaluation
	EventResult
	EventFailure
)

func (k EventKind) String() string {
	switch k {
	case EventStateChange:
		return "state"
	case EventProgress:
		return "progress"
	case EventEvaluation:
		return "evaluation"
	case EventResult:
		return "result"
	case EventFailure:
		return "failure"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one entry of a job's event stream.
type Event struct {
	Seq   uint64
	State State
	Step  int64
	Kind  EventKind
	// Message explains a state change or failure.
	Message string
	// Loss is the mean training loss (progress and result events).
	Loss         float64
	ExamplesSeen int64
	// Eval holds an evaluation's per-subset counts.
	Eval []SubsetCount
	// Checkpoint is set on the result event.
	Checkpoint string
	// FailureCode is a gRPC code name on failure events.
	FailureCode string
}

// SubsetCount is the number of correct examples of a subset.
type SubsetCount struct {
	Subset  string
	Section string
	Correct int64
	Total   int64
}

// ExampleOutcome is one scored target example.
type ExampleOutcome struct {
	ID            string
	Subset        string
	ChosenScore   float64
	RejectedScore float64
	Correct       bool
}

// Evaluation is the result of Evaluate.
type Evaluation struct {
	Checkpoint string
	Suite      string
	Subsets    []SubsetCount
	// Examples is filled when outcomes were asked for, in suite order.
	Examples []ExampleOutcome
}

// TaskInfo describes a task a trainer can train on.
type TaskInfo struct {
	Name          string
	Dataset       string
	DatasetKind   string
	Objective     string
	Examples      int64
	TrainExamples int64
	ContentHash   string
	// DatasetHash is the content hash of the task's dataset.
	DatasetHash string
	// Source is where the trainer read the dataset from (informational).
	Source       string
	HeldoutSuite string
}

// SuiteInfo describes an eval suite.
type SuiteInfo struct {
	Name        string
	Examples    int64
	ContentHash string
	Subsets     []SubsetInfo
}

// SubsetInfo describes one subset of a suite.
type SubsetInfo struct {
	Name     string
	Section  string
	Examples int64
}

// Description is what Describe reports about a trainer.
type Description struct {
	APIVersion       string
	ModelName        string
	ModelVersion     string
	ModelDescription string
	// ModelParameters are sorted by key.
	ModelParameters [][2]string
	// Tasks are sorted by name, across all datasets.
	Tasks  []TaskInfo
	Suites []SuiteInfo
	// MaxConcurrentJobs is at least 1.
	MaxConcurrentJobs int
	MaxSteps          int64
	MaxBatchSize      int
}

// Task returns the named task.
func (d *Description) Task(name string) (TaskInfo, bool) {
	for _, t := range d.Tasks {
		if t.Name == name {
			return t, true
		}
	}
	return TaskInfo{}, false
}

// Suite returns the named suite.
func (d *Description) Suite(name string) (SuiteInfo, bool) {
	for _, s := range d.Suites {
		if s.Name == name {
			return s, true
		}
	}
	return SuiteInfo{}, false
}
