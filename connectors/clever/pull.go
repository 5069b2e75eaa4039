package clever

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/pthv/reach/internal/roster"
)

// CollectionResult is one collection's pull: its completeness verdict and counters.
type CollectionResult struct {
	Collection Collection `json:"collection"`
	// Complete is true when the collection was enumerated to its end: no next link or an
	// empty page, every next link valid and advancing, every page readable and in order.
	// A collection that is not complete is unknown, never empty: nothing may be
	// deactivated because it is missing from it.
	Complete bool `json:"complete"`
	// Reason says why the collection is not complete; Status is the HTTP status that
	// stopped it (0 when none did).
	Reason string `json:"reason,omitempty"`
	Status int    `json:"status,omitempty"`
	Pages  int    `json:"pages"`
	// Records counts the records received, duplicates included.
	Records int `json:"records"`
	// Duplicates counts records whose id repeated the previous one (dropped).
	Duplicates int `json:"duplicates"`
	// ChangedDuringPull counts records whose last_modified is after the server's clock at
	// the first answer: the district changed while we pulled. Cursor paging keeps such a
	// pull consistent (ids only grow), so this is a note, not a failure.
	ChangedDuringPull int `json:"changedDuringPull"`
	Counters
}

// PullResult is a whole pull.
type PullResult struct {
	Started     time.Time          `json:"started"` // the server's clock at the first answer
	Collections []CollectionResult `json:"collections"`
	Counters
}

// Result returns the collection's result and whether it was pulled.
func (r *PullResult) Result(c Collection) (CollectionResult, bool) {
	for _, cr := range r.Collections {
		if cr.Collection == c {
			return cr, true
		}
	}
	return CollectionResult{}, false
}

// Complete reports whether the collection was pulled and completed.
func (r *PullResult) Complete(c Collection) bool {
	cr, ok := r.Result(c)
	return ok && cr.Complete
}

// AllComplete reports whether every pulled collection completed.
func (r *PullResult) AllComplete() bool {
	for _, cr := range r.Collections {
		if !cr.Complete {
			return false
		}
	}
	return len(r.Collections) > 0
}

// PullAll pulls the collections in order into stage. cursors (may be nil) continues
// collections from checkpoints; a collection whose cursor is Done is not pulled again and
// counts as complete with the cursor's counts. A collection that fails is recorded as
// incomplete and the pull goes on with the next. PullAll returns an error only when the
// run must stop: the token was refused (ErrRevoked), ctx ended, or stage failed.
func (c *Client) PullAll(ctx context.Context, cols []Collection, stage Stage, cursors map[Collection]Cursor) (*PullResult, error) {
	res := &PullResult{}
	c.mu.Lock()
	c.started = time.Time{} // the next answer's Date starts this pull
	c.mu.Unlock()
	for _, col := range cols {
		cr, _, err := c.PullCollection(ctx, col, cursors[col], stage)
		res.Collections = append(res.Collections, cr)
		res.Counters.add(cr.Counters)
		if err != nil {
			res.Started = c.serverStart()
			return res, err
		}
	}
	res.Started = c.serverStart()
	return res, nil
}

func (c *Client) serverStart() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// PullCollection pulls one collection from cur (the zero Cursor for the first page) to its
// end, passing each stripped page to stage with the cursor that follows it. It returns the
// collection's verdict and the final cursor. The error is non-nil only when the run must
// stop (ErrRevoked, ctx, stage); a collection that cannot be completed returns a result
// with Complete false and the Reason.
//
// To continue in a later invocation, pass the cursor of the last page the stage kept (the
// one Put received, or the cursor returned with a ctx or stage error). A collection that
// failed is not continued: the next run starts it over from the zero Cursor. Counters in a
// continued result count that invocation's requests only; Pages and Records are totals.
func (c *Client) PullCollection(ctx context.Context, col Collection, cur Cursor, stage Stage) (CollectionResult, Cursor, error) {
	res := CollectionResult{Collection: col, Pages: cur.Pages, Records: cur.Records}
	if !col.valid() {
		res.Reason = "unknown collection"
		return res, cur, nil
	}
	path, role := col.Path()
	if cur.Done {
		res.Complete = true
		return res, cur, nil
	}
	uri := cur.Next
	if uri == "" {
		q := url.Values{}
		q.Set("limit", strconv.Itoa(c.opt.Limit))
		if role != "" {
			q.Set("role", role)
		}
		uri = c.base.Path + path + "?" + q.Encode()
	}
	fail := func(format string, a ...any) (CollectionResult, Cursor, error) {
		res.Reason = fmt.Sprintf(format, a...)
		c.log.Warn("clever collection incomplete", "collection", string(col), "page", cur.Pages+1, "reason", res.Reason)
		return res, cur, nil
	}
	for {
		page := cur.Pages + 1
		body, err := c.get(ctx, uri, []any{"collection", string(col), "page", page}, &res.Counters)
		if err != nil {
			var he *httpError
			switch {
			case errors.Is(err, ErrRevoked), ctx.Err() != nil:
				res.Reason = err.Error()
				return res, cur, err
			case errors.As(err, &he):
				res.Status = he.Status
				return fail("page %d: %s", page, he.Error())
			}
			return fail("page %d: %s", page, err.Error())
		}
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '<' {
			_, derr := decodeEnvelope(t)
			return fail("page %d: %s", page, derr.Error())
		}
		stripped, err := Strip(body)
		if err != nil {
			return fail("page %d: the response is not JSON (%s)", page, err.Error())
		}
		body = nil
		recs, links, n, err := pageIDs(stripped)
		if err != nil {
			return fail("page %d: %s", page, err.Error())
		}
		next := cur
		next.Pages = page
		next.Records += n
		orderErr := ""
		for _, id := range recs {
			switch {
			case id.ID == next.LastID:
				res.Duplicates++
			case id.ID < next.LastID:
				if orderErr == "" {
					orderErr = fmt.Sprintf("record %s comes after %s: records are not in ascending id order, so paging by starting_after would skip or repeat records", roster.MessageID(id.ID), roster.MessageID(next.LastID))
				}
			default:
				next.LastID = id.ID
			}
			if t, err := time.Parse(time.RFC3339Nano, id.LastModified); err == nil && !c.serverStart().IsZero() && t.After(c.serverStart()) {
				res.ChangedDuringPull++
			}
		}
		env := &envelope{Links: links}
		empty := n == 0
		link := env.next()
		end := empty || link == ""
		if !end || orderErr != "" {
			nu, err := c.checkNext(col, next, link)
			if orderErr != "" {
				err = errors.New(orderErr)
			}
			if err != nil {
				// Stage the page anyway: what was pulled can be inspected.
				if perr := stage.Put(ctx, col, page, stripped, next); perr != nil {
					return res, cur, fmt.Errorf("clever: staging %s page %d: %w", col, page, perr)
				}
				cur = next
				res.Pages, res.Records = cur.Pages, cur.Records
				return fail("page %d: %s", page, err.Error())
			}
			next.PrevAfter = nu.after
			next.Next = nu.uri
		} else {
			next.Next, next.Done = "", true
		}
		if err := stage.Put(ctx, col, page, stripped, next); err != nil {
			return res, cur, fmt.Errorf("clever: staging %s page %d: %w", col, page, err)
		}
		cur = next
		res.Pages, res.Records = cur.Pages, cur.Records
		if end {
			break
		}
		uri = cur.Next
	}
	if col == Districts && res.Records-res.Duplicates != 1 {
		return fail("the token sees %d districts; a district-app token sees exactly one", res.Records-res.Duplicates)
	}
	res.Complete = true
	c.log.Info("clever collection pulled", "collection", string(col), "pages", res.Pages, "records", res.Records,
		"duplicates", res.Duplicates, "requests", res.Requests, "retries", res.Retries, "rateLimited", res.RateLimited)
	return res, cur, nil
}

type nextURI struct {
	uri   string // path and query to request
	after string // its starting_after
}

// checkNext validates a rel=next link: it must stay on the base URL's host, under its path,
// on the same collection and role, and advance starting_after to the last id received.
func (c *Client) checkNext(col Collection, cur Cursor, link string) (nextURI, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nextURI{}, fmt.Errorf("the next link is not a URI")
	}
	if u.Scheme != "" || u.Host != "" {
		if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			return nextURI{}, fmt.Errorf("the next link points to another host (%s), not under the base URL; not followed", u.Host)
		}
	}
	path, role := col.Path()
	if u.Path != c.base.Path+path {
		return nextURI{}, fmt.Errorf("the next link's path is not %s under the base URL; not followed", path)
	}
	q := u.Query()
	if q.Get("role") != role {
		return nextURI{}, fmt.Errorf("the next link changes the role filter; not followed")
	}
	after := q.Get("starting_after")
	switch {
	case after == "":
		return nextURI{}, fmt.Errorf("the next link has no starting_after: it does not advance")
	case after <= cur.PrevAfter:
		return nextURI{}, fmt.Errorf("the next link repeats starting_after=%s: it does not advance", roster.MessageID(after))
	case after != cur.LastID:
		return nextURI{}, fmt.Errorf("the next link's starting_after is not the page's last id: records would be skipped or repeated")
	}
	return nextURI{uri: u.RequestURI(), after: after}, nil
}

type pageID struct {
	ID           string `json:"id"`
	LastModified string `json:"last_modified"`
}

// pageIDs reads a stripped page's record ids, its links and its number of elements: in one
// decode when the page is well formed, element by element otherwise (elements that are not
// records are counted and left to the mapper to report).
func pageIDs(page []byte) ([]pageID, []link, int, error) {
	var fast struct {
		Data []struct {
			Data *pageID `json:"data"`
		} `json:"data"`
		Links []link `json:"links"`
	}
	if len(page) > 0 && page[0] == '{' && json.Unmarshal(page, &fast) == nil {
		ids := make([]pageID, 0, len(fast.Data))
		ok := true
		for _, w := range fast.Data {
			if w.Data == nil || w.Data.ID == "" {
				ok = false
				break
			}
			ids = append(ids, *w.Data)
		}
		if ok {
			return ids, fast.Links, len(fast.Data), nil
		}
	}
	env, err := decodeEnvelope(page)
	if err != nil {
		return nil, nil, 0, err
	}
	var ids []pageID
	for _, raw := range env.Data {
		rec, err := unwrap(raw)
		if err != nil {
			continue
		}
		var id pageID
		if json.Unmarshal(rec, &id) != nil || id.ID == "" {
			continue
		}
		ids = append(ids, id)
	}
	return ids, env.Links, len(env.Data), nil
}
