// Package faketrainer is a fault-injecting Trainer API server for tests: a
// real gRPC server (TCP on loopback, or any listener such as bufconn) whose
// jobs finish at once, or at a set pace, with deterministic results, and
// which fails, stalls, dies mid-job or returns malformed evaluations when a
// test says so. It counts every call and every job start, so tests can prove
// that a job never ran twice.
//
// Results are derived from hashes, not learned: a job's checkpoint id is a
// hash of its training-relevant spec, and each example's chosen and rejected
// scores are small integers derived from a hash of (checkpoint, example id),
// so outcomes vary between jobs, ties occur (and count as wrong), and two
// fakes with the same Config give identical results.
package faketrainer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixopt/mixopt/internal/jobspec"
	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// SuiteName is the name of the fake's eval suite.
const SuiteName = "rewardbench"

// Subset is one subset of the fake's suite.
type Subset struct{ Name, Section string }

// DefaultSubsets are RewardBench subsets, one or two per tail-patch
// category, so that the rewardbench target resolves against the fake.
var DefaultSubsets = []Subset{
	{"alpacaeval-easy", "Chat"},
	{"llmbar-natural", "Chat Hard"},
	{"xstest-should-refuse", "Safety"},
	{"hep-python", "Reasoning"},
	{"math-prm", "Reasoning"},
}

// DefaultTasks are the tasks the fake offers by default. A name "d/pairs"
// makes d a pointwise dataset with the tasks "d" and "d/pairs"; every other
// name is a pairwise dataset with one task.
var DefaultTasks = []string{"chat_prefs", "code_grades", "code_grades/pairs", "safety_prefs"}

// Config configures a fake. Zero values take the defaults noted.
type Config struct {
	// Tasks offered (default DefaultTasks).
	Tasks []string
	// Subsets of the suite, in suite order (default DefaultSubsets).
	Subsets []Subset
	// ExamplesPerSubset is the size of every subset (default 20).
	ExamplesPerSubset int
	// MaxConcurrentJobs is the limit Describe reports and the fake enforces
	// by queueing (default 4).
	MaxConcurrentJobs int
	// EventDelay paces running jobs: the pause before each event after
	// RUNNING. Zero finishes a job inside the SubmitJob call that starts it.
	EventDelay time.Duration
	// Store holds the checkpoints the fake knows. Fakes that share one are
	// like trainers sharing storage: a job can start on one from a
	// checkpoint trained on another. Default: a store of its own.
	Store *Store
}

// Store is a set of known checkpoint ids; "init" is always known.
type Store struct {
	mu  sync.Mutex
	ids map[string]bool
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{ids: map[string]bool{}} }

func (s *Store) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[id] = true
}

func (s *Store) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return id == "init" || s.ids[id]
}

// Failure fails the next N calls of an RPC with Code.
type Failure struct {
	Code codes.Code
	N    int
}

// Malformation says how Evaluate corrupts its answer.
type Malformation int

const (
	// WellFormed answers correctly.
	WellFormed Malformation = iota
	// WrongCounts adds one to the first subset's total.
	WrongCounts
	// TieCorrect makes the first example a tie marked correct (subset
	// counts follow the wrong flag, so only the tie rule is broken).
	TieCorrect
	// MissingExample drops the last example (counts adjusted to match).
	MissingExample
	// RenamedExample renames the first example.
	RenamedExample
)

// Faults are the failures the fake injects. Set them with SetFaults at any
// time; they apply from the next call or event.
type Faults struct {
	// Fail fails the next calls of an RPC, keyed by method name: Describe,
	// SubmitJob, GetJob, WatchJob, CancelJob or Evaluate.
	Fail map[string]Failure
	// Stall makes jobs that start while it is set emit RUNNING and then
	// nothing. A stalled job keeps its slot until it is cancelled.
	Stall bool
	// DieAfterEvents, when > 0, kills the server (as Kill does) as soon as
	// a job has emitted this many events (counting its QUEUED event). It
	// fires once.
	DieAfterEvents int
	// Malform corrupts Evaluate answers.
	Malform Malformation
}

var methods = []string{"Describe", "SubmitJob", "GetJob", "WatchJob", "CancelJob", "Evaluate"}

// Stats is what the fake has seen.
type Stats struct {
	// Calls counts calls per method name, failed ones included.
	Calls map[string]int
	// Starts counts, per job id, how often the job started running.
	Starts map[string]int
	// Running and Active are the jobs running (none while the fake is
	// down), and not yet finished (queued or running, kept across a
	// kill), now; MaxRunning and MaxActive their maxima.
	Running, MaxRunning int
	Active, MaxActive   int
	// Succeeded counts jobs that succeeded.
	Succeeded int
	// Down reports a killed fake that does not serve yet.
	Down bool
}

type example struct{ id, subset, section string }

// Trainer is the fake trainer: its state and its gRPC service.
type Trainer struct {
	trainerv1.UnimplementedTrainerServiceServer

	cfg      Config
	describe *trainerv1.DescribeResponse
	tasks    map[string]*trainerv1.TaskInfo
	examples []example
	index    map[string]int
	subsets  map[string]int // subset name → position

	mu      sync.Mutex
	faults  Faults
	stats   Stats
	jobs    map[string]*job
	queue   []*job
	dead    bool
	inLoop  bool // dispatch is running (stopped re-enters it)
	servers []*grpc.Server
	addr    string
}

type job struct {
	id       string
	spec     *trainerv1.JobSpec
	state    trainerv1.JobState
	step     int64
	ckpt     string
	errMsg   string
	attempts int32
	events   []*trainerv1.WatchJobResponse
	changed  chan struct{}
	// script holds the remaining events of the running attempt; gen
	// changes whenever an attempt starts or stops, so that a paced event
	// of an old attempt is dropped.
	script []*trainerv1.WatchJobResponse
	gen    int
}

var _ trainerv1.TrainerServiceServer = (*Trainer)(nil)

// New builds a fake; Start or Serve makes it reachable.
func New(cfg Config) *Trainer {
	if cfg.Tasks == nil {
		cfg.Tasks = DefaultTasks
	}
	if cfg.Subsets == nil {
		cfg.Subsets = DefaultSubsets
	}
	if cfg.ExamplesPerSubset <= 0 {
		cfg.ExamplesPerSubset = 20
	}
	if cfg.MaxConcurrentJobs <= 0 {
		cfg.MaxConcurrentJobs = 4
	}
	if cfg.Store == nil {
		cfg.Store = NewStore()
	}
	f := &Trainer{
		cfg: cfg, tasks: map[string]*trainerv1.TaskInfo{}, index: map[string]int{}, subsets: map[string]int{},
		jobs:  map[string]*job{},
		stats: Stats{Calls: map[string]int{}, Starts: map[string]int{}},
	}
	f.describe = f.buildDescribe()
	return f
}

func hash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

func (f *Trainer) buildDescribe() *trainerv1.DescribeResponse {
	d := &trainerv1.DescribeResponse{
		ApiVersion: "mixopt.trainer.v1",
		Model: &trainerv1.ModelInfo{
			Name: "fake", Version: "1", Description: "fault-injecting fake trainer with hash-derived results",
			Parameters: map[string]string{"examples_per_subset": fmt.Sprint(f.cfg.ExamplesPerSubset)},
		},
		Limits: &trainerv1.Limits{MaxConcurrentJobs: int32(f.cfg.MaxConcurrentJobs), MaxSteps: 1_000_000, MaxBatchSize: 4096},
	}
	byDataset := map[string][]string{}
	for _, t := range f.cfg.Tasks {
		ds := strings.TrimSuffix(t, "/pairs")
		byDataset[ds] = append(byDataset[ds], t)
	}
	for _, ds := range slices.Sorted(maps.Keys(byDataset)) {
		names := byDataset[ds]
		slices.Sort(names)
		kind := trainerv1.DatasetKind_DATASET_KIND_PAIRWISE
		if slices.Contains(names, ds+"/pairs") {
			kind = trainerv1.DatasetKind_DATASET_KIND_POINTWISE
		}
		info := &trainerv1.DatasetInfo{Name: ds, Kind: kind, Examples: 100, ContentHash: "sha256:" + hash("dataset", ds), Source: "fake://" + ds}
		for _, n := range names {
			obj := trainerv1.Objective_OBJECTIVE_PAIRWISE
			if kind == trainerv1.DatasetKind_DATASET_KIND_POINTWISE && n == ds {
				obj = trainerv1.Objective_OBJECTIVE_POINTWISE
			}
			ti := &trainerv1.TaskInfo{Name: n, Dataset: ds, Objective: obj, Examples: 100, TrainExamples: 100, ContentHash: "sha256:" + hash("task", n)}
			f.tasks[n] = ti
			info.Tasks = append(info.Tasks, ti)
		}
		d.Datasets = append(d.Datasets, info)
	}
	suite := &trainerv1.EvalSuiteInfo{Name: SuiteName, ContentHash: "sha256:" + hash("suite", fmt.Sprint(f.cfg.Subsets, f.cfg.ExamplesPerSubset))}
	for p, s := range f.cfg.Subsets {
		f.subsets[s.Name] = p
		suite.Subsets = append(suite.Subsets, &trainerv1.SubsetInfo{Name: s.Name, Section: s.Section, Examples: int64(f.cfg.ExamplesPerSubset)})
		for i := range f.cfg.ExamplesPerSubset {
			id := fmt.Sprintf("%s-%03d", s.Name, i)
			f.index[id] = len(f.examples)
			f.examples = append(f.examples, example{id: id, subset: s.Name, section: s.Section})
		}
	}
	suite.Examples = int64(len(f.examples))
	d.EvalSuites = []*trainerv1.EvalSuiteInfo{suite}
	return d
}

// ---------------------------------------------------------------- control --

// Serve serves the fake on lis in the background. After Kill it revives the
// fake first: jobs that were queued or running are queued again and start
// over, as on a trainer restarted on its state directory.
func (f *Trainer) Serve(lis net.Listener) {
	srv := grpc.NewServer(
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	hs := health.NewServer()
	hs.SetServingStatus(trainerv1.TrainerService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	trainerv1.RegisterTrainerServiceServer(srv, f)
	f.mu.Lock()
	f.servers = append(f.servers, srv)
	if f.dead {
		f.revive()
	}
	f.mu.Unlock()
	go func() { _ = srv.Serve(lis) }()
}

// Start serves the fake over TCP on 127.0.0.1, on a free port the first time
// and on the same address after Kill (a restart), and returns the address.
func (f *Trainer) Start() (string, error) {
	f.mu.Lock()
	addr := f.addr
	f.mu.Unlock()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("fake trainer: %w", err)
	}
	f.mu.Lock()
	f.addr = lis.Addr().String()
	f.mu.Unlock()
	f.Serve(lis)
	return lis.Addr().String(), nil
}

// Addr returns the TCP address Start listens on.
func (f *Trainer) Addr() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addr
}

// Kill stops the fake abruptly, as a crashing process: listeners and
// connections close, running jobs stop where they are, and every call fails
// until the fake serves again.
func (f *Trainer) Kill() {
	f.mu.Lock()
	srvs := f.killLocked()
	f.mu.Unlock()
	for _, s := range srvs {
		s.Stop()
	}
}

// Close stops the fake for good.
func (f *Trainer) Close() { f.Kill() }

// Serve starts a fake on loopback TCP for a test and closes it when the
// test ends.
func Serve(t testing.TB, cfg Config) *Trainer {
	t.Helper()
	f := New(cfg)
	if _, err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func (f *Trainer) killLocked() []*grpc.Server {
	f.dead = true
	f.stats.Down = true
	f.stats.Running = 0
	srvs := f.servers
	f.servers = nil
	for _, j := range f.jobs {
		j.gen++
		j.script = nil
		j.wake()
	}
	return srvs
}

// revive requeues the jobs a kill interrupted. Caller holds f.mu.
func (f *Trainer) revive() {
	f.dead = false
	f.stats.Down = false
	f.queue = f.queue[:0]
	var ids []string
	for id, j := range f.jobs {
		if !terminal(j.state) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		j := f.jobs[id]
		f.emit(j, stateChange(trainerv1.JobState_JOB_STATE_QUEUED, 0, "trainer restarted; job queued again"))
		f.queue = append(f.queue, j)
	}
	f.dispatch()
}

// SetFaults replaces the faults.
func (f *Trainer) SetFaults(fl Faults) {
	m := map[string]Failure{}
	for k, v := range fl.Fail {
		if !slices.Contains(methods, k) {
			panic(fmt.Sprintf("faketrainer: unknown method %q", k))
		}
		m[k] = v
	}
	fl.Fail = m
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = fl
}

// FailNext fails the next n calls of method with code, keeping other faults.
func (f *Trainer) FailNext(method string, n int, code codes.Code) {
	if !slices.Contains(methods, method) {
		panic(fmt.Sprintf("faketrainer: unknown method %q", method))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.faults.Fail == nil {
		f.faults.Fail = map[string]Failure{}
	}
	f.faults.Fail[method] = Failure{Code: code, N: n}
}

// Stats returns a copy of what the fake has seen.
func (f *Trainer) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.Calls = map[string]int{}
	for k, v := range f.stats.Calls {
		s.Calls[k] = v
	}
	s.Starts = map[string]int{}
	for k, v := range f.stats.Starts {
		s.Starts[k] = v
	}
	return s
}

// Calls returns how often method was called.
func (f *Trainer) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats.Calls[method]
}

// Starts returns how often job id started running.
func (f *Trainer) Starts(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats.Starts[id]
}

// JobState returns a job's state (UNSPECIFIED for an unknown job).
func (f *Trainer) JobState(id string) trainerv1.JobState {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j, ok := f.jobs[id]; ok {
		return j.state
	}
	return trainerv1.JobState_JOB_STATE_UNSPECIFIED
}

// ------------------------------------------------------------------- jobs --

func terminal(s trainerv1.JobState) bool {
	return s == trainerv1.JobState_JOB_STATE_SUCCEEDED || s == trainerv1.JobState_JOB_STATE_FAILED || s == trainerv1.JobState_JOB_STATE_CANCELLED
}

func (j *job) wake() {
	close(j.changed)
	j.changed = make(chan struct{})
}

func (j *job) status() *trainerv1.JobStatus {
	return &trainerv1.JobStatus{
		JobId: j.id, Spec: j.spec, State: j.state, Step: j.step, CheckpointId: j.ckpt,
		Error: j.errMsg, LastSeq: uint64(len(j.events)), Attempts: j.attempts,
	}
}

// stateChange is a state-change event.
func stateChange(state trainerv1.JobState, step int64, msg string) *trainerv1.WatchJobResponse {
	return &trainerv1.WatchJobResponse{State: state, Step: step, Event: &trainerv1.WatchJobResponse_StateChange{StateChange: &trainerv1.StateChange{Message: msg}}}
}

// emit numbers and appends an event, folds it into the job's summary, wakes
// watchers and applies the die fault. Caller holds f.mu.
func (f *Trainer) emit(j *job, ev *trainerv1.WatchJobResponse) {
	ev.JobId = j.id
	ev.Seq = uint64(len(j.events) + 1)
	wasTerminal := terminal(j.state)
	j.state, j.step = ev.State, ev.Step
	switch e := ev.Event.(type) {
	case *trainerv1.WatchJobResponse_Result:
		j.ckpt = e.Result.CheckpointId
		f.cfg.Store.add(j.ckpt)
		f.stats.Succeeded++
	case *trainerv1.WatchJobResponse_Failure:
		j.errMsg = e.Failure.Message
	}
	j.events = append(j.events, ev)
	if terminal(ev.State) && !wasTerminal {
		f.stats.Active--
	}
	j.wake()
	if k := f.faults.DieAfterEvents; k > 0 && len(j.events) >= k && !f.dead {
		f.faults.DieAfterEvents = 0
		srvs := f.killLocked()
		go func() {
			for _, s := range srvs {
				s.Stop()
			}
		}()
	}
}

// dispatch starts queued jobs while there are free slots. Caller holds f.mu.
func (f *Trainer) dispatch() {
	if f.inLoop {
		return // the running loop below picks up the freed slot
	}
	f.inLoop = true
	defer func() { f.inLoop = false }()
	for !f.dead && len(f.queue) > 0 && f.stats.Running < f.cfg.MaxConcurrentJobs {
		j := f.queue[0]
		f.queue = f.queue[1:]
		f.begin(j)
	}
}

// begin starts an attempt of j. Caller holds f.mu.
func (f *Trainer) begin(j *job) {
	f.stats.Running++
	f.stats.MaxRunning = max(f.stats.MaxRunning, f.stats.Running)
	f.stats.Starts[j.id]++
	j.attempts++
	j.gen++
	f.emit(j, stateChange(trainerv1.JobState_JOB_STATE_RUNNING, 0, fmt.Sprintf("running (attempt %d)", j.attempts)))
	if f.dead || f.faults.Stall {
		return
	}
	j.script = f.script(j.spec)
	f.advance(j, j.gen)
}

// advance emits j's next scripted events: all of them without EventDelay,
// else one now and the next after the delay. Caller holds f.mu.
func (f *Trainer) advance(j *job, gen int) {
	for len(j.script) > 0 && !f.dead && j.gen == gen {
		if d := f.cfg.EventDelay; d > 0 {
			time.AfterFunc(d, func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				if j.gen != gen || f.dead || len(j.script) == 0 {
					return
				}
				f.next(j)
				f.advance(j, gen)
			})
			return
		}
		f.next(j)
	}
}

// next emits j's next scripted event, finishing the attempt after the last.
func (f *Trainer) next(j *job) {
	ev := j.script[0]
	j.script = j.script[1:]
	f.emit(j, ev)
	if terminal(ev.State) {
		f.stopped(j)
	}
}

// stopped frees j's slot. Caller holds f.mu.
func (f *Trainer) stopped(j *job) {
	j.gen++
	j.script = nil
	f.stats.Running--
	f.dispatch()
}

// maxPoints bounds the intermediate points of a job, so that a job of a
// million steps evaluated every step stays small.
const maxPoints = 100

// script is the events of a successful attempt after RUNNING: progress and
// (with an eval spec) an evaluation at every eval point, then the result.
func (f *Trainer) script(spec *trainerv1.JobSpec) []*trainerv1.WatchJobResponse {
	ckpt := CheckpointID(spec)
	every := spec.GetEval().GetEverySteps()
	if every > 0 && spec.Steps/every > maxPoints {
		every = (spec.Steps + maxPoints - 1) / maxPoints
	}
	var points []int64
	if every > 0 {
		for s := every; s < spec.Steps; s += every {
			points = append(points, s)
		}
	}
	points = append(points, spec.Steps)
	running := trainerv1.JobState_JOB_STATE_RUNNING
	var evs []*trainerv1.WatchJobResponse
	var loss float64
	for _, p := range points {
		loss = 1 / (1 + float64(p)/float64(spec.Steps)) // deterministic, falling
		evs = append(evs, &trainerv1.WatchJobResponse{State: running, Step: p, Event: &trainerv1.WatchJobResponse_Progress{Progress: &trainerv1.Progress{Loss: loss, ExamplesSeen: p * int64(spec.BatchSize)}}})
		if e := spec.Eval; e != nil {
			key := ckpt
			if p < spec.Steps {
				key = fmt.Sprintf("%s@%d", ckpt, p)
			}
			sel, _ := f.selection(e.ExampleIds)
			subsets, _ := f.score(key, sel, false)
			evs = append(evs, &trainerv1.WatchJobResponse{State: running, Step: p, Event: &trainerv1.WatchJobResponse_Evaluation{Evaluation: &trainerv1.Evaluation{Suite: SuiteName, Subsets: subsets}}})
		}
	}
	evs = append(evs, &trainerv1.WatchJobResponse{State: trainerv1.JobState_JOB_STATE_SUCCEEDED, Step: spec.Steps, Event: &trainerv1.WatchJobResponse_Result{Result: &trainerv1.JobResult{CheckpointId: ckpt, FinalLoss: loss}}})
	return evs
}

// CheckpointID is the checkpoint a job with spec produces: a hash of the
// training-relevant spec (eval settings and purpose excluded).
func CheckpointID(spec *trainerv1.JobSpec) string {
	s := proto.Clone(spec).(*trainerv1.JobSpec)
	s.Eval, s.Purpose = nil, trainerv1.JobPurpose_JOB_PURPOSE_UNSPECIFIED
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(s)
	if err != nil {
		panic(err) // a valid message always marshals
	}
	return "ck-" + hash(string(b))[:32]
}

// Scores returns the scores checkpoint key gives example id: small integers,
// so that ties (which are wrong) occur. FNV keeps the fake cheap next to
// the driver it is used to measure.
func Scores(key, id string) (chosen, rejected float64) {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(id))
	v := h.Sum64()
	return float64(v % 8), float64((v >> 32) % 8)
}

// selection resolves ids to suite positions in suite order (all when ids is
// empty), or returns the first unknown id.
func (f *Trainer) selection(ids []string) ([]int, string) {
	if len(ids) == 0 {
		all := make([]int, len(f.examples))
		for i := range all {
			all[i] = i
		}
		return all, ""
	}
	sel := make([]int, 0, len(ids))
	for _, id := range ids {
		i, ok := f.index[id]
		if !ok {
			return nil, id
		}
		sel = append(sel, i)
	}
	slices.Sort(sel)
	return slices.Compact(sel), ""
}

// score evaluates checkpoint key on the selected examples.
func (f *Trainer) score(key string, sel []int, withExamples bool) ([]*trainerv1.SubsetResult, []*trainerv1.ExampleOutcome) {
	counts := make([]*trainerv1.SubsetResult, len(f.cfg.Subsets))
	var out []*trainerv1.ExampleOutcome
	for _, i := range sel {
		e := f.examples[i]
		c, r := Scores(key, e.id)
		p := f.subsets[e.subset]
		if counts[p] == nil {
			counts[p] = &trainerv1.SubsetResult{Subset: e.subset, Section: e.section}
		}
		counts[p].Total++
		if c > r {
			counts[p].Correct++
		}
		if withExamples {
			out = append(out, &trainerv1.ExampleOutcome{ExampleId: e.id, Subset: e.subset, ChosenScore: c, RejectedScore: r, Correct: c > r})
		}
	}
	var subsets []*trainerv1.SubsetResult
	for _, c := range counts {
		if c != nil {
			subsets = append(subsets, c)
		}
	}
	return subsets, out
}

// -------------------------------------------------------------------- RPCs --

// enter counts a call and applies the down state and the Fail fault. Caller
// holds f.mu.
func (f *Trainer) enter(method string) error {
	f.stats.Calls[method]++
	if f.dead {
		return status.Error(codes.Unavailable, "fake trainer is down")
	}
	if fl, ok := f.faults.Fail[method]; ok && fl.N > 0 {
		fl.N--
		f.faults.Fail[method] = fl
		return status.Errorf(fl.Code, "injected fault: %s fails (%d more to come)", method, fl.N)
	}
	return nil
}

// Describe implements TrainerServiceServer.
func (f *Trainer) Describe(context.Context, *trainerv1.DescribeRequest) (*trainerv1.DescribeResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Describe"); err != nil {
		return nil, err
	}
	return proto.Clone(f.describe).(*trainerv1.DescribeResponse), nil
}

var jobIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// SubmitJob implements TrainerServiceServer.
func (f *Trainer) SubmitJob(_ context.Context, req *trainerv1.SubmitJobRequest) (*trainerv1.SubmitJobResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("SubmitJob"); err != nil {
		return nil, err
	}
	if !jobIDPattern.MatchString(req.GetJobId()) {
		return nil, status.Errorf(codes.InvalidArgument, "job_id: %q must be 1 to 128 characters from [A-Za-z0-9._:-]", req.GetJobId())
	}
	if err := f.validate(req.GetSpec()); err != nil {
		return nil, err
	}
	if j, ok := f.jobs[req.JobId]; ok {
		if !proto.Equal(j.spec, req.Spec) {
			return nil, status.Errorf(codes.AlreadyExists, "job_id: %q already exists with a different spec", req.JobId)
		}
		return &trainerv1.SubmitJobResponse{Job: j.status()}, nil
	}
	j := &job{id: req.JobId, spec: proto.Clone(req.Spec).(*trainerv1.JobSpec), changed: make(chan struct{})}
	f.jobs[j.id] = j
	f.stats.Active++
	f.stats.MaxActive = max(f.stats.MaxActive, f.stats.Active)
	f.emit(j, stateChange(trainerv1.JobState_JOB_STATE_QUEUED, 0, "queued"))
	f.queue = append(f.queue, j)
	f.dispatch()
	return &trainerv1.SubmitJobResponse{Job: j.status(), Created: true}, nil
}

func (f *Trainer) validate(spec *trainerv1.JobSpec) error {
	return jobspec.Check(spec, fakeCatalog{f})
}

// fakeCatalog shows jobspec what the fake has.
type fakeCatalog struct{ f *Trainer }

func (c fakeCatalog) Checkpoint(id string) (bool, error) { return c.f.cfg.Store.has(id), nil }

func (c fakeCatalog) Task(name string) (*trainerv1.TaskInfo, bool) {
	t, ok := c.f.tasks[name]
	return t, ok
}

func (c fakeCatalog) Suite(name string, ids []string) (bool, string) {
	if name != SuiteName {
		return false, ""
	}
	_, missing := c.f.selection(ids)
	return true, missing
}

func (c fakeCatalog) Limits() *trainerv1.Limits { return c.f.describe.Limits }

func (f *Trainer) lookup(id string) (*job, error) {
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "job_id: required")
	}
	j, ok := f.jobs[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "job_id: unknown job %q", id)
	}
	return j, nil
}

// GetJob implements TrainerServiceServer.
func (f *Trainer) GetJob(_ context.Context, req *trainerv1.GetJobRequest) (*trainerv1.GetJobResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetJob"); err != nil {
		return nil, err
	}
	j, err := f.lookup(req.GetJobId())
	if err != nil {
		return nil, err
	}
	return &trainerv1.GetJobResponse{Job: j.status()}, nil
}

// CancelJob implements TrainerServiceServer.
func (f *Trainer) CancelJob(_ context.Context, req *trainerv1.CancelJobRequest) (*trainerv1.CancelJobResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CancelJob"); err != nil {
		return nil, err
	}
	j, err := f.lookup(req.GetJobId())
	if err != nil {
		return nil, err
	}
	if terminal(j.state) {
		return &trainerv1.CancelJobResponse{Job: j.status()}, nil
	}
	wasRunning := j.state == trainerv1.JobState_JOB_STATE_RUNNING
	if i := slices.Index(f.queue, j); i >= 0 {
		f.queue = slices.Delete(f.queue, i, i+1)
	}
	f.emit(j, &trainerv1.WatchJobResponse{State: trainerv1.JobState_JOB_STATE_CANCELLED, Step: j.step, Event: &trainerv1.WatchJobResponse_Failure{Failure: &trainerv1.JobFailure{Code: "CANCELLED", Message: "cancelled by CancelJob"}}})
	if wasRunning {
		f.stopped(j)
	}
	return &trainerv1.CancelJobResponse{Job: j.status()}, nil
}

// WatchJob implements TrainerServiceServer.
func (f *Trainer) WatchJob(req *trainerv1.WatchJobRequest, stream trainerv1.TrainerService_WatchJobServer) error {
	f.mu.Lock()
	err := f.enter("WatchJob")
	var j *job
	if err == nil {
		j, err = f.lookup(req.GetJobId())
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	next := req.AfterSeq
	for {
		f.mu.Lock()
		var pending []*trainerv1.WatchJobResponse
		if next < uint64(len(j.events)) {
			pending = j.events[next:]
		}
		done, dead, changed := terminal(j.state), f.dead, j.changed
		f.mu.Unlock()
		if dead {
			return status.Error(codes.Unavailable, "fake trainer is down")
		}
		for _, ev := range pending {
			if err := stream.Send(ev); err != nil {
				return err
			}
			next = ev.Seq
		}
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}

// Evaluate implements TrainerServiceServer.
func (f *Trainer) Evaluate(_ context.Context, req *trainerv1.EvaluateRequest) (*trainerv1.EvaluateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Evaluate"); err != nil {
		return nil, err
	}
	switch {
	case req.GetCheckpointId() == "":
		return nil, status.Error(codes.InvalidArgument, "checkpoint_id: required")
	case req.GetSuite() == "":
		return nil, status.Error(codes.InvalidArgument, "suite: required")
	case req.Suite != SuiteName:
		return nil, status.Errorf(codes.NotFound, "suite: unknown suite %q", req.Suite)
	case !f.cfg.Store.has(req.CheckpointId):
		return nil, status.Errorf(codes.NotFound, "checkpoint_id: checkpoint %q not found", req.CheckpointId)
	}
	sel, missing := f.selection(req.ExampleIds)
	if missing != "" {
		return nil, status.Errorf(codes.NotFound, "example_ids: suite %q has no example %q", req.Suite, missing)
	}
	subsets, examples := f.score(req.CheckpointId, sel, req.IncludeExamples)
	malform(f.faults.Malform, subsets, &examples)
	return &trainerv1.EvaluateResponse{CheckpointId: req.CheckpointId, Suite: req.Suite, Subsets: subsets, Examples: examples}, nil
}

// malform applies m to an evaluation.
func malform(m Malformation, subsets []*trainerv1.SubsetResult, examples *[]*trainerv1.ExampleOutcome) {
	ex := *examples
	find := func(name string) *trainerv1.SubsetResult {
		for _, s := range subsets {
			if s.Subset == name {
				return s
			}
		}
		return nil
	}
	switch {
	case m == WrongCounts && len(subsets) > 0:
		subsets[0].Total++
	case m == TieCorrect && len(ex) > 0:
		e := ex[0]
		e.RejectedScore = e.ChosenScore
		if !e.Correct {
			e.Correct = true
			find(e.Subset).Correct++
		}
	case m == MissingExample && len(ex) > 0:
		e := ex[len(ex)-1]
		s := find(e.Subset)
		s.Total--
		if e.Correct {
			s.Correct--
		}
		*examples = ex[:len(ex)-1]
	case m == RenamedExample && len(ex) > 0:
		ex[0].ExampleId += "-renamed"
	}
}
