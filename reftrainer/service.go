// Package reftrainer is mixopt's reference trainer: the Trainer gRPC API
// (proto/mixopt/trainer/v1) served over the reference reward model of package
// rewardmodel, on the datasets and target suite of a data directory. It is
// the embedded default trainer of the driver and what the tests use; it
// learns for real, deterministically: the same job spec gives a byte-identical
// checkpoint.
package reftrainer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mixopt/mixopt/internal/jobspec"
	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"github.com/mixopt/mixopt/rewardmodel"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Version is the reference trainer's implementation version.
const Version = "1.0.0"

// APIVersion is the Trainer API this package serves.
const APIVersion = "mixopt.trainer.v1"

// Config configures a reference trainer. Zero values take the documented
// defaults.
type Config struct {
	// DataDir holds train/{pairwise,pointwise,classification}/ and target/.
	DataDir string
	// StateDir holds checkpoints and job records; it is created if needed.
	StateDir string
	// SuiteName names the target suite in DataDir/target (default
	// "rewardbench").
	SuiteName string
	// Dim is the number of hashed features (default rewardmodel.DefaultDim).
	Dim int
	// MaxConcurrentJobs bounds jobs that train at once (default GOMAXPROCS).
	MaxConcurrentJobs int
	// HeldoutFraction of each task's units is never trained on and forms the
	// task's held-out suite (default 0.1).
	HeldoutFraction float64
	// MaxSteps and MaxBatchSize bound job specs (defaults 1,000,000 and 4096).
	MaxSteps     int64
	MaxBatchSize int32
	Logger       *slog.Logger
}

func (c *Config) setDefaults() {
	if c.SuiteName == "" {
		c.SuiteName = "rewardbench"
	}
	if c.Dim == 0 {
		c.Dim = rewardmodel.DefaultDim
	}
	if c.MaxConcurrentJobs == 0 {
		c.MaxConcurrentJobs = runtime.GOMAXPROCS(0)
	}
	if c.HeldoutFraction == 0 {
		c.HeldoutFraction = 0.1
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = 1_000_000
	}
	if c.MaxBatchSize == 0 {
		c.MaxBatchSize = 4096
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Service implements trainerv1.TrainerServiceServer.
type Service struct {
	trainerv1.UnimplementedTrainerServiceServer

	cfg   Config
	log   *slog.Logger
	data  *catalog
	store *store

	mu      sync.Mutex
	jobs    map[string]*job
	queue   []*job
	wake    chan struct{} // signals workers that queue or closing changed
	closing bool

	ctx    context.Context // cancelled by Close
	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed chan struct{}
}

var _ trainerv1.TrainerServiceServer = (*Service)(nil)

// jobIDPattern bounds client-chosen job ids; they name directories.
var jobIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// New loads the data, recovers jobs from the state directory (re-queuing
// those that had not finished) and starts the workers.
func New(cfg Config) (*Service, error) {
	cfg.setDefaults()
	if cfg.DataDir == "" || cfg.StateDir == "" {
		return nil, errors.New("reftrainer: data and state directories are required")
	}
	if !(cfg.HeldoutFraction >= 0 && cfg.HeldoutFraction < 1) {
		return nil, fmt.Errorf("reftrainer: held-out fraction %v outside [0, 1)", cfg.HeldoutFraction)
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "jobs"), 0o755); err != nil {
		return nil, err
	}
	data, err := loadCatalog(cfg.DataDir, cfg.SuiteName, cfg.Dim, cfg.HeldoutFraction)
	if err != nil {
		return nil, err
	}
	st, err := newStore(cfg.StateDir, cfg.Dim)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Service{
		cfg: cfg, log: cfg.Logger, data: data, store: st,
		jobs: map[string]*job{}, wake: make(chan struct{}, 1),
		ctx: ctx, stop: stop, closed: make(chan struct{}),
	}
	requeue, err := s.recoverJobs()
	if err != nil {
		stop()
		return nil, err
	}
	for _, j := range requeue {
		s.emit(j, &trainerv1.WatchJobResponse{
			State: trainerv1.JobState_JOB_STATE_QUEUED,
			Event: &trainerv1.WatchJobResponse_StateChange{StateChange: &trainerv1.StateChange{Message: "trainer restarted; job queued again"}},
		})
		s.queue = append(s.queue, j)
	}
	for range cfg.MaxConcurrentJobs {
		s.wg.Add(1)
		go s.worker()
	}
	s.signal()
	return s, nil
}

// Close stops the workers. Running jobs are interrupted without being marked
// failed: a trainer started again on the same state directory runs them
// again.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.closed
		return
	}
	s.closing = true
	s.mu.Unlock()
	s.stop()
	s.signal()
	s.wg.Wait()
	s.mu.Lock()
	for _, j := range s.jobs {
		if j.log != nil {
			j.log.Close()
			j.log = nil
		}
		close(j.changed) // wake watchers so they notice the shutdown
		j.changed = make(chan struct{})
	}
	s.mu.Unlock()
	close(s.closed)
}

func (s *Service) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) worker() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closing {
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if s.closing {
			s.mu.Unlock()
			s.signal() // pass the wake-up on to the next worker
			return
		}
		j := s.queue[0]
		s.queue = s.queue[1:]
		if len(s.queue) > 0 {
			s.signal()
		}
		ctx, cancel := context.WithCancel(s.ctx)
		j.cancel = cancel
		s.mu.Unlock()

		s.run(ctx, j)
		cancel()
	}
}

// Describe implements TrainerServiceServer.
func (s *Service) Describe(context.Context, *trainerv1.DescribeRequest) (*trainerv1.DescribeResponse, error) {
	resp := &trainerv1.DescribeResponse{
		ApiVersion: APIVersion,
		Model: &trainerv1.ModelInfo{
			Name:        "mixopt-hashed-ngram-rm",
			Version:     Version,
			Description: "linear reward model over signed hashed unigram+bigram features of the response; Bradley-Terry loss on pairs, logistic loss on ratings and labels; lazy Adam",
			Parameters: map[string]string{
				"dim":              fmt.Sprint(s.cfg.Dim),
				"features":         rewardmodel.FeatureVersion,
				"optimizer":        "lazy-adam(beta1=0.9,beta2=0.999,eps=1e-8)",
				"heldout_fraction": fmt.Sprint(s.cfg.HeldoutFraction),
			},
		},
		Datasets: s.data.datasets,
		Limits: &trainerv1.Limits{
			MaxConcurrentJobs: int32(s.cfg.MaxConcurrentJobs),
			MaxSteps:          s.cfg.MaxSteps,
			MaxBatchSize:      s.cfg.MaxBatchSize,
		},
	}
	for _, name := range s.data.suiteNames {
		resp.EvalSuites = append(resp.EvalSuites, s.data.suites[name].info)
	}
	return resp, nil
}

// SubmitJob implements TrainerServiceServer.
func (s *Service) SubmitJob(_ context.Context, req *trainerv1.SubmitJobRequest) (*trainerv1.SubmitJobResponse, error) {
	if !jobIDPattern.MatchString(req.GetJobId()) {
		return nil, status.Errorf(codes.InvalidArgument, "job_id: %q must be 1 to 128 characters from [A-Za-z0-9._:-]", req.GetJobId())
	}
	if err := s.validateSpec(req.GetSpec()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, status.Error(codes.Unavailable, "trainer is shutting down")
	}
	if j, ok := s.jobs[req.JobId]; ok {
		if !proto.Equal(j.spec, req.Spec) {
			return nil, status.Errorf(codes.AlreadyExists, "job_id: %q already exists with a different spec", req.JobId)
		}
		return &trainerv1.SubmitJobResponse{Job: j.status(), Created: false}, nil
	}
	j := &job{id: req.JobId, spec: proto.Clone(req.Spec).(*trainerv1.JobSpec), changed: make(chan struct{})}
	if err := s.persistNew(j); err != nil {
		return nil, status.Errorf(codes.Internal, "record job: %v", err)
	}
	s.jobs[j.id] = j
	s.emit(j, &trainerv1.WatchJobResponse{
		State: trainerv1.JobState_JOB_STATE_QUEUED,
		Event: &trainerv1.WatchJobResponse_StateChange{StateChange: &trainerv1.StateChange{Message: "queued"}},
	})
	s.queue = append(s.queue, j)
	s.signal()
	s.log.Debug("job submitted", "job", j.id, "purpose", j.spec.Purpose.String(), "steps", j.spec.Steps)
	return &trainerv1.SubmitJobResponse{Job: j.status(), Created: true}, nil
}

// validateSpec checks a job spec against this trainer's data and limits.
func (s *Service) validateSpec(spec *trainerv1.JobSpec) error {
	return jobspec.Check(spec, specCatalog{s})
}

// specCatalog shows jobspec what the trainer has.
type specCatalog struct{ s *Service }

func (c specCatalog) Checkpoint(id string) (bool, error) { return c.s.store.exists(id) }

func (c specCatalog) Task(name string) (*trainerv1.TaskInfo, bool) {
	t, ok := c.s.data.tasks[name]
	if !ok {
		return nil, false
	}
	return t.info, true
}

func (c specCatalog) Suite(name string, ids []string) (bool, string) {
	suite, ok := c.s.data.suites[name]
	if !ok {
		return false, ""
	}
	_, missing := suite.selection(ids)
	return true, missing
}

func (c specCatalog) Limits() *trainerv1.Limits {
	return &trainerv1.Limits{MaxSteps: c.s.cfg.MaxSteps, MaxBatchSize: c.s.cfg.MaxBatchSize}
}

func (s *Service) lookup(id string) (*job, error) {
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "job_id: required")
	}
	j, ok := s.jobs[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "job_id: unknown job %q", id)
	}
	return j, nil
}

// GetJob implements TrainerServiceServer.
func (s *Service) GetJob(_ context.Context, req *trainerv1.GetJobRequest) (*trainerv1.GetJobResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.lookup(req.GetJobId())
	if err != nil {
		return nil, err
	}
	return &trainerv1.GetJobResponse{Job: j.status()}, nil
}

// CancelJob implements TrainerServiceServer.
func (s *Service) CancelJob(_ context.Context, req *trainerv1.CancelJobRequest) (*trainerv1.CancelJobResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.lookup(req.GetJobId())
	if err != nil {
		return nil, err
	}
	if terminal(j.state) {
		return &trainerv1.CancelJobResponse{Job: j.status()}, nil
	}
	j.cancelled = true
	if j.cancel != nil {
		// Running: the worker records the cancellation when it stops.
		j.cancel()
		return &trainerv1.CancelJobResponse{Job: j.status()}, nil
	}
	// Queued: take it off the queue now.
	for i, q := range s.queue {
		if q == j {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	s.finish(j, cancelledEvent(j.step))
	return &trainerv1.CancelJobResponse{Job: j.status()}, nil
}

func cancelledEvent(step int64) *trainerv1.WatchJobResponse {
	return &trainerv1.WatchJobResponse{
		State: trainerv1.JobState_JOB_STATE_CANCELLED, Step: step,
		Event: &trainerv1.WatchJobResponse_Failure{Failure: &trainerv1.JobFailure{Code: "CANCELLED", Message: "cancelled by CancelJob"}},
	}
}

// finish records a terminal event and closes the job's log. Caller holds s.mu.
func (s *Service) finish(j *job, ev *trainerv1.WatchJobResponse) {
	s.emit(j, ev)
	if j.log != nil {
		j.log.Close()
		j.log = nil
	}
}

// WatchJob implements TrainerServiceServer.
func (s *Service) WatchJob(req *trainerv1.WatchJobRequest, stream trainerv1.TrainerService_WatchJobServer) error {
	s.mu.Lock()
	j, err := s.lookup(req.GetJobId())
	s.mu.Unlock()
	if err != nil {
		return err
	}
	next := req.AfterSeq
	ctx := stream.Context()
	for {
		s.mu.Lock()
		var pending []*trainerv1.WatchJobResponse
		if next < uint64(len(j.events)) {
			pending = j.events[next:]
		}
		done := terminal(j.state)
		changed := j.changed
		closing := s.closing
		s.mu.Unlock()

		for _, ev := range pending {
			if err := stream.Send(ev); err != nil {
				return err
			}
			next = ev.Seq
		}
		if done {
			return nil
		}
		if closing {
			return status.Error(codes.Unavailable, "trainer is shutting down; watch again after it restarts")
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// Evaluate implements TrainerServiceServer.
func (s *Service) Evaluate(_ context.Context, req *trainerv1.EvaluateRequest) (*trainerv1.EvaluateResponse, error) {
	if req.GetCheckpointId() == "" {
		return nil, status.Error(codes.InvalidArgument, "checkpoint_id: required")
	}
	if req.GetSuite() == "" {
		return nil, status.Error(codes.InvalidArgument, "suite: required")
	}
	suite, ok := s.data.suites[req.Suite]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "suite: unknown suite %q", req.Suite)
	}
	sel, missing := suite.selection(req.ExampleIds)
	if missing != "" {
		return nil, status.Errorf(codes.NotFound, "example_ids: suite %q has no example %q", req.Suite, missing)
	}
	m, err := s.store.load(req.CheckpointId)
	switch {
	case errors.Is(err, errBadCheckpointID):
		return nil, status.Errorf(codes.InvalidArgument, "checkpoint_id: %v", err)
	case errors.Is(err, errCheckpointNotFound):
		return nil, status.Errorf(codes.NotFound, "checkpoint_id: checkpoint %q not found", req.CheckpointId)
	case err != nil:
		return nil, status.Errorf(codes.Internal, "checkpoint_id: %v", err)
	}
	subsets, examples := suite.evaluate(s.data.feat, m, sel, req.IncludeExamples)
	return &trainerv1.EvaluateResponse{CheckpointId: req.CheckpointId, Suite: req.Suite, Subsets: subsets, Examples: examples}, nil
}

// run trains one job attempt and records its outcome.
func (s *Service) run(ctx context.Context, j *job) {
	s.mu.Lock()
	spec := j.spec
	s.emit(j, &trainerv1.WatchJobResponse{
		State: trainerv1.JobState_JOB_STATE_RUNNING,
		Event: &trainerv1.WatchJobResponse_StateChange{StateChange: &trainerv1.StateChange{Message: fmt.Sprintf("running (attempt %d)", j.attempts+1)}},
	})
	s.mu.Unlock()
	start := time.Now()

	ckpt, finalLoss, err := s.train(ctx, j, spec)

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.finish(j, &trainerv1.WatchJobResponse{
			State: trainerv1.JobState_JOB_STATE_SUCCEEDED, Step: spec.Steps,
			Event: &trainerv1.WatchJobResponse_Result{Result: &trainerv1.JobResult{CheckpointId: ckpt, FinalLoss: finalLoss}},
		})
		s.log.Debug("job succeeded", "job", j.id, "checkpoint", ckpt, "loss", finalLoss, "elapsed", time.Since(start).Round(time.Millisecond))
	case j.cancelled:
		s.finish(j, cancelledEvent(j.step))
		s.log.Debug("job cancelled", "job", j.id)
	case s.closing && errors.Is(err, context.Canceled):
		// Interrupted by shutdown: left running in the log, so the next
		// trainer on this state directory runs it again.
		s.log.Info("job interrupted by shutdown", "job", j.id, "step", j.step)
	default:
		s.finish(j, &trainerv1.WatchJobResponse{
			State: trainerv1.JobState_JOB_STATE_FAILED, Step: j.step,
			Event: &trainerv1.WatchJobResponse_Failure{Failure: &trainerv1.JobFailure{Code: "INTERNAL", Message: err.Error()}},
		})
		s.log.Error("job failed", "job", j.id, "err", err)
	}
	j.cancel = nil
}

// train runs the job's training and evaluations and saves the checkpoint.
func (s *Service) train(ctx context.Context, j *job, spec *trainerv1.JobSpec) (string, float64, error) {
	base, err := s.store.load(spec.BaseCheckpoint)
	if err != nil {
		return "", 0, err
	}
	tasks := make([]*rewardmodel.TaskData, len(spec.Mixture))
	weights := make([]float64, len(spec.Mixture))
	for i, c := range spec.Mixture {
		tasks[i] = s.data.tasks[c.Task].data(s.data.feat)
		weights[i] = c.Weight
	}
	var suite *suiteEntry
	var sel []int
	if spec.Eval != nil {
		suite = s.data.suites[spec.Eval.Suite]
		sel, _ = suite.selection(spec.Eval.ExampleIds)
	}
	evaluation := func(step int64, m *rewardmodel.Model) *trainerv1.WatchJobResponse {
		subsets, _ := suite.evaluate(s.data.feat, m, sel, false)
		return &trainerv1.WatchJobResponse{
			State: trainerv1.JobState_JOB_STATE_RUNNING, Step: step,
			Event: &trainerv1.WatchJobResponse_Evaluation{Evaluation: &trainerv1.Evaluation{Suite: suite.info.Name, Subsets: subsets}},
		}
	}

	// Progress goes out every twentieth of the job and at least every two
	// seconds (the API promises regular signs of life). The final loss is
	// the mean over the last twentieth, whatever the clock did, so that it
	// is as deterministic as the weights.
	progressEvery := max(1, spec.Steps/20)
	lastReport := time.Now()
	var reportSum, windowSum, finalLoss float64
	var reportN, windowN int64
	cfg := rewardmodel.TrainConfig{Steps: spec.Steps, BatchSize: int(spec.BatchSize), LearningRate: spec.LearningRate, Seed: spec.Seed}
	onStep := func(step int64, loss float64, m *rewardmodel.Model) error {
		reportSum, reportN = reportSum+loss, reportN+1
		windowSum, windowN = windowSum+loss, windowN+1
		var evs []*trainerv1.WatchJobResponse
		endOfWindow := step%progressEvery == 0 || step == spec.Steps
		if endOfWindow {
			finalLoss = windowSum / float64(windowN)
			windowSum, windowN = 0, 0
		}
		if endOfWindow || time.Since(lastReport) >= 2*time.Second {
			lastReport = time.Now()
			evs = append(evs, &trainerv1.WatchJobResponse{
				State: trainerv1.JobState_JOB_STATE_RUNNING, Step: step,
				Event: &trainerv1.WatchJobResponse_Progress{Progress: &trainerv1.Progress{Loss: reportSum / float64(reportN), ExamplesSeen: step * int64(spec.BatchSize)}},
			})
			reportSum, reportN = 0, 0
		}
		if suite != nil && (step == spec.Steps || (spec.Eval.EverySteps > 0 && step%spec.Eval.EverySteps == 0)) {
			evs = append(evs, evaluation(step, m))
		}
		if len(evs) > 0 {
			s.mu.Lock()
			for _, ev := range evs {
				s.emit(j, ev)
			}
			s.mu.Unlock()
		}
		return nil
	}
	trained, err := rewardmodel.Train(ctx, base, tasks, weights, cfg, onStep)
	if err != nil {
		return "", 0, err
	}
	trained.Header.Parent = spec.BaseCheckpoint
	trained.Header.Recipe = recipe(spec)
	id, err := s.store.save(trained)
	if err != nil {
		return "", 0, fmt.Errorf("save checkpoint: %w", err)
	}
	return id, finalLoss, nil
}

// recipe is the canonical text of the training-relevant part of a spec
// (purpose and eval settings excluded: they do not change the weights).
func recipe(spec *trainerv1.JobSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "base=%s steps=%d batch_size=%d learning_rate=%s seed=%d mixture=",
		spec.BaseCheckpoint, spec.Steps, spec.BatchSize, strconv.FormatFloat(spec.LearningRate, 'g', -1, 64), spec.Seed)
	for i, c := range spec.Mixture {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%s", c.Task, strconv.FormatFloat(c.Weight, 'g', -1, 64))
	}
	return b.String()
}
