package sampler

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/bits"
	"sort"
)

// SnapshotInterval is how many picks lie between two of a Mixer's seek
// snapshots: a Seek replays fewer picks than this.
const SnapshotInterval = 1 << 16

// MaxPosition is the largest stream position a Mixer accepts. It keeps every
// intermediate of the fixed-point schedule within 128 bits and every step
// within 64.
const MaxPosition = 1 << 62

// maxMixerTasks bounds the number of tasks with positive weight so that the
// fixed-point weights keep at least 2^40 of resolution.
const maxMixerTasks = 1 << 20

// ringSize is the horizon, in steps, of the Mixer's release calendar. Tasks
// released further ahead wait in a heap; they have weights below
// 1/ringSize, so that heap sees a small share of the picks.
const ringSize = 1 << 10

// A Mixer decides which task each position of a mixed stream draws from. It
// implements Tijdeman's chairman-assignment algorithm (R. Tijdeman, "The
// chairman assignment problem", Discrete Math. 1980): with k tasks of
// positive weight and ε = 1/(2k−2), a task is eligible at step n once its
// deficit w·n − c reaches ε, and among eligible tasks the one whose deficit
// would reach 1 − ε first is picked. Every prefix then stays within
// 1 − 1/(2k−2) of w·n for every task, which the simpler largest-deficit
// greedy does not achieve (DESIGN.md §8).
//
// Deadlines are compared as integer steps, floor((c + 1 − ε)/w), ties going
// to the lower task index. The c-th pick of a task must fall in the integer
// window [ceil((c + ε)/w), floor((c + 1 − ε)/w)]; the windows of one task are
// disjoint, Tijdeman's theorem says all windows can be met, and earliest
// deadline first is optimal for unit jobs with integer release times and
// deadlines, so the integer rule meets every window too; meeting every window
// is exactly the bound.
//
// The weights are quantised to integers a_d/D with D a power of two and
// Σa_d = D exactly, and the schedule is exact integer arithmetic, so the
// stream is the same on every platform. The bound holds exactly for the
// quantised weights (see Weight), which differ from the given ones by less
// than 2^-40 each.
//
// A pick costs O(log k): released tasks come off a calendar of the next
// ringSize steps (or a heap beyond it), and eligible tasks sit in heaps by
// deadline, the few due soon apart from the rest. The whole state at a position is the vector of counts (see
// Counts and SetCounts). Seek uses snapshots taken every SnapshotInterval
// picks, of k bits each, because a count is always floor(a·n/D) or one more.
//
// A Mixer is not safe for concurrent use.
type Mixer struct {
	k      int      // number of tasks, including zero-weight ones
	a      []uint64 // quantised weights, numerators over D = 2^shift
	shift  uint
	active int // tasks with a > 0
	only   int // the task with a > 0 when active == 1

	sched    []schedule
	counts   []int64
	position int64 // picks made so far

	// Tasks waiting for their release step: ring[s % ringSize] lists (via
	// next) the tasks released at step s for s < position + ringSize + 1;
	// later ones are in far.
	ring [ringSize]int32
	next []int32
	far  []heapEntry

	// Eligible tasks by deadline step: those due within ringSize steps of
	// when they became eligible in deadline, the others in later until they
	// come that close. Every deadline in deadline precedes every one in
	// later, so the earliest is deadline's root unless it is empty; and the
	// many rarely picked tasks of a large mixture stay out of the heap that
	// every pick sifts.
	deadline []heapEntry
	later    []heapEntry

	// snaps holds one k-bit vector per SnapshotInterval picks: bit d of
	// snapshot j is counts[d] − floor(a_d·j·SnapshotInterval/D) at position
	// j·SnapshotInterval. Snapshot 0 (all zero) is implicit.
	snaps     []uint64
	snapWords int
	snapped   int64 // snapshots 1..snapped are recorded
}

// schedule is one task's next pick window. With M = 2k − 2 and c picks so
// far, the release step is ceil(N/den) and the deadline step floor(N'/den),
// where N = D(M·c + 1), N' = D(M·c + M − 1) and den = a·M. Both are kept with
// their remainders and advanced by D·M per pick, without division or
// branches.
type schedule struct {
	den           uint64
	stepQ, stepR  uint64 // D·M = stepQ·den + stepR
	rel, relSlack uint64 // N = rel·den − relSlack, 0 ≤ relSlack < den
	dead, deadRem uint64 // N' = dead·den + deadRem, 0 ≤ deadRem < den
}

func (s *schedule) advance() {
	slack, borrow := bits.Sub64(s.relSlack, s.stepR, 0)
	s.rel += s.stepQ + borrow
	s.relSlack = slack + borrow*s.den
	rem := s.deadRem + s.stepR // below 2·den ≤ 2^63
	over, under := bits.Sub64(rem, s.den, 0)
	s.dead += s.stepQ + 1 - under
	s.deadRem = over + under*s.den
}

// set initialises the window from N = hi·2^64 + lo and N' likewise.
func (s *schedule) set(nHi, nLo, dHi, dLo uint64) {
	q, r := bits.Div64(nHi, nLo, s.den)
	s.rel, s.relSlack = q, 0
	if r != 0 {
		s.rel, s.relSlack = q+1, s.den-r
	}
	s.dead, s.deadRem = bits.Div64(dHi, dLo, s.den)
}

// heapEntry is a task keyed by a step (1-based); ties go to the lower task
// index.
type heapEntry struct {
	step uint64
	task int32
}

func (e heapEntry) less(f heapEntry) bool {
	return e.step < f.step || e.step == f.step && e.task < f.task
}

// NewMixer returns a Mixer at position 0 for the given weights, which must be
// finite, non-negative and not all zero; they are normalised by their sum.
// Tasks of weight zero are never picked.
func NewMixer(weights []float64) (*Mixer, error) {
	if len(weights) == 0 {
		return nil, errors.New("mixer: no weights")
	}
	if len(weights) > math.MaxInt32 {
		return nil, fmt.Errorf("mixer: %d tasks is too many", len(weights))
	}
	positive := 0
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return nil, fmt.Errorf("mixer: weight %d is %v: must be finite and non-negative", i, w)
		}
		if w > 0 {
			positive++
		}
	}
	if positive == 0 {
		return nil, errors.New("mixer: all weights are zero")
	}
	if positive > maxMixerTasks {
		return nil, fmt.Errorf("mixer: %d tasks with positive weight is more than %d", positive, maxMixerTasks)
	}
	k := len(weights)
	m := &Mixer{
		k:         k,
		counts:    make([]int64, k),
		sched:     make([]schedule, k),
		next:      make([]int32, k),
		snapWords: (k + 63) / 64,
	}
	// D·M ≤ 2^62 with M = 2·positive − 2 keeps every quantity of the
	// schedule in 64 bits. A task whose weight rounds to zero drops out,
	// which only lowers M.
	m.shift = 62
	if positive > 1 {
		m.shift = 62 - uint(bits.Len64(uint64(2*positive-3)))
	}
	m.a = apportion(weights, m.shift)
	for d, a := range m.a {
		if a > 0 {
			m.active++
			m.only = d
		}
	}
	if m.active > 1 {
		mm := uint64(2*m.active - 2)
		dm := uint64(1) << m.shift * mm
		for d, a := range m.a {
			if a > 0 {
				s := &m.sched[d]
				s.den = a * mm
				s.stepQ, s.stepR = dm/s.den, dm%s.den
			}
		}
	}
	m.rebuild()
	return m, nil
}

// apportion returns a_d = floor(w_d·2^shift/Σw), computed exactly, plus one
// unit for the tasks with the largest fractional parts (ties to the lower
// index), so that Σa_d = 2^shift.
func apportion(weights []float64, shift uint) []uint64 {
	sum := new(big.Rat)
	for _, w := range weights {
		sum.Add(sum, new(big.Rat).SetFloat64(w))
	}
	scale := new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), shift))
	a := make([]uint64, len(weights))
	fracs := make([]*big.Rat, len(weights))
	var total uint64
	q := new(big.Int)
	for i, w := range weights {
		x := new(big.Rat).SetFloat64(w)
		x.Mul(x, scale).Quo(x, sum)
		q.Quo(x.Num(), x.Denom())
		a[i] = q.Uint64()
		total += a[i]
		fracs[i] = x.Sub(x, new(big.Rat).SetInt(q))
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return fracs[order[x]].Cmp(fracs[order[y]]) > 0 })
	for i := 0; total < uint64(1)<<shift; i++ {
		a[order[i]]++
		total++
	}
	return a
}

// Len returns the number of tasks, including those of weight zero.
func (m *Mixer) Len() int { return m.k }

// Position returns the number of picks made so far, which is also the
// position of the next pick.
func (m *Mixer) Position() int64 { return m.position }

// Bound returns the guaranteed bound on |count − w·n| for every task and
// every prefix, w being the quantised weight: 1 − 1/(2k−2) for k tasks of
// positive weight, 0 for one.
func (m *Mixer) Bound() float64 {
	if m.active == 1 {
		return 0
	}
	return 1 - 1/float64(2*m.active-2)
}

// Weight returns the quantised probability of task d, the one the bound
// holds for exactly.
func (m *Mixer) Weight(d int) float64 {
	return math.Ldexp(float64(m.a[d]), -int(m.shift))
}

// Counts appends the number of picks of each task so far to dst[:0] and
// returns it.
func (m *Mixer) Counts(dst []int64) []int64 {
	return append(dst[:0], m.counts...)
}

// Next returns the task at the current position and advances by one.
func (m *Mixer) Next() int {
	if m.position >= MaxPosition {
		panic("sampler: mixer position exceeds MaxPosition")
	}
	if m.active == 1 {
		m.counts[m.only]++
		m.position++
		if m.position&(SnapshotInterval-1) == 0 {
			m.snapshot()
		}
		return m.only
	}
	n := uint64(m.position) + 1 // 1-based step being decided

	// Tasks released at n join the eligible set. One is held back so that
	// it can be merged with taking the earliest deadline: a push-pop costs
	// one sift instead of two.
	for len(m.far) > 0 && m.far[0].step < n+ringSize {
		e := m.far[0]
		m.far = popHeap(m.far)
		m.toRing(e.task, e.step)
	}
	for len(m.later) > 0 && m.later[0].step < n+ringSize {
		e := m.later[0]
		m.later = popHeap(m.later)
		m.deadline = pushHeap(m.deadline, e)
	}
	horizon := n + ringSize
	slot := &m.ring[n%ringSize]
	x := *slot
	*slot = -1
	if x >= 0 {
		for t := m.next[x]; t >= 0; t = m.next[t] {
			m.eligible(t, horizon)
		}
		if m.sched[x].dead >= horizon {
			m.eligible(x, horizon)
			x = -1
		}
	}
	if x < 0 && len(m.deadline) == 0 {
		if len(m.later) == 0 {
			// Σ_d (a_d·n − c_d·D) = D exactly, so some task has a deficit of
			// at least D/k ≥ D/M and is eligible: no eligible task is a bug.
			panic("sampler: mixer has no eligible task")
		}
		m.deadline = append(m.deadline, m.later[0])
		m.later = popHeap(m.later)
	}

	var d int32
	atRoot := false // whether d is still the root of the deadline heap
	switch {
	case x < 0:
		d, atRoot = m.deadline[0].task, true
	case len(m.deadline) == 0 || (heapEntry{m.sched[x].dead, x}).less(m.deadline[0]):
		d = x
	default:
		d = m.deadline[0].task
		m.deadline[0] = heapEntry{m.sched[x].dead, x}
		siftDown(m.deadline, 0)
	}

	m.counts[d]++
	m.position++
	s := &m.sched[d]
	s.advance()
	switch {
	case s.rel <= n+1 && s.dead < horizon:
		if atRoot {
			m.deadline[0] = heapEntry{s.dead, d}
			siftDown(m.deadline, 0)
		} else {
			m.deadline = pushHeap(m.deadline, heapEntry{s.dead, d})
		}
	default:
		if atRoot {
			m.deadline = popHeap(m.deadline)
		}
		if s.rel <= n+1 {
			m.later = pushHeap(m.later, heapEntry{s.dead, d})
		} else {
			m.toRing(d, s.rel)
		}
	}
	if m.position&(SnapshotInterval-1) == 0 {
		m.snapshot()
	}
	return int(d)
}

// eligible files task t, eligible now, by its deadline.
func (m *Mixer) eligible(t int32, horizon uint64) {
	e := heapEntry{m.sched[t].dead, t}
	if e.step < horizon {
		m.deadline = pushHeap(m.deadline, e)
	} else {
		m.later = pushHeap(m.later, e)
	}
}

// toRing files task t, released at step r > position, in the calendar or,
// beyond its horizon, in the far heap.
func (m *Mixer) toRing(t int32, r uint64) {
	if r-uint64(m.position) > ringSize {
		m.far = pushHeap(m.far, heapEntry{r, t})
		return
	}
	slot := &m.ring[r%ringSize]
	m.next[t] = *slot
	*slot = t
}

// rebuild recomputes the schedule of every task from m.counts and
// m.position, the whole state of the algorithm.
func (m *Mixer) rebuild() {
	for i := range m.ring {
		m.ring[i] = -1
	}
	m.far = m.far[:0]
	m.deadline = m.deadline[:0]
	m.later = m.later[:0]
	if m.active == 1 {
		return
	}
	mm := uint64(2*m.active - 2)
	d0 := uint64(1) << m.shift
	next := uint64(m.position) + 1
	for d, a := range m.a {
		if a == 0 {
			continue
		}
		// N = D·M·c + D and N' = D·M·c + D(M − 1) as 128-bit numbers; the
		// quotients are steps, below 2^64 for positions up to MaxPosition.
		s := &m.sched[d]
		hi, lo := bits.Mul64(d0*mm, uint64(m.counts[d]))
		nLo, nCarry := bits.Add64(lo, d0, 0)
		dLo, dCarry := bits.Add64(lo, d0*(mm-1), 0)
		s.set(hi+nCarry, nLo, hi+dCarry, dLo)
		if s.rel <= next {
			m.eligible(int32(d), next+ringSize)
		} else {
			m.toRing(int32(d), s.rel)
		}
	}
}

// SetCounts moves the mixer to the position Σcounts with the given counts,
// as recorded by Counts. It rejects counts that no prefix of this mixer's
// stream can have: a count other than floor(w·n) or floor(w·n)+1 (only the
// former where w·n is an integer, as for zero-weight tasks).
func (m *Mixer) SetCounts(counts []int64) error {
	if len(counts) != m.k {
		return fmt.Errorf("mixer: %d counts for %d tasks", len(counts), m.k)
	}
	var n int64
	for d, c := range counts {
		if c < 0 {
			return fmt.Errorf("mixer: count %d is negative", d)
		}
		if n > MaxPosition-c {
			return fmt.Errorf("mixer: counts sum beyond MaxPosition %d", int64(MaxPosition))
		}
		n += c
	}
	for d, c := range counts {
		delta := c - m.floorShare(d, n)
		if delta < 0 || delta > 1 || delta == 1 && m.exactShare(d, n) {
			return fmt.Errorf("mixer: count %d of task %d at position %d is outside the bound of weight %g", c, d, n, m.Weight(d))
		}
	}
	copy(m.counts, counts)
	m.position = n
	m.rebuild()
	return nil
}

// floorShare returns floor(a_d·n/D).
func (m *Mixer) floorShare(d int, n int64) int64 {
	hi, lo := bits.Mul64(m.a[d], uint64(n))
	return int64(hi<<(64-m.shift) | lo>>m.shift)
}

// exactShare reports whether a_d·n/D is an integer.
func (m *Mixer) exactShare(d int, n int64) bool {
	_, lo := bits.Mul64(m.a[d], uint64(n))
	return lo&(uint64(1)<<m.shift-1) == 0
}

// Seek moves the mixer to the position offset relative to whence, which is
// io.SeekStart or io.SeekCurrent (the stream has no end), and returns the
// new position. It restores the nearest snapshot at or before the target
// and replays fewer than SnapshotInterval picks; a position beyond every
// snapshot taken so far is reached by running forward from the last one,
// taking snapshots on the way, so later seeks there are cheap.
func (m *Mixer) Seek(offset int64, whence int) (int64, error) {
	n, err := seekTarget(m.position, offset, whence)
	if err != nil {
		return m.position, fmt.Errorf("mixer: %w", err)
	}
	j := min(n/SnapshotInterval, m.snapped)
	if m.position > n || m.position < j*SnapshotInterval {
		m.restoreSnapshot(j)
	}
	for m.position < n {
		m.Next()
	}
	return n, nil
}

// seekTarget resolves an io.Seeker-style offset against the position pos.
func seekTarget(pos, offset int64, whence int) (int64, error) {
	var n int64
	switch whence {
	case io.SeekStart:
		n = offset
	case io.SeekCurrent:
		if offset > MaxPosition || offset > 0 && pos > MaxPosition-offset {
			return 0, fmt.Errorf("seek %+d from %d: beyond MaxPosition", offset, pos)
		}
		n = pos + offset
	case io.SeekEnd:
		return 0, errors.New("seek from the end: a mixed stream has no end")
	default:
		return 0, fmt.Errorf("seek: invalid whence %d", whence)
	}
	if n < 0 {
		return 0, fmt.Errorf("seek to negative position %d", n)
	}
	if n > MaxPosition {
		return 0, fmt.Errorf("seek to %d: beyond MaxPosition", n)
	}
	return n, nil
}

// snapshot records the counts at the current position, a multiple of
// SnapshotInterval, unless they are recorded already.
func (m *Mixer) snapshot() {
	if m.position/SnapshotInterval <= m.snapped {
		return
	}
	off := len(m.snaps)
	m.snaps = append(m.snaps, make([]uint64, m.snapWords)...)
	for d, c := range m.counts {
		switch c - m.floorShare(d, m.position) {
		case 0:
		case 1:
			m.snaps[off+d/64] |= 1 << (d % 64)
		default:
			panic(fmt.Sprintf("sampler: mixer count %d of task %d at position %d breaks the discrepancy bound", c, d, m.position))
		}
	}
	m.snapped = m.position / SnapshotInterval
}

func (m *Mixer) restoreSnapshot(j int64) {
	n := j * SnapshotInterval
	for d := range m.counts {
		c := m.floorShare(d, n)
		if j > 0 && m.snaps[int(j-1)*m.snapWords+d/64]>>(d%64)&1 == 1 {
			c++
		}
		m.counts[d] = c
	}
	m.position = n
	m.rebuild()
}

// Heap operations on []heapEntry, written out because they are the inner
// loop of every pick.

func pushHeap(h []heapEntry, e heapEntry) []heapEntry {
	h = append(h, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !e.less(h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
	return h
}

func siftDown(h []heapEntry, i int) {
	e := h[i]
	n := len(h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1].less(h[c]) {
			c++
		}
		if !h[c].less(e) {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = e
}

func popHeap(h []heapEntry) []heapEntry {
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	if last > 0 {
		siftDown(h, 0)
	}
	return h
}

// Quota splits n picks among the tasks in proportion to the quantised
// weights by largest remainder (Hamilton's method), exactly: each task gets
// floor(w·n) or one more, the tasks with the largest remainders (ties to the
// lower index) get the extra picks, and the quotas sum to n. The stream's
// own counts at n are also floor(w·n) or one more, but which tasks are
// ahead depends on the schedule.
func (m *Mixer) Quota(n int64) []int64 {
	q := make([]int64, m.k)
	rem := make([]uint64, m.k)
	left := n
	mask := uint64(1)<<m.shift - 1
	for d := range q {
		q[d] = m.floorShare(d, n)
		_, lo := bits.Mul64(m.a[d], uint64(n))
		rem[d] = lo & mask
		left -= q[d]
	}
	order := make([]int, m.k)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return rem[order[x]] > rem[order[y]] })
	for i := int64(0); i < left; i++ {
		q[order[i]]++
	}
	return q
}
