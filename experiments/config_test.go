package experiments_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mixopt/mixopt/experiments"
	"github.com/spf13/viper"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShippedConfigsLoad(t *testing.T) {
	require.Contains(t, experiments.Names(), "rewardbench")
	for _, name := range experiments.Names() {
		v := viper.New()
		require.NoError(t, experiments.ReadInto(v, name, ""), name)
		cfg, err := experiments.Load(v)
		require.NoError(t, err, name)
		assert.NoError(t, cfg.TailPatch.Validate(), name)
		assert.NoError(t, cfg.Validate.Validate(), name)
	}
	v := viper.New()
	require.NoError(t, experiments.ReadInto(v, "rewardbench", ""))
	cfg, err := experiments.Load(v)
	require.NoError(t, err)
	assert.Equal(t, "rewardbench", cfg.TailPatch.Target)
	assert.Equal(t, []uint64{1, 2, 3}, cfg.TailPatch.Seeds)
	assert.EqualValues(t, 1<<16, cfg.TailPatch.Base.Cap)
	assert.Equal(t, "kl", cfg.Solve.Objective)
	assert.Equal(t, 0.95, cfg.Solve.Flame.Thresholds["chat"], "viper lower-cases map keys; the solver matches them case-insensitively")
}

func TestUnknownKeyIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exp.yaml")
	require.NoError(t, os.WriteFile(path, []byte("target: rewardbench\npatch:\n  stepz: 10\n"), 0o644))
	v := viper.New()
	require.NoError(t, experiments.ReadInto(v, "", path))
	_, err := experiments.Load(v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stepz")
}

func TestEnvironmentOverridesFile(t *testing.T) {
	t.Setenv("MIXOPT_PATCH_STEPS", "77")
	v := viper.New()
	v.SetEnvPrefix("MIXOPT")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	require.NoError(t, experiments.ReadInto(v, "rewardbench", ""))
	cfg, err := experiments.Load(v)
	require.NoError(t, err)
	assert.EqualValues(t, 77, cfg.TailPatch.Patch.Steps)
}

func TestUnknownShippedName(t *testing.T) {
	err := experiments.ReadInto(viper.New(), "nope", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rewardbench")
}
