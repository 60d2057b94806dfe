package mixture

import (
	"fmt"
	"strings"
)

// Objective selects what Solve optimises. The zero value is KL, the default.
type Objective int

const (
	// KL maximises the predicted gain minus λ·KL(w‖prior), where the prior
	// is the examples-proportional mixture capped at Options.PriorCap. It is
	// solved exactly: a closed form for box and simplex constraints, and a dual
	// maximised with gonum/optimize for category floors and groups.
	KL Objective = iota
	// Linear maximises the predicted gain Σ_d w_d·g_d, a linear program
	// solved with gonum/optimize/convex/lp. Without bounds it puts all weight
	// on the best task; it is meant to be used with caps.
	Linear
	// MaxMin maximises the worst predicted gain over the categories with a
	// positive weight α_k (robust, like DoReMi's group DRO), as a linear
	// program. Among the mixtures that reach the best worst case it then
	// picks the one with the highest α-weighted gain, so that ties do not
	// leave the weights arbitrary.
	MaxMin
	// FlameBundles is the rule of FLAMe-Opt-RM (arXiv 2407.10817 §4.4) made
	// explicit: see FlameSettings.
	FlameBundles
)

var objectiveNames = []string{KL: "kl", Linear: "linear", MaxMin: "maxmin", FlameBundles: "flame-bundles"}

func (o Objective) String() string {
	if o >= 0 && int(o) < len(objectiveNames) {
		return objectiveNames[o]
	}
	return fmt.Sprintf("Objective(%d)", int(o))
}

// ParseObjective parses an objective name as the CLI spells it: "kl",
// "linear", "maxmin", "flame-bundles", or "lcb", which is KL on the lower
// confidence bound. A name may carry the prefix "lcb-" ("lcb-linear") to run
// that objective on the lower bound.
func ParseObjective(s string) (Objective, Estimate, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	est := EstimateMean
	if name == "lcb" {
		return KL, EstimateLower, nil
	}
	if rest, ok := strings.CutPrefix(name, "lcb-"); ok {
		name, est = rest, EstimateLower
	}
	for o, n := range objectiveNames {
		if n == name {
			return Objective(o), est, nil
		}
	}
	return 0, 0, invalidf("objective %q: want one of kl, linear, maxmin, lcb, flame-bundles (optionally lcb-<objective>)", s)
}

// Estimate selects which estimate of the effects the objectives read.
type Estimate int

const (
	// EstimateMean uses the mean effect over seeds (the default).
	EstimateMean Estimate = iota
	// EstimateLower uses the lower bound of each effect's confidence
	// interval: a mixture that is good even if every effect is as small as
	// the data allow.
	EstimateLower
)

func (e Estimate) String() string {
	switch e {
	case EstimateMean:
		return "mean"
	case EstimateLower:
		return "lower"
	}
	return fmt.Sprintf("Estimate(%d)", int(e))
}

// Reference selects what an effect is measured against.
type Reference int

const (
	// ReferenceBase measures effects against the unpatched checkpoint (the
	// default).
	ReferenceBase Reference = iota
	// ReferenceControl measures effects against the control patch, so that
	// the generic effect of training longer is not credited to any task.
	ReferenceControl
)

func (r Reference) String() string {
	switch r {
	case ReferenceBase:
		return "base"
	case ReferenceControl:
		return "control"
	}
	return fmt.Sprintf("Reference(%d)", int(r))
}

// Options configures Solve. The zero value is ready to use: KL with
// λ = DefaultLambda on the mean effects against the unpatched checkpoint,
// default category weights, no constraints beyond the simplex.
type Options struct {
	// CategoryWeights are the category weights α. Nil means: the RewardBench
	// overall weights (Chat, Chat Hard, Safety ¼ each; Math, Coding ⅛ each) when
	// all five tail-patch categories are present, otherwise equal weights on
	// every category. Categories not named get weight 0 and are ignored by
	// every objective (but still reported). Weights must be ≥ 0, not all 0;
	// they are normalised to sum to 1.
	CategoryWeights map[string]float64
	// Estimate selects mean effects or lower confidence bounds (lcb).
	Estimate Estimate
	// Reference selects effects against the base or the control patch.
	Reference Reference
	// Constraints bound the weights; all of them combine.
	Constraints Constraints
	// Budget is the planned training run: it sets the MaxEpochs caps and the
	// epochs reported per task. Zero means unknown.
	Budget Budget
	// PriorCap is the per-task example cap of the examples-proportional prior
	// (and of the rate scale). Zero means DefaultCap; negative means no cap.
	PriorCap int64
	// KL configures the KL objective.
	KL KLSettings
	// Flame configures the flame-bundles objective.
	Flame FlameSettings
}

// DefaultLambda is the KL objective's default λ, in score units per nat:
// moving one nat of KL away from the prior must buy one point (0.01) of
// predicted gain.
const DefaultLambda = 0.01

// KLSettings configures the KL objective. Set at most one field.
type KLSettings struct {
	// Lambda is λ in score units per nat. Zero means DefaultLambda unless
	// TargetEffectiveTasks is set.
	Lambda float64
	// TargetEffectiveTasks, when positive, chooses λ instead: the largest λ
	// (the solution closest to the prior) at which the solution's effective
	// number of tasks, exp(entropy), equals the target. λ is searched on a log
	// grid from 10^3 to 10^-6 times the spread of the gains, scanning down from
	// the prior end, then refined by bisection in the first bracket; the
	// effective number is continuous in λ but not always monotone when the
	// prior is not uniform, hence the scan.
	TargetEffectiveTasks float64
}

// Constraints bound the weights. The zero value means only w ≥ 0, Σw = 1.
// Every constraint has a name, used in errors and explanations:
// floor(0.001), floor(task=x), cap(0.2), cap(task=x), max_epochs(15),
// category_floor(Safety>=-0.005), group(code in [0.1,0.3]).
type Constraints struct {
	// Floor is every task's minimum weight (RegMix uses 2e-4). Zero: none.
	Floor float64 `json:"floor,omitempty"`
	// Cap is every task's maximum weight. Zero means no cap.
	Cap float64 `json:"cap,omitempty"`
	// TaskFloor and TaskCap replace Floor and Cap for the named tasks. A
	// TaskCap of 0 excludes the task.
	TaskFloor map[string]float64 `json:"task_floor,omitempty"`
	TaskCap   map[string]float64 `json:"task_cap,omitempty"`
	// MaxEpochs caps each task at MaxEpochs passes over its examples during
	// the planned run: w_d·Budget.Examples() ≤ MaxEpochs·n_d (RegMix and
	// Olmix use 15). Zero: none. It needs Options.Budget.
	MaxEpochs float64 `json:"max_epochs,omitempty"`
	// CategoryFloors are minimum predicted gains per category, in score units:
	// {"Safety": -0.005} means Safety must not drop by more than 0.5 points.
	// They are evaluated on the same estimate the objective reads.
	CategoryFloors map[string]float64 `json:"category_floors,omitempty"`
	// Groups bound the total weight of sets of tasks.
	Groups []Group `json:"groups,omitempty"`
}

// Group bounds the total weight of a set of tasks: Min ≤ Σ_{d∈Tasks} w_d ≤ Max.
type Group struct {
	Name  string   `json:"name"`
	Tasks []string `json:"tasks"`
	Min   float64  `json:"min,omitempty"`
	// Max is the group's maximum total weight; zero means no maximum (to
	// exclude tasks, use TaskCap).
	Max float64 `json:"max,omitempty"`
}

// TopMode says how the fixed rate of the top tasks combines with a task's
// bundle rate. The paper says the top tasks "get a fixed 200K" without saying
// whether that replaces or adds to the bundle they are already in.
type TopMode int

const (
	// TopReplace sets a top task's rate to TopRate, whatever its bundles
	// (the default). "Fixed" reads as a set rate: with adding, a top task
	// that is also generally helpful would get 300K, and the 200K would no
	// longer be fixed.
	TopReplace TopMode = iota
	// TopAdd adds TopRate to the task's bundle rate, once per category it
	// tops.
	TopAdd
)

func (m TopMode) String() string {
	switch m {
	case TopReplace:
		return "replace"
	case TopAdd:
		return "add"
	}
	return fmt.Sprintf("TopMode(%d)", int(m))
}

// FlameSettings configures the flame-bundles objective. Zero fields take the
// paper's values (or, for the rating rule, which the paper did by hand,
// mixopt's documented defaults).
//
// The rule. Each (task, category) is rated, on the effect chosen by
// Options.Estimate and Options.Reference, with its confidence interval
// [low, high] and stability s:
//
//	+2 helpful:          low > 0, effect ≥ HelpfulEffect and s ≥ StableShare
//	+1 somewhat helpful: otherwise effect > 0 and (low > 0 or s ≥ StableShare)
//	-1 harmful:          high < 0
//	 0 no clear effect:  otherwise
//
// ("Significantly improves and remains stable" becomes a CI that excludes
// zero, an effect of at least HelpfulEffect, and a stable sign.) Without
// stability data, the stability test passes. Only categories with α > 0 are
// rated. A task's rate is then
//
//	GeneralRate      if its total rating ≥ GeneralRating ("generally helpful")
//	+ CategoryRate   for each category whose patched score ≥ its threshold τ
//	                 ("category-specific", additive)
//	OtherRate        if neither applies,
//
// and the TopTasks tasks with the largest positive effect in each of
// TopCategories get TopRate (TopMode: replace or add). Weights are
// proportional to rates; when constraints bind, the weights are the feasible
// mixture closest to the rates in KL divergence. Without patched scores, no
// task is category-specific.
type FlameSettings struct {
	// HelpfulEffect is the minimum effect for a +2 rating. Zero: 0.01 (one
	// point).
	HelpfulEffect float64 `json:"helpful_effect"`
	// StableShare is the minimum stability for "remains stable". Zero: 0.8.
	StableShare float64 `json:"stable_share"`
	// GeneralRating is the minimum total rating of a generally helpful task.
	// Zero: 5.
	GeneralRating int `json:"general_rating"`
	// GeneralRate, CategoryRate, OtherRate and TopRate are the bundle rates.
	// Zero: 100000, 30000, 3000 and 200000.
	GeneralRate  float64 `json:"general_rate"`
	CategoryRate float64 `json:"category_rate"`
	OtherRate    float64 `json:"other_rate"`
	TopRate      float64 `json:"top_rate"`
	// TopTasks is how many tasks per top category get TopRate. Zero: 2;
	// negative: none.
	TopTasks int `json:"top_tasks"`
	// TopCategories are the categories whose top tasks get TopRate. Nil:
	// Chat Hard, Coding and Safety.
	TopCategories []string `json:"top_categories"`
	// Thresholds are the τ per category (patched score, 0–1 scale). Nil:
	// Chat 0.95, Chat Hard 0.66, Math 0.998, Coding 0.84, Safety 0.85.
	Thresholds map[string]float64 `json:"thresholds"`
	// TopMode says whether TopRate replaces or adds to the bundle rate.
	TopMode TopMode `json:"top_mode"`
}

func (f FlameSettings) withDefaults() FlameSettings {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&f.HelpfulEffect, 0.01)
	def(&f.StableShare, 0.8)
	def(&f.GeneralRate, 100000)
	def(&f.CategoryRate, 30000)
	def(&f.OtherRate, 3000)
	def(&f.TopRate, 200000)
	if f.GeneralRating == 0 {
		f.GeneralRating = 5
	}
	if f.TopTasks == 0 {
		f.TopTasks = 2
	}
	if f.TopCategories == nil {
		f.TopCategories = []string{"Chat Hard", "Coding", "Safety"}
	}
	if f.Thresholds == nil {
		f.Thresholds = map[string]float64{"Chat": 0.95, "Chat Hard": 0.66, "Math": 0.998, "Coding": 0.84, "Safety": 0.85}
	}
	return f
}

func (o Options) priorCap() int64 {
	switch {
	case o.PriorCap == 0:
		return DefaultCap
	case o.PriorCap < 0:
		return 0
	}
	return o.PriorCap
}
