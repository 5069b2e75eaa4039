package clever

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// stoppingStage fails its Put after a number of pages, as a frame's stage does when the
// invocation's time runs low; it remembers the cursor of the last page it kept.
type stoppingStage struct {
	*MemStage
	left int
	last Cursor
}

var errTimeUp = errors.New("time to continue in a new invocation")

func (s *stoppingStage) Put(ctx context.Context, c Collection, page int, body []byte, next Cursor) error {
	if s.left == 0 {
		return errTimeUp
	}
	s.left--
	s.last = next
	return s.MemStage.Put(ctx, c, page, body, next)
}

func TestPullContinuesFromItsCheckpoint(t *testing.T) {
	e := newEnv(t, 150)
	c := e.client(t, Options{Limit: 20}, false)
	ctx := context.Background()
	whole := NewMemStage()
	want, _, err := c.PullCollection(ctx, Contacts, Cursor{}, whole)
	if err != nil || !want.Complete || want.Pages < 4 {
		t.Fatalf("%v %+v", err, want)
	}

	stage := &stoppingStage{MemStage: NewMemStage(), left: 2}
	first, cur, err := c.PullCollection(ctx, Contacts, Cursor{}, stage)
	if !errors.Is(err, errTimeUp) || first.Complete || cur.Pages != 2 || cur != stage.last {
		t.Fatalf("first invocation: %v %+v cursor %+v", err, first, cur)
	}
	// The next invocation continues from the checkpoint, with the same stage.
	stage.left = -1
	rest, end, err := c.PullCollection(ctx, Contacts, cur, stage)
	if err != nil || !rest.Complete || !end.Done || rest.Pages != want.Pages || rest.Records != want.Records {
		t.Fatalf("second invocation: %v %+v", err, rest)
	}
	if rest.Requests != want.Requests-2 {
		t.Errorf("the second invocation made %d requests; want %d (no page fetched twice)", rest.Requests, want.Requests-2)
	}
	for p := 1; p <= want.Pages; p++ {
		a, _ := whole.Get(ctx, Contacts, p)
		b, _ := stage.Get(ctx, Contacts, p)
		if !bytes.Equal(a, b) {
			t.Fatalf("page %d differs after the continuation", p)
		}
	}
	// A collection whose cursor is done is not pulled again.
	again, _, err := c.PullCollection(ctx, Contacts, end, stage)
	if err != nil || !again.Complete || again.Requests != 0 {
		t.Errorf("a done cursor: %v %+v", err, again)
	}
}
