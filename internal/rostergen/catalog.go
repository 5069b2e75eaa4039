package rostergen

import "strconv"

// School levels.
const (
	levelElementary = iota
	levelMiddle
	levelHigh
	numLevels
)

const numGrades = 13 // KG, 01 … 12

// gradeLabels are the OneRoster grade codes used for grade index 0..12.
var gradeLabels = [numGrades]string{"KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"}

var (
	levelLo     = [numLevels]int{0, 6, 9}
	levelHi     = [numLevels]int{5, 8, 12}
	levelSuffix = [numLevels]string{"Elementary School", "Middle School", "High School"}
	levelShare  = [numLevels]float64{6.0 / 13, 3.0 / 13, 4.0 / 13}
)

func levelOf(grade int) int {
	switch {
	case grade <= 5:
		return levelElementary
	case grade <= 8:
		return levelMiddle
	}
	return levelHigh
}

type courseKind int8

const (
	kindHomeroom courseKind = iota
	kindSpecial             // elementary special, one section per homeroom, full year
	kindCore                // secondary single-grade course, full year
	kindElective            // secondary multi-grade course, one term
)

// courseDef describes a course offered by every school of one level.
type courseDef struct {
	code        string // upper-case course code; lower-cased into the sourcedId
	title       string
	subject     string // "" for homeroom
	subjectCode string // SCED subject area, "" for homeroom
	kind        courseKind
	lo, hi      int    // grade range
	room        string // fixed room name, "" for a numbered room
}

var catalog [numLevels][]courseDef

func init() {
	catalog[levelElementary] = []courseDef{
		{"HR", "Homeroom", "", "", kindHomeroom, 0, 5, ""},
		{"ART", "Art", "Fine and Performing Arts", "05", kindSpecial, 0, 5, "Art Room"},
		{"MUS", "Music", "Fine and Performing Arts", "05", kindSpecial, 0, 5, "Music Room"},
		{"PE", "Physical Education", "Physical, Health, and Safety Education", "08", kindSpecial, 0, 5, "Gymnasium"},
		{"LIB", "Library Media", "English Language and Literature", "01", kindSpecial, 0, 5, "Library"},
		{"STEM", "STEM Lab", "Life and Physical Sciences", "03", kindSpecial, 0, 5, "STEM Lab"},
		{"SPAN", "Spanish", "World Languages", "06", kindSpecial, 3, 5, ""},
	}

	middle := []courseDef{{"HR", "Homeroom", "", "", kindHomeroom, 6, 8, ""}}
	for g := 6; g <= 8; g++ {
		n := strconv.Itoa(g)
		middle = append(middle,
			courseDef{"ELA" + n, "English Language Arts " + n, "English Language and Literature", "01", kindCore, g, g, ""},
			courseDef{"MATH" + n, "Mathematics " + n, "Mathematics", "02", kindCore, g, g, ""},
			courseDef{"SCI" + n, "Science " + n, "Life and Physical Sciences", "03", kindCore, g, g, ""},
			courseDef{"SS" + n, "Social Studies " + n, "Social Sciences and History", "04", kindCore, g, g, ""},
			courseDef{"PE" + n, "Physical Education " + n, "Physical, Health, and Safety Education", "08", kindCore, g, g, "Gymnasium"},
		)
	}
	middle = append(middle,
		courseDef{"ART", "Art", "Fine and Performing Arts", "05", kindElective, 6, 8, "Art Studio"},
		courseDef{"BAND", "Band", "Fine and Performing Arts", "05", kindElective, 6, 8, "Band Room"},
		courseDef{"CHOIR", "Choir", "Fine and Performing Arts", "05", kindElective, 6, 8, "Choir Room"},
		courseDef{"SPAN1", "Spanish I", "World Languages", "06", kindElective, 6, 8, ""},
		courseDef{"CS", "Computer Science Discoveries", "Computer and Information Sciences", "10", kindElective, 6, 8, "Computer Lab"},
		courseDef{"DRAMA", "Drama", "Fine and Performing Arts", "05", kindElective, 6, 8, "Auditorium"},
		courseDef{"HLTH", "Health", "Physical, Health, and Safety Education", "08", kindElective, 6, 8, ""},
	)
	catalog[levelMiddle] = middle

	high := []courseDef{{"HR", "Homeroom", "", "", kindHomeroom, 9, 12, ""}}
	math := [4][2]string{{"ALG1", "Algebra I"}, {"GEOM", "Geometry"}, {"ALG2", "Algebra II"}, {"PREC", "Precalculus"}}
	sci := [4][2]string{{"BIO", "Biology"}, {"CHEM", "Chemistry"}, {"PHYS", "Physics"}, {"ENVS", "Environmental Science"}}
	soc := [4][2]string{{"WHIS", "World History"}, {"GEOG", "World Geography"}, {"USHIS", "U.S. History"}, {"GOVEC", "Government and Economics"}}
	for g := 9; g <= 12; g++ {
		n := strconv.Itoa(g)
		i := g - 9
		high = append(high,
			courseDef{"ENG" + n, "English " + n, "English Language and Literature", "01", kindCore, g, g, ""},
			courseDef{math[i][0], math[i][1], "Mathematics", "02", kindCore, g, g, ""},
			courseDef{sci[i][0], sci[i][1], "Life and Physical Sciences", "03", kindCore, g, g, "Science Lab"},
			courseDef{soc[i][0], soc[i][1], "Social Sciences and History", "04", kindCore, g, g, ""},
			courseDef{"PE" + n, "Physical Education " + n, "Physical, Health, and Safety Education", "08", kindCore, g, g, "Gymnasium"},
		)
	}
	high = append(high,
		courseDef{"ART", "Studio Art", "Fine and Performing Arts", "05", kindElective, 9, 12, "Art Studio"},
		courseDef{"BAND", "Concert Band", "Fine and Performing Arts", "05", kindElective, 9, 12, "Band Room"},
		courseDef{"SPAN2", "Spanish II", "World Languages", "06", kindElective, 9, 12, ""},
		courseDef{"FREN1", "French I", "World Languages", "06", kindElective, 9, 12, ""},
		courseDef{"CSP", "Computer Science Principles", "Computer and Information Sciences", "10", kindElective, 9, 12, "Computer Lab"},
		courseDef{"DRAMA", "Theatre Arts", "Fine and Performing Arts", "05", kindElective, 9, 12, "Auditorium"},
		courseDef{"JOUR", "Journalism", "English Language and Literature", "01", kindElective, 9, 12, ""},
		courseDef{"PSYCH", "Psychology", "Social Sciences and History", "04", kindElective, 9, 12, ""},
		courseDef{"HLTH", "Health", "Physical, Health, and Safety Education", "08", kindElective, 9, 12, ""},
	)
	catalog[levelHigh] = high
}

// gradeList returns the grades lo..hi as a comma-separated OneRoster list.
func gradeList(lo, hi int) string {
	s := gradeLabels[lo]
	for g := lo + 1; g <= hi; g++ {
		s += "," + gradeLabels[g]
	}
	return s
}
