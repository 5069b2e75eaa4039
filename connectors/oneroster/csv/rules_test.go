package csv

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
)

// want is one finding a case must produce; zero fields match anything.
type want struct {
	code   Code
	file   string
	line   int
	column string
}

func (w want) matches(f Finding) bool {
	return f.Code == w.code && (w.file == "" || f.File == w.file) && (w.line == 0 || f.Line == w.line) &&
		(w.column == "" || f.Column == w.column)
}

type ruleCase struct {
	name  string
	zip   func(t *testing.T) []byte // the export; defaults to zipOf(build(validPackage()))
	build func(f files) files
	opt   Options
	want  []want
	// fatal says the whole export must be rejected (a package- or file-level error).
	fatal bool
	// accepted, when set, gives file → accepted row count to check.
	accepted map[string]int
}

func ruleCases() []ruleCase {
	return []ruleCase{
		// Package.
		{name: "a file that is not a zip is unreadable", zip: func(*testing.T) []byte { return []byte("sourcedId,status\nx,y\n") },
			want: []want{{code: CodePackageUnreadable}}, fatal: true},
		{name: "an empty file is an empty package", zip: func(*testing.T) []byte { return nil },
			want: []want{{code: CodePackageEmpty}}, fatal: true},
		{name: "an empty zip is an empty package", build: func(files) files { return files{} },
			want: []want{{code: CodePackageEmpty}}, fatal: true},
		{name: "a zip entry with .. is refused", zip: func(t *testing.T) []byte {
			return rawZip(t, []rawEntry{{name: "../../etc/passwd", data: []byte("x")}, {name: "manifest.csv", data: []byte(validPackage()["manifest.csv"])}})
		}, want: []want{{code: CodePackageUnsafePath}}, fatal: true},
		{name: "an absolute zip entry is refused", zip: func(t *testing.T) []byte {
			return rawZip(t, []rawEntry{{name: "/tmp/users.csv", data: []byte("x")}})
		}, want: []want{{code: CodePackageUnsafePath}}, fatal: true},
		{name: "a zip bomb over the compression ratio is refused", zip: func(t *testing.T) []byte {
			f := validPackage()
			f["users.csv"] += strings.Repeat("\n", 3<<20) // 3 MiB of line feeds compresses ~1000x
			return zipOf(t, f)
		}, want: []want{{code: CodePackageRatio, file: "users.csv"}}, fatal: true},
		{name: "a package over the total size limit is refused", opt: Options{Limits: Limits{MaxTotalBytes: 1000}},
			want: []want{{code: CodePackageTooLarge}}, fatal: true},
		{name: "an entry that inflates past its declared size is stopped while reading", zip: func(t *testing.T) []byte {
			f := validPackage()
			entries := []rawEntry{}
			for _, n := range []string{"manifest.csv", "orgs.csv", "academicSessions.csv", "courses.csv", "classes.csv", "roles.csv", "enrollments.csv"} {
				entries = append(entries, rawEntry{name: n, data: []byte(f[n])})
			}
			entries = append(entries, rawEntry{name: "users.csv", data: []byte(f["users.csv"]), declare: 100})
			return rawZip(t, entries)
		}, want: []want{{code: CodeFileUnreadable, file: "users.csv"}}, fatal: true},
		{name: "a zip with more entries than the limit is refused before its directory is read", zip: func(t *testing.T) []byte {
			f := validPackage()
			var entries []rawEntry
			for n, c := range f {
				entries = append(entries, rawEntry{name: n, data: []byte(c)})
			}
			for i := len(entries); i <= DefaultMaxEntries; i++ {
				entries = append(entries, rawEntry{name: fmt.Sprintf("extra-%d.txt", i), data: []byte("x")})
			}
			return rawZip(t, entries)
		}, want: []want{{code: CodePackageTooManyEntries}}, fatal: true},
		{name: "many unknown files list at most the per-rule cap of findings", opt: Options{MaxFindingsPerRule: 5}, build: func(f files) files {
			for i := range 40 {
				f[fmt.Sprintf("extra-%d.csv", i)] = "x\n"
			}
			return f
		}, want: []want{{code: CodePackageUnknownFile}, {code: CodePackageUnknownFile}, {code: CodePackageUnknownFile}, {code: CodePackageUnknownFile}, {code: CodePackageUnknownFile},
			{code: CodeTooManyFindings}}},
		{name: "the same file twice in a zip is refused", zip: func(t *testing.T) []byte {
			f := validPackage()
			return rawZip(t, []rawEntry{{name: "manifest.csv", data: []byte(f["manifest.csv"])}, {name: "orgs.csv", data: []byte(f["orgs.csv"])}, {name: "orgs.csv", data: []byte(f["orgs.csv"])}})
		}, want: []want{{code: CodePackageDuplicate, file: "orgs.csv"}}, fatal: true},
		{name: "files inside one folder of the zip are read with a warning", build: func(f files) files {
			g := files{}
			for n, c := range f {
				g["export-2025/"+n] = c
			}
			return g
		}, want: []want{{code: CodePackageSubfolder}}, accepted: map[string]int{"users.csv": 3}},
		{name: "a file OneRoster does not define is ignored", build: func(f files) files { f["notes.txt"] = "hello"; return f },
			want: []want{{code: CodePackageUnknownFile, file: "notes.txt"}}},
		{name: "a bulk package without users.csv is refused", build: func(f files) files {
			delete(f, "users.csv")
			return f.manifest("file.users", "absent")
		}, want: []want{{code: CodePackageUsersMissing}}, fatal: true},

		// Manifest.
		{name: "a package without manifest.csv is refused", build: func(f files) files { delete(f, "manifest.csv"); return f },
			want: []want{{code: CodeManifestMissing}}, fatal: true},
		{name: "a manifest with the wrong header is refused", build: func(f files) files { return f.line("manifest.csv", 1, "property,value") },
			want: []want{{code: CodeManifestHeader, line: 1}}, fatal: true},
		{name: "a manifest row with three cells is an error", build: func(f files) files { return f.appendRow("manifest.csv", "source.x,a,b") },
			want: []want{{code: CodeManifestRow}}, fatal: true},
		{name: "a repeated manifest property is an error", build: func(f files) files { return f.appendRow("manifest.csv", "file.orgs,bulk") },
			want: []want{{code: CodeManifestRow}}, fatal: true},
		{name: "an unknown OneRoster version is refused", build: func(f files) files { return f.manifest("oneroster.version", "2.0") },
			want: []want{{code: CodeManifestVersion, line: 3}}, fatal: true},
		{name: "a missing manifest.version is a warning", build: func(f files) files { return f.line("manifest.csv", 2, "source.note,x") },
			want: []want{{code: CodeManifestFormat}}},
		{name: "an unknown file mode is refused", build: func(f files) files { return f.manifest("file.orgs", "full") },
			want: []want{{code: CodeManifestMode}}, fatal: true},
		{name: "a blank file mode is read as absent", build: func(f files) files { return f.manifest("file.scoreScales", "") },
			want: []want{{code: CodeManifestModeBlank}}},
		{name: "a bulk file missing from the package is refused", build: func(f files) files { delete(f, "courses.csv"); return f },
			want: []want{{code: CodeManifestFileMissing, file: "courses.csv"}}, fatal: true},
		{name: "a file marked absent but present is ignored", build: func(f files) files {
			f["demographics.csv"] = "sourcedId\nx\n"
			return f
		}, want: []want{{code: CodeManifestFileAbsent, file: "demographics.csv"}}},
		{name: "a file with no manifest row is ignored", build: func(f files) files {
			f["userProfiles.csv"] = "sourcedId\nx\n"
			return f.line("manifest.csv", strings.Count(f["manifest.csv"][:strings.Index(f["manifest.csv"], "file.userProfiles")], "\n")+1, "source.y,z")
		}, want: []want{{code: CodeManifestFileUnlisted, file: "userProfiles.csv"}}},
		{name: "an unknown manifest property is a warning", build: func(f files) files { return f.appendRow("manifest.csv", "file.grades,bulk") },
			want: []want{{code: CodeManifestUnknownProp}}},

		// Files and headers.
		{name: "an empty file has no header", build: func(f files) files { f["orgs.csv"] = ""; return f },
			want: []want{{code: CodeFileNoHeader, file: "orgs.csv"}}, fatal: true},
		{name: "a header-only bulk file is refused", build: func(f files) files {
			f["enrollments.csv"] = strings.SplitAfter(f["enrollments.csv"], "\n")[0]
			return f
		},
			want: []want{{code: CodeFileEmptyBulk, file: "enrollments.csv"}}, fatal: true},
		{name: "a header-only delta file is a warning", build: func(f files) files {
			f["enrollments.csv"] = strings.SplitAfter(f["enrollments.csv"], "\n")[0]
			return f.manifest("file.enrollments", "delta")
		}, want: []want{{code: CodeFileEmptyDelta, file: "enrollments.csv"}}},
		{name: "demographics are read past", build: func(f files) files {
			f["demographics.csv"] = "sourcedId,status,dateLastModified,birthDate,sex\nstu-1,,,2019-01-01,female\n"
			return f.manifest("file.demographics", "bulk")
		}, want: []want{{code: CodeFileNotImported, file: "demographics.csv"}}},
		{name: "a 1.1 users.csv under a 1.2 manifest is refused", build: func(f files) files {
			f["users.csv"] = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n" +
				"stu-1,,,true,sch-1,student,stu1,,José,Nguyễn,,,,,,,KG,\n"
			return f
		}, want: []want{{code: CodeFileVersion, file: "users.csv", line: 1}}, fatal: true},
		{name: "a missing required column is refused", build: func(f files) files {
			return f.line("orgs.csv", 1, "sourcedId,status,dateLastModified,name,identifier,parentSourcedId")
		}, want: []want{{code: CodeHeaderMissing, file: "orgs.csv", column: "type"}}, fatal: true},
		{name: "a missing optional column is read as blank", build: func(f files) files {
			f["orgs.csv"] = "sourcedId,status,dateLastModified,name,type,parentSourcedId\ndist-1,,,Demo District,district,\nsch-1,,,Lincoln,school,dist-1\n"
			return f
		}, want: []want{{code: CodeHeaderOptional, file: "orgs.csv", column: "identifier"}}, accepted: map[string]int{"orgs.csv": 2}},
		{name: "a duplicate column is refused", build: func(f files) files {
			f["orgs.csv"] = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId,name\ndist-1,,,D,district,,,\nsch-1,,,L,school,,dist-1,\n"
			return f
		}, want: []want{{code: CodeHeaderDuplicate, file: "orgs.csv", column: "name"}}, fatal: true},
		{name: "columns in another order are read by name", build: func(f files) files {
			f["orgs.csv"] = "name,sourcedId,status,dateLastModified,type,identifier,parentSourcedId\nDemo District,dist-1,,,district,D1,\nLincoln,sch-1,,,school,S1,dist-1\n"
			return f
		}, want: []want{{code: CodeHeaderOrder, file: "orgs.csv"}}, accepted: map[string]int{"orgs.csv": 2, "classes.csv": 1}},
		{name: "an unknown column is ignored with a hint", build: func(f files) files {
			return f.line("orgs.csv", 1, strings.Replace(strings.Split(f["orgs.csv"], "\n")[0], "identifier", "Identifier", 1))
		}, want: []want{{code: CodeHeaderUnknown, file: "orgs.csv", column: "Identifier"}}},
		{name: "metadata and ext_ columns are ignored", build: func(f files) files {
			f["orgs.csv"] = strings.Replace(f["orgs.csv"], "parentSourcedId\n", "parentSourcedId,metadata.region,ext_vendor_id\n", 1)
			f["orgs.csv"] = strings.Replace(f["orgs.csv"], "D1,\n", "D1,,north,7\n", 1)
			f["orgs.csv"] = strings.Replace(f["orgs.csv"], "dist-1\n", "dist-1,south,8\n", 1)
			return f
		}, want: []want{{code: CodeHeaderExtension, column: "metadata.region"}, {code: CodeHeaderExtension, column: "ext_vendor_id"}},
			accepted: map[string]int{"orgs.csv": 2}},
		{name: "OneRoster 1.0 column names are read under their new names", build: func(f files) files {
			return f.line("users.csv", 1, strings.Replace(strings.Split(f["users.csv"], "\n")[0], "agentSourcedIds", "agents", 1))
		}, want: []want{{code: CodeHeaderLegacy, file: "users.csv", column: "agents"}}, accepted: map[string]int{"users.csv": 3}},
		{name: "blank trailing header cells are ignored", build: func(f files) files {
			return f.line("orgs.csv", 1, strings.Split(f["orgs.csv"], "\n")[0]+",,")
		}, want: []want{{code: CodeHeaderBlank, file: "orgs.csv"}}, accepted: map[string]int{"orgs.csv": 2}},
		{name: "a UTF-8 byte order mark is ignored", build: func(f files) files { f["users.csv"] = "\ufeff" + f["users.csv"]; return f },
			want: []want{{code: CodeBOM, file: "users.csv", line: 1}}, accepted: map[string]int{"users.csv": 3}},
		{name: "mixed CRLF and LF line endings are read", build: func(f files) files {
			f["users.csv"] = strings.Replace(f["users.csv"], "\n", "\r\n", 2)
			return f
		}, want: []want{{code: CodeLineEndings, file: "users.csv"}}, accepted: map[string]int{"users.csv": 3}},
		{name: "a file whose last row has no line break is noted", build: func(f files) files {
			f["users.csv"] = strings.TrimSuffix(f["users.csv"], "\n")
			return f
		}, want: []want{{code: CodeNoFinalLineBreak, file: "users.csv", line: 4}}, accepted: map[string]int{"users.csv": 3}},

		// Rows.
		{name: "bytes that are not UTF-8 reject the row", build: func(f files) files { return f.set("users.csv", 4, "familyName", "O'Br\xe9in") },
			want: []want{{code: CodeNotUTF8, file: "users.csv", line: 4, column: "familyName"}}, accepted: map[string]int{"users.csv": 2}},
		{name: "a NUL in a name rejects the row", build: func(f files) files { return f.set("users.csv", 4, "givenName", "Ann\x00e") },
			want: []want{{code: CodeControlChar, file: "users.csv", line: 4, column: "givenName"}}, accepted: map[string]int{"users.csv": 2}},
		{name: "a name over its 512-byte cap rejects the row", build: func(f files) files { return f.set("users.csv", 4, "givenName", strings.Repeat("<", CapName+1)) },
			want: []want{{code: CodeValueTooLong, file: "users.csv", line: 4, column: "givenName"}}, accepted: map[string]int{"users.csv": 2}},
		{name: "a bidi override in a name rejects the row", build: func(f files) files { return f.set("users.csv", 4, "familyName", "Lee\u202egnp.exe") },
			want: []want{{code: CodeControlChar, file: "users.csv", line: 4, column: "familyName"}}, accepted: map[string]int{"users.csv": 2}},
		{name: "an unclosed quote rejects the row", build: func(f files) files { return f.set("users.csv", 4, "givenName", `"Ann`) },
			want: []want{{code: CodeQuote, file: "users.csv", line: 4, column: "givenName"}}},
		{name: "a bare quote inside an unquoted field rejects the row", build: func(f files) files { return f.set("orgs.csv", 3, "name", `Lincoln "Elementary"`) },
			want: []want{{code: CodeQuote, file: "orgs.csv", line: 3, column: "name"}}},
		{name: "a carriage return inside a line rejects the row", build: func(f files) files { return f.set("orgs.csv", 3, "name", "Lincoln\rElementary") },
			want: []want{{code: CodeLineBreak, file: "orgs.csv", line: 3}}},
		{name: "a row with too few cells is rejected", build: func(f files) files { return f.line("enrollments.csv", 2, "enr-1,,,cls-1,sch-1") },
			want: []want{{code: CodeFieldCount, file: "enrollments.csv", line: 2}}, accepted: map[string]int{"enrollments.csv": 1}},
		{name: "a field over 64 KiB is rejected", build: func(f files) files { return f.set("orgs.csv", 2, "name", strings.Repeat("a", MaxFieldBytes+1)) },
			want: []want{{code: CodeFieldTooLong, file: "orgs.csv", line: 2, column: "name"}}},
		{name: "a blank required value rejects the row", build: func(f files) files { return f.set("users.csv", 4, "familyName", "") },
			want: []want{{code: CodeRequired, file: "users.csv", line: 4, column: "familyName"}}, accepted: map[string]int{"users.csv": 2}},
		{name: "a sourcedId with a space is rejected", build: func(f files) files { return f.set("enrollments.csv", 3, "sourcedId", "enr 2") },
			want: []want{{code: CodeSourcedID, file: "enrollments.csv", line: 3, column: "sourcedId"}}},
		{name: "a day-first date is rejected", build: func(f files) files { return f.set("academicSessions.csv", 3, "startDate", "15/08/2025") },
			want: []want{{code: CodeDate, file: "academicSessions.csv", line: 3, column: "startDate"}}},
		{name: "the 30th of February is rejected", build: func(f files) files { return f.set("academicSessions.csv", 3, "endDate", "2026-02-30") },
			want: []want{{code: CodeDate, file: "academicSessions.csv", line: 3, column: "endDate"}}},
		{name: "a delta dateLastModified that is not a time is rejected", build: func(f files) files {
			return deltaOrgs(f).set("orgs.csv", 2, "dateLastModified", "1/05/2023")
		}, want: []want{{code: CodeDateTime, file: "orgs.csv", line: 2, column: "dateLastModified"}}},
		{name: "a delta dateLastModified without milliseconds is read with a warning", build: func(f files) files {
			return deltaOrgs(f).set("orgs.csv", 2, "dateLastModified", "2025-08-01T10:00:00Z")
		}, want: []want{{code: CodeDateTimeFormat, file: "orgs.csv", line: 2}}, accepted: map[string]int{"orgs.csv": 2}},
		{name: "a two-digit school year is rejected", build: func(f files) files { return f.set("academicSessions.csv", 2, "schoolYear", "26") },
			want: []want{{code: CodeYear, file: "academicSessions.csv", line: 2, column: "schoolYear"}}},
		{name: "a boolean yes is rejected", build: func(f files) files { return f.set("users.csv", 2, "enabledUser", "yes") },
			want: []want{{code: CodeBoolean, file: "users.csv", line: 2, column: "enabledUser"}}},
		{name: "an upper-case boolean is read as meant", build: func(f files) files { return f.set("users.csv", 2, "enabledUser", "TRUE") },
			want: []want{{code: CodeBooleanCase, file: "users.csv", line: 2}}, accepted: map[string]int{"users.csv": 3}},
		{name: "an unknown vocabulary value is rejected", build: func(f files) files { return f.set("classes.csv", 2, "classType", "lab") },
			want: []want{{code: CodeEnum, file: "classes.csv", line: 2, column: "classType"}}, accepted: map[string]int{"classes.csv": 0}},
		{name: "an ext: vocabulary value is accepted", build: func(f files) files { return f.set("classes.csv", 2, "classType", "ext:advisory") },
			accepted: map[string]int{"classes.csv": 1}},
		{name: "a capitalised vocabulary value is read as meant", build: func(f files) files { return f.set("classes.csv", 2, "classType", "Homeroom") },
			want: []want{{code: CodeEnumCase, file: "classes.csv", line: 2, column: "classType"}}, accepted: map[string]int{"classes.csv": 1}},
		{name: "status inactive in a delta file is rejected", build: func(f files) files { return deltaOrgs(f).set("orgs.csv", 3, "status", "inactive") },
			want: []want{{code: CodeStatus, file: "orgs.csv", line: 3}}},
		{name: "status filled in a bulk file is ignored with a warning", build: func(f files) files { return f.set("orgs.csv", 3, "status", "active") },
			want: []want{{code: CodeBulkStatus, file: "orgs.csv", line: 3}}, accepted: map[string]int{"orgs.csv": 2}},
		{name: "a repeated sourcedId rejects the later row", build: func(f files) files {
			return f.appendRow("enrollments.csv", "enr-1,,,cls-1,sch-1,stu-1,student,false,,")
		},
			want: []want{{code: CodeDuplicate, file: "enrollments.csv", line: 4}}, accepted: map[string]int{"enrollments.csv": 2}},
		{name: "an enrollment in a class that is not there is rejected", build: func(f files) files { return f.set("enrollments.csv", 2, "classSourcedId", "cls-404") },
			want: []want{{code: CodeRefDangling, file: "enrollments.csv", line: 2, column: "classSourcedId"}}, accepted: map[string]int{"enrollments.csv": 1}},
		{name: "a student whose guardian is missing is retracted", build: func(f files) files { return f.set("users.csv", 2, "agentSourcedIds", "gdn-404") },
			want: []want{{code: CodeRefDangling, file: "users.csv", line: 2, column: "agentSourcedIds"},
				{code: CodeRefRejected, file: "enrollments.csv", line: 2}, {code: CodeRefRejected, file: "roles.csv", line: 2}},
			accepted: map[string]int{"users.csv": 2, "enrollments.csv": 1, "roles.csv": 2}},
		{name: "a class at an org that is not a school is rejected", build: func(f files) files { return f.set("classes.csv", 2, "schoolSourcedId", "dist-1") },
			want: []want{{code: CodeRefType, file: "classes.csv", line: 2, column: "schoolSourcedId"}}},
		{name: "a reference into a file marked absent is rejected", build: func(f files) files {
			delete(f, "courses.csv")
			return f.manifest("file.courses", "absent")
		}, want: []want{{code: CodeRefTargetAbsent, file: "classes.csv", line: 2, column: "courseSourcedId"}}},
		{name: "a delta reference to an earlier load is noted", build: func(f files) files {
			return deltaOrgs(f).set("classes.csv", 2, "courseSourcedId", "crs-earlier")
		}, want: []want{{code: CodeRefUnverified, file: "classes.csv", line: 2}}},
		{name: "a user without a role is kept with a warning", build: func(f files) files { return f.line("roles.csv", 4, "") },
			want: []want{{code: CodeUserNoRole, file: "users.csv", line: 4}}, accepted: map[string]int{"users.csv": 3}},
		{name: "findings past the cap are counted, not listed", opt: Options{MaxFindingsPerRule: 1}, build: func(f files) files {
			for i := 0; i < 3; i++ {
				f.appendRow("enrollments.csv", fmt.Sprintf("enr-x%d,,,cls-404,sch-1,stu-1,student,false,,", i))
			}
			return f
		}, want: []want{{code: CodeRefDangling, file: "enrollments.csv", line: 4}, {code: CodeTooManyFindings, file: "enrollments.csv"}}},
	}
}

// deltaOrgs turns every file of the export into delta with valid status and dateLastModified.
func deltaOrgs(f files) files {
	for _, name := range []string{"orgs.csv", "academicSessions.csv", "courses.csv", "classes.csv", "users.csv", "roles.csv", "enrollments.csv"} {
		lines := strings.Split(strings.TrimSuffix(f[name], "\n"), "\n")
		for i := 1; i < len(lines); i++ {
			cells := splitCells(lines[i])
			cells[1], cells[2] = "active", "2025-08-01T10:00:00.000Z"
			lines[i] = strings.Join(cells, ",")
		}
		f[name] = strings.Join(lines, "\n") + "\n"
		f.manifest("file."+strings.TrimSuffix(name, ".csv"), "delta")
	}
	return f
}

func TestRules(t *testing.T) {
	tested := map[Code]bool{}
	for _, tc := range ruleCases() {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			switch {
			case tc.zip != nil:
				b = tc.zip(t)
			case tc.build != nil:
				b = zipOf(t, tc.build(validPackage().clone()))
			default:
				b = zipOf(t, validPackage())
			}
			rep, _ := readZip(t, b, tc.opt)
			for _, w := range tc.want {
				tested[w.code] = true
				found := false
				for _, f := range rep.Findings {
					if w.matches(f) {
						found = true
						if f.Severity != ruleByCode[w.code].Severity {
							t.Errorf("%s has severity %s, want %s", w.code, f.Severity, ruleByCode[w.code].Severity)
						}
					}
				}
				if !found {
					t.Errorf("missing finding %+v; got:\n%s", w, dump(rep))
				}
			}
			if rep.Fatal() != tc.fatal {
				t.Errorf("Fatal() = %v, want %v; findings:\n%s", rep.Fatal(), tc.fatal, dump(rep))
			}
			if !tc.fatal {
				// Anything beyond the expected findings must not be an error.
				for _, f := range rep.Findings {
					if f.Severity == SeverityError && !anyMatch(tc.want, f) && f.Code != CodeRefRejected {
						t.Errorf("unexpected error %s", f)
					}
				}
			}
			for file, n := range tc.accepted {
				if got := accepted(rep, file); got != n {
					t.Errorf("%s: %d rows accepted, want %d", file, got, n)
				}
			}
			for _, s := range rep.Summary {
				if s.Accepted+s.Rejected != s.Rows {
					t.Errorf("%s: accepted %d + rejected %d != rows %d", s.File, s.Accepted, s.Rejected, s.Rows)
				}
			}
		})
	}
	for _, r := range Rules {
		if !tested[r.Code] {
			t.Errorf("rule %s has no test case", r.Code)
		}
	}
}

func anyMatch(ws []want, f Finding) bool {
	for _, w := range ws {
		if w.matches(f) {
			return true
		}
	}
	return false
}

func accepted(rep *Report, file string) int {
	for _, s := range rep.Summary {
		if s.File == file {
			return s.Accepted
		}
	}
	return -1
}

func dump(rep *Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// rawEntry is a zip entry written by rawZip, which can lie about its size.
type rawEntry struct {
	name    string
	data    []byte
	declare uint64 // declared uncompressed size; 0 means the true size
}

// rawZip writes entries verbatim: unsafe names, duplicates and false sizes included.
func rawZip(t *testing.T, entries []rawEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.DefaultCompression)
		fw.Write(e.data)
		fw.Close()
		size := uint64(len(e.data))
		if e.declare != 0 {
			size = e.declare
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: e.name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(e.data),
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: size})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTheValidPackageIsClean(t *testing.T) {
	rep, rec := readZip(t, zipOf(t, validPackage()), Options{})
	if len(rep.Findings) != 0 || rep.Errors != 0 || rep.Warnings != 0 {
		t.Fatalf("want no findings, got:\n%s", dump(rep))
	}
	if !rep.Importable || rep.Version != "1.2" {
		t.Fatalf("importable=%v version=%q", rep.Importable, rep.Version)
	}
	if n := len(rec.records); n != 2+2+1+1+3+3+2 {
		t.Fatalf("got %d records", n)
	}
}
