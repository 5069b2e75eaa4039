package oneroster

import (
	"encoding/csv"
	"strings"
	"time"
)

// The REST shapes below follow the OneRoster 1.1 specification and the 1.2 Rostering REST
// binding (../shared/sis/RULES.md): GUIDRefs {href, sourcedId, type}, arrays for lists,
// enabledUser the string "true"/"false" in 1.2 and a boolean in 1.1.

func (s *Server) guid(kind, typ, id string) map[string]any {
	if id == "" {
		return nil
	}
	return map[string]any{"href": s.base + "/" + kind + "/" + id, "sourcedId": id, "type": typ}
}

func splitList(v string) []string {
	out := []string{}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) render(coll string, c *collection, it *item) map[string]any {
	f := it.fields(c.hdr)
	v11 := s.d.version == "1.1"
	st := it.status
	if st == "tobedeleted" && v11 && s.faults.LegacyInactive {
		st = "inactive"
	}
	o := map[string]any{"sourcedId": it.id, "status": st, "dateLastModified": it.modified.Format("2006-01-02T15:04:05.000Z"), "metadata": map[string]any{"vendor.node": "a"}}
	set := func(k, v string) {
		if v != "" {
			o[k] = v
		}
	}
	refs := func(kind, typ, list string) []any {
		out := []any{}
		for _, id := range splitList(list) {
			out = append(out, s.guid(kind, typ, id))
		}
		return out
	}
	boolean := func(v string) any {
		if v11 {
			return v == "true"
		}
		return v
	}
	switch coll {
	case "orgs":
		set("name", f["name"])
		set("type", f["type"])
		set("identifier", f["identifier"])
		if p := s.guid("orgs", "org", f["parentSourcedId"]); p != nil {
			o["parent"] = p
		}
	case "academicSessions":
		set("title", f["title"])
		set("type", f["type"])
		set("startDate", f["startDate"])
		set("endDate", f["endDate"])
		set("schoolYear", f["schoolYear"])
		if p := s.guid("academicSessions", "academicSession", f["parentSourcedId"]); p != nil {
			o["parent"] = p
		}
	case "courses":
		set("title", f["title"])
		set("courseCode", f["courseCode"])
		o["grades"] = splitList(f["grades"])
		o["subjects"] = splitList(f["subjects"])
		if y := s.guid("academicSessions", "academicSession", f["schoolYearSourcedId"]); y != nil {
			o["schoolYear"] = y
		}
		o["org"] = s.guid("orgs", "org", f["orgSourcedId"])
	case "classes":
		set("title", f["title"])
		set("classCode", f["classCode"])
		set("classType", f["classType"])
		set("location", f["location"])
		o["grades"] = splitList(f["grades"])
		o["subjects"] = splitList(f["subjects"])
		o["periods"] = splitList(f["periods"])
		o["course"] = s.guid("courses", "course", f["courseSourcedId"])
		o["school"] = s.guid("schools", "org", f["schoolSourcedId"])
		o["terms"] = refs("academicSessions", "academicSession", f["termSourcedIds"])
	case "users":
		o["enabledUser"] = boolean(f["enabledUser"])
		set("username", f["username"])
		o["userIds"] = []any{}
		set("givenName", f["givenName"])
		set("familyName", f["familyName"])
		set("middleName", f["middleName"])
		set("identifier", f["identifier"])
		set("email", f["email"])
		set("sms", f["sms"])
		set("phone", f["phone"])
		o["agents"] = refs("users", "user", f["agentSourcedIds"])
		o["grades"] = splitList(f["grades"])
		o["password"] = "" // some servers send it: the client must drop it
		if v11 {
			set("role", f["role"])
			o["orgs"] = refs("orgs", "org", f["orgSourcedIds"])
		} else {
			if p := s.guid("orgs", "org", f["primaryOrgSourcedId"]); p != nil {
				o["primaryOrg"] = p
			}
			roles := []any{}
			for _, line := range it.roles {
				r := csv.NewReader(strings.NewReader(line))
				cells, err := r.Read()
				if err != nil {
					continue
				}
				rf := map[string]string{}
				for i, h := range s.d.roleHdr {
					if i < len(cells) {
						rf[h] = cells[i]
					}
				}
				role := map[string]any{"roleType": rf["roleType"], "role": rf["role"], "org": s.guid("orgs", "org", rf["orgSourcedId"])}
				if rf["beginDate"] != "" {
					role["beginDate"] = rf["beginDate"]
				}
				if rf["endDate"] != "" {
					role["endDate"] = rf["endDate"]
				}
				roles = append(roles, role)
			}
			o["roles"] = roles
		}
	case "enrollments":
		set("role", f["role"])
		if f["primary"] != "" {
			o["primary"] = boolean(f["primary"])
		}
		set("beginDate", f["beginDate"])
		set("endDate", f["endDate"])
		o["user"] = s.guid("users", "user", f["userSourcedId"])
		o["class"] = s.guid("classes", "class", f["classSourcedId"])
		o["school"] = s.guid("schools", "org", f["schoolSourcedId"])
	}
	return o
}

// fieldNames are the selectable fields of each collection (for fields= and filter).
var fieldNames = map[string][]string{
	"orgs":             {"name", "type", "identifier", "parent", "children"},
	"academicSessions": {"title", "type", "startDate", "endDate", "parent", "children", "schoolYear"},
	"courses":          {"title", "schoolYear", "courseCode", "grades", "subjects", "org", "subjectCodes", "resources"},
	"classes":          {"title", "classCode", "classType", "location", "grades", "subjects", "course", "school", "terms", "subjectCodes", "periods", "resources"},
	"users":            {"enabledUser", "username", "userIds", "givenName", "familyName", "middleName", "roles", "role", "orgs", "identifier", "email", "sms", "phone", "agents", "grades", "password", "primaryOrg", "userMasterIdentifier", "preferredFirstName", "preferredMiddleName", "preferredLastName", "pronouns", "userProfiles", "demographics"},
	"enrollments":      {"user", "class", "school", "role", "primary", "beginDate", "endDate"},
}

func validField(coll, f string) bool {
	switch f {
	case "sourcedId", "status", "dateLastModified", "metadata":
		return true
	}
	for _, n := range fieldNames[coll] {
		if n == f {
			return true
		}
	}
	return false
}

func parseTime(v string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z", "2006-01-02"} {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
