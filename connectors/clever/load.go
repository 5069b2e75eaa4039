package clever

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pthv/reach/connectors/oneroster/csv"
)

// item is one decoded record of a collection, with the page it came on.
type item[T any] struct {
	page int
	id   string
	v    T
}

// identified is a decode struct.
type identified interface {
	district | school | term | course | section | user
}

func cleverID(v any) string {
	switch x := v.(type) {
	case *district:
		return x.ID
	case *school:
		return x.ID
	case *term:
		return x.ID
	case *course:
		return x.ID
	case *section:
		return x.ID
	case *user:
		return x.ID
	}
	return ""
}

// load decodes the staged pages of c into decode structs (which have no field for any
// stripped key). A page is decoded in one go when it is well formed; otherwise element by
// element, leniently (a field of the wrong JSON type is left blank), with a finding for each
// element that is not a record and for each blank, invalid or repeated id.
func load[T identified](m *mapper, c Collection, pages int) ([]item[T], error) {
	var out []item[T]
	seen := map[string]bool{}
	add := func(page, elem int, v *T) {
		id := cleverID(v)
		switch {
		case !idPattern.MatchString(id):
			m.rep.add(Finding{Code: csv.CodeSourcedID, Collection: c, Page: page, Field: "id",
				Message: fmt.Sprintf("element %d has no valid id; it is skipped", elem)})
		case seen[id]:
			m.rep.add(Finding{Code: csv.CodeDuplicate, Collection: c, Page: page, CleverID: id})
		default:
			seen[id] = true
			out = append(out, item[T]{page: page, id: id, v: *v})
		}
	}
	for page := 1; page <= pages; page++ {
		if err := m.ctx.Err(); err != nil {
			return nil, err
		}
		body, err := m.pages.Get(m.ctx, c, page)
		if err != nil {
			return nil, fmt.Errorf("clever: reading staged %s page %d: %w", c, page, err)
		}
		var fast struct {
			Data []struct {
				Data *T `json:"data"`
			} `json:"data"`
		}
		ok := len(body) > 0 && body[0] == '{' && json.Unmarshal(body, &fast) == nil
		for i := 0; ok && i < len(fast.Data); i++ {
			ok = fast.Data[i].Data != nil && cleverID(fast.Data[i].Data) != ""
		}
		if ok {
			for i, w := range fast.Data {
				add(page, i+1, w.Data)
			}
			continue
		}
		env, err := decodeEnvelope(body)
		if err != nil {
			m.rep.add(Finding{Code: CodeEnvelope, Collection: c, Page: page, Message: err.Error()})
			m.broken[c] = true
			continue
		}
		for i, raw := range env.Data {
			rec, err := unwrap(raw)
			var v T
			if err == nil {
				var te *json.UnmarshalTypeError
				if jerr := json.Unmarshal(rec, &v); jerr != nil && !errors.As(jerr, &te) {
					err = fmt.Errorf("the record is malformed: %s", jsonErr(jerr))
				}
			}
			if err != nil {
				m.rep.add(Finding{Code: CodeRecord, Collection: c, Page: page, Message: fmt.Sprintf("element %d: %s", i+1, err.Error())})
				continue
			}
			add(page, i+1, &v)
		}
	}
	return out, nil
}

// eachOf calls fn for every decoded record of c, in staged order.
func eachOf[T identified](m *mapper, c Collection, fn func(page int, id string, v *T) error) error {
	items, _ := m.cache[c].([]item[T])
	for i := range items {
		if err := fn(items[i].page, items[i].id, &items[i].v); err != nil {
			return err
		}
	}
	return nil
}
