package rostergen

// personName is a display name together with the lower-case ASCII form used
// to build usernames and e-mail addresses.
type personName struct {
	display string
	ascii   string
}

// givenNames deliberately mixes plain ASCII names with accented Latin,
// Icelandic, Vietnamese, Polish, Turkish and CJK names so that encoding bugs
// in a consumer show up. No entry contains a comma, a double quote or a line
// break.
var givenNames = []personName{
	{"James", "james"}, {"Mary", "mary"}, {"José", "jose"}, {"Zoë", "zoe"},
	{"Þórunn", "thorunn"}, {"Sofía", "sofia"}, {"Liam", "liam"}, {"Olivia", "olivia"},
	{"Noah", "noah"}, {"Emma", "emma"}, {"Ava", "ava"}, {"Mateo", "mateo"},
	{"Chloé", "chloe"}, {"Aaliyah", "aaliyah"}, {"Ethan", "ethan"}, {"Mia", "mia"},
	{"Lucas", "lucas"}, {"Amara", "amara"}, {"Hiroshi", "hiroshi"}, {"Yuki", "yuki"},
	{"Wei", "wei"}, {"美玲", "meiling"}, {"Priya", "priya"}, {"Arjun", "arjun"},
	{"Fatima", "fatima"}, {"Omar", "omar"}, {"Søren", "soren"}, {"Ingrid", "ingrid"},
	{"Björn", "bjorn"}, {"Ángel", "angel"}, {"Camila", "camila"}, {"Anne-Marie", "annemarie"},
	{"Dmitri", "dmitri"}, {"Chiara", "chiara"}, {"François", "francois"}, {"Noémie", "noemie"},
	{"Kwame", "kwame"}, {"Ngozi", "ngozi"}, {"Tomás", "tomas"}, {"Łukasz", "lukasz"},
	{"Zoltán", "zoltan"}, {"Siobhán", "siobhan"}, {"Jürgen", "jurgen"}, {"Elif", "elif"},
	{"Ayşe", "ayse"}, {"Kai", "kai"}, {"Leilani", "leilani"}, {"Ximena", "ximena"},
	{"Michael", "michael"}, {"Sarah", "sarah"}, {"David", "david"}, {"Jennifer", "jennifer"},
	{"Daniel", "daniel"}, {"Isabella", "isabella"}, {"Benjamin", "benjamin"}, {"Harper", "harper"},
	{"Mary Ann", "maryann"}, {"Thảo", "thao"}, {"Minh", "minh"}, {"Jae-won", "jaewon"},
}

// familyNames: see givenNames. O'Brien's apostrophe needs no CSV quoting.
var familyNames = []personName{
	{"Smith", "smith"}, {"Johnson", "johnson"}, {"Williams", "williams"}, {"Brown", "brown"},
	{"Garcia", "garcia"}, {"Martinez", "martinez"}, {"Rodriguez", "rodriguez"}, {"Hernández", "hernandez"},
	{"Nguyễn", "nguyen"}, {"Müller", "muller"}, {"O'Brien", "obrien"}, {"李", "li"},
	{"Kim", "kim"}, {"Patel", "patel"}, {"Okafor", "okafor"}, {"Kowalski", "kowalski"},
	{"Jónsdóttir", "jonsdottir"}, {"Søndergaard", "sondergaard"}, {"Lefèvre", "lefevre"}, {"Yılmaz", "yilmaz"},
	{"Novák", "novak"}, {"Dubois", "dubois"}, {"Rossi", "rossi"}, {"Schmidt", "schmidt"},
	{"Wang", "wang"}, {"Tanaka", "tanaka"}, {"Cohen", "cohen"}, {"Murphy", "murphy"},
	{"Silva", "silva"}, {"Santos", "santos"}, {"da Silva", "dasilva"}, {"Thompson", "thompson"},
	{"Lee", "lee"}, {"Walker", "walker"}, {"Robinson", "robinson"}, {"Washington", "washington"},
	{"Begay", "begay"}, {"Yazzie", "yazzie"}, {"Mendoza", "mendoza"}, {"Ortiz", "ortiz"},
	{"Ali", "ali"}, {"Haddad", "haddad"}, {"Ivanova", "ivanova"}, {"Van der Berg", "vanderberg"},
	{"Papadopoulos", "papadopoulos"}, {"Kaʻahanui", "kaahanui"}, {"Trần", "tran"}, {"Żółkowski", "zolkowski"},
	{"Anderson", "anderson"}, {"Taylor", "taylor"}, {"Moore", "moore"}, {"Jackson", "jackson"},
}

// schoolNamePool is combined with a level suffix ("Elementary School", …).
var schoolNamePool = []string{
	"Lincoln", "Washington", "Jefferson", "Roosevelt", "Franklin", "Madison", "Kennedy",
	"Oak Grove", "Riverside", "Maple", "Cedar Ridge", "Hillcrest", "Lakeview", "Sunnyvale",
	"Pine Valley", "Brookside", "Meadowbrook", "Westwood", "Eastside", "Northgate", "Southridge",
	"Highland", "Fairview", "Valley View", "Sequoia", "Willow Creek", "César Chávez",
	"Sojourner Truth", "Harriet Tubman", "Martin Luther King Jr.", "Rosa Parks", "Sacagawea",
	"Mountain View", "Clearwater", "Stonebridge", "Greenfield", "Ellen Ochoa", "Dolores Huerta",
	"Sally Ride", "Thurgood Marshall", "Amelia Earhart", "Jackie Robinson", "Sierra Vista",
	"Canyon Creek", "Bayside", "Cottonwood", "Aspen", "Redwood", "Golden Hills", "Prairie Wind",
}

// schoolNamePrefix is used to keep names unique once schoolNamePool is used up.
var schoolNamePrefix = []string{"", "North ", "South ", "East ", "West ", "New ", "Upper ", "Lower "}
