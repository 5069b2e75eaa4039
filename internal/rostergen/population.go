package rostergen

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// PCG stream constants. The population and the removal choice use separate
// streams so that Options.Remove never changes the population itself.
const (
	streamPopulation = 0x7074_6876_2d72_6f73 // "pthv-ros"
	streamRemove     = 0x7265_6d6f_7665_2d31 // "remove-1"
)

// Sizing knobs.
const (
	studentsPerSchool   = 450
	studentsPerTeacher  = 16
	homeroomSize        = 25
	sectionSize         = 28
	shareOneChild       = 0.88 // families with one child in the district
	shareUpToTwoKids    = 0.98 // cumulative: the rest have three
	shareTwoGuardians   = 0.90
	shareSameFamilyName = 0.75 // second guardian shares the family name
	shareMiddleName     = 0.35 // students with a middle name
	shareGuardianRole   = 0.08 // guardians whose role is "guardian" rather than "parent"
	shareSMS            = 0.5  // guardians with an sms number
)

// DefaultSchoolYear is the school year of the generated sessions when Options.SchoolYear is
// 0: the year in which it ends (2025-2026).
const DefaultSchoolYear = 2026

// sessions are the generated academic sessions: one school year (15 August – 15 June) and its
// two semesters.
type sessions struct {
	yearID, yearTitle, yearStart, yearEnd, schoolYear string
	fallID, fallTitle, fallEnd                        string
	springID, springTitle, springStart                string
}

func sessionsFor(end int) sessions {
	y, b := strconv.Itoa(end), strconv.Itoa(end-1)
	return sessions{
		yearID: "as-" + y, yearTitle: b + "-" + y + " School Year", yearStart: b + "-08-15", yearEnd: y + "-06-15", schoolYear: y,
		fallID: "as-" + y + "-s1", fallTitle: "Fall Semester " + b, fallEnd: y + "-01-16",
		springID: "as-" + y + "-s2", springTitle: "Spring Semester " + y, springStart: y + "-01-20",
	}
}

const (
	termFall   = 1
	termSpring = 2
	termBoth   = termFall | termSpring
)

type school struct {
	id, name, identifier string
	level                int
}

type course struct {
	id, title, code, grades, subject, subjectCode string
	school                                        int32
}

type class struct {
	id, title, code, grades, location, period string
	course, school, teacher                   int32
	terms                                     uint8
	homeroom                                  bool
}

type student struct {
	fam           int32
	school        int32
	grade         int8
	ncls          int8
	given, family int16
	middle        int16    // -1: none
	cls           [8]int32 // class indices; at most 8 (homeroom + 7)
}

type family struct {
	childStart, childN int32 // range in population.children
	guardStart, guardN int32 // range in population.guardians
}

type guardian struct {
	fam           int32
	given, family int16
	guardianRole  bool // role "guardian" instead of "parent"
	phone, sms    string
}

type teacher struct {
	school        int32
	given, family int16
	phone         string
}

// population is the complete, Remove-independent district plus the removal
// choice.
type population struct {
	sess       sessions
	districtID string
	schools    []school
	courses    []course
	classes    []class
	students   []student // indexed by student number - 1
	families   []family
	children   []int32 // student indices, grouped by family, ascending within a family
	guardians  []guardian
	teachers   []teacher

	studentIDs, guardianIDs, teacherIDs []string

	// members[memberStart[c]:memberStart[c+1]] are the students of class c
	// in ascending student order.
	memberStart []int32
	members     []int32
	enrWidth    int

	removedFam []bool
}

func (p *population) studentRemoved(i int32) bool {
	return p.removedFam[p.students[i].fam]
}

func padNum(prefix string, n, width int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	b.Grow(len(prefix) + max(width, len(s)))
	b.WriteString(prefix)
	for i := len(s); i < width; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
	return b.String()
}

func idWidth(n, minWidth int) int {
	return max(minWidth, len(strconv.Itoa(n)))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// sectionLabel gives A, B, … Z, then 27, 28, ….
func sectionLabel(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return strconv.Itoa(i + 1)
}

func phone(rng *rand.Rand) string {
	b := make([]byte, 0, 12)
	b = append(b, "555-"...)
	b = strconv.AppendInt(b, int64(200+rng.IntN(800)), 10)
	b = append(b, '-')
	n := rng.IntN(10000)
	b = append(b, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
	return string(b)
}

func build(o Options) *population {
	rng := rand.New(rand.NewPCG(o.Seed, streamPopulation))
	p := &population{districtID: o.DistrictID, sess: sessionsFor(cmp.Or(o.SchoolYear, DefaultSchoolYear))}
	levelSchools := p.buildSchools(rng, o.Students)
	p.buildFamilies(rng, o.Students, levelSchools)
	p.buildClasses(rng)
	p.buildMembers()
	p.chooseRemoved(o)
	return p
}

// buildSchools creates about one school per 450 students (at least three),
// split between levels in proportion to the grades each level covers.
func (p *population) buildSchools(rng *rand.Rand, students int) [numLevels][]int32 {
	n := max(3, int(math.Round(float64(students)/studentsPerSchool)))
	var per [numLevels]int
	per[levelElementary] = max(1, int(math.Round(float64(n)*levelShare[levelElementary])))
	per[levelMiddle] = max(1, int(math.Round(float64(n)*levelShare[levelMiddle])))
	per[levelHigh] = n - per[levelElementary] - per[levelMiddle]
	if per[levelHigh] < 1 {
		per[levelHigh] = 1
		per[levelElementary] = n - per[levelMiddle] - 1
	}
	w := idWidth(n, 3)
	var levelSchools [numLevels][]int32
	pool := len(schoolNamePool)
	for lvl := range numLevels {
		names := rng.Perm(pool)
		for k := range per[lvl] {
			i := len(p.schools)
			name := schoolNamePrefix[(k/pool)%len(schoolNamePrefix)] + schoolNamePool[names[k%pool]]
			if round := k / (pool * len(schoolNamePrefix)); round > 0 {
				name += " " + strconv.Itoa(round+1)
			}
			p.schools = append(p.schools, school{
				id:         padNum("sch-", i+1, w),
				name:       name + " " + levelSuffix[lvl],
				identifier: padNum("", 60000+i+1, 6),
				level:      lvl,
			})
			levelSchools[lvl] = append(levelSchools[lvl], int32(i))
		}
	}
	return levelSchools
}

// buildFamilies creates families until there are exactly `students`
// children. Each family lives in one elementary attendance zone, which feeds
// one middle and one high school, so siblings at different levels attend
// different schools. Family 0 always has an elementary and a middle-school
// child when there are at least two students.
func (p *population) buildFamilies(rng *rand.Rand, students int, levelSchools [numLevels][]int32) {
	nE := len(levelSchools[levelElementary])
	feeder := func(grade, zone int) int32 {
		ls := levelSchools[levelOf(grade)]
		return ls[zone*len(ls)/nE]
	}
	created := make([]student, 0, students) // in creation order
	p.children = make([]int32, students)
	remaining := students
	for remaining > 0 {
		fi := int32(len(p.families))
		size := 1
		if r := rng.Float64(); r >= shareUpToTwoKids {
			size = 3
		} else if r >= shareOneChild {
			size = 2
		}
		forced := fi == 0 && students >= 2
		if forced {
			size = 2
		}
		size = min(size, remaining)
		zone := rng.IntN(nE)
		famName := int16(rng.IntN(len(familyNames)))
		grade := rng.IntN(numGrades)
		if forced {
			grade = 3 + rng.IntN(3) // 03..05: elementary
		}
		f := family{childStart: int32(len(created)), childN: int32(size)}
		for c := range size {
			if c > 0 {
				if forced && c == 1 {
					grade = 6 + rng.IntN(3) // 06..08: middle school
				} else {
					grade = siblingGrade(rng, grade)
				}
			}
			st := student{
				fam:    fi,
				school: feeder(grade, zone),
				grade:  int8(grade),
				given:  int16(rng.IntN(len(givenNames))),
				family: famName,
				middle: -1,
			}
			if rng.Float64() < shareMiddleName {
				st.middle = int16(rng.IntN(len(givenNames)))
			}
			created = append(created, st)
		}
		ng := 1
		if rng.Float64() < shareTwoGuardians {
			ng = 2
		}
		f.guardStart, f.guardN = int32(len(p.guardians)), int32(ng)
		for k := range ng {
			g := guardian{
				fam:          fi,
				given:        int16(rng.IntN(len(givenNames))),
				family:       famName,
				guardianRole: rng.Float64() < shareGuardianRole,
				phone:        phone(rng),
			}
			if k == 1 && rng.Float64() >= shareSameFamilyName {
				g.family = int16(rng.IntN(len(familyNames)))
			}
			if rng.Float64() < shareSMS {
				g.sms = g.phone
			}
			p.guardians = append(p.guardians, g)
		}
		p.families = append(p.families, f)
		remaining -= size
	}

	// Student numbers are a random permutation of creation order, so that
	// siblings do not have adjacent ids.
	perm := rng.Perm(students)
	p.students = make([]student, students)
	for k, st := range created {
		p.students[perm[k]] = st
		p.children[k] = int32(perm[k])
	}
	for _, f := range p.families {
		slices.Sort(p.children[f.childStart : f.childStart+f.childN])
	}

	w := idWidth(students, 6)
	p.studentIDs = make([]string, students)
	for i := range p.studentIDs {
		p.studentIDs[i] = padNum("stu-", i+1, w)
	}
	w = idWidth(len(p.guardians), 6)
	p.guardianIDs = make([]string, len(p.guardians))
	for i := range p.guardianIDs {
		p.guardianIDs[i] = padNum("gdn-", i+1, w)
	}
}

// siblingGrade returns a grade 1–4 years away from g, within KG..12.
func siblingGrade(rng *rand.Rand, g int) int {
	d := 1 + rng.IntN(4)
	if rng.IntN(2) == 0 {
		d = -d
	}
	n := g + d
	if n < 0 || n >= numGrades {
		n = g - d
	}
	return min(max(n, 0), numGrades-1)
}

func (p *population) addClass(st int32, c int) {
	s := &p.students[st]
	s.cls[s.ncls] = int32(c)
	s.ncls++
}

// buildClasses creates the courses of every school, its homerooms and
// scheduled classes, assigns students to them and teachers to classes.
func (p *population) buildClasses(rng *rand.Rand) {
	buckets := make([][]int32, len(p.schools)*numGrades)
	for i := range p.students {
		s := &p.students[i]
		b := int(s.school)*numGrades + int(s.grade)
		buckets[b] = append(buckets[b], int32(i))
	}
	for si := range p.schools {
		sc := &p.schools[si]
		lvl := sc.level
		lo, hi := levelLo[lvl], levelHi[lvl]
		defs := catalog[lvl]
		schoolNum := strings.TrimPrefix(sc.id, "sch-")
		courseBase := len(p.courses)
		for _, d := range defs {
			p.courses = append(p.courses, course{
				id:          "crs-" + schoolNum + "-" + strings.ToLower(d.code),
				title:       d.title,
				code:        d.code,
				grades:      gradeList(d.lo, d.hi),
				subject:     d.subject,
				subjectCode: d.subjectCode,
				school:      int32(si),
			})
		}
		room := 100
		nextRoom := func(fixed string) string {
			if fixed != "" {
				return fixed
			}
			room++
			return "Room " + strconv.Itoa(room)
		}
		newClass := func(c class) int {
			c.school = int32(si)
			p.classes = append(p.classes, c)
			return len(p.classes) - 1
		}

		classStart := len(p.classes)
		nStudents := 0
		var hrBase, hrN [numGrades]int
		for g := lo; g <= hi; g++ {
			list := buckets[si*numGrades+g]
			nStudents += len(list)
			if len(list) == 0 {
				continue
			}
			n := ceilDiv(len(list), homeroomSize)
			hrBase[g], hrN[g] = len(p.classes), n
			for h := range n {
				label := gradeLabels[g] + "-" + sectionLabel(h)
				newClass(class{
					title: "Homeroom " + label, code: "HR-" + label, grades: gradeLabels[g],
					location: nextRoom(""), course: int32(courseBase), terms: termBoth, homeroom: true,
				})
			}
			for pos, st := range list {
				p.addClass(st, hrBase[g]+pos%n)
			}
		}
		homeroomsEnd := len(p.classes)

		if lvl == levelElementary {
			// Specials: one section per homeroom, taken by the whole homeroom.
			for di, d := range defs {
				if d.kind != kindSpecial {
					continue
				}
				for g := max(lo, d.lo); g <= d.hi; g++ {
					if hrN[g] == 0 {
						continue
					}
					base := len(p.classes)
					for h := range hrN[g] {
						label := gradeLabels[g] + "-" + sectionLabel(h)
						newClass(class{
							title: d.title + " " + label, code: d.code + "-" + label, grades: gradeLabels[g],
							location: nextRoom(d.room), course: int32(courseBase + di), terms: termBoth,
						})
					}
					for pos, st := range buckets[si*numGrades+g] {
						p.addClass(st, base+pos%hrN[g])
					}
				}
			}
		} else {
			// Core courses: every student of the grade, sections of about 28,
			// students shuffled per course so sections differ between courses.
			var slot [numGrades]int // core courses seen so far per grade
			var shuffled []int32
			for di, d := range defs {
				if d.kind != kindCore {
					continue
				}
				g := d.lo
				coreSlot := slot[g]
				slot[g]++
				list := buckets[si*numGrades+g]
				if len(list) == 0 {
					continue
				}
				n := ceilDiv(len(list), sectionSize)
				base := len(p.classes)
				for s := range n {
					sec := padNum("", s+1, 2)
					newClass(class{
						title: d.title + " - " + sec, code: d.code + "-" + sec, grades: gradeLabels[g],
						location: nextRoom(d.room), course: int32(courseBase + di), terms: termBoth,
						period: strconv.Itoa((coreSlot+s)%7 + 1),
					})
				}
				shuffled = append(shuffled[:0], list...)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				for i, st := range shuffled {
					p.addClass(st, base+i%n)
				}
			}

			// Electives: two distinct picks per student, the first in the
			// fall, the second in the spring; mixed-grade sections.
			var elect []int
			for di, d := range defs {
				if d.kind == kindElective {
					elect = append(elect, di)
				}
			}
			var studs []int32
			for g := lo; g <= hi; g++ {
				studs = append(studs, buckets[si*numGrades+g]...)
			}
			picks := make([][2]int8, len(studs))
			for i := range studs {
				a := rng.IntN(len(elect))
				b := rng.IntN(len(elect) - 1)
				if b >= a {
					b++
				}
				picks[i] = [2]int8{int8(a), int8(b)}
			}
			grades := gradeList(lo, hi)
			count := make([]int, len(elect))
			base := make([]int, len(elect))
			nsec := make([]int, len(elect))
			for t := range 2 {
				clear(count)
				for i := range studs {
					count[picks[i][t]]++
				}
				term, tname, tcode := uint8(termFall), "Fall", "F"
				if t == 1 {
					term, tname, tcode = termSpring, "Spring", "S"
				}
				for e, di := range elect {
					d := defs[di]
					nsec[e] = ceilDiv(count[e], sectionSize)
					base[e] = len(p.classes)
					for s := range nsec[e] {
						sec := padNum("", s+1, 2)
						newClass(class{
							title: d.title + " - " + tname + " " + sec, code: d.code + "-" + tcode + sec, grades: grades,
							location: nextRoom(d.room), course: int32(courseBase + di), terms: term,
							period: strconv.Itoa((5+e+s)%7 + 1),
						})
					}
				}
				clear(count)
				for i, st := range studs {
					e := picks[i][t]
					p.addClass(st, base[e]+count[e]%nsec[e])
					count[e]++
				}
			}
		}

		// Teachers: about one per 16 students, all teaching at this school.
		// Homerooms first (one per teacher where possible), then scheduled
		// classes in contiguous blocks so that a teacher mostly teaches one
		// subject. Elementary specials go to non-homeroom teachers.
		if len(p.classes) == classStart {
			continue
		}
		nt := max(1, int(math.Round(float64(nStudents)/studentsPerTeacher)))
		tBase := len(p.teachers)
		for range nt {
			p.teachers = append(p.teachers, teacher{
				school: int32(si),
				given:  int16(rng.IntN(len(givenNames))),
				family: int16(rng.IntN(len(familyNames))),
				phone:  phone(rng),
			})
		}
		h := homeroomsEnd - classStart
		for j := range h {
			p.classes[classStart+j].teacher = int32(tBase + j%nt)
		}
		k := len(p.classes) - homeroomsEnd
		poolLo, poolN := 0, nt
		if lvl == levelElementary && nt > h {
			poolLo, poolN = h, nt-h
		}
		for j := range k {
			p.classes[homeroomsEnd+j].teacher = int32(tBase + poolLo + j*poolN/k)
		}
	}

	w := idWidth(len(p.classes), 6)
	for i := range p.classes {
		p.classes[i].id = padNum("cls-", i+1, w)
	}
	w = idWidth(len(p.teachers), 5)
	p.teacherIDs = make([]string, len(p.teachers))
	for i := range p.teacherIDs {
		p.teacherIDs[i] = padNum("tch-", i+1, w)
	}
}

// buildMembers indexes class membership (students in ascending order).
func (p *population) buildMembers() {
	p.memberStart = make([]int32, len(p.classes)+1)
	for i := range p.students {
		s := &p.students[i]
		for _, c := range s.cls[:s.ncls] {
			p.memberStart[c+1]++
		}
	}
	for c := range p.classes {
		p.memberStart[c+1] += p.memberStart[c]
	}
	p.members = make([]int32, p.memberStart[len(p.classes)])
	next := slices.Clone(p.memberStart[:len(p.classes)])
	for i := range p.students {
		s := &p.students[i]
		for _, c := range s.cls[:s.ncls] {
			p.members[next[c]] = int32(i)
			next[c]++
		}
	}
	// One teacher enrollment per class plus the student enrollments.
	p.enrWidth = idWidth(len(p.classes)+len(p.members), 7)
}
