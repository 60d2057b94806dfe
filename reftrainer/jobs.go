package reftrainer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mixopt/mixopt/internal/atomicfile"

	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// job is one submitted job. Its fields are guarded by Service.mu.
type job struct {
	id   string
	spec *trainerv1.JobSpec

	state      trainerv1.JobState
	step       int64
	checkpoint string
	errMsg     string
	attempts   int32

	// events holds every event; events[i].Seq == i+1.
	events []*trainerv1.WatchJobResponse
	// changed is closed and replaced whenever an event is appended.
	changed chan struct{}
	// cancel stops the running attempt; cancelled tells why it stopped.
	cancel    context.CancelFunc
	cancelled bool

	log *os.File
}

func terminal(s trainerv1.JobState) bool {
	return s == trainerv1.JobState_JOB_STATE_SUCCEEDED || s == trainerv1.JobState_JOB_STATE_FAILED || s == trainerv1.JobState_JOB_STATE_CANCELLED
}

func (j *job) status() *trainerv1.JobStatus {
	var last uint64
	if n := len(j.events); n > 0 {
		last = j.events[n-1].Seq
	}
	return &trainerv1.JobStatus{
		JobId: j.id, Spec: j.spec, State: j.state, Step: j.step,
		CheckpointId: j.checkpoint, Error: j.errMsg, LastSeq: last, Attempts: j.attempts,
	}
}

// jobDir is where a job's spec and event log live. Job ids are validated
// against jobIDPattern, so the directory is always inside the state dir.
func (s *Service) jobDir(id string) string { return filepath.Join(s.cfg.StateDir, "jobs", id) }

// emit appends an event to j (numbering it), updates j's summary fields,
// persists it and wakes watchers. The caller holds s.mu.
func (s *Service) emit(j *job, ev *trainerv1.WatchJobResponse) {
	ev.JobId = j.id
	ev.Seq = uint64(len(j.events) + 1)
	j.apply(ev)
	j.events = append(j.events, ev)
	if j.log != nil {
		line, err := protojson.MarshalOptions{}.Marshal(ev)
		if err == nil {
			line = append(line, '\n')
			_, err = j.log.Write(line)
		}
		if err == nil && terminal(ev.State) {
			err = j.log.Sync()
		}
		if err != nil {
			s.log.Error("persist job event", "job", j.id, "err", err)
		}
	}
	close(j.changed)
	j.changed = make(chan struct{})
}

// apply folds an event into the job's summary fields.
func (j *job) apply(ev *trainerv1.WatchJobResponse) {
	j.state = ev.State
	j.step = ev.Step
	switch e := ev.Event.(type) {
	case *trainerv1.WatchJobResponse_Result:
		j.checkpoint = e.Result.CheckpointId
	case *trainerv1.WatchJobResponse_Failure:
		j.errMsg = e.Failure.Message
	case *trainerv1.WatchJobResponse_StateChange:
		if ev.State == trainerv1.JobState_JOB_STATE_RUNNING && ev.Step == 0 {
			j.attempts++
		}
	}
}

// persistNew writes a new job's spec before it is acknowledged, so that an
// accepted job survives a restart.
//
// The job's directory appears atomically: it is assembled under
// <state>/tmp and renamed into <state>/jobs, so a crash never leaves a job
// directory without its spec.
func (s *Service) persistNew(j *job) error {
	spec, err := proto.MarshalOptions{Deterministic: true}.Marshal(j.spec)
	if err != nil {
		return err
	}
	tmpRoot := filepath.Join(s.cfg.StateDir, "tmp")
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(tmpRoot, "job-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := atomicfile.WriteFile(filepath.Join(tmp, "spec.binpb"), spec); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "events.jsonl"), nil, 0o644); err != nil {
		return err
	}
	dir := s.jobDir(j.id)
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "events.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	j.log = f
	return nil
}

// recoverJobs reloads every job under <state>/jobs. Finished jobs come back
// as they were; jobs that were queued or running when the trainer stopped are
// queued again, and since training is deterministic their result is the same.
func (s *Service) recoverJobs() ([]*job, error) {
	// Half-assembled job directories belong to submissions that were never
	// acknowledged.
	if err := os.RemoveAll(filepath.Join(s.cfg.StateDir, "tmp")); err != nil {
		return nil, err
	}
	root := filepath.Join(s.cfg.StateDir, "jobs")
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var requeue []*job
	for _, e := range entries {
		if !e.IsDir() || !jobIDPattern.MatchString(e.Name()) {
			continue
		}
		j, err := s.loadJob(e.Name())
		if err != nil {
			return nil, fmt.Errorf("recover job %s: %w", e.Name(), err)
		}
		s.jobs[j.id] = j
		if !terminal(j.state) {
			requeue = append(requeue, j)
		}
	}
	slices.SortFunc(requeue, func(a, b *job) int { return strings.Compare(a.id, b.id) })
	return requeue, nil
}

func (s *Service) loadJob(id string) (*job, error) {
	dir := s.jobDir(id)
	raw, err := os.ReadFile(filepath.Join(dir, "spec.binpb"))
	if err != nil {
		return nil, err
	}
	j := &job{id: id, spec: &trainerv1.JobSpec{}, changed: make(chan struct{})}
	if err := proto.Unmarshal(raw, j.spec); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	path := filepath.Join(dir, "events.jsonl")
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// A crash can leave a torn last line; everything before it is intact.
	valid := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<30)
	for sc.Scan() {
		ev := &trainerv1.WatchJobResponse{}
		if err := protojson.Unmarshal(sc.Bytes(), ev); err != nil || ev.Seq != uint64(len(j.events)+1) {
			break
		}
		j.apply(ev)
		j.events = append(j.events, ev)
		valid += len(sc.Bytes()) + 1
	}
	if valid < len(data) {
		if err := os.Truncate(path, int64(valid)); err != nil {
			return nil, err
		}
	}
	if j.state == trainerv1.JobState_JOB_STATE_UNSPECIFIED {
		j.state = trainerv1.JobState_JOB_STATE_QUEUED
	}
	if !terminal(j.state) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		j.log = f
	}
	return j, nil
}
