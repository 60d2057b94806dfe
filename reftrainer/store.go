package reftrainer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/mixopt/mixopt/internal/atomicfile"
	"github.com/mixopt/mixopt/internal/jobspec"

	"github.com/mixopt/mixopt/rewardmodel"
)

// checkpointIDPattern is the only shape of checkpoint id the store accepts, so
// that an id can never name a path outside the state directory.
var checkpointIDPattern = regexp.MustCompile(`^ck-[0-9a-f]{32}$`)

// errCheckpointNotFound reports an unknown checkpoint id.
var errCheckpointNotFound = errors.New("checkpoint not found")

// errBadCheckpointID reports an id that is neither "init" nor a checkpoint id.
var errBadCheckpointID = fmt.Errorf(`%w: must be "init" or ck-<32 hex digits>`, jobspec.ErrMalformed)

// store keeps checkpoints as files named by their content hash under
// <state>/checkpoints, and a few decoded models in memory.
type store struct {
	dir string
	dim int

	mu    sync.Mutex
	cache map[string]*rewardmodel.Model
	order []string // least recently used first
}

const storeCacheSize = 16

func newStore(stateDir string, dim int) (*store, error) {
	dir := filepath.Join(stateDir, "checkpoints")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &store{dir: dir, dim: dim, cache: map[string]*rewardmodel.Model{}}, nil
}

// exists reports whether id names a checkpoint the store can load.
func (s *store) exists(id string) (bool, error) {
	if id == rewardmodel.InitID {
		return true, nil
	}
	if !checkpointIDPattern.MatchString(id) {
		return false, errBadCheckpointID
	}
	_, err := os.Stat(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (s *store) path(id string) string { return filepath.Join(s.dir, id+".ckpt") }

// load returns the model a checkpoint id names. The model is shared: callers
// must not modify it.
func (s *store) load(id string) (*rewardmodel.Model, error) {
	if id == rewardmodel.InitID {
		return rewardmodel.NewModel(s.dim), nil
	}
	if !checkpointIDPattern.MatchString(id) {
		return nil, errBadCheckpointID
	}
	s.mu.Lock()
	if m, ok := s.cache[id]; ok {
		s.touch(id)
		s.mu.Unlock()
		return m, nil
	}
	s.mu.Unlock()

	data, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", errCheckpointNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if got := rewardmodel.CheckpointID(data); got != id {
		return nil, fmt.Errorf("checkpoint %s: %w: content hashes to %s", id, rewardmodel.ErrCorrupt, got)
	}
	m, err := rewardmodel.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", id, err)
	}
	if m.Header.Dim != s.dim {
		return nil, fmt.Errorf("checkpoint %s has %d features, this trainer %d", id, m.Header.Dim, s.dim)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache[id] = m
	s.touch(id)
	if len(s.order) > storeCacheSize {
		delete(s.cache, s.order[0])
		s.order = s.order[1:]
	}
	return m, nil
}

func (s *store) touch(id string) {
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	s.order = append(s.order, id)
}

// save writes m and returns its content-derived id. Saving the same weights
// twice is a no-op that returns the same id.
func (s *store) save(m *rewardmodel.Model) (string, error) {
	data := m.Bytes()
	id := rewardmodel.CheckpointID(data)
	path := s.path(id)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return id, nil
	}
	if err := atomicfile.WriteFile(path, data); err != nil {
		return "", err
	}
	return id, nil
}
