package clever

// Grade maps a Clever grade (v3.0's enumeration: InfantToddler, Preschool, PreKindergarten,
// TransitionalKindergarten, Kindergarten, "1"…"13", PostGraduate, Ungraded, Other) to the
// OneRoster/CEDS grade code the roster keeps: IT, PR, PK, TK, KG, 01…13, PS, UG, Other.
// Ungraded becomes UG and Other stays Other (both CEDS codes: the student is kept, with a
// grade that says so). ok is false for a value outside the vocabulary, and "" (no grade)
// maps to "" with ok true. Matching is exact, as Clever's enumeration is.
func Grade(clever string) (code string, ok bool) {
	switch clever {
	case "":
		return "", true
	case "InfantToddler":
		return "IT", true
	case "Preschool":
		return "PR", true
	case "PreKindergarten":
		return "PK", true
	case "TransitionalKindergarten":
		return "TK", true
	case "Kindergarten":
		return "KG", true
	case "PostGraduate":
		return "PS", true
	case "Ungraded":
		return "UG", true
	case "Other":
		return "Other", true
	case "1", "2", "3", "4", "5", "6", "7", "8", "9":
		return "0" + clever, true
	case "10", "11", "12", "13":
		return clever, true
	}
	return "", false
}
