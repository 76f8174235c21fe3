package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"oauth2-server.dev/ports"
)

// changeFunc is one change of the store: it runs inside a transaction it
// does not own and returns the events to store with it. An error rolls
// back the change (and only it); fn returns driver errors or ports
// sentinels, which write translates. A change may run more than once (see
// writer.run), so it sets its results afresh on every run.
type changeFunc func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error)

// write runs fn as one change and stores the events fn returns in the
// outbox within the same transaction, so that a change and the events
// describing it commit or roll back together.
//
// Changes go through the store's writer, which commits the changes of
// concurrent callers together (group commit): one transaction, one sync to
// disk, however many requests wrote. write returns once the transaction
// holding the change has committed, so what it wrote is durable before the
// caller answers anybody; or once ctx ends, with ctx's error, and then the
// change may commit or not.
func (s *Store) write(ctx context.Context, op string, fn changeFunc) error {
	return s.submit(ctx, op, &writeJob{fn: fn})
}

// insert is write for a change that only adds tokens and events.
func (s *Store) insert(ctx context.Context, op string, rows *insertRows) error {
	return s.submit(ctx, op, &writeJob{rows: rows})
}

func (s *Store) submit(ctx context.Context, op string, j *writeJob) error {
	j.report = true
	evs, err := s.w.do(ctx, j)
	if err != nil {
		return translate(op, err)
	}
	if len(evs) > 0 {
		s.eventsStored(evs)
	}
	return nil
}

// exec is write for a change of one statement.
func (s *Store) exec(ctx context.Context, op string, evs []ports.Event, q query, args ...any) error {
	if err := checkEvents(evs); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		_, err := s.txExec(ctx, tx, q, args...)
		return evs, err
	})
}

// execCount is write for a change of one statement, without events, that
// reports how many rows it changed.
func (s *Store) execCount(ctx context.Context, op string, q query, args ...any) (int64, error) {
	var n int64
	err := s.write(ctx, op, func(ctx context.Context, tx *sql.Tx) ([]ports.Event, error) {
		res, err := s.txExec(ctx, tx, q, args...)
		if err != nil {
			return nil, err
		}
		n, err = res.RowsAffected()
		return nil, err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// checkEvents validates events before a change starts, so that an invalid
// event costs no transaction. Every write method that takes events calls
// it, so the writer stores them unchecked.
func checkEvents(evs []ports.Event) error { return ports.ValidateEvents(evs) }

// OnEvents registers f to be called with the events of every change
// that stored some, once they are committed, so that a relay can deliver
// them at once instead of at its next poll. f must not block or keep the
// slice.
func (s *Store) OnEvents(f func([]ports.Event)) { s.onEvents.Store(&f) }

func (s *Store) eventsStored(evs []ports.Event) {
	if f := s.onEvents.Load(); f != nil {
		(*f)(evs)
	}
}

// eventHook holds the function OnEvents registered.
type eventHook = atomic.Pointer[func([]ports.Event)]

// Writer limits.
const (
	// maxBatch caps the changes one transaction commits, so that one
	// commit never holds the database for long.
	maxBatch = 128
	// batchTimeout bounds one PostgreSQL transaction. Changes do not run
	// under their callers' contexts: a caller hanging up must not abort a
	// transaction that other callers' changes share. Callers do not wait
	// for it either: each stops waiting when its own context ends (see
	// writer.do), and this bound only cleans up after a database that
	// stopped answering.
	batchTimeout = 10 * time.Second
)

// The savepoint statements of a change, kept prepared as every other
// statement of the writer.
var (
	qSavepoint           = newQuery("SAVEPOINT change")
	qRollbackToSavepoint = newQuery("ROLLBACK TO SAVEPOINT change")
	qReleaseSavepoint    = newQuery("RELEASE SAVEPOINT change")
)

// errWriterClosed answers changes submitted after Close.
var errWriterClosed = errors.New("store closed")

// errBatchAborted ends a transaction without savepoints in which a change
// failed; its changes are then run one transaction each.
var errBatchAborted = errors.New("a change of the transaction failed")

// writer runs the store's changes. Each worker takes the changes waiting
// for it, runs them in one transaction, each under a savepoint of its own
// so that one failing change rolls back alone, and commits them together.
// While a transaction commits, the next changes queue up and go into the
// next one: the busier the store, the more changes share a commit, with no
// waiting added when it is idle.
//
// SQLite admits one writer at a time, so it gets one worker on a
// connection of its own and never meets a busy database; PostgreSQL gets
// several, on the shared pool. On PostgreSQL a failing change aborts its
// transaction (see savepoints), and the others then run again alone.
type writer struct {
	db      *sql.DB
	store   *Store
	jobs    chan *writeJob
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
	closed  atomic.Bool
	// savepoints isolates each change of a transaction in a savepoint of
	// its own. That is cheap in-process on SQLite; on PostgreSQL each
	// savepoint costs two round trips, more than running the rare failed
	// transaction's changes again one by one.
	savepoints bool
	// commits and changes count committed transactions and the changes
	// they held.
	commits, changes atomic.Int64
}

// WriteStats reports how many transactions the store committed and how
// many changes they held: their ratio is how many requests shared each
// commit.
func (s *Store) WriteStats() (commits, changes int64) {
	return s.w.commits.Load(), s.w.changes.Load()
}

type writeJob struct {
	// fn is the change, or, for a change that only adds records, rows
	// are: PostgreSQL folds them into one statement with the rows of other
	// such changes; SQLite inserts them row by row, without a savepoint.
	fn   changeFunc
	rows *insertRows
	evs  []ports.Event
	err  error
	done chan struct{}
	// abandoned is set by a caller that stopped waiting; the writer skips
	// the job if it has not started it yet.
	abandoned atomic.Bool
	started   atomic.Bool
	// report says the job's events go to the store's OnEvents hook once
	// committed, also when its caller has stopped waiting by then.
	report bool
}

func newWriter(s *Store, db *sql.DB, workers int) *writer {
	w := &writer{db: db, store: s, jobs: make(chan *writeJob, maxBatch*workers), stop: make(chan struct{}), savepoints: s.dialect == SQLite}
	for range workers {
		w.stopped.Go(w.loop)
	}
	return w
}

// do runs j through the writer and returns its events once committed, or
// ctx's error once ctx ends, whether or not the change has started. After
// an error the change may still be running: its caller must not read
// what the change's function writes.
func (w *writer) do(ctx context.Context, j *writeJob) ([]ports.Event, error) {
	if w.closed.Load() {
		return nil, errWriterClosed
	}
	// A select with both cases ready picks either: a caller already gone
	// must not have its change queued, and perhaps started, by chance.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j.done = make(chan struct{})
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-w.stop:
		return nil, errWriterClosed
	}
	select {
	case <-j.done:
		return j.evs, j.err
	case <-ctx.Done():
		j.abandoned.Store(true)
		if !j.started.Load() {
			return nil, ctx.Err()
		}
		select {
		case <-j.done:
			return j.evs, j.err
		default:
		}
		// The change is running in a transaction that may be stuck on a
		// database that stopped answering, for up to batchTimeout. The
		// caller's deadline is the one it answers its own caller by, so it
		// gets its error now, not knowing whether the change commits; the
		// events of a change that does commit still reach the hook.
		if j.report {
			go func() {
				<-j.done
				if j.err == nil && len(j.evs) > 0 {
					w.store.eventsStored(j.evs)
				}
			}()
		}
		return nil, fmt.Errorf("%w (the change had started and may still commit)", ctx.Err())
	}
}

func (w *writer) loop() {
	batch := make([]*writeJob, 0, maxBatch)
	for {
		select {
		case j := <-w.jobs:
			batch = append(batch[:0], j)
		case <-w.stop:
			w.drain()
			return
		}
	collect:
		for len(batch) < maxBatch {
			select {
			case j := <-w.jobs:
				batch = append(batch, j)
			default:
				break collect
			}
		}
		w.run(batch)
		clear(batch)
		if w.store.dialect == SQLite {
			w.store.stmts.prepareWanted(context.Background(), w.db)
		}
	}
}

// drain fails the changes still queued at Close.
func (w *writer) drain() {
	for {
		select {
		case j := <-w.jobs:
			j.err = errWriterClosed
			close(j.done)
		default:
			return
		}
	}
}

// run commits a batch. When the transaction as a whole fails (the commit,
// or an error that leaves it unusable), each change that was in it runs
// again in a transaction of its own, so that one change's failure is never
// another's.
func (w *writer) run(batch []*writeJob) {
	live := batch[:0:len(batch)]
	for _, j := range batch {
		// started before abandoned, as the caller does the reverse: either
		// the caller sees the job started and waits for it, or the writer
		// sees it abandoned and skips it (or both).
		j.started.Store(true)
		if j.abandoned.Load() {
			j.err = context.Canceled
			close(j.done)
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	// Changes that only add records go into one statement on PostgreSQL.
	// In-process, on SQLite, one prepared statement per row costs less
	// than building a statement for the group.
	changes := make([]*writeJob, 0, len(live))
	var inserts []*writeJob
	for _, j := range live {
		if j.rows != nil && w.store.dialect != SQLite {
			inserts = append(inserts, j)
		} else {
			changes = append(changes, j)
		}
	}
	if len(inserts) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		w.runInserts(ctx, inserts)
		cancel()
	}
	w.runChanges(changes)
	for _, j := range live {
		close(j.done)
	}
}

// runChanges commits changes of a batch together.
func (w *writer) runChanges(live []*writeJob) {
	if len(live) == 0 {
		return
	}
	if err := w.runTx(live); err != nil && len(live) > 1 {
		for _, j := range live {
			_ = w.runTx([]*writeJob{j})
		}
	} else if len(live) > 1 {
		// A change that lost a deadlock or a serialization conflict to a
		// change of another transaction gets a transaction of its own.
		for _, j := range live {
			if isRetryable(j.err) {
				_ = w.runTx([]*writeJob{j})
			}
		}
	}
}

// runTx runs jobs in one transaction and sets each job's result. It
// returns an error when the transaction failed as a whole; the jobs then
// carry that error.
func (w *writer) runTx(jobs []*writeJob) error {
	// SQLite statements run to completion without a context to watch (the
	// driver would start a watcher per statement); their only wait is the
	// busy timeout. PostgreSQL's are bounded by batchTimeout.
	ctx := context.Background()
	if w.store.dialect != SQLite {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, batchTimeout)
		defer cancel()
	}
	fail := func(err error) error {
		for _, j := range jobs {
			j.evs, j.err = nil, err
		}
		return err
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	// A change alone in its transaction needs no savepoint: if it fails,
	// the transaction is simply not committed.
	grouped := w.savepoints && len(jobs) > 1
	for _, j := range jobs {
		// New rows with fresh ids practically never fail, so they go
		// without a savepoint: should they fail, the transaction is
		// abandoned and its changes run again one by one.
		savepoints := grouped && j.rows == nil
		if savepoints {
			if _, err := w.store.txExec(ctx, tx, qSavepoint); err != nil {
				return fail(err)
			}
		}
		j.evs, j.err = w.apply(ctx, tx, j)
		switch {
		case j.err != nil && len(jobs) == 1:
			return nil
		case j.err != nil && !savepoints:
			// Without a savepoint a failing change takes the transaction
			// down with it; runChanges then gives every change a
			// transaction of its own.
			return fail(errBatchAborted)
		case j.err != nil:
			if _, err := w.store.txExec(ctx, tx, qRollbackToSavepoint); err != nil {
				return fail(err)
			}
		}
		if savepoints {
			if _, err := w.store.txExec(ctx, tx, qReleaseSavepoint); err != nil {
				return fail(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	w.commits.Add(1)
	w.changes.Add(int64(len(jobs)))
	return nil
}

// apply runs one change and stores its events.
func (w *writer) apply(ctx context.Context, tx *sql.Tx, j *writeJob) ([]ports.Event, error) {
	var (
		evs []ports.Event
		err error
	)
	if j.rows != nil {
		evs, err = j.rows.events, w.store.insertTokens(ctx, tx, j.rows.tokens)
	} else {
		evs, err = j.fn(ctx, tx)
	}
	if err != nil {
		return nil, err
	}
	if err := w.store.insertEvents(ctx, tx, evs); err != nil {
		return nil, err
	}
	return evs, nil
}

// close stops the workers once the changes in flight are done; changes
// still queued fail with errWriterClosed.
func (w *writer) close() {
	w.once.Do(func() {
		w.closed.Store(true)
		close(w.stop)
		w.stopped.Wait()
	})
}
