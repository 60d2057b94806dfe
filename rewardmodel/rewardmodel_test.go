package rewardmodel_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/rewardmodel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFeaturizeShape(t *testing.T) {
	f := rewardmodel.NewFeaturizer(1 << 12)
	var sc rewardmodel.Scratch
	var v rewardmodel.Vector
	f.Featurize(&sc, "How do I sort a list?", "Use sorted(xs) — it returns a NEW list.\nOr xs.sort().", &v)
	require.NotEmpty(t, v.Idx)
	assert.True(t, slices.IsSorted(v.Idx), "indices are sorted")
	assert.Len(t, slices.Compact(slices.Clone(v.Idx)), len(v.Idx), "indices are unique")
	for _, i := range v.Idx {
		assert.Less(t, i, uint32(1<<12))
	}

	var upper rewardmodel.Vector
	f.Featurize(&sc, "how do i sort a list?", "USE SORTED(XS) — IT RETURNS A new LIST.\nor XS.SORT().", &upper)
	assert.Equal(t, v, upper, "features ignore letter case")

	var other rewardmodel.Vector
	f.Featurize(&sc, "How do I sort a list?", "I cannot help with that.", &other)
	assert.NotEqual(t, v, other)
}

func TestSub(t *testing.T) {
	a := rewardmodel.Vector{Idx: []uint32{1, 3, 5}, Val: []float32{1, 2, 3}}
	b := rewardmodel.Vector{Idx: []uint32{0, 3, 6}, Val: []float32{4, 2, 1}}
	got := rewardmodel.Sub(&a, &b)
	assert.Equal(t, []uint32{0, 1, 5, 6}, got.Idx, "equal entries cancel")
	assert.Equal(t, []float32{-4, 1, 3, -1}, got.Val)
	w := []float32{1, 10, 100, 1000, 10000, 100000, 1000000}
	assert.InDelta(t, a.Dot(w)-b.Dot(w), got.Dot(w), 1e-6)
}

func TestCheckpointRoundTrip(t *testing.T) {
	m := rewardmodel.NewModel(1 << 8)
	for i := range m.W {
		m.W[i] = float32(i) / 7
	}
	m.Header.Parent, m.Header.Recipe = "init", "steps=3"
	data := m.Bytes()
	got, err := rewardmodel.Decode(data)
	require.NoError(t, err)
	assert.Equal(t, m, got)
	assert.Equal(t, rewardmodel.CheckpointID(data), rewardmodel.CheckpointID(got.Bytes()))

	for name, bad := range map[string][]byte{
		"truncated":  data[:len(data)-3],
		"bad magic":  append([]byte("X"), data[1:]...),
		"empty":      nil,
		"header len": append(append([]byte{}, data[:10]...), 0xff, 0xff, 0xff, 0x7f),
	} {
		_, err := rewardmodel.Decode(bad)
		assert.True(t, errors.Is(err, rewardmodel.ErrCorrupt), "%s: %v", name, err)
	}
}

// toyTask builds a pairwise task where chosen responses contain "good" words
// and rejected ones "bad" words, which a linear model must learn.
func toyTask(n int, flip bool) *dataset.Task {
	rng := rand.New(rand.NewPCG(1, 2))
	good := []string{"thanks", "clear", "correct", "helpful", "precise"}
	bad := []string{"wrong", "rude", "vague", "unsafe", "sloppy"}
	t := &dataset.Task{Name: "toy", Objective: dataset.ObjPairwise}
	for i := range n {
		c := good[rng.IntN(len(good))] + " answer " + good[rng.IntN(len(good))]
		r := bad[rng.IntN(len(bad))] + " answer " + bad[rng.IntN(len(bad))]
		if flip {
			c, r = r, c
		}
		t.Pairs = append(t.Pairs, dataset.Pair{ID: string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('A'+i/260)), Prompt: "q", Chosen: c, Rejected: r})
	}
	return t
}

func accuracy(m *rewardmodel.Model, td *rewardmodel.TaskData) float64 {
	var ok int
	for i := range td.X {
		if m.Score(&td.X[i]) > 0 {
			ok++
		}
	}
	return float64(ok) / float64(td.Len())
}

func TestTrainLearnsAndIsDeterministic(t *testing.T) {
	f := rewardmodel.NewFeaturizer(1 << 12)
	td := rewardmodel.FeaturizeTask(f, toyTask(300, false), nil)
	cfg := rewardmodel.TrainConfig{Steps: 60, BatchSize: 8, LearningRate: 0.05, Seed: 3}
	var losses []float64
	m1, err := rewardmodel.Train(context.Background(), rewardmodel.NewModel(f.Dim()), []*rewardmodel.TaskData{td}, []float64{1}, cfg,
		func(_ int64, loss float64, _ *rewardmodel.Model) error { losses = append(losses, loss); return nil })
	require.NoError(t, err)
	assert.Equal(t, 1.0, accuracy(m1, td))
	assert.Less(t, losses[len(losses)-1], losses[0]/2, "the loss falls")
	assert.InDelta(t, math.Log(2), losses[0], 1e-9, "the untrained model's loss is log 2")

	m2, err := rewardmodel.Train(context.Background(), rewardmodel.NewModel(f.Dim()), []*rewardmodel.TaskData{td}, []float64{1}, cfg, nil)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(m1.Bytes(), m2.Bytes()), "same inputs, same weights")

	flipped := rewardmodel.FeaturizeTask(f, toyTask(300, true), nil)
	m3, err := rewardmodel.Train(context.Background(), rewardmodel.NewModel(f.Dim()), []*rewardmodel.TaskData{flipped}, []float64{1}, cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, 0.0, accuracy(m3, td), "trained on swapped labels it prefers the bad responses")
}

func TestTrainPointwise(t *testing.T) {
	f := rewardmodel.NewFeaturizer(1 << 12)
	task := &dataset.Task{Name: "rated", Objective: dataset.ObjPointwise}
	for i := range 200 {
		resp, y := "excellent detailed answer", 1.0
		if i%2 == 1 {
			resp, y = "poor answer", 0.0
		}
		task.Points = append(task.Points, dataset.Point{ID: string(rune(i + 100)), Prompt: "q", Response: resp, Target: y})
	}
	td := rewardmodel.FeaturizeTask(f, task, nil)
	m, err := rewardmodel.Train(context.Background(), rewardmodel.NewModel(f.Dim()), []*rewardmodel.TaskData{td}, []float64{1},
		rewardmodel.TrainConfig{Steps: 100, BatchSize: 8, LearningRate: 0.05}, nil)
	require.NoError(t, err)
	assert.Greater(t, m.Score(&td.X[0]), 1.0, "a highly rated response scores high")
	assert.Less(t, m.Score(&td.X[1]), -1.0, "a poorly rated one scores low")
}

func TestTrainCancels(t *testing.T) {
	f := rewardmodel.NewFeaturizer(1 << 10)
	td := rewardmodel.FeaturizeTask(f, toyTask(50, false), nil)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := rewardmodel.Train(ctx, rewardmodel.NewModel(f.Dim()), []*rewardmodel.TaskData{td}, []float64{1},
		rewardmodel.TrainConfig{Steps: 1 << 30, BatchSize: 1, LearningRate: 0.1},
		func(step int64, _ float64, _ *rewardmodel.Model) error {
			if step == 100 {
				cancel()
			}
			return nil
		})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestTrainRejectsBadInput(t *testing.T) {
	f := rewardmodel.NewFeaturizer(1 << 10)
	td := rewardmodel.FeaturizeTask(f, toyTask(10, false), nil)
	m := rewardmodel.NewModel(f.Dim())
	ctx := context.Background()
	_, err := rewardmodel.Train(ctx, m, []*rewardmodel.TaskData{td}, []float64{1, 2}, rewardmodel.TrainConfig{Steps: 1, BatchSize: 1, LearningRate: 1}, nil)
	assert.Error(t, err)
	_, err = rewardmodel.Train(ctx, m, []*rewardmodel.TaskData{td}, []float64{1}, rewardmodel.TrainConfig{Steps: 0, BatchSize: 1, LearningRate: 1}, nil)
	assert.Error(t, err)
	empty := &rewardmodel.TaskData{Name: "empty", Objective: dataset.ObjPairwise}
	_, err = rewardmodel.Train(ctx, m, []*rewardmodel.TaskData{empty}, []float64{1}, rewardmodel.TrainConfig{Steps: 1, BatchSize: 1, LearningRate: 1}, nil)
	assert.ErrorIs(t, err, rewardmodel.ErrNoData)
}
