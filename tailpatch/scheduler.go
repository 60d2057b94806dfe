package tailpatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/mixopt/mixopt/trainer"
)

// Trainer is what the scheduler needs of a trainer endpoint.
// *trainer.Client implements it.
type Trainer interface {
	Describe(ctx context.Context) (*trainer.Description, error)
	Submit(ctx context.Context, id string, spec trainer.JobSpec) (trainer.JobStatus, bool, error)
	Watch(ctx context.Context, id string, afterSeq uint64, fn func(trainer.Event) error) error
	Cancel(ctx context.Context, id string) (trainer.JobStatus, error)
	Evaluate(ctx context.Context, checkpoint, suite string, ids []string, withExamples bool) (*trainer.Evaluation, error)
}

var _ Trainer = (*trainer.Client)(nil)

// Endpoint is a trainer with the name the ledger and tables know it by.
type Endpoint struct {
	Name    string
	Trainer Trainer
}

// Progress receives scheduling progress; internal/progress.Tracker
// implements it.
type Progress interface {
	SetTotal(total, alreadyDone int)
	Start(id, label string, units int64)
	Update(id string, done int64)
	Finish(id string, err error)
}

// Interrupt says what happens to jobs in flight when the run is stopped.
type Interrupt string

const (
	// Drain starts no new job but waits for those in flight and records
	// them.
	Drain Interrupt = "drain"
	// Cancel cancels the jobs in flight on their trainers.
	Cancel Interrupt = "cancel"
	// Detach leaves the jobs in flight running on their trainers; the next
	// run re-attaches to them.
	Detach Interrupt = "detach"
)

// ParseInterrupt checks an --on-interrupt value.
func ParseInterrupt(s string) (Interrupt, error) {
	switch Interrupt(s) {
	case Drain, Cancel, Detach:
		return Interrupt(s), nil
	}
	return "", fmt.Errorf("on-interrupt: %q is not one of drain, cancel, detach", s)
}

// SchedulerConfig tunes the scheduler. Zero values take the defaults noted.
type SchedulerConfig struct {
	// CallTimeout is the deadline of every unary call (default 30s).
	CallTimeout time.Duration
	// Backoff retries calls that fail with Unavailable, DeadlineExceeded or
	// ResourceExhausted, and re-attaches broken watches.
	Backoff trainer.Backoff
	// StallTimeout fails over a running job whose trainer sends no event
	// for this long (default 10m).
	StallTimeout time.Duration
	// MaxJobAttempts is how often a job that fails on a trainer is tried
	// (on other endpoints when there are any) before it counts as failed
	// (default 3).
	MaxJobAttempts int
	// Cooldown is how long an endpoint that failed rests before new work,
	// doubled per consecutive failure, at most a minute (default 1s).
	Cooldown time.Duration
	// MaxEndpointFailures consecutive failures take an endpoint out of the
	// pool for the rest of the run (default 5).
	MaxEndpointFailures int
	// OnInterrupt applies when Stop is closed (default Drain).
	OnInterrupt Interrupt
	// Stop, when closed, starts no new job and applies OnInterrupt. A
	// cancelled run context stops at once (as Detach does).
	Stop     <-chan struct{}
	Progress Progress
	Logger   *slog.Logger
}

func (c *SchedulerConfig) setDefaults() {
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = 10 * time.Minute
	}
	if c.MaxJobAttempts <= 0 {
		c.MaxJobAttempts = 3
	}
	if c.Cooldown <= 0 {
		c.Cooldown = time.Second
	}
	if c.MaxEndpointFailures <= 0 {
		c.MaxEndpointFailures = 5
	}
	if c.OnInterrupt == "" {
		c.OnInterrupt = Drain
	}
	if c.Progress == nil {
		c.Progress = nopProgress{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

type nopProgress struct{}

func (nopProgress) SetTotal(int, int)           {}
func (nopProgress) Start(string, string, int64) {}
func (nopProgress) Update(string, int64)        {}
func (nopProgress) Finish(string, error)        {}

// Scheduler runs jobs on a pool of endpoints, at most each endpoint's
// concurrency limit at a time, and records them in the ledger.
type Scheduler struct {
	cfg    SchedulerConfig
	ledger *Ledger
	eps    []*endpointState

	// trainerIDs maps a job in flight to the id it runs under on its
	// trainer (see trainerJobID), for cancelling it there.
	mu         sync.Mutex
	trainerIDs map[string]string
}

type endpointState struct {
	Endpoint
	limit     int
	inflight  int
	failures  int // consecutive
	downUntil time.Time
	gone      bool
}

// NewScheduler makes a scheduler over endpoints with the given concurrency
// limits (from Describe).
func NewScheduler(ledger *Ledger, eps []Endpoint, limits []int, cfg SchedulerConfig) (*Scheduler, error) {
	if len(eps) == 0 {
		return nil, errors.New("scheduler: no trainer endpoints")
	}
	if len(eps) != len(limits) {
		return nil, fmt.Errorf("scheduler: %d endpoints, %d limits", len(eps), len(limits))
	}
	cfg.setDefaults()
	s := &Scheduler{cfg: cfg, ledger: ledger, trainerIDs: map[string]string{}}
	for i, ep := range eps {
		s.eps = append(s.eps, &endpointState{Endpoint: ep, limit: max(1, limits[i])})
	}
	return s, nil
}

// Evaluation is a finished job's final evaluation on the target suite.
type Evaluation struct {
	Suite    string
	Outcomes []trainer.ExampleOutcome
}

// Validator checks a final evaluation; an error marks it malformed, and the
// job is tried again (elsewhere if possible).
type Validator func(*trainer.Evaluation) error

// ErrInterrupted reports a run stopped before all jobs finished.
var ErrInterrupted = errors.New("interrupted")

// failure classifies why a job attempt did not finish.
type failure int

const (
	failNone      failure = iota
	failEndpoint          // the endpoint is unreachable or stalled: fail over
	failJob               // the job itself failed or its result was bad
	failInterrupt         // the run was stopped
)

type outcome struct {
	job     *Job
	ep      *endpointState
	kind    failure
	err     error
	events  []trainer.Event
	elapsed time.Duration
}

// Run runs every job the ledger does not have as succeeded and returns when
// all have succeeded, some failed for good (an error naming them), or the run
// was stopped (ErrInterrupted). Jobs the ledger says were submitted are
// resumed on their endpoint first: Submit is idempotent, so this re-attaches
// to a job still running there. suite names the eval suite of the final
// evaluation; validate checks it.
func (s *Scheduler) Run(ctx context.Context, jobs []Job, suite string, validate Validator) error {
	recs, err := s.ledger.Jobs()
	if err != nil {
		return err
	}
	known := map[string]JobRecord{}
	for _, r := range recs {
		known[r.ID] = r
	}
	var pending []*Job
	for i := range jobs {
		j := &jobs[i]
		if r, ok := known[j.ID]; !ok || r.State != StateSucceeded {
			pending = append(pending, j)
		}
	}
	s.cfg.Progress.SetTotal(len(jobs), len(jobs)-len(pending))
	if len(pending) == 0 {
		return nil
	}

	results := make(chan outcome)
	inflight := map[string]*endpointState{}
	cancels := map[string]context.CancelFunc{}
	attempts := map[string]int{}
	exclude := map[string]map[*endpointState]bool{}
	var failed []error
	stopping := false
	stop := s.cfg.Stop

	for {
		// Start what the pool has room for, in plan order.
		for !stopping && ctx.Err() == nil && len(pending) > 0 {
			j := pending[0]
			ep := s.pick(known[j.ID].Endpoint, exclude[j.ID])
			if ep == nil {
				break
			}
			pending = pending[1:]
			ep.inflight++
			inflight[j.ID] = ep
			jctx, cancel := context.WithCancel(ctx)
			cancels[j.ID] = cancel
			go func() { results <- s.execute(jctx, j, ep, suite, validate) }()
		}
		if len(inflight) == 0 {
			switch {
			case len(pending) == 0 && len(failed) > 0:
				return fmt.Errorf("%d jobs failed: %w", len(failed), errors.Join(failed...))
			case len(pending) == 0:
				return nil
			case stopping || ctx.Err() != nil:
				return fmt.Errorf("%w: %d jobs not run", ErrInterrupted, len(pending))
			case s.allGone():
				return fmt.Errorf("all trainer endpoints failed; %d jobs not run", len(pending))
			}
		}

		var wake <-chan time.Time
		var timer *time.Timer
		if t := s.nextAvailable(); !t.IsZero() && len(pending) > 0 {
			timer = time.NewTimer(time.Until(t))
			wake = timer.C
		}
		stopTimer := func() {
			if timer != nil {
				timer.Stop()
			}
		}
		select {
		case o := <-results:
			delete(inflight, o.job.ID)
			cancels[o.job.ID]()
			delete(cancels, o.job.ID)
			o.ep.inflight--
			stopTimer()
			if stopping && s.cfg.OnInterrupt == Cancel && o.kind != failNone {
				// Cancelled on purpose: say so in the ledger. A later run
				// resumes it under a fresh attempt id.
				s.cfg.Progress.Finish(o.job.ID, o.err)
				if err := s.ledger.Failed(o.job.ID, o.ep.Name, StateCancelled, "cancelled on interrupt", o.events); err != nil {
					s.cfg.Logger.Error("record cancellation", "job", o.job.ID, "err", err)
				}
				continue
			}
			s.settle(o, &pending, attempts, exclude, &failed)
		case <-wake:
		case <-stop:
			stopTimer()
			stop = nil
			stopping = true
			s.cfg.Logger.Info("stopping: no new jobs", "in_flight", len(inflight), "on_interrupt", string(s.cfg.OnInterrupt))
			switch s.cfg.OnInterrupt {
			case Cancel:
				for id, ep := range inflight {
					cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CallTimeout)
					if _, err := ep.Trainer.Cancel(cctx, s.trainerID(id)); err != nil {
						s.cfg.Logger.Warn("cancel job", "job", id, "endpoint", ep.Name, "err", err)
					}
					cancel()
				}
			case Detach:
				for _, cancel := range cancels {
					cancel()
				}
			}
		case <-ctx.Done():
			stopTimer()
			// Hard stop: jobs in flight are left on their trainers.
			for _, cancel := range cancels {
				cancel()
			}
			for len(inflight) > 0 {
				o := <-results
				delete(inflight, o.job.ID)
				o.ep.inflight--
			}
			return fmt.Errorf("%w: %v", ErrInterrupted, ctx.Err())
		}
	}
}

// settle books one finished attempt.
func (s *Scheduler) settle(o outcome, pending *[]*Job, attempts map[string]int, exclude map[string]map[*endpointState]bool, failed *[]error) {
	log := s.cfg.Logger.With("job", o.job.ID, "endpoint", o.ep.Name)
	switch o.kind {
	case failNone:
		o.ep.failures = 0
		s.cfg.Progress.Finish(o.job.ID, nil)
		log.Debug("job finished", "elapsed", o.elapsed.Round(time.Millisecond))
		return
	case failInterrupt:
		s.cfg.Progress.Finish(o.job.ID, o.err)
		return
	}
	s.cfg.Progress.Finish(o.job.ID, o.err)
	if exclude[o.job.ID] == nil {
		exclude[o.job.ID] = map[*endpointState]bool{}
	}
	exclude[o.job.ID][o.ep] = true
	if o.kind == failEndpoint {
		switch {
		case time.Now().Before(o.ep.downUntil):
			// The endpoint is resting after a failure: this job was in
			// flight when it happened, and one crash of a trainer that
			// runs many jobs counts once, not once per job.
			log.Warn("endpoint failed; job goes to another endpoint", "err", o.err)
		default:
			o.ep.failures++
			wait := time.Duration(math.Min(float64(s.cfg.Cooldown)*math.Pow(2, float64(o.ep.failures-1)), float64(time.Minute)))
			o.ep.downUntil = time.Now().Add(wait)
			if o.ep.failures >= s.cfg.MaxEndpointFailures {
				o.ep.gone = true
				log.Error("endpoint taken out of the pool", "consecutive_failures", o.ep.failures, "err", o.err)
			} else {
				log.Warn("endpoint failed; job goes to another endpoint", "err", o.err, "rest", wait)
			}
		}
		// An endpoint failure is not the job's fault: it does not use up an
		// attempt.
		*pending = append([]*Job{o.job}, *pending...)
		return
	}
	attempts[o.job.ID]++
	if attempts[o.job.ID] < s.cfg.MaxJobAttempts {
		log.Warn("job failed; trying again", "attempt", attempts[o.job.ID], "err", o.err)
		*pending = append([]*Job{o.job}, *pending...)
		return
	}
	log.Error("job failed", "attempts", attempts[o.job.ID], "err", o.err)
	if err := s.ledger.Failed(o.job.ID, o.ep.Name, StateFailed, o.err.Error(), o.events); err != nil {
		log.Error("record failure", "err", err)
	}
	*failed = append(*failed, fmt.Errorf("job %s: %w", o.job.ID, o.err))
}

// pick chooses an endpoint with a free slot: the one the ledger says holds
// the job (to re-attach), else the least loaded, skipping excluded endpoints
// unless no other is left.
func (s *Scheduler) pick(prefer string, excluded map[*endpointState]bool) *endpointState {
	now := time.Now()
	usable := func(ep *endpointState, allowExcluded bool) bool {
		return !ep.gone && ep.inflight < ep.limit && !now.Before(ep.downUntil) && (allowExcluded || !excluded[ep])
	}
	for _, ep := range s.eps {
		if ep.Name == prefer && usable(ep, false) {
			return ep
		}
	}
	for _, allow := range []bool{false, true} {
		if allow && s.anyAlive(excluded) {
			// An endpoint this job has not failed on is alive: wait for it.
			return nil
		}
		var best *endpointState
		for _, ep := range s.eps {
			if usable(ep, allow) && (best == nil || ep.inflight*best.limit < best.inflight*ep.limit) {
				best = ep
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

// anyAlive reports whether an endpoint outside excluded is still in the pool.
func (s *Scheduler) anyAlive(excluded map[*endpointState]bool) bool {
	for _, ep := range s.eps {
		if !ep.gone && !excluded[ep] {
			return true
		}
	}
	return false
}

func (s *Scheduler) allGone() bool {
	for _, ep := range s.eps {
		if !ep.gone {
			return false
		}
	}
	return true
}

// nextAvailable returns when the next resting endpoint can take work again,
// or zero if none rests.
func (s *Scheduler) nextAvailable() time.Time {
	var t time.Time
	now := time.Now()
	for _, ep := range s.eps {
		if !ep.gone && ep.downUntil.After(now) && (t.IsZero() || ep.downUntil.Before(t)) {
			t = ep.downUntil
		}
	}
	return t
}

// call runs one unary call with the call deadline and retries.
func (s *Scheduler) call(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.cfg.Backoff.Retry(ctx, func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
		return fn(cctx)
	})
}

// classify turns a call error into a failure kind.
func classify(ctx context.Context, err error) failure {
	switch {
	case ctx.Err() != nil:
		return failInterrupt
	case trainer.Retryable(err):
		return failEndpoint
	}
	return failJob
}

// errStalled reports a running job whose trainer went quiet.
var errStalled = errors.New("no event from the trainer within the stall timeout")

// execute runs one attempt of a job on an endpoint: submit (or re-attach),
// watch to the end, evaluate the final checkpoint, record the result.
func (s *Scheduler) execute(ctx context.Context, j *Job, ep *endpointState, suite string, validate Validator) outcome {
	start := time.Now()
	o := outcome{job: j, ep: ep}
	fail := func(kind failure, err error) outcome {
		o.kind, o.err, o.elapsed = kind, fmt.Errorf("%s on %s: %w", j.Label(), ep.Name, err), time.Since(start)
		return o
	}
	if err := s.ledger.Submitted(j.ID, ep.Name); err != nil {
		return fail(failJob, fmt.Errorf("ledger: %w", err))
	}
	s.cfg.Progress.Start(j.ID, j.Label(), j.Spec.Steps)

	// tid is the id the job runs under on this trainer. A trainer keeps a
	// job id for good, so a job whose attempt there ended failed or
	// cancelled (say by --on-interrupt cancel) runs again under the next
	// id of a fixed sequence; a restarted driver walks the same sequence
	// and re-attaches to the same attempt.
	var tid string
	submit := func() error {
		return s.call(ctx, func(cctx context.Context) error {
			for n := 0; n < maxTrainerAttempts; n++ {
				id := trainerJobID(j.ID, n)
				st, _, err := ep.Trainer.Submit(cctx, id, j.Spec)
				if err != nil {
					return err
				}
				if st.State != trainer.StateFailed && st.State != trainer.StateCancelled {
					tid = id
					s.setTrainerID(j.ID, id)
					return nil
				}
			}
			return fmt.Errorf("%d attempts ended failed or cancelled on this trainer", maxTrainerAttempts)
		})
	}
	if err := submit(); err != nil {
		return fail(classify(ctx, err), err)
	}
	defer s.setTrainerID(j.ID, "")

	// Watch, re-attaching after the last event seen whenever the stream
	// breaks, until the terminal event.
	var lastSeq uint64
	reattach := 0
	for {
		err := s.watch(ctx, j, tid, ep, &lastSeq, &o.events)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fail(failInterrupt, ctx.Err())
		}
		if errors.Is(err, trainer.ErrNotFound) {
			// The trainer lost the job (say, a fresh state directory):
			// submit it again, which starts it over with a new event log.
			err = submit()
			if err != nil {
				return fail(classify(ctx, err), err)
			}
			lastSeq, o.events = 0, nil
			continue
		}
		if !trainer.Retryable(err) && !errors.Is(err, errStalled) {
			return fail(failJob, err)
		}
		reattach++
		if reattach >= max(1, s.cfg.Backoff.Attempts) {
			s.abandon(ctx, ep, tid)
			return fail(failEndpoint, err)
		}
		s.cfg.Logger.Info("watch broke; re-attaching", "job", j.ID, "endpoint", ep.Name, "after_seq", lastSeq, "err", err)
		if err := sleepCtx(ctx, backoffDelay(s.cfg.Backoff, reattach)); err != nil {
			return fail(failInterrupt, err)
		}
	}
	last := o.events[len(o.events)-1]
	if last.State != trainer.StateSucceeded {
		return fail(failJob, fmt.Errorf("job %s: %s %s", last.State, last.FailureCode, last.Message))
	}

	var ev *trainer.Evaluation
	err := s.call(ctx, func(cctx context.Context) error {
		var err error
		ev, err = ep.Trainer.Evaluate(cctx, last.Checkpoint, suite, nil, true)
		return err
	})
	if err != nil {
		return fail(classify(ctx, err), err)
	}
	if err := validateEvaluation(ev); err != nil {
		return fail(failJob, fmt.Errorf("malformed evaluation of %s: %w", last.Checkpoint, err))
	}
	if validate != nil {
		if err := validate(ev); err != nil {
			return fail(failJob, fmt.Errorf("malformed evaluation of %s: %w", last.Checkpoint, err))
		}
	}
	res := Result{Endpoint: ep.Name, Checkpoint: last.Checkpoint, FinalLoss: last.Loss, Events: o.events, Outcomes: ev.Examples}
	if err := s.ledger.Finished(j.ID, res); err != nil {
		return fail(failJob, fmt.Errorf("ledger: %w", err))
	}
	o.elapsed = time.Since(start)
	return o
}

// maxTrainerAttempts bounds the ids a job tries on one trainer.
const maxTrainerAttempts = 100

// trainerJobID is the id of a job's n-th attempt on a trainer: the job id,
// then "<id>.r1", "<id>.r2"…
func trainerJobID(id string, n int) string {
	if n == 0 {
		return id
	}
	return fmt.Sprintf("%s.r%d", id, n)
}

func (s *Scheduler) setTrainerID(id, tid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tid == "" {
		delete(s.trainerIDs, id)
	} else {
		s.trainerIDs[id] = tid
	}
}

// trainerID returns the id job id runs under on its trainer (its own id
// until it is submitted).
func (s *Scheduler) trainerID(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tid, ok := s.trainerIDs[id]; ok {
		return tid
	}
	return id
}

// abandon cancels a job the scheduler moves away from an endpoint that may
// still run it, so that it does not keep one of the endpoint's slots: a
// stalled job would, and every later job there would queue behind it for
// good. It is best effort; the endpoint may be down.
func (s *Scheduler) abandon(ctx context.Context, ep *endpointState, tid string) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	if _, err := ep.Trainer.Cancel(cctx, tid); err != nil {
		s.cfg.Logger.Debug("cancel abandoned job", "job", tid, "endpoint", ep.Name, "err", err)
	}
}

// watch follows a job's events after *lastSeq until its terminal event,
// failing with errStalled if a running job is silent for the stall timeout.
func (s *Scheduler) watch(ctx context.Context, j *Job, tid string, ep *endpointState, lastSeq *uint64, events *[]trainer.Event) error {
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	running := false
	timer := time.AfterFunc(s.cfg.StallTimeout, func() { cancel(errStalled) })
	defer timer.Stop()
	err := ep.Trainer.Watch(wctx, tid, *lastSeq, func(ev trainer.Event) error {
		if ev.Seq <= *lastSeq {
			return nil // replayed on re-attach
		}
		*lastSeq = ev.Seq
		*events = append(*events, ev)
		if ev.Kind == trainer.EventStateChange && ev.State == trainer.StateRunning && ev.Step == 0 {
			// The job (re)started: its earlier progress is void.
			s.cfg.Progress.Update(j.ID, 0)
		}
		running = ev.State == trainer.StateRunning
		if ev.Step > 0 {
			s.cfg.Progress.Update(j.ID, ev.Step)
		}
		// A queued job may wait for a slot as long as it takes; only a
		// running job must keep talking.
		if running {
			timer.Reset(s.cfg.StallTimeout)
		} else {
			timer.Stop()
		}
		return nil
	})
	if cause := context.Cause(wctx); errors.Is(cause, errStalled) {
		return errStalled
	}
	return err
}

// validateEvaluation checks that an evaluation is internally consistent:
// outcomes obey ties-are-wrong and add up to the subset counts.
func validateEvaluation(ev *trainer.Evaluation) error {
	if len(ev.Examples) == 0 {
		return errors.New("no per-example outcomes")
	}
	counts := map[string][2]int64{}
	for i, e := range ev.Examples {
		if e.ID == "" {
			return fmt.Errorf("example %d has no id", i)
		}
		if math.IsNaN(e.ChosenScore) || math.IsNaN(e.RejectedScore) {
			return fmt.Errorf("example %s: NaN score", e.ID)
		}
		if e.Correct != (e.ChosenScore > e.RejectedScore) {
			return fmt.Errorf("example %s: correct=%v but chosen %v vs rejected %v (ties are wrong)", e.ID, e.Correct, e.ChosenScore, e.RejectedScore)
		}
		c := counts[e.Subset]
		c[1]++
		if e.Correct {
			c[0]++
		}
		counts[e.Subset] = c
	}
	var total int64
	for _, sc := range ev.Subsets {
		c := counts[sc.Subset]
		if c[0] != sc.Correct || c[1] != sc.Total {
			return fmt.Errorf("subset %s: counts %d/%d disagree with its examples %d/%d", sc.Subset, sc.Correct, sc.Total, c[0], c[1])
		}
		total += sc.Total
	}
	if total != int64(len(ev.Examples)) {
		return fmt.Errorf("subset totals %d, examples %d", total, len(ev.Examples))
	}
	return nil
}

func backoffDelay(b trainer.Backoff, attempt int) time.Duration {
	d := b.Initial
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	maxWait := b.Max
	if maxWait <= 0 {
		maxWait = 10 * time.Second
	}
	for range attempt - 1 {
		d *= 2
		if d >= maxWait {
			return maxWait
		}
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
