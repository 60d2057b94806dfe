package sampler

import "fmt"

// Pick is one position of a mixed stream.
type Pick struct {
	// Position is the place in the stream, from 0.
	Position int64
	// Task indexes Config.Tasks.
	Task int
	// Epoch counts the task's completed passes over its examples before
	// this one.
	Epoch int64
	// Offset is the place of this pick within the task's epoch.
	Offset int64
	// Example is the example index within the task, in [0, Examples): the
	// image of Offset under the epoch's permutation.
	Example int64
}

// State is a stream's position, enough to resume it exactly (see
// Stream.Resume). It encodes as JSON for a training checkpoint.
type State struct {
	// Config is the Fingerprint of the config the stream was made from.
	Config string `json:"config"`
	// Position is the number of picks made.
	Position int64 `json:"position"`
	// Counts are the picks of each task so far, in config order.
	Counts []int64 `json:"counts"`
}

// A Stream is the deterministic mixed stream of a config: which task, and
// which of its examples, each training position gets. Tasks follow the
// Mixer's low-discrepancy schedule; within a task, each epoch visits every
// example once in the order of a Permutation keyed by the config's seed, the
// task's name and the epoch, so that every epoch is shuffled differently and
// billion-example tasks cost no memory. Seek and Resume reposition the
// stream; the picks after any position are the same however it was reached.
//
// A Stream is not safe for concurrent use.
type Stream struct {
	mix         *Mixer
	seed        uint64
	fingerprint string
	tasks       []streamTask
}

type streamTask struct {
	name   string
	n      int64 // examples
	epoch  int64
	offset int64
	perm   Permutation
}

// NewStream returns the stream of cfg at position 0. cfg must be valid (see
// Config.Validate); the stream keeps no reference to it.
func NewStream(cfg *Config) (*Stream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	mix, err := NewMixer(cfg.Probabilities())
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	s := &Stream{mix: mix, seed: cfg.Seed, fingerprint: cfg.Fingerprint(), tasks: make([]streamTask, len(cfg.Tasks))}
	for i, t := range cfg.Tasks {
		s.tasks[i] = streamTask{name: t.Name, n: t.Examples}
	}
	s.syncTasks()
	return s, nil
}

// Position returns the position of the next pick.
func (s *Stream) Position() int64 { return s.mix.Position() }

// Next returns the pick at the current position and advances by one.
func (s *Stream) Next() Pick {
	pos := s.mix.Position()
	d := s.mix.Next()
	t := &s.tasks[d]
	p := Pick{Position: pos, Task: d, Epoch: t.epoch, Offset: t.offset, Example: int64(t.perm.At(uint64(t.offset)))}
	t.offset++
	if t.offset == t.n {
		t.epoch++
		t.offset = 0
		t.perm = NewPermutation(uint64(t.n), epochKey(s.seed, t.name, t.epoch))
	}
	return p
}

// Seek moves the stream to the position offset relative to whence
// (io.SeekStart or io.SeekCurrent) and returns the new position. It costs at
// most SnapshotInterval picks once the stream has passed the target before
// (see Mixer.Seek); Resume repositions in O(tasks) from a saved State.
func (s *Stream) Seek(offset int64, whence int) (int64, error) {
	n, err := s.mix.Seek(offset, whence)
	if err != nil {
		return n, fmt.Errorf("stream: %w", err)
	}
	s.syncTasks()
	return n, nil
}

// State returns the stream's current position and counts.
func (s *Stream) State() State {
	return State{Config: s.fingerprint, Position: s.mix.Position(), Counts: s.mix.Counts(nil)}
}

// Resume moves the stream to a State saved from a stream of the same config,
// in O(tasks) whatever the position: the next picks are those that followed
// when the state was saved.
func (s *Stream) Resume(st State) error {
	if st.Config != s.fingerprint {
		return fmt.Errorf("resume: state is for config %s, this stream's is %s", st.Config, s.fingerprint)
	}
	var sum int64
	for _, c := range st.Counts {
		sum += c
	}
	if len(st.Counts) == len(s.tasks) && sum != st.Position {
		return fmt.Errorf("resume: counts sum to %d, not the position %d", sum, st.Position)
	}
	if err := s.mix.SetCounts(st.Counts); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	s.syncTasks()
	return nil
}

// syncTasks sets each task's epoch, offset and permutation from the
// mixer's counts.
func (s *Stream) syncTasks() {
	counts := s.mix.Counts(nil)
	for d := range s.tasks {
		t := &s.tasks[d]
		epoch, offset := counts[d]/t.n, counts[d]%t.n
		if epoch != t.epoch || t.perm.Len() == 0 {
			t.perm = NewPermutation(uint64(t.n), epochKey(s.seed, t.name, epoch))
		}
		t.epoch, t.offset = epoch, offset
	}
}
