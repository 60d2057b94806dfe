package target

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrUnknown is returned by Lookup for a name no definition is registered
// under.
var ErrUnknown = errors.New("unknown target")

// registry holds the known definitions by name. RewardBench is built in;
// Register adds more.
var registry = struct {
	sync.RWMutex
	defs map[string]*Definition
}{defs: map[string]*Definition{RewardBenchName: RewardBench()}}

// Register validates d and adds a copy of it under d.Name. Registering a
// name twice is an error: a target's meaning must not change under a
// running experiment.
func Register(d *Definition) error {
	if err := d.Validate(); err != nil {
		return err
	}
	registry.Lock()
	defer registry.Unlock()
	if _, ok := registry.defs[d.Name]; ok {
		return fmt.Errorf("register target %q: already registered", d.Name)
	}
	registry.defs[d.Name] = d.Clone()
	return nil
}

// Lookup returns a copy of the definition registered under name.
func Lookup(name string) (*Definition, error) {
	registry.RLock()
	d, ok := registry.defs[name]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("target %q: %w (known: %s)", name, ErrUnknown, strings.Join(Names(), ", "))
	}
	return d.Clone(), nil
}

// Names returns the registered target names, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.defs))
	for n := range registry.defs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
