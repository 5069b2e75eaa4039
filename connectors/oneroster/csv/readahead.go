package csv

import (
	"io"
	"sync"
)

// Read-ahead sizes: four chunks of 256 KiB in flight per open entry (1 MiB).
const (
	readAheadChunk = 256 << 10
	readAheadDepth = 4
)

// readAhead inflates a zip entry on its own goroutine, a few chunks ahead of the reader, so
// that decompressing and checking overlap when the machine has more than one core (the
// ingest function has 3,008 MB, about 1.7 vCPU). The bytes, and the error that ends them,
// arrive in the order the source produced them; Close stops the goroutine and waits for it.
type readAhead struct {
	src  io.ReadCloser
	full chan chunk
	free chan []byte
	done chan struct{}
	wg   sync.WaitGroup
	cur  []byte // unread part of the chunk being read
	buf  []byte // the whole chunk being read, returned to free once read
	err  error  // the error that ends the stream, once reached
	once sync.Once
}

type chunk struct {
	b   []byte
	err error
}

func newReadAhead(src io.ReadCloser) *readAhead {
	ra := &readAhead{src: src, full: make(chan chunk, readAheadDepth), free: make(chan []byte, readAheadDepth),
		done: make(chan struct{})}
	for range readAheadDepth {
		ra.free <- make([]byte, readAheadChunk)
	}
	ra.wg.Add(1)
	go ra.fill()
	return ra
}

// fill reads the source into free chunks until the source ends or the reader closes.
func (ra *readAhead) fill() {
	defer ra.wg.Done()
	for {
		var b []byte
		select {
		case b = <-ra.free:
		case <-ra.done:
			return
		}
		// Fill the whole chunk, keeping the error that came with the last bytes.
		n := 0
		var err error
		for n < len(b) && err == nil {
			var m int
			m, err = ra.src.Read(b[n:])
			n += m
		}
		select {
		case ra.full <- chunk{b: b[:n], err: err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		c := <-ra.full
		ra.buf, ra.cur, ra.err = c.b, c.b, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the read-ahead, waits for its goroutine and closes the source.
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.done) })
	ra.wg.Wait()
	return ra.src.Close()
}
