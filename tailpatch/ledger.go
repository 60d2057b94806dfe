package tailpatch

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/mixopt/mixopt/trainer"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// LedgerFile is the ledger's file name inside a run directory.
const LedgerFile = "ledger.sqlite"

// Ledger is the run's durable record, an embedded SQLite database in WAL
// mode: every job's spec, its state transitions, its trajectory (progress
// and intermediate evaluations) and the per-example outcomes of its final
// evaluation. A job's result is written in one transaction, so a crash at
// any moment leaves each job either finished with all its outcomes or not
// finished at all; the scheduler then runs (or re-attaches to) only the
// unfinished ones.
type Ledger struct {
	db   *sql.DB
	path string

	mu    sync.Mutex
	lists map[string][]trainer.ExampleOutcome // example lists by hash (ids and subsets only)
	stmts map[string]*sql.Stmt                // prepared once: parsing SQL dominated small writes
}

// JobState is a job's state in the ledger.
type JobState string

const (
	StatePlanned   JobState = "planned"
	StateSubmitted JobState = "submitted"
	StateSucceeded JobState = "succeeded"
	StateFailed    JobState = "failed"
	StateCancelled JobState = "cancelled"
)

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	task         TEXT NOT NULL DEFAULT '',
	seed         INTEGER NOT NULL,
	spec         TEXT NOT NULL,
	state        TEXT NOT NULL,
	endpoint     TEXT NOT NULL DEFAULT '',
	attempts     INTEGER NOT NULL DEFAULT 0,
	checkpoint   TEXT NOT NULL DEFAULT '',
	final_loss   REAL,
	error        TEXT NOT NULL DEFAULT '',
	first_submit TEXT NOT NULL DEFAULT '',
	finished_at  TEXT NOT NULL DEFAULT '',
	wall_seconds REAL
);
CREATE TABLE IF NOT EXISTS transitions (
	job_id   TEXT NOT NULL,
	at       TEXT NOT NULL,
	state    TEXT NOT NULL,
	endpoint TEXT NOT NULL,
	message  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_job ON transitions(job_id);
CREATE TABLE IF NOT EXISTS trajectory (
	job_id   TEXT NOT NULL,
	endpoint TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	state    TEXT NOT NULL,
	kind     TEXT NOT NULL,
	step     INTEGER NOT NULL,
	loss     REAL,
	eval     TEXT,
	message  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (job_id, endpoint, seq)
);
-- A final evaluation's example list (ids and subsets in suite order) is
-- stored once, under the hash of its content, and shared by every job
-- evaluated on it.
CREATE TABLE IF NOT EXISTS example_lists (
	hash     TEXT PRIMARY KEY,
	examples INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS examples (
	list       TEXT NOT NULL,
	idx        INTEGER NOT NULL,
	example_id TEXT NOT NULL,
	subset     TEXT NOT NULL,
	PRIMARY KEY (list, idx)
) WITHOUT ROWID;
-- Per-example outcomes of a job, in list order: correct has one byte per
-- example (1 = chosen scored strictly above rejected), chosen and rejected
-- one little-endian float64 per example.
CREATE TABLE IF NOT EXISTS outcomes (
	job_id   TEXT PRIMARY KEY,
	list     TEXT NOT NULL,
	correct  BLOB NOT NULL,
	chosen   BLOB NOT NULL,
	rejected BLOB NOT NULL
);
`

// hotStatements are the statements writes use, prepared at open.
var hotStatements = []string{
	`UPDATE jobs SET state = ?, endpoint = ?, attempts = attempts + 1,
		first_submit = CASE WHEN first_submit = '' THEN ? ELSE first_submit END WHERE id = ?`,
	`INSERT INTO transitions(job_id, at, state, endpoint, message) VALUES(?, ?, ?, ?, '')`,
	`UPDATE jobs SET state = ?, endpoint = ?, checkpoint = ?, final_loss = ?, error = '', finished_at = ?,
		wall_seconds = (julianday(?) - julianday(first_submit)) * 86400.0 WHERE id = ?`,
	`INSERT INTO transitions(job_id, at, state, endpoint, message) VALUES(?, ?, ?, ?, ?)`,
	`INSERT OR IGNORE INTO trajectory(job_id, endpoint, seq, state, kind, step, loss, eval, message) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	`UPDATE jobs SET state = ?, endpoint = ?, error = ?, finished_at = ? WHERE id = ?`,
	`SELECT examples FROM example_lists WHERE hash = ?`,
	`INSERT INTO example_lists(hash, examples) VALUES(?, ?)`,
	`INSERT INTO outcomes(job_id, list, correct, chosen, rejected) VALUES(?, ?, ?, ?, ?)
		ON CONFLICT(job_id) DO UPDATE SET list = excluded.list, correct = excluded.correct, chosen = excluded.chosen, rejected = excluded.rejected`,
}

// OpenLedger opens (creating if needed) the ledger at path.
func OpenLedger(path string) (*Ledger, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	// One connection serialises writers; SQLite allows one at a time anyway.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	l := &Ledger{db: db, path: path, lists: map[string][]trainer.ExampleOutcome{}, stmts: map[string]*sql.Stmt{}}
	// Prepare the hot statements now: with one connection, preparing inside
	// a transaction would wait for the connection the transaction holds.
	for _, q := range hotStatements {
		st, err := db.Prepare(q)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("ledger %s: %w", path, err)
		}
		l.stmts[q] = st
	}
	return l, nil
}

// Close closes the database.
func (l *Ledger) Close() error {
	l.mu.Lock()
	for _, st := range l.stmts {
		st.Close()
	}
	l.stmts = nil
	l.mu.Unlock()
	return l.db.Close()
}

// exec runs a statement in tx, preparing it once per ledger.
func (l *Ledger) exec(tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := l.prepared(query)
	if err != nil {
		return nil, err
	}
	return tx.Stmt(st).Exec(args...)
}

// prepared returns a statement prepared at open; others are a programming
// error (they would deadlock if prepared inside a transaction).
func (l *Ledger) prepared(query string) (*sql.Stmt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.stmts[query]
	if !ok {
		return nil, fmt.Errorf("ledger: statement not prepared at open: %s", query)
	}
	return st, nil
}

// Path returns the ledger's file path.
func (l *Ledger) Path() string { return l.path }

// SetMeta records a key/value pair about the run.
func (l *Ledger) SetMeta(key, value string) error {
	_, err := l.db.Exec(`INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Meta returns a recorded value, or "" when absent.
func (l *Ledger) Meta(key string) (string, error) {
	var v string
	err := l.db.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// JobRecord is a job as the ledger has it.
type JobRecord struct {
	ID          string
	Kind        Kind
	Task        string
	Seed        uint64
	Spec        trainer.JobSpec
	State       JobState
	Endpoint    string
	Attempts    int
	Checkpoint  string
	FinalLoss   float64
	Error       string
	FirstSubmit time.Time
	FinishedAt  time.Time
	WallSeconds float64
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// Plan records planned jobs that the ledger does not know yet. Jobs it
// knows keep their state: that is what makes a rerun resume.
func (l *Ledger) Plan(jobs []Job) error {
	tx, err := l.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(`INSERT OR IGNORE INTO jobs(id, kind, task, seed, spec, state) VALUES(?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, j := range jobs {
		spec, err := json.Marshal(j.Spec)
		if err != nil {
			return err
		}
		if _, err := stmt.Exec(j.ID, string(j.Kind), j.Task, int64(j.Seed), string(spec), string(StatePlanned)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Job returns the record of a job, or ok false.
func (l *Ledger) Job(id string) (rec JobRecord, ok bool, err error) {
	rows, err := l.db.Query(jobColumns+` WHERE id = ?`, id)
	if err != nil {
		return JobRecord{}, false, err
	}
	recs, err := scanJobs(rows)
	if err != nil || len(recs) == 0 {
		return JobRecord{}, false, err
	}
	return recs[0], true, nil
}

// Jobs returns every job record, ordered by id.
func (l *Ledger) Jobs() ([]JobRecord, error) {
	rows, err := l.db.Query(jobColumns + ` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return scanJobs(rows)
}

const jobColumns = `SELECT id, kind, task, seed, spec, state, endpoint, attempts, checkpoint, final_loss, error, first_submit, finished_at, wall_seconds FROM jobs`

func scanJobs(rows *sql.Rows) ([]JobRecord, error) {
	defer rows.Close()
	var out []JobRecord
	for rows.Next() {
		var r JobRecord
		var kind, spec, state, first, finished string
		var seed int64
		var loss, wall sql.NullFloat64
		if err := rows.Scan(&r.ID, &kind, &r.Task, &seed, &spec, &state, &r.Endpoint, &r.Attempts, &r.Checkpoint, &loss, &r.Error, &first, &finished, &wall); err != nil {
			return nil, err
		}
		r.Kind, r.State, r.Seed = Kind(kind), JobState(state), uint64(seed)
		r.FinalLoss, r.WallSeconds = loss.Float64, wall.Float64
		if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
			return nil, fmt.Errorf("job %s: spec: %w", r.ID, err)
		}
		r.FirstSubmit, _ = time.Parse(time.RFC3339Nano, first)
		r.FinishedAt, _ = time.Parse(time.RFC3339Nano, finished)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Submitted records that a job was handed to an endpoint.
func (l *Ledger) Submitted(id, endpoint string) error {
	tx, err := l.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	at := now()
	if _, err := l.exec(tx, `UPDATE jobs SET state = ?, endpoint = ?, attempts = attempts + 1,
		first_submit = CASE WHEN first_submit = '' THEN ? ELSE first_submit END WHERE id = ?`,
		string(StateSubmitted), endpoint, at, id); err != nil {
		return err
	}
	if _, err := l.exec(tx, `INSERT INTO transitions(job_id, at, state, endpoint, message) VALUES(?, ?, ?, ?, '')`, id, at, string(StateSubmitted), endpoint); err != nil {
		return err
	}
	return tx.Commit()
}

// Result is a finished job's outcome as the scheduler hands it to the
// ledger.
type Result struct {
	Endpoint   string
	Checkpoint string
	FinalLoss  float64
	// Events are the job's events seen from Endpoint, in order.
	Events []trainer.Event
	// Outcomes are the final evaluation's per-example outcomes, in suite
	// order.
	Outcomes []trainer.ExampleOutcome
}

// Finished records a successful job, its trajectory and its outcomes in one
// transaction.
func (l *Ledger) Finished(id string, res Result) error {
	tx, err := l.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	at := now()
	if _, err := l.exec(tx, `UPDATE jobs SET state = ?, endpoint = ?, checkpoint = ?, final_loss = ?, error = '', finished_at = ?,
		wall_seconds = (julianday(?) - julianday(first_submit)) * 86400.0 WHERE id = ?`,
		string(StateSucceeded), res.Endpoint, res.Checkpoint, res.FinalLoss, at, at, id); err != nil {
		return err
	}
	if err := l.insertEvents(tx, id, res.Endpoint, res.Events); err != nil {
		return err
	}
	if err := l.insertOutcomes(tx, id, res.Outcomes); err != nil {
		return err
	}
	if _, err := l.exec(tx, `INSERT INTO transitions(job_id, at, state, endpoint, message) VALUES(?, ?, ?, ?, ?)`, id, at, string(StateSucceeded), res.Endpoint, res.Checkpoint); err != nil {
		return err
	}
	return tx.Commit()
}

func (l *Ledger) insertEvents(tx *sql.Tx, id, endpoint string, events []trainer.Event) error {
	prep, err := l.prepared(`INSERT OR IGNORE INTO trajectory(job_id, endpoint, seq, state, kind, step, loss, eval, message) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	stmt := tx.Stmt(prep)
	for _, ev := range events {
		var loss any
		if ev.Kind == trainer.EventProgress || ev.Kind == trainer.EventResult {
			loss = ev.Loss
		}
		var eval any
		if ev.Kind == trainer.EventEvaluation {
			b, err := json.Marshal(ev.Eval)
			if err != nil {
				return err
			}
			eval = string(b)
		}
		if _, err := stmt.Exec(id, endpoint, int64(ev.Seq), ev.State.String(), ev.Kind.String(), ev.Step, loss, eval, ev.Message); err != nil {
			return err
		}
	}
	return nil
}

// Failed records a job that failed for good (or was cancelled).
func (l *Ledger) Failed(id, endpoint string, state JobState, msg string, events []trainer.Event) error {
	tx, err := l.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	at := now()
	if _, err := l.exec(tx, `UPDATE jobs SET state = ?, endpoint = ?, error = ?, finished_at = ? WHERE id = ?`, string(state), endpoint, msg, at, id); err != nil {
		return err
	}
	if err := l.insertEvents(tx, id, endpoint, events); err != nil {
		return err
	}
	if _, err := l.exec(tx, `INSERT INTO transitions(job_id, at, state, endpoint, message) VALUES(?, ?, ?, ?, ?)`, id, at, string(state), endpoint, msg); err != nil {
		return err
	}
	return tx.Commit()
}

// insertOutcomes stores a job's outcomes, and their example list if the
// ledger does not have it yet.
func (l *Ledger) insertOutcomes(tx *sql.Tx, id string, outs []trainer.ExampleOutcome) error {
	h := sha256.New()
	for _, o := range outs {
		fmt.Fprintf(h, "%s\x00%s\x00", o.ID, o.Subset)
	}
	list := hex.EncodeToString(h.Sum(nil))
	var n int
	known, err := l.prepared(`SELECT examples FROM example_lists WHERE hash = ?`)
	if err != nil {
		return err
	}
	err = tx.Stmt(known).QueryRow(list).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := l.exec(tx, `INSERT INTO example_lists(hash, examples) VALUES(?, ?)`, list, len(outs)); err != nil {
			return err
		}
		stmt, err := tx.Prepare(`INSERT INTO examples(list, idx, example_id, subset) VALUES(?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, o := range outs {
			if _, err := stmt.Exec(list, i, o.ID, o.Subset); err != nil {
				return err
			}
		}
	} else if err != nil {
		return err
	}
	correct := make([]byte, len(outs))
	chosen := make([]byte, 0, 8*len(outs))
	rejected := make([]byte, 0, 8*len(outs))
	for i, o := range outs {
		if o.Correct {
			correct[i] = 1
		}
		chosen = binary.LittleEndian.AppendUint64(chosen, math.Float64bits(o.ChosenScore))
		rejected = binary.LittleEndian.AppendUint64(rejected, math.Float64bits(o.RejectedScore))
	}
	_, err = l.exec(tx, `INSERT INTO outcomes(job_id, list, correct, chosen, rejected) VALUES(?, ?, ?, ?, ?)
		ON CONFLICT(job_id) DO UPDATE SET list = excluded.list, correct = excluded.correct, chosen = excluded.chosen, rejected = excluded.rejected`,
		id, list, correct, chosen, rejected)
	return err
}

// exampleList returns the ids and subsets of a stored example list.
func (l *Ledger) exampleList(list string) ([]trainer.ExampleOutcome, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ex, ok := l.lists[list]; ok {
		return ex, nil
	}
	rows, err := l.db.Query(`SELECT example_id, subset FROM examples WHERE list = ? ORDER BY idx`, list)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ex []trainer.ExampleOutcome
	for rows.Next() {
		var o trainer.ExampleOutcome
		if err := rows.Scan(&o.ID, &o.Subset); err != nil {
			return nil, err
		}
		ex = append(ex, o)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	l.lists[list] = ex
	return ex, nil
}

// Outcomes returns a job's per-example outcomes in suite order (none if the
// job has not finished).
func (l *Ledger) Outcomes(id string) ([]trainer.ExampleOutcome, error) {
	var list string
	var correct, chosen, rejected []byte
	err := l.db.QueryRow(`SELECT list, correct, chosen, rejected FROM outcomes WHERE job_id = ?`, id).Scan(&list, &correct, &chosen, &rejected)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ex, err := l.exampleList(list)
	if err != nil {
		return nil, err
	}
	if len(correct) != len(ex) || len(chosen) != 8*len(ex) || len(rejected) != 8*len(ex) {
		return nil, fmt.Errorf("ledger: job %s: outcomes do not match their example list %s", id, list)
	}
	out := make([]trainer.ExampleOutcome, len(ex))
	for i, e := range ex {
		out[i] = trainer.ExampleOutcome{
			ID: e.ID, Subset: e.Subset, Correct: correct[i] == 1,
			ChosenScore:   math.Float64frombits(binary.LittleEndian.Uint64(chosen[8*i:])),
			RejectedScore: math.Float64frombits(binary.LittleEndian.Uint64(rejected[8*i:])),
		}
	}
	return out, nil
}

// EvalPoint is one intermediate or final evaluation of a job.
type EvalPoint struct {
	Step   int64
	Counts []trainer.SubsetCount
}

// Trajectory returns the evaluations of the attempt that produced a job's
// result: events from the endpoint that finished it, after the last time the
// job (re)started running there.
func (l *Ledger) Trajectory(id string) ([]EvalPoint, error) {
	rec, ok, err := l.Job(id)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := l.db.Query(`SELECT kind, state, step, eval FROM trajectory WHERE job_id = ? AND endpoint = ? ORDER BY seq`, id, rec.Endpoint)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EvalPoint
	for rows.Next() {
		var kind, state string
		var step int64
		var eval sql.NullString
		if err := rows.Scan(&kind, &state, &step, &eval); err != nil {
			return nil, err
		}
		switch {
		case kind == trainer.EventStateChange.String() && state == trainer.StateRunning.String():
			out = out[:0] // a new attempt starts over
		case kind == trainer.EventEvaluation.String() && eval.Valid:
			var p EvalPoint
			p.Step = step
			if err := json.Unmarshal([]byte(eval.String), &p.Counts); err != nil {
				return nil, fmt.Errorf("job %s: trajectory: %w", id, err)
			}
			out = append(out, p)
		}
	}
	return out, rows.Err()
}
