package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// Client talks to one trainer endpoint. It is safe for concurrent use.
type Client struct {
	endpoint string
	conn     *grpc.ClientConn
	rpc      trainerv1.TrainerServiceClient
	health   healthpb.HealthClient
}

// Dial returns a client for endpoint ("host:port", or any gRPC target). It
// does no I/O; the first call connects. Retries are the caller's business
// (see Retry), so gRPC's own transparent retries are left at their default.
// Extra options (e.g. a context dialer for in-memory tests) come last.
func Dial(endpoint string, opts ...grpc.DialOption) (*Client, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20)),
		// Reconnect to a restarted trainer within seconds, not gRPC's
		// default of up to two minutes.
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{
			BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second,
		}, MinConnectTimeout: 5 * time.Second}),
	}, opts...)
	conn, err := grpc.NewClient(endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("trainer %s: %w", endpoint, err)
	}
	return &Client{endpoint: endpoint, conn: conn, rpc: trainerv1.NewTrainerServiceClient(conn), health: healthpb.NewHealthClient(conn)}, nil
}

// Endpoint returns the address the client was made for.
func (c *Client) Endpoint() string { return c.endpoint }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// wrap maps a gRPC error to this package's errors, keeping the message.
func (c *Client) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	var kind error
	switch st.Code() {
	case codes.NotFound:
		kind = ErrNotFound
	case codes.InvalidArgument, codes.OutOfRange:
		kind = ErrInvalid
	case codes.AlreadyExists:
		kind = ErrConflict
	case codes.FailedPrecondition:
		kind = ErrPrecondition
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		kind = ErrUnavailable
	case codes.Canceled:
		if errors.Is(err, context.Canceled) {
			return err
		}
		kind = ErrUnavailable
	default:
		kind = ErrTrainer
	}
	return &callError{endpoint: c.endpoint, op: op, code: st.Code().String(), msg: st.Message(), kind: kind}
}

type callError struct {
	endpoint, op, code, msg string
	kind                    error
}

func (e *callError) Error() string {
	return fmt.Sprintf("trainer %s: %s: %s: %s", e.endpoint, e.op, e.code, e.msg)
}

func (e *callError) Unwrap() error { return e.kind }

// Healthy reports nil if the endpoint's health service says SERVING.
func (c *Client) Healthy(ctx context.Context) error {
	resp, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: trainerv1.TrainerService_ServiceDesc.ServiceName})
	if err != nil {
		return c.wrap("health", err)
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		return &callError{endpoint: c.endpoint, op: "health", code: "NOT_SERVING", msg: resp.Status.String(), kind: ErrUnavailable}
	}
	return nil
}

// Describe asks the trainer what it can do.
func (c *Client) Describe(ctx context.Context) (*Description, error) {
	resp, err := c.rpc.Describe(ctx, &trainerv1.DescribeRequest{})
	if err != nil {
		return nil, c.wrap("describe", err)
	}
	d := &Description{
		APIVersion:        resp.ApiVersion,
		ModelName:         resp.GetModel().GetName(),
		ModelVersion:      resp.GetModel().GetVersion(),
		ModelDescription:  resp.GetModel().GetDescription(),
		MaxConcurrentJobs: max(1, int(resp.GetLimits().GetMaxConcurrentJobs())),
		MaxSteps:          resp.GetLimits().GetMaxSteps(),
		MaxBatchSize:      int(resp.GetLimits().GetMaxBatchSize()),
	}
	for k, v := range resp.GetModel().GetParameters() {
		d.ModelParameters = append(d.ModelParameters, [2]string{k, v})
	}
	slices.SortFunc(d.ModelParameters, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for _, ds := range resp.Datasets {
		for _, t := range ds.Tasks {
			d.Tasks = append(d.Tasks, TaskInfo{
				Name: t.Name, Dataset: ds.Name, DatasetKind: kindName(ds.Kind), Objective: objectiveName(t.Objective),
				Examples: t.Examples, TrainExamples: t.TrainExamples, ContentHash: t.ContentHash,
				DatasetHash: ds.ContentHash, Source: ds.Source, HeldoutSuite: t.HeldoutSuite,
			})
		}
	}
	slices.SortFunc(d.Tasks, func(a, b TaskInfo) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range resp.EvalSuites {
		si := SuiteInfo{Name: s.Name, Examples: s.Examples, ContentHash: s.ContentHash}
		for _, sub := range s.Subsets {
			si.Subsets = append(si.Subsets, SubsetInfo{Name: sub.Name, Section: sub.Section, Examples: sub.Examples})
		}
		d.Suites = append(d.Suites, si)
	}
	return d, nil
}

func kindName(k trainerv1.DatasetKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "DATASET_KIND_"))
}

func objectiveName(o trainerv1.Objective) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "OBJECTIVE_"))
}

// SpecProto converts a JobSpec to its wire form.
func SpecProto(s JobSpec) *trainerv1.JobSpec {
	p := &trainerv1.JobSpec{
		BaseCheckpoint: s.Base, Steps: s.Steps, BatchSize: int32(s.BatchSize),
		LearningRate: s.LearningRate, Seed: s.Seed, Purpose: trainerv1.JobPurpose(s.Purpose),
	}
	for _, m := range s.Mixture {
		p.Mixture = append(p.Mixture, &trainerv1.MixtureComponent{Task: m.Task, Weight: m.Weight, ExpectedContentHash: m.ContentHash})
	}
	if s.Eval != nil {
		p.Eval = &trainerv1.EvalSpec{Suite: s.Eval.Suite, EverySteps: s.Eval.EverySteps, ExampleIds: s.Eval.ExampleIDs}
	}
	return p
}

func statusFrom(p *trainerv1.JobStatus) JobStatus {
	return JobStatus{
		ID: p.GetJobId(), State: State(p.GetState()), Step: p.GetStep(), Checkpoint: p.GetCheckpointId(),
		Error: p.GetError(), LastSeq: p.GetLastSeq(), Attempts: int(p.GetAttempts()),
	}
}

// Submit starts job id with spec, or finds it already there (created false).
// Resubmitting an identical spec is always safe.
func (c *Client) Submit(ctx context.Context, id string, spec JobSpec) (st JobStatus, created bool, err error) {
	resp, err := c.rpc.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: id, Spec: SpecProto(spec)})
	if err != nil {
		return JobStatus{}, false, c.wrap("submit "+id, err)
	}
	return statusFrom(resp.Job), resp.Created, nil
}

// Get returns a job's status.
func (c *Client) Get(ctx context.Context, id string) (JobStatus, error) {
	resp, err := c.rpc.GetJob(ctx, &trainerv1.GetJobRequest{JobId: id})
	if err != nil {
		return JobStatus{}, c.wrap("get "+id, err)
	}
	return statusFrom(resp.Job), nil
}

// Cancel asks a job to stop and returns its status.
func (c *Client) Cancel(ctx context.Context, id string) (JobStatus, error) {
	resp, err := c.rpc.CancelJob(ctx, &trainerv1.CancelJobRequest{JobId: id})
	if err != nil {
		return JobStatus{}, c.wrap("cancel "+id, err)
	}
	return statusFrom(resp.Job), nil
}

// Watch streams job id's events after afterSeq to fn, in order, until the
// job's terminal event has been handled (then it returns nil), fn returns an
// error, or the stream breaks. On a break the caller re-attaches with the
// last Seq it handled.
func (c *Client) Watch(ctx context.Context, id string, afterSeq uint64, fn func(Event) error) error {
	stream, err := c.rpc.WatchJob(ctx, &trainerv1.WatchJobRequest{JobId: id, AfterSeq: afterSeq})
	if err != nil {
		return c.wrap("watch "+id, err)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return &callError{endpoint: c.endpoint, op: "watch " + id, code: "EOF", msg: "stream ended before the job finished", kind: ErrUnavailable}
		}
		if err != nil {
			return c.wrap("watch "+id, err)
		}
		ev := eventFrom(msg)
		if err := fn(ev); err != nil {
			return err
		}
		if ev.State.Terminal() && (ev.Kind == EventResult || ev.Kind == EventFailure) {
			return nil
		}
	}
}

func eventFrom(m *trainerv1.WatchJobResponse) Event {
	ev := Event{Seq: m.Seq, State: State(m.State), Step: m.Step}
	switch e := m.Event.(type) {
	case *trainerv1.WatchJobResponse_StateChange:
		ev.Kind, ev.Message = EventStateChange, e.StateChange.GetMessage()
	case *trainerv1.WatchJobResponse_Progress:
		ev.Kind, ev.Loss, ev.ExamplesSeen = EventProgress, e.Progress.GetLoss(), e.Progress.GetExamplesSeen()
	case *trainerv1.WatchJobResponse_Evaluation:
		ev.Kind, ev.Eval = EventEvaluation, subsetsFrom(e.Evaluation.GetSubsets())
	case *trainerv1.WatchJobResponse_Result:
		ev.Kind, ev.Checkpoint, ev.Loss = EventResult, e.Result.GetCheckpointId(), e.Result.GetFinalLoss()
	case *trainerv1.WatchJobResponse_Failure:
		ev.Kind, ev.FailureCode, ev.Message = EventFailure, e.Failure.GetCode(), e.Failure.GetMessage()
	}
	return ev
}

func subsetsFrom(ps []*trainerv1.SubsetResult) []SubsetCount {
	out := make([]SubsetCount, len(ps))
	for i, p := range ps {
		out[i] = SubsetCount{Subset: p.Subset, Section: p.Section, Correct: p.Correct, Total: p.Total}
	}
	return out
}

// Evaluate scores a checkpoint on a suite (restricted to ids when given),
// with per-example outcomes when withExamples is set.
func (c *Client) Evaluate(ctx context.Context, checkpoint, suite string, ids []string, withExamples bool) (*Evaluation, error) {
	resp, err := c.rpc.Evaluate(ctx, &trainerv1.EvaluateRequest{CheckpointId: checkpoint, Suite: suite, ExampleIds: ids, IncludeExamples: withExamples})
	if err != nil {
		return nil, c.wrap("evaluate "+checkpoint, err)
	}
	ev := &Evaluation{Checkpoint: resp.CheckpointId, Suite: resp.Suite, Subsets: subsetsFrom(resp.Subsets)}
	if withExamples {
		ev.Examples = make([]ExampleOutcome, len(resp.Examples))
		for i, e := range resp.Examples {
			ev.Examples[i] = ExampleOutcome{ID: e.ExampleId, Subset: e.Subset, ChosenScore: e.ChosenScore, RejectedScore: e.RejectedScore, Correct: e.Correct}
		}
	}
	return ev, nil
}

// Backoff is an exponential backoff with full jitter for retrying calls that
// fail with a Retryable error. Zero fields take the defaults noted.
type Backoff struct {
	Initial    time.Duration // default 100ms
	Max        time.Duration // default 10s
	Multiplier float64       // default 2
	// Attempts bounds the tries (default 6); the last error is returned.
	Attempts int
}

// Retry calls fn until it succeeds, fails with a non-retryable error, the
// attempts run out or ctx ends. Each try gets the caller's context; the
// caller sets per-call deadlines inside fn.
func (b Backoff) Retry(ctx context.Context, fn func(ctx context.Context) error) error {
	initial, maxWait, mult, attempts := b.Initial, b.Max, b.Multiplier, b.Attempts
	if initial <= 0 {
		initial = 100 * time.Millisecond
	}
	if maxWait <= 0 {
		maxWait = 10 * time.Second
	}
	if mult < 1 {
		mult = 2
	}
	if attempts <= 0 {
		attempts = 6
	}
	wait := initial
	var err error
	for try := 1; ; try++ {
		if err = fn(ctx); err == nil || !Retryable(err) || try == attempts {
			return err
		}
		// Full jitter: sleep uniformly in [0, wait) so that many drivers
		// retrying one trainer spread out.
		d := time.Duration(rand.Int64N(int64(wait)) + 1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		wait = min(maxWait, time.Duration(float64(wait)*mult))
	}
}
