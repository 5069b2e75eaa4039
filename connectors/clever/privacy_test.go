package clever

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/roster"
	standin "github.com/pthv/reach/internal/standin/clever"
)

// recordingStage keeps every staged page, as a frame's S3 stager would.
type recordingStage struct {
	*MemStage
	all [][]byte
}

func (r *recordingStage) Put(ctx context.Context, c Collection, page int, body []byte, next Cursor) error {
	r.all = append(r.all, body)
	return r.MemStage.Put(ctx, c, page, body, next)
}

var demographicKeys = []string{"dob", "gender", "race", "hispanic_ethnicity", "ell_status", "location", "iep_status",
	"frl_status", "credentials"}

func TestDemographicsNeverLeaveThePage(t *testing.T) {
	e := newEnv(t, 120)
	// The stand-in really serves them: the test would prove nothing otherwise.
	stu := e.srv.IDs("users:student")[0]
	served := string(e.srv.Object("users", stu))
	for _, k := range demographicKeys {
		if !strings.Contains(served, `"`+k+`"`) {
			t.Fatalf("the stand-in serves no %s", k)
		}
	}
	c := e.client(t, Options{Limit: 50}, false)
	stage := &recordingStage{MemStage: NewMemStage()}
	res, err := c.PullAll(context.Background(), AllCollections, stage, nil)
	if err != nil || !res.AllComplete() {
		t.Fatalf("%v %+v", err, res)
	}
	sink := newSink()
	rep, err := Map(context.Background(), stage, res, sink, MapOptions{})
	if err != nil || !rep.Complete {
		t.Fatalf("%v %+v", err, rep)
	}

	t.Run("staged pages hold none of the fields or their values", func(t *testing.T) {
		if len(stage.all) == 0 {
			t.Fatal("nothing staged")
		}
		for _, p := range stage.all {
			if bytes.Contains(p, []byte(standin.Sentinel)) {
				t.Fatal("a staged page holds a demographic value")
			}
			for _, k := range append(demographicKeys, "ext", "home_language") {
				if bytes.Contains(p, []byte(`"`+k+`":`)) {
					t.Fatalf("a staged page holds the key %s", k)
				}
			}
			if !json.Valid(p) {
				t.Fatal("a staged page is not JSON")
			}
		}
	})

	t.Run("records carry none of them", func(t *testing.T) {
		for _, k := range roster.Kinds {
			for _, r := range sink.records[k] {
				b, _ := json.Marshal(r)
				if bytes.Contains(b, []byte(standin.Sentinel)) {
					t.Fatalf("%s %s carries a demographic value", k, r.ID())
				}
				for _, g := range []string{`"F"`, `"M"`, `"X"`, "Caucasian", "Two or More Races", "/2014"} {
					if bytes.Contains(b, []byte(g)) {
						t.Fatalf("%s %s carries %s", k, r.ID(), g)
					}
				}
			}
		}
	})

	t.Run("logs carry no demographics, names, emails, phones or the token", func(t *testing.T) {
		logs := e.logs.String()
		if logs == "" {
			t.Fatal("no logs")
		}
		u := sink.users()[stu]
		for _, s := range []string{standin.Sentinel, testToken, u.GivenName, u.FamilyName, "@example.com", "555-"} {
			if strings.Contains(logs, s) {
				t.Fatalf("logs contain %q", s)
			}
		}
	})

	t.Run("no decode struct has a field for them", func(t *testing.T) {
		for _, v := range []any{user{}, roles{}, studentRole{}, teacherRole{}, staffRole{}, contactRole{}, relationship{},
			school{}, district{}, term{}, course{}, section{}, name{}} {
			typ := reflect.TypeOf(v)
			for i := range typ.NumField() {
				tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
				if slices.Contains(Stripped, tag) {
					t.Errorf("%s.%s decodes %s", typ.Name(), typ.Field(i).Name, tag)
				}
			}
		}
	})
}

func TestStrip(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"data":[{"data":{"id":"a","roles":{"student":{"dob":"1/2/2014","grade":"3","location":{"zip":"9"},"gender":"F"}}}}],"links":[]}`,
			`{"data":[{"data":{"id":"a","roles":{"student":{"grade":"3"}}}}],"links":[]}`},
		{`{"dob":1,"a":[1,{"race":"x","b":null}],"c":true}`, `{"a":[1,{"b":null}],"c":true}`},
		{` {"a" : "\u00e9\"\n" , "ext":{"x":[1,2]} } `, `{"a":"\u00e9\"\n"}`},
		{`{"D\u004fB":"x","Gender":"F","k":-0.5e+3}`, `{"k":-0.5e+3}`},
		{`[]`, `[]`},
		{`{"credentials":{"district_username":"u"}}`, `{}`},
	}
	for _, c := range cases {
		got, err := Strip([]byte(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("Strip(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "<html>", `{"a":`, `{"a":1}{"b":2}`, `{"dob":`, "nul"} {
		if got, err := Strip([]byte(bad)); err == nil {
			t.Errorf("Strip(%q) = %s; want an error", bad, got)
		} else if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("the error %q quotes the body", err)
		}
	}
}
