package dev

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// SyncWriter serialises writes from several goroutines, so lines from
// different services never interleave mid-line.
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSyncWriter wraps w.
func NewSyncWriter(w io.Writer) *SyncWriter { return &SyncWriter{w: w} }

func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// PrefixWriter writes each complete line with a prefix ("ingest     | ").
// A partial line waits for its newline, or for Flush.
type PrefixWriter struct {
	mu     sync.Mutex
	out    io.Writer
	prefix []byte
	buf    []byte
}

// NewPrefixWriter prefixes lines with name padded to width and " | ".
func NewPrefixWriter(out io.Writer, name string, width int) *PrefixWriter {
	return &PrefixWriter{out: out, prefix: fmt.Appendf(nil, "%-*s | ", width, name)}
}

func (w *PrefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	var chunk []byte
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		chunk = append(chunk, w.prefix...)
		chunk = append(chunk, w.buf[:i+1]...)
		w.buf = w.buf[i+1:]
	}
	// Very long lines without a newline are written out rather than held.
	if len(w.buf) > 64*1024 {
		chunk = append(chunk, w.prefix...)
		chunk = append(chunk, w.buf...)
		chunk = append(chunk, '\n')
		w.buf = w.buf[:0]
	}
	if len(chunk) > 0 {
		if _, err := w.out.Write(chunk); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes a pending partial line.
func (w *PrefixWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return nil
	}
	line := append(append(append([]byte(nil), w.prefix...), w.buf...), '\n')
	w.buf = w.buf[:0]
	_, err := w.out.Write(line)
	return err
}
