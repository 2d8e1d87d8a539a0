// Package testkit holds the small helpers that the tests of every package of
// the repository share, so that each is written once: a buffer that
// goroutines may write to while a test reads it, and a way to run a call on
// a goroutine of its own and wait for its result. It is not for users.
package testkit

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer that is safe for concurrent use, for a logger
// or a process's output that a test reads while others write to it. The
// zero value is ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Go runs fn on a goroutine of its own and returns a channel that receives
// its error once it returns, so that a test can start a call, act while it
// waits, and then take its result (or select on it with a timeout).
func Go(fn func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return done
}

// BuildContext returns the context for a go command that a test runs (a
// build of snippets or examples): it ends with the test, and 30 seconds
// before the test binary's own deadline (go test's -timeout), so that a
// build that takes minutes (an empty build cache on a loaded machine
// compiles the standard library again) fails with its output rather than
// with a panic of the test binary.
func BuildContext(t testing.TB) (context.Context, context.CancelFunc) {
	type deadliner interface{ Deadline() (time.Time, bool) }
	if d, ok := t.(deadliner); ok {
		if deadline, ok := d.Deadline(); ok {
			return context.WithDeadline(t.Context(), deadline.Add(-30*time.Second))
		}
	}
	return context.WithCancel(t.Context())
}
